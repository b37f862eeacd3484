"""The Stripe backend: customers, catalog, tax rates, events and webhooks, test clocks.

Billing (subscriptions, meters, invoices, credit notes) lives in :mod:`.billing` as a mixin
over the same store. No HTTP in here: methods take validated params and return documents,
raising :mod:`.errors` classes for Stripe's business errors.

Documents are stored exactly as Stripe renders them; keys starting with ``_`` are internal
and stripped on the way out (``render``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from simulators._kit import LOCALE_COUNTRY, Backend, SeedRequest, make_faker, rng

from . import params as P
from .billing import BillingMixin
from .errors import API_VERSION, InvalidRequestError, resource_missing

Doc = dict[str, Any]

# id prefix → (collection, noun used in "No such <noun>")
PREFIXES: dict[str, tuple[str, str]] = {
    "cus_": ("customers", "customer"),
    "prod_": ("products", "product"),
    "price_": ("prices", "price"),
    "txr_": ("tax_rates", "tax rate"),
    "sub_": ("subscriptions", "subscription"),
    "in_": ("invoices", "invoice"),
    "ii_": ("invoiceitems", "invoiceitem"),
    "cn_": ("credit_notes", "credit note"),
    "clock_": ("test_clocks", "test clock"),
    "mtr_": ("meters", "billing meter"),
    "we_": ("webhook_endpoints", "webhook endpoint"),
    "evt_": ("events", "event"),
}


def strip(doc: Doc) -> Doc:
    """The public rendering of a stored document (internal ``_`` keys removed)."""
    return {k: v for k, v in doc.items() if k[0] != "_"}


def apply_metadata(target: dict[str, str], update: dict[str, str] | None, given: bool) -> None:
    """Stripe's metadata semantics: keys merge, ``""`` deletes a key, ``metadata=`` clears."""
    if not given:
        return
    if update is None:
        target.clear()
        return
    for k, v in update.items():
        if v == "":
            target.pop(k, None)
        else:
            target[k] = v


def event_matches(enabled: Iterable[str], event_type: str) -> bool:
    for pattern in enabled:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def assign_given(doc: Doc, p: Any, fields: tuple[str, ...], *,
                 keep_if_none: tuple[str, ...] = (), none_becomes: Doc | None = None,
                 check: Callable[[str, Any], None] | None = None) -> Doc:
    """Set the update params that were given on ``doc`` (an empty value unsets a field,
    except those in ``keep_if_none``), merge ``metadata``; return Stripe's
    ``previous_attributes``."""
    previous: Doc = {}
    given = p.model_fields_set
    for field in fields:
        if field not in given:
            continue
        value = getattr(p, field)
        if value is None:
            if field in keep_if_none:
                continue
            value = (none_becomes or {}).get(field)
        if check is not None:
            check(field, value)
        previous[field] = doc[field]
        doc[field] = value
    if "metadata" in given:
        previous["metadata"] = dict(doc["metadata"])
        apply_metadata(doc["metadata"], p.metadata, True)
    return previous


