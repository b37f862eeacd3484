"""OpenAPI operation objects and schemas for the OData services, derived from the same
:class:`~.edm.ServiceModel` that renders ``$metadata``, so the two cannot drift apart."""

from __future__ import annotations

import re
from typing import Any

from .edm import EntitySet, EntityType, NavProp, Prop, ServiceModel

ERROR_REF = {"$ref": "#/components/schemas/SapError"}
JSON = "application/json"


def schema_name(model: ServiceModel, type_name: str) -> str:
    return f"{model.name}.{type_name}"


def _ref(model: ServiceModel, type_name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema_name(model, type_name)}"}


def _prop_schema(prop: Prop) -> dict[str, Any]:
    if prop.type == "Edm.Boolean":
        schema: dict[str, Any] = {"type": "boolean"}
    elif prop.type == "Edm.DateTime":
        schema = {"type": "string", "pattern": r"^/Date\(-?\d+([+-]\d{4})?\)/$",
                  "description": "milliseconds since 1970-01-01 UTC"}
    elif prop.type == "Edm.Decimal":
        schema = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
    else:
        schema = {"type": "string"}
        if prop.max_length is not None:
            schema["maxLength"] = prop.max_length
    schema["title"] = prop.label or prop.name
    return {**schema, "type": [schema["type"], "null"]}


def _nav_schema(model: ServiceModel, nav: NavProp) -> dict[str, Any]:
    deferred = {"type": "object", "required": ["__deferred"],
                "properties": {"__deferred": {"type": "object",
                                              "properties": {"uri": {"type": "string"}}}}}
    if nav.many:
        expanded = {"type": "object", "required": ["results"], "properties": {
            "results": {"type": "array", "items": _ref(model, nav.target)}}}
        return {"anyOf": [deferred, expanded]}
    return {"anyOf": [deferred, _ref(model, nav.target), {"type": "null"}]}


def entity_schema(model: ServiceModel, etype: EntityType) -> dict[str, Any]:
    props: dict[str, Any] = {"__metadata": {"type": "object", "required": ["uri", "type"],
                                            "properties": {"id": {"type": "string"},
                                                           "uri": {"type": "string"},
                                                           "type": {"type": "string"}}}}
    props.update({p.name: _prop_schema(p) for p in etype.props})
    props.update({n.name: _nav_schema(model, n) for n in etype.navs})
    return {"type": "object", "title": etype.label, "required": ["__metadata"],
            "properties": props}


def create_schema(model: ServiceModel, etype: EntityType, depth: int = 0) -> dict[str, Any]:
    """The deep-insert body: creatable properties; read-only ones are accepted and ignored."""
    props: dict[str, Any] = {p.name: _prop_schema(p) for p in etype.props}
    for nav in etype.navs:
        if depth >= 2:
            continue
        target = create_schema(model, model.entity_type(nav.target), depth + 1)
        props[nav.name] = ({"anyOf": [{"type": "array", "items": target},
                                      {"type": "object", "required": ["results"],
                                       "properties": {
                                          "results": {"type": "array", "items": target}}}]}
                           if nav.many else {"anyOf": [target, {"type": "null"}]})
    return {"type": "object", "properties": props, "additionalProperties": False}


def components(models: list[ServiceModel]) -> dict[str, Any]:
    schemas: dict[str, Any] = {"SapError": _ERROR_SCHEMA}
    for model in models:
        for etype in model.types:
            schemas[schema_name(model, etype.name)] = entity_schema(model, etype)
    return {"schemas": schemas,
            "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic",
                                              "description": "communication user"}}}


_DETAIL = {"type": "object", "properties": {k: {"type": "string"} for k in (
    "code", "message", "propertyref", "severity", "target")}}
_ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string", "description": "<message class>/<number>"},
        "message": {"type": "object", "required": ["lang", "value"], "properties": {
            "lang": {"type": "string"}, "value": {"type": "string"}}},
        "innererror": {"type": "object", "properties": {
            "application": {"type": "object"},
            "transactionid": {"type": "string"},
            "timestamp": {"type": "string"},
            "Error_Resolution": {"type": "object"},
            "errordetails": {"type": "array", "items": _DETAIL}}},
    }}},
}


