"""Thin OData handlers: URL segments and query options in, ``{"d": ...}`` JSON out.

Per service root (``/sap/opu/odata/sap/<SERVICE>``): the service document, ``$metadata``, and
per entity set the collection (GET, POST when creatable), ``$count``, the entity by key and
each navigation property of an entity.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from simulators._kit import Call, json_response

from .edm import EntitySet, NavProp, ServiceModel
from .errors import SYNTAX_ERROR, SapError, bad_request, not_found
from .models import S4Backend
from .odata import (
    Expand,
    Select,
    apply_query,
    entity_json,
    key_string,
    parse_entity_body,
    parse_key_predicate,
    parse_query,
)

ODATA_HEADERS = {"dataserviceversion": "2.0"}
Handler = Callable[[Call], Response]


def service_url(request: Request, model: ServiceModel) -> str:
    return str(request.base_url).rstrip("/") + model.root + "/"


def odata_json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_response(payload, status, headers={**ODATA_HEADERS, **(headers or {})})


def in_service(model: ServiceModel, clock: Callable[[], float]) -> Callable[[Handler], Handler]:
    """Stamp SAP errors raised by a handler with the service they belong to and the time."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(call: Call) -> Response:
            try:
                return handler(call)
            except SapError as err:
                err.service = err.service or model.name
                err.at = err.at if err.at is not None else clock()
                raise

        return run

    return wrap


class ServiceRoutes:
    """The handlers of one OData service."""

    def __init__(self, model: ServiceModel) -> None:
        self.model = model

    def service_document(self, call: Call) -> Response:
        return odata_json({"d": {"EntitySets": [s.name for s in self.model.sets]}})

    def metadata(self, call: Call) -> Response:
        xml = self.model.edmx(service_url(call.request, self.model))
        return Response(xml.encode(), media_type="application/xml",
                        headers={**ODATA_HEADERS, "cache-control": "no-store"})

    def _entity(self, backend: S4Backend, entity_set: EntitySet, predicate: str) -> dict[str, Any]:
        etype = self.model.entity_type(entity_set.type)
        key = parse_key_predicate(etype, predicate)
        row = backend.row(entity_set.name, key)
        if row is None:
            raise not_found(etype.name)
        return row

    def _collection(self, call: Call, entity_set_name: str, rows: list[dict[str, Any]],
                    count_only: bool = False) -> Response:
        etype = self.model.type_of(entity_set_name)
        query = parse_query(self.model, etype, call.query)
        page, total = apply_query(etype, rows, query)
        if count_only:
            return Response(str(total), media_type="text/plain", headers=ODATA_HEADERS)
        base = service_url(call.request, self.model)
        body: dict[str, Any] = {"results": [
            entity_json(self.model, etype, row, base, query.select, query.expand,
                        call.backend.related) for row in page]}
        if query.inlinecount:
            body["__count"] = str(total)
        return odata_json({"d": body})

    def read_set(self, entity_set: EntitySet) -> Handler:
        def handler(call: Call) -> Response:
            return self._collection(call, entity_set.name, call.backend.rows(entity_set.name))

        return handler

    def count(self, entity_set: EntitySet) -> Handler:
        def handler(call: Call) -> Response:
            return self._collection(call, entity_set.name, call.backend.rows(entity_set.name),
                                    count_only=True)

        return handler

    def get(self, entity_set: EntitySet) -> Handler:
        def handler(call: Call) -> Response:
            row = self._entity(call.backend, entity_set, call.path_params["key"])
            etype = self.model.entity_type(entity_set.type)
            query = parse_query(self.model, etype, call.query, collection=False)
            return odata_json({"d": entity_json(
                self.model, etype, row, service_url(call.request, self.model), query.select,
                query.expand, call.backend.related)})

        return handler

    def navigate(self, entity_set: EntitySet, nav: NavProp) -> Handler:
        def handler(call: Call) -> Response:
            row = self._entity(call.backend, entity_set, call.path_params["key"])
            target_set = self.model.set_of_type(nav.target).name
            value = call.backend.related(entity_set.type, row, nav.name)
            if nav.many:
                return self._collection(call, target_set, value)
            if value is None:
                raise not_found(nav.target)
            etype = self.model.entity_type(nav.target)
            query = parse_query(self.model, etype, call.query, collection=False)
            return odata_json({"d": entity_json(
                self.model, etype, value, service_url(call.request, self.model), query.select,
                query.expand, call.backend.related)})

        return handler

    def create(self, entity_set: EntitySet) -> Handler:
        def handler(call: Call) -> Response:
            etype = self.model.entity_type(entity_set.type)
            try:
                data = orjson.loads(call.body) if call.body.strip() else None
            except orjson.JSONDecodeError as exc:
                raise bad_request(SYNTAX_ERROR, f"Malformed JSON request body: {exc}") from None
            payload = parse_entity_body(self.model, etype, data)
            row = call.backend.create(entity_set.name, payload, call.principal or "")
            base = service_url(call.request, self.model)
            expand = _expand_of(self.model, entity_set.type, payload)
            uri = base + entity_set.name + key_string(etype, row)
            return odata_json({"d": entity_json(self.model, etype, row, base, Select(), expand,
                                                call.backend.related)},
                              201, headers={"location": uri})

        return handler


def _expand_of(model: ServiceModel, type_name: str, payload: dict[str, Any]) -> Expand:
    """Render back what a deep insert created: every navigation present in the request, and
    a journal entry's items (the simulator generates the customer line)."""
    etype = model.entity_type(type_name)
    out = Expand()
    for nav in etype.navs:
        if nav.name in payload or type_name == "A_JournalEntryType":
            child = payload.get(nav.name)
            sample = child[0] if isinstance(child, list) and child else child
            out.children[nav.name] = _expand_of(model, nav.target, sample) \
                if isinstance(sample, dict) else Expand()
    return out