class StripeBackend(BillingMixin, Backend):
    """All Stripe state and behaviour."""

    name = "billing"

    # -- plumbing --------------------------------------------------------------------------
    def coll(self, name: str) -> Any:
        return self.ctx.store.collection(name)

    def now(self) -> int:
        return int(self.clock.now())

    def new_id(self, prefix: str, length: int = 24) -> str:
        return self.ctx.ids.new(prefix, length)

    def get(self, prefix: str, obj_id: str | None, param: str = "id") -> Doc:
        """The stored document or Stripe's ``resource_missing``."""
        collection, noun = PREFIXES[prefix]
        doc = self.coll(collection).get(obj_id) if obj_id else None
        if doc is None:
            raise resource_missing(noun, obj_id or "", param)
        return doc

    def save(self, collection: str, doc: Doc) -> Doc:
        return self.coll(collection).put(doc["id"], doc)

    def lookup(self, obj_id: str) -> Doc | None:
        for prefix, (collection, _) in PREFIXES.items():
            if obj_id.startswith(prefix):
                return self.coll(collection).get(obj_id)
        return None

    def render(self, doc: Doc) -> Doc:
        """The public shape of any stored object (invoices get their ``lines`` list)."""
        kind = doc.get("object")
        if kind == "customer" or kind == "list" or doc.get("deleted"):
            return doc  # stored as rendered: no copy needed
        if kind == "invoice":
            return self.render_invoice(doc)
        if kind == "credit_note":
            return self.render_credit_note(doc)
        return strip(doc)

    def time_for_clock(self, clock_id: str | None) -> int:
        """Now, as seen by objects on ``clock_id`` (a test clock) or the simulator clock."""
        if clock_id:
            clock = self.coll("test_clocks").get(clock_id)
            if clock is not None:
                return int(clock["frozen_time"])
        return self.now()

    def time_for(self, customer: Doc) -> int:
        return self.time_for_clock(customer.get("test_clock"))

    # -- listing and expansion -------------------------------------------------------------
    def page(self, collection: str, p: P.ListParams, url: str,
             keep: Callable[[Doc], bool] | None = None) -> Doc:
        """A Stripe list page, newest first, with ``starting_after``/``ending_before``."""
        docs = list(self.coll(collection).values())
        docs.reverse()
        if keep is not None:
            docs = [d for d in docs if keep(d)]
        return self.page_of(docs, p, url, collection)

    def page_of(self, docs: list[Doc], p: P.ListParams, url: str, collection: str) -> Doc:
        limit = p.limit
        if p.starting_after is not None:
            idx = self._index(docs, p.starting_after, "starting_after", collection)
            chunk = docs[idx + 1: idx + 1 + limit]
            has_more = len(docs) > idx + 1 + limit
        elif p.ending_before is not None:
            idx = self._index(docs, p.ending_before, "ending_before", collection)
            chunk = docs[max(0, idx - limit): idx]
            has_more = idx - limit > 0
        else:
            chunk = docs[:limit]
            has_more = len(docs) > limit
        return {"object": "list", "data": [self.render(d) for d in chunk],
                "has_more": has_more, "url": url}

    def _index(self, docs: list[Doc], obj_id: str, param: str, collection: str) -> int:
        for i, d in enumerate(docs):
            if d["id"] == obj_id:
                return i
        noun = next((n for c, n in PREFIXES.values() if c == collection), "object")
        raise resource_missing(noun, obj_id, param)

    def expand(self, obj: Doc, paths: list[str] | None) -> Doc:
        """Replace ids by objects along each dotted path (Stripe's ``expand[]``)."""
        if not paths:
            return obj
        obj = orjson.loads(orjson.dumps(obj))  # expansion must never touch stored documents
        for path in paths:
            if path.count(".") > 3:
                raise InvalidRequestError(
                    f"You cannot expand more than 4 levels of a property. Property: {path}",
                    param="expand")
            self._expand(obj, path.split("."), path)
        return obj

    def _expand(self, node: Any, parts: list[str], path: str) -> None:
        if isinstance(node, list):
            for item in node:
                self._expand(item, parts, path)
            return
        if not isinstance(node, dict):
            return
        key = parts[0]
        if key not in node:
            raise InvalidRequestError(f"This property cannot be expanded ({key}).",
                                      param="expand")
        value = node[key]
        if isinstance(value, str):
            found = self.lookup(value)
            if found is None:
                raise InvalidRequestError(f"This property cannot be expanded ({key}).",
                                          param="expand")
            value = node[key] = self.render(found)
        elif len(parts) == 1 and value is not None and not isinstance(value, dict):
            raise InvalidRequestError(f"This property cannot be expanded ({key}).",
                                      param="expand")
        if len(parts) > 1 and value is not None:
            self._expand(value, parts[1:], path)

    # -- events and webhooks ---------------------------------------------------------------
    def emit(self, event_type: str, obj: Doc, previous: Doc | None = None) -> Doc:
        """Record an event and deliver it to every enabled endpoint that listens for it."""
        data: Doc = {"object": self.render(obj)}
        if previous:
            data["previous_attributes"] = previous
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        targets = [we for we in self.coll("webhook_endpoints").values()
                   if we["status"] == "enabled" and event_matches(we["enabled_events"],
                                                                  event_type)]
        event["pending_webhooks"] = len(targets)
        body = orjson.dumps(event)
        # an event is a snapshot: later changes to the object must not reach it
        self.save("events", orjson.loads(body))
        if targets:
            for we in targets:
                self.ctx.webhooks.enqueue(url=we["url"], body=body, event_id=event["id"],
                                          event_type=event_type, secret=we["_secret"])
        return event

    # -- customers -------------------------------------------------------------------------
    def create_customer(self, p: P.CustomerCreate) -> Doc:
        clock_id = None
        if p.test_clock is not None:
            clock_id = self.get("clock_", p.test_clock, "test_clock")["id"]
        cid = self.new_id("cus", 14)
        doc: Doc = {
            "id": cid,
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": self.time_for_clock(clock_id),
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": None,
            "discount": None,
            "email": None,
            "invoice_prefix": hashlib.blake2b(cid.encode(), digest_size=4).hexdigest().upper(),
            "invoice_settings": {"custom_fields": None, "default_payment_method": None,
                                 "footer": None,
                                 "rendering_options": None},
            "livemode": False,
            "metadata": {},
            "name": None,
            "next_invoice_sequence": 1,
            "phone": None,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": clock_id,
        }
        self._apply_customer(doc, p)
        self.save("customers", doc)
        self.emit("customer.created", doc)
        self.ctx.facts.record("customer.created", cid, email=doc["email"], name=doc["name"],
                              created=doc["created"], metadata=doc["metadata"])
        return doc

    def _apply_customer(self, doc: Doc, p: P.CustomerUpdate) -> Doc:
        """Apply the given params; returns Stripe's ``previous_attributes``."""
        previous: Doc = {}
        given = p.model_fields_set
        for field in ("description", "email", "name", "phone", "tax_exempt", "balance",
                      "next_invoice_sequence", "invoice_prefix"):
            if field in given:
                value = getattr(p, field)
                if field == "tax_exempt" and value is None:
                    value = "none"
                if field in ("balance", "next_invoice_sequence") and value is None:
                    continue
                if doc[field] != value:
                    previous[field] = doc[field]
                    doc[field] = value
        if "address" in given:
            previous["address"] = doc["address"]
            doc["address"] = ({"city": None, "country": None, "line1": None, "line2": None,
                               "postal_code": None, "state": None} | p.address.model_dump()
                              if p.address else None)
        if "shipping" in given:
            previous["shipping"] = doc["shipping"]
            doc["shipping"] = p.shipping.model_dump() if p.shipping else None
        if "preferred_locales" in given:
            previous["preferred_locales"] = doc["preferred_locales"]
            doc["preferred_locales"] = p.preferred_locales or []
        if "invoice_settings" in given and p.invoice_settings is not None:
            previous["invoice_settings"] = dict(doc["invoice_settings"])
            doc["invoice_settings"].update(p.invoice_settings.model_dump(exclude_unset=True))
        if "metadata" in given:
            previous["metadata"] = dict(doc["metadata"])
            apply_metadata(doc["metadata"], p.metadata, True)
        return previous

    def update_customer(self, cid: str, p: P.CustomerUpdate) -> Doc:
        doc = self.get("cus_", cid)
        previous = self._apply_customer(doc, p)
        self.save("customers", doc)
        self.emit("customer.updated", doc, previous)
        return doc

    def delete_customer(self, cid: str) -> Doc:
        doc = self.get("cus_", cid)
        for sub in list(self.coll("subscriptions").values()):
            if sub["customer"] == cid and sub["status"] not in ("canceled",
                                                                 "incomplete_expired"):
                self.cancel_subscription(sub["id"], P.SubscriptionCancel())
        self.coll("customers").delete(cid)
        tomb = {"id": cid, "object": "customer", "deleted": True}
        self.coll("deleted").put(cid, tomb)
        self.emit("customer.deleted", doc)
        return tomb

    def retrieve_customer(self, cid: str) -> Doc:
        doc = self.coll("customers").get(cid)
        if doc is None:
            doc = self.coll("deleted").get(cid)
            if doc is None:
                raise resource_missing("customer", cid)
        return doc

    # -- products, prices, tax rates -------------------------------------------------------
    def create_product(self, p: P.ProductCreate) -> Doc:
        pid = p.id or self.new_id("prod", 14)
        if pid in self.coll("products"):
            raise InvalidRequestError("Product already exists.", code="resource_already_exists",
                                      param="id")
        now = self.now()
        doc: Doc = {
            "id": pid, "object": "product", "active": True, "created": now,
            "default_price": None, "description": None, "images": [], "livemode": False,
            "marketing_features": [], "metadata": {}, "name": p.name,
            "package_dimensions": None, "shippable": None, "statement_descriptor": None,
            "tax_code": None, "type": "service", "unit_label": None, "updated": now, "url": None,
        }
        self._apply_product(doc, p)
        self.save("products", doc)
        self.emit("product.created", doc)
        if p.default_price_data is not None:
            d = p.default_price_data
            price = self.create_price(P.PriceCreate(
                currency=d.currency, unit_amount=d.unit_amount, product=pid,
                recurring=d.recurring, tax_behavior=d.tax_behavior))
            doc["default_price"] = price["id"]
            self.save("products", doc)
        return doc

    def _apply_product(self, doc: Doc, p: P.ProductUpdate) -> Doc:
        def check(field: str, value: Any) -> None:
            if field == "default_price" and value is not None:
                price = self.get("price_", value, "default_price")
                if price["product"] != doc["id"]:
                    raise InvalidRequestError("The default price must belong to this product.",
                                              param="default_price")

        previous = assign_given(doc, p, ("active", "description", "name",
                                         "statement_descriptor", "tax_code", "unit_label",
                                         "url", "shippable", "images", "default_price"),
                                keep_if_none=("active", "name"), none_becomes={"images": []},
                                check=check)
        doc["updated"] = self.now()
        return previous

    def update_product(self, pid: str, p: P.ProductUpdate) -> Doc:
        doc = self.get("prod_", pid)
        previous = self._apply_product(doc, p)
        self.save("products", doc)
        self.emit("product.updated", doc, previous)
        return doc

    def delete_product(self, pid: str) -> Doc:
        doc = self.get("prod_", pid)
        if any(pr["product"] == pid for pr in self.coll("prices").values()):
            raise InvalidRequestError(
                "This product cannot be deleted because it has one or more user-created "
                "prices.")
        self.coll("products").delete(pid)
        self.emit("product.deleted", doc)
        return {"id": pid, "object": "product", "deleted": True}

    def create_price(self, p: P.PriceCreate) -> Doc:
        if (p.product is None) == (p.product_data is None):
            if p.product is None:
                raise InvalidRequestError("Missing required param: product.",
                                          code="parameter_missing", param="product")
            raise InvalidRequestError("You may only specify one of these parameters: product, "
                                      "product_data.", code="parameters_exclusive",
                                      param="product")
        if p.product is not None:
            product_id = self.get("prod_", p.product, "product")["id"]
        else:
            assert p.product_data is not None
            product_id = self.create_product(P.ProductCreate(
                name=p.product_data.name, metadata=p.product_data.metadata))["id"]
        recurring = None
        if p.recurring is not None:
            r = p.recurring
            meter = None
            if r.usage_type == "metered":
                if r.meter is None:
                    raise InvalidRequestError(
                        "Missing required param: recurring[meter].", code="parameter_missing",
                        param="recurring[meter]")
                meter = self.get("mtr_", r.meter, "recurring[meter]")["id"]
            elif r.meter is not None:
                raise InvalidRequestError(
                    "recurring[meter] can only be set when recurring[usage_type] is metered.",
                    param="recurring[meter]")
            recurring = {"interval": r.interval, "interval_count": r.interval_count,
                         "meter": meter, "usage_type": r.usage_type,
                         "trial_period_days": None}
        if p.unit_amount is None:
            raise InvalidRequestError("Missing required param: unit_amount.",
                                      code="parameter_missing", param="unit_amount")
        doc: Doc = {
            "id": self.new_id("price"), "object": "price", "active": True,
            "billing_scheme": "per_unit", "created": self.now(),
            "currency": p.currency.lower(), "custom_unit_amount": None, "livemode": False,
            "lookup_key": None, "metadata": {}, "nickname": None, "product": product_id,
            "recurring": recurring, "tax_behavior": "unspecified", "tiers_mode": None,
            "transform_quantity": None, "type": "recurring" if recurring else "one_time",
            "unit_amount": p.unit_amount, "unit_amount_decimal": str(p.unit_amount),
        }
        self._apply_price(doc, p)
        self.save("prices", doc)
        self.emit("price.created", doc)
        return doc

    def _apply_price(self, doc: Doc, p: P.PriceUpdate) -> Doc:
        def check(field: str, value: Any) -> None:
            if field == "tax_behavior" and doc["tax_behavior"] not in ("unspecified", value):
                raise InvalidRequestError(
                    "tax_behavior cannot be changed once it is set to exclusive or inclusive.",
                    param="tax_behavior")

        return assign_given(doc, p, ("active", "lookup_key", "nickname", "tax_behavior"),
                            keep_if_none=("active", "tax_behavior"), check=check)

    def update_price(self, pid: str, p: P.PriceUpdate) -> Doc:
        doc = self.get("price_", pid)
        previous = self._apply_price(doc, p)
        self.save("prices", doc)
        self.emit("price.updated", doc, previous)
        return doc

    def create_tax_rate(self, p: P.TaxRateCreate) -> Doc:
        doc: Doc = {
            "id": self.new_id("txr"), "object": "tax_rate", "active": True, "country": None,
            "created": self.now(), "description": None, "display_name": p.display_name,
            "effective_percentage": p.percentage, "flat_amount": None,
            "inclusive": p.inclusive, "jurisdiction": None, "jurisdiction_level": None,
            "livemode": False, "metadata": {}, "percentage": p.percentage, "rate_type":
            "percentage", "state": None, "tax_type": None,
        }
        self._apply_tax_rate(doc, p)
        self.save("tax_rates", doc)
        self.emit("tax_rate.created", doc)
        return doc

    def _apply_tax_rate(self, doc: Doc, p: P.TaxRateUpdate) -> Doc:
        return assign_given(doc, p, ("active", "country", "description", "display_name",
                                     "jurisdiction", "state", "tax_type"),
                            keep_if_none=("active", "display_name"))

    def update_tax_rate(self, tid: str, p: P.TaxRateUpdate) -> Doc:
        doc = self.get("txr_", tid)
        previous = self._apply_tax_rate(doc, p)
        self.save("tax_rates", doc)
        self.emit("tax_rate.updated", doc, previous)
        return doc

    def tax_rates(self, ids: list[str] | None, param: str) -> list[Doc]:
        out = []
        for i, tid in enumerate(ids or []):
            rate = self.get("txr_", tid, f"{param}[{i}]")
            out.append(rate)
        return out

    # -- webhook endpoints -----------------------------------------------------------------
    def create_webhook_endpoint(self, p: P.WebhookEndpointCreate) -> Doc:
        wid = self.new_id("we")
        secret = "whsec_" + hmac.new(str(self.ctx.ids.seed).encode(), wid.encode(),
                                     "sha256").hexdigest()[:32]
        doc: Doc = {
            "id": wid, "object": "webhook_endpoint", "api_version": p.api_version,
            "application": None, "created": self.now(), "description": p.description,
            "enabled_events": p.enabled_events, "livemode": False, "metadata": {},
            "status": "enabled", "url": p.url, "_secret": secret,
        }
        apply_metadata(doc["metadata"], p.metadata, "metadata" in p.model_fields_set)
        self.save("webhook_endpoints", doc)
        return {**strip(doc), "secret": secret}

    def update_webhook_endpoint(self, wid: str, p: P.WebhookEndpointUpdate) -> Doc:
        doc = self.get("we_", wid)
        given = p.model_fields_set
        for field in ("url", "enabled_events", "description"):
            if field in given and getattr(p, field) is not None:
                doc[field] = getattr(p, field)
        if "disabled" in given and p.disabled is not None:
            doc["status"] = "disabled" if p.disabled else "enabled"
        apply_metadata(doc["metadata"], p.metadata, "metadata" in given)
        return self.save("webhook_endpoints", doc)

    def delete_webhook_endpoint(self, wid: str) -> Doc:
        self.get("we_", wid)
        self.coll("webhook_endpoints").delete(wid)
        return {"id": wid, "object": "webhook_endpoint", "deleted": True}

    # -- test clocks -----------------------------------------------------------------------
    def create_test_clock(self, p: P.TestClockCreate) -> Doc:
        now = self.now()
        doc: Doc = {
            "id": self.new_id("clock"), "object": "test_helpers.test_clock",
            "created": now, "deletes_after": now + 30 * 86400, "frozen_time": p.frozen_time,
            "livemode": False, "name": p.name, "status": "ready", "status_details": {},
        }
        self.save("test_clocks", doc)
        self.emit("test_helpers.test_clock.created", doc)
        return doc

    def delete_test_clock(self, clock_id: str) -> Doc:
        self.get("clock_", clock_id)
        for cust in list(self.coll("customers").values()):
            if cust["test_clock"] == clock_id:
                self.delete_customer(cust["id"])
        self.coll("test_clocks").delete(clock_id)
        return {"id": clock_id, "object": "test_helpers.test_clock", "deleted": True}

    def advance_test_clock(self, clock_id: str, p: P.TestClockAdvance) -> Doc:
        """Move the clock and run everything due, synchronously (returns it ``ready``)."""
        doc = self.get("clock_", clock_id)
        if p.frozen_time <= doc["frozen_time"]:
            raise InvalidRequestError(
                "The frozen time must be after the current frozen time of the test clock "
                f"({doc['frozen_time']}).", param="frozen_time")
        self._check_advance(doc, p.frozen_time)
        doc["status"] = "advancing"
        doc["status_details"] = {"advancing": {"target_frozen_time": p.frozen_time}}
        self.save("test_clocks", doc)
        self.emit("test_helpers.test_clock.advancing", doc)
        doc["frozen_time"] = p.frozen_time
        self.run_billing(p.frozen_time, clock_id)
        doc["status"] = "ready"
        doc["status_details"] = {}
        self.save("test_clocks", doc)
        self.emit("test_helpers.test_clock.ready", doc)
        return doc

    def _check_advance(self, clock: Doc, target: int) -> None:
        """Stripe's limit: at most two intervals of the shortest subscription on the clock."""
        from .pricing import add_interval

        limit = None
        for sub in self.coll("subscriptions").values():
            if sub["test_clock"] != clock["id"] or sub["status"] == "canceled":
                continue
            r = sub["items"]["data"][0]["price"]["recurring"]
            two = add_interval(add_interval(clock["frozen_time"], r["interval"],
                                            r["interval_count"]),
                               r["interval"], r["interval_count"])
            limit = two if limit is None else min(limit, two)
        if limit is not None and target > limit:
            raise InvalidRequestError(
                "Cannot advance the test clock more than two intervals of the shortest "
                f"subscription on it; advance to at most {limit}.", param="frozen_time")

    # -- time ------------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        self.run_billing(int(now), None)

    # -- import (history through the creation code above; see imports.py) ------------------
    import_kinds = ("tax_rates", "products", "prices", "customers", "invoice_payments")

    def import_records(self, kind: str, records: list[Doc]) -> dict[str, int]:
        from .imports import import_records

        return import_records(self, kind, records)

    # -- seeding ---------------------------------------------------------------------------
    def seed(self, request: SeedRequest) -> dict[str, int]:
        fake = make_faker(request.seed, request.locales)
        r = rng(request.seed, "stripe")
        counts = {"customers": 0, "products": 0, "prices": 0, "subscriptions": 0,
                  "tax_rates": 0}
        vat = {}
        for country, pct in (("DE", 19.0), ("FR", 20.0), ("GB", 20.0), ("NL", 21.0)):
            vat[country] = self.create_tax_rate(P.TaxRateCreate(
                display_name="VAT", inclusive=False, percentage=pct, country=country,
                jurisdiction=country, tax_type="vat", description=f"VAT {country}"))
            counts["tax_rates"] += 1
        catalog = [("Starter", 1900), ("Growth", 4900), ("Scale", 19900), ("Enterprise", 99900)]
        currencies = sorted({cur for _, cur in LOCALE_COUNTRY.values()})
        prices: dict[str, list[Doc]] = {}
        for name, amount in catalog:
            product = self.create_product(P.ProductCreate(
                name=f"{name} plan", description=f"{name} subscription",
                metadata={"tier": name.lower()}))
            counts["products"] += 1
            for cur in currencies:
                unit = amount if cur != "jpy" else amount * 1.5
                for interval, factor in (("month", 1), ("year", 10)):
                    price = self.create_price(P.PriceCreate(
                        currency=cur, unit_amount=int(unit * factor), product=product["id"],
                        recurring=P.RecurringParam(interval=interval),
                        lookup_key=f"{name.lower()}_{cur}_{interval}ly",
                        nickname=f"{name} {interval}ly {cur.upper()}"))
                    prices.setdefault(cur, []).append(price)
                    counts["prices"] += 1
        for i in range(request.size):
            locale = request.locales[i % len(request.locales)] if request.locales else "en_US"
            country, currency = LOCALE_COUNTRY.get(locale, ("US", "usd"))
            local = fake[locale] if len(request.locales) > 1 else fake
            company = local.company()
            postal = local.postcode()
            if request.dirtiness and r.random() < request.dirtiness / 3:
                postal = None
            customer = self.create_customer(P.CustomerCreate(
                name=company, email=local.company_email(),
                phone=local.phone_number()[:20],
                address=P.Address(line1=local.street_address(), city=local.city(),
                                  postal_code=postal, country=country),
                preferred_locales=[locale.replace("_", "-")],
                metadata={"locale": locale, "seed": str(request.seed)}))
            counts["customers"] += 1
            if r.random() < 0.6:
                price = r.choice(prices[currency])
                rates = [vat[country]["id"]] if country in vat else None
                self.create_subscription(P.SubscriptionCreate(
                    customer=customer["id"], collection_method="send_invoice",
                    days_until_due=30, default_tax_rates=rates,
                    items=[P.SubscriptionItemParam(price=price["id"],
                                                   quantity=r.randint(1, 5))]))
                counts["subscriptions"] += 1
        return counts