def _error(description: str, headers: dict[str, Any] | None = None,
           refusals: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """A Gateway error response; ``refusals`` are (body regex, why) pairs of schema-valid
    input it refuses (harness.fuzz's documented acceptance check reads them)."""
    out: dict[str, Any] = {"description": description,
                           "content": {JSON: {"schema": ERROR_REF}}}
    if headers:
        out["headers"] = headers
    if refusals:
        out["x-o2c-valid-input-rejections"] = [{"match": m, "why": w} for m, w in refusals]
    return out


#: a system query option that does not parse or names what the entity type lacks (the key
#: predicate is a schema pattern, so its refusal is not among these)
_QUERY_OPTION = ((r'"code":"/IWBEP/CM_MGW_RT/022","message":\{"lang":"en","value":"'
                  r'(?!Invalid key predicate)',
                  "$filter, $select, $expand and $orderby are expressions over the entity "
                  "model (properties, navigations, operators), not JSON Schema strings"),)
#: SAP application messages: customizing and master data (company codes, countries, terms,
#: fiscal periods, partners and customers that exist, open items, currency decimals)
_BUSINESS = ((r'"code":"(R1|R11|AM|F2|F5)/[0-9]+"',
              "references to customizing and master data that may not exist, and business "
              "rules over them, are the system's state, not the request's shape"),)

#: an Edm.DateTime literal SAP cannot store: /Date(ms)/ is a pattern, its range is not
_DATE_RANGE = ((r"the date lies outside 1753-01-01\.\.9999-12-31",
                "/Date(<ms>)/ is checked against SAP's date range (1753-01-01..9999-12-31), "
                "which a JSON Schema pattern over the digits cannot bound"),)


def _common_errors(write: bool) -> dict[str, Any]:
    out = {
        "401": _error("Logon failed (Basic auth)"),
        "429": _error("Rate limit (injected fault)", {"Retry-After": {"schema": {
            "type": "string"}}}),
        "500": _error("Internal error"),
        "503": _error("Service unavailable (injected fault / outage)"),
        "504": _error("Gateway timeout (injected fault)"),
    }
    if write:
        out["403"] = _error("CSRF token validation failed", {"x-csrf-token": {
            "schema": {"type": "string", "enum": ["Required"]}}})
    return out


def _q(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


CSRF_FETCH = {"name": "x-csrf-token", "in": "header", "required": False,
              "schema": {"type": "string"},
              "description": "'Fetch' returns a token (response header x-csrf-token) and a "
                             "session cookie; send the token on writes"}
FORMAT = _q("$format", {"type": "string", "enum": ["json"]}, "only JSON is served")
SELECT = _q("$select", {"type": "string"}, "comma-separated properties, e.g. "
            "BusinessPartner,to_Customer/Customer")
EXPAND = _q("$expand", {"type": "string"}, "comma-separated navigation paths, e.g. "
            "to_Customer/to_CustomerCompany")
COLLECTION_PARAMS = [
    _q("$filter", {"type": "string"}, "OData v2 filter expression"),
    SELECT, EXPAND,
    _q("$orderby", {"type": "string"}, "Property [asc|desc], ..."),
    _q("$top", {"type": "integer", "minimum": 0, "maximum": 999_999_999}, "page size"),
    _q("$skip", {"type": "integer", "minimum": 0, "maximum": 999_999_999}, "offset"),
    _q("$inlinecount", {"type": "string", "enum": ["allpages", "none"]}, "add __count"),
    FORMAT, CSRF_FETCH,
]
KEY_PARAM = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "OData key predicate: 'value' for a single key, "
                            "Name='value',Name2='value' for a composite key"}
_QUOTED = r"'(?:[^']|'')*'"  # an Edm.String literal: quotes doubled inside


def key_param(etype: EntityType) -> dict[str, Any]:
    """The key predicate of ``etype`` as a pattern: ``'v'`` or ``Key='v'`` for a single key,
    ``A='v',B='w'`` (in key order) for a composite one; anything else is a 400 at SAP."""
    pairs = ",".join(f"{re.escape(key)}={_QUOTED}" for key in etype.keys)
    pattern = f"^({_QUOTED}|{pairs})$" if len(etype.keys) == 1 else f"^{pairs}$"
    return {**KEY_PARAM, "schema": {"type": "string", "pattern": pattern}}


_OK_HEADERS = {"x-csrf-token": {"schema": {"type": "string"},
                                "description": "token when requested with 'Fetch'"}}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "headers": _OK_HEADERS,
            "content": {JSON: {"schema": schema}}}


def _collection(model: ServiceModel, type_name: str) -> dict[str, Any]:
    return {"type": "object", "required": ["d"], "properties": {"d": {
        "type": "object", "required": ["results"], "properties": {
            "results": {"type": "array", "items": _ref(model, type_name)},
            "__count": {"type": "string", "pattern": r"^\d+$"}}}}}


def _single(model: ServiceModel, type_name: str) -> dict[str, Any]:
    return {"type": "object", "required": ["d"], "properties": {"d": _ref(model, type_name)}}


def _op(model: ServiceModel, summary: str, responses: dict[str, Any],
        params: list[dict[str, Any]] | None = None, write: bool = False,
        body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"tags": [model.name], "summary": summary,
                          "responses": {**responses, **_common_errors(write)}}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    return op


def service_document(model: ServiceModel) -> dict[str, Any]:
    return _op(model, f"{model.name} service document", {"200": _ok({
        "type": "object", "required": ["d"], "properties": {"d": {
            "type": "object", "properties": {"EntitySets": {"type": "array",
                                                            "items": {"type": "string"}}}}}})},
        [CSRF_FETCH])


def metadata(model: ServiceModel) -> dict[str, Any]:
    return _op(model, f"{model.name} $metadata (EDMX 1.0, OData v2)", {"200": {
        "description": "EDMX document", "headers": _OK_HEADERS,
        "content": {"application/xml": {"schema": {"type": "string"}}}}}, [CSRF_FETCH])


def read_set(model: ServiceModel, es: EntitySet) -> dict[str, Any]:
    return _op(model, f"Query {es.name}", {"200": _ok(_collection(model, es.type)),
                                           "400": _error("Invalid system query option",
                                                         refusals=_QUERY_OPTION)},
               COLLECTION_PARAMS)


def count(model: ServiceModel, es: EntitySet) -> dict[str, Any]:
    return _op(model, f"Count {es.name}", {
        "200": {"description": "number of matching entities", "headers": _OK_HEADERS,
                "content": {"text/plain": {"schema": {"type": "string", "pattern": r"^\d+$"}}}},
        "400": _error("Invalid $filter", refusals=_QUERY_OPTION)},
        [COLLECTION_PARAMS[0], FORMAT, CSRF_FETCH])


def get(model: ServiceModel, es: EntitySet) -> dict[str, Any]:
    return _op(model, f"Read {es.name} by key", {
        "200": _ok(_single(model, es.type)),
        "400": _error("Malformed key predicate or query option", refusals=_QUERY_OPTION),
        "404": _error("Resource not found for segment")},
        [key_param(model.entity_type(es.type)), SELECT, EXPAND, FORMAT, CSRF_FETCH])


def navigate(model: ServiceModel, es: EntitySet, nav: NavProp) -> dict[str, Any]:
    ok = _collection(model, nav.target) if nav.many else _single(model, nav.target)
    key = key_param(model.entity_type(es.type))
    params = [key, *COLLECTION_PARAMS] if nav.many else [key, SELECT, EXPAND,
                                                                FORMAT, CSRF_FETCH]
    return _op(model, f"Navigate {es.name} → {nav.name}", {
        "200": _ok(ok),
        "400": _error("Malformed key predicate or query option", refusals=_QUERY_OPTION),
        "404": _error("Resource not found for segment")}, params)


def create(model: ServiceModel, es: EntitySet,
           models: dict[str, ServiceModel] | None = None) -> dict[str, Any]:
    etype = model.entity_type(es.type)
    return _op(model, f"Create {es.name} (deep insert)", {
        "201": {"description": "Created: the entity graph as posted", "headers": {
            "location": {"schema": {"type": "string"}}},
            "content": {JSON: {"schema": _single(model, es.type)}},
            "links": links(models or {model.name: model}, model, es)},
        "400": _error("Validation failed (SAP message in error.code)",
                      refusals=_BUSINESS + _DATE_RANGE)},
        [{"name": "x-csrf-token", "in": "header", "required": False,
          "schema": {"type": "string"}, "description": "token from a 'Fetch' request"}],
        write=True, body=create_schema(model, etype))


def operation_id(model: ServiceModel, verb: str, es_name: str = "", nav: str = "") -> str:
    """``API_BUSINESS_PARTNER.A_BusinessPartner.create``, ``....get``, ``....to_Customer``."""
    return ".".join(part for part in (model.name, es_name, nav or verb) if part)


def _key_expression(etype: EntityType, source: dict[str, str] | None = None) -> str:
    """The key predicate of ``etype`` as an OpenAPI runtime expression over a created
    entity (``source`` maps a key property to the response property that holds it)."""
    def value(key: str) -> str:
        return "'{$response.body#/d/" + (source or {}).get(key, key) + "}'"

    if len(etype.keys) == 1:
        return value(etype.keys[0])
    return ",".join(f"{key}={value(key)}" for key in etype.keys)


# what a created entity feeds, besides reading itself back: (service, set) → creates it fills
# (body property ← created property) and entities it names (set ← key properties)
_FEEDS: dict[str, tuple[tuple[str, str, dict[str, str]], ...]] = {
    "A_BusinessPartner": (
        ("API_BUSINESS_PARTNER", "A_BusinessPartnerAddress",
         {"BusinessPartner": "BusinessPartner"}),
        ("API_BUSINESS_PARTNER", "A_CustomerCompany", {"Customer": "Customer"}),
    ),
    "A_CustomerCompany": (
        ("API_O2C_JOURNALENTRY_SRV", "A_JournalEntry", {"Customer": "Customer",
                                                        "CompanyCode": "CompanyCode"}),
    ),
    "A_JournalEntry": (
        ("API_O2C_INCOMINGPAYMENT_SRV", "A_IncomingPayment", {
            "Customer": "Customer", "CompanyCode": "CompanyCode",
            "InvoiceAccountingDocument": "AccountingDocument",
            "InvoiceFiscalYear": "FiscalYear", "TransactionCurrency": "TransactionCurrency",
            "AmountInTransactionCurrency": "AmountInTransactionCurrency"}),
    ),
}
_NAMES: dict[str, tuple[tuple[str, str, dict[str, str]], ...]] = {
    "A_BusinessPartner": (("API_BUSINESS_PARTNER", "A_Customer", {"Customer": "Customer"}),),
    "A_CustomerCompany": (("API_BUSINESS_PARTNER", "A_Customer", {"Customer": "Customer"}),),
}


def links(models: dict[str, ServiceModel], model: ServiceModel,
          es: EntitySet) -> dict[str, Any]:
    """OpenAPI links of a create (schemathesis' stateful phase follows them): read the
    created entity back by its key and along each navigation, read what it names, and fill
    the creates it feeds (business partner → customer company → journal entry → incoming
    payment, the O2C chain)."""
    etype = model.entity_type(es.type)
    key = _key_expression(etype)
    out: dict[str, Any] = {"get": {"operationId": operation_id(model, "get", es.name),
                                   "parameters": {"path.key": key}}}
    for nav in etype.navs:
        out[nav.name] = {"operationId": operation_id(model, "", es.name, nav.name),
                         "parameters": {"path.key": key}}
    for service, target, source in _NAMES.get(es.name, ()):
        tmodel = models[service]
        ttype = tmodel.entity_type(next(s.type for s in tmodel.sets if s.name == target))
        out[f"get_{target}"] = {"operationId": operation_id(tmodel, "get", target),
                                "parameters": {"path.key": _key_expression(ttype, source)}}
    for service, target, fills in _FEEDS.get(es.name, ()):
        out[f"create_{target}"] = {
            "operationId": operation_id(models[service], "create", target),
            "requestBody": {prop: "$response.body#/d/" + src for prop, src in fills.items()}}
    return out


def periods_paths() -> dict[str, Any]:
    """The simulator's period-control admin routes (``extra_routes``)."""
    entry = {"type": "object", "properties": {"period": {"type": "string"},
                                              "closed": {"type": "boolean"}}}
    listing = {"type": "object", "properties": {"data": {"type": "array", "items": entry}}}
    body = {"type": "object", "additionalProperties": False,
            "required": ["company_code", "fiscal_year", "closed"],
            "properties": {"company_code": {"type": "string", "pattern": r"^(\*|[A-Z0-9]{4})$"},
                           "fiscal_year": {"type": "integer", "minimum": 1900, "maximum": 9999},
                           "period": {"type": ["integer", "null"], "minimum": 1, "maximum": 16,
                                      "description": "omit/null for the whole fiscal year"},
                           "closed": {"type": "boolean"}}}
    admin_error = {"type": "object", "properties": {"error": {"type": "object"}}}
    ok = {"description": "OK", "content": {JSON: {"schema": listing}}}
    return {"/_sim/erp/periods": {
        "get": {"tags": ["admin"], "summary": "Posting periods opened/closed explicitly",
                "responses": {"200": ok}},
        "put": {"tags": ["admin"], "summary": "Open or close a posting period (OB52)",
                "requestBody": {"required": True, "content": {JSON: {"schema": body}}},
                "responses": {"200": ok, "400": {"description": "Invalid JSON",
                                                 "content": {JSON: {"schema": admin_error}}},
                              "422": {"description": "Invalid body",
                                      "content": {JSON: {"schema": admin_error}}}}},
    }}
