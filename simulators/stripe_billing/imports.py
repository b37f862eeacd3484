"""``POST /_sim/import`` for billing: history through the backend's own creation code.

Kinds (Stripe's create params; ``_at`` on a record = when it happened):
- ``tax_rates``: tax rate create params;
- ``products``: product create params (``id`` may be given, as Stripe allows);
- ``prices``: price create params; a ``lookup_key`` lets later records name the price;
- ``customers``: customer create params plus optional ``subscriptions``: a list of
  subscription create params without ``customer`` (each with its own ``_at``); an item's
  ``price`` may be a price id or a ``lookup_key``; ``updates`` lists later subscription
  update params with their ``_at`` (``quantity`` is short for the single item's quantity);
- ``invoice_payments``: ``{invoice | number, _at}``: the invoice is paid out of band then.

Cycle invoices of imported subscriptions are drafted and finalized by the simulator itself
when the import is followed by its tick (the admin API runs one), at their historic times.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulators._kit import UnknownImportKind, import_instant

from . import params as P
from .errors import InvalidRequestError, resource_missing
from .forms import parse

if TYPE_CHECKING:
    from .models import StripeBackend

Doc = dict[str, Any]
KINDS = ("tax_rates", "products", "prices", "customers", "invoice_payments")  # = import_kinds


def import_records(backend: StripeBackend, kind: str, records: list[Doc]) -> dict[str, int]:
    if kind == "tax_rates":
        return {"tax_rates": backend.import_each(
            kind, records, lambda r: backend.create_tax_rate(parse(P.TaxRateCreate, r)))}
    if kind == "products":
        return {"products": backend.import_each(
            kind, records, lambda r: backend.create_product(parse(P.ProductCreate, r)))}
    if kind == "prices":
        return {"prices": backend.import_each(
            kind, records, lambda r: backend.create_price(parse(P.PriceCreate, r)))}
    if kind == "customers":
        counts = {"customers": 0, "subscriptions": 0, "subscription_updates": 0}
        lookup: dict[str, str] = {}

        def customer(record: Doc) -> None:
            subs = record.pop("subscriptions", None) or []
            if not isinstance(subs, list):
                raise InvalidRequestError("subscriptions must be a list",
                                          param="subscriptions")
            doc = backend.create_customer(parse(P.CustomerCreate, record))
            counts["customers"] += 1
            for i, sub in enumerate(subs):
                if not isinstance(sub, dict):
                    raise InvalidRequestError("a subscription must be an object",
                                              param=f"subscriptions[{i}]")
                body = dict(sub)
                at = body.pop("_at", None)
                updates = body.pop("updates", None) or []
                body["customer"] = doc["id"]
                for item in body.get("items") or []:
                    if isinstance(item, dict) and isinstance(item.get("price"), str):
                        item["price"] = _price_id(backend, item["price"], lookup)
                params = parse(P.SubscriptionCreate, body)
                if at is None:
                    created = backend.create_subscription(params)
                else:
                    with backend.clock.pinned(import_instant(at, f"subscriptions[{i}]._at")):
                        created = backend.create_subscription(params)
                counts["subscriptions"] += 1
                counts["subscription_updates"] += _replay_updates(
                    backend, created, updates, f"subscriptions[{i}].updates")

        backend.import_each(kind, records, customer)
        return counts
    if kind == "invoice_payments":
        numbers: dict[str, str] | None = None

        def pay(record: Doc) -> None:
            nonlocal numbers
            inv_id = record.get("invoice")
            if inv_id is None and "number" in record:
                if numbers is None:  # one index for the whole batch
                    numbers = {inv["number"]: inv["id"]
                               for inv in backend.coll("invoices").values() if inv["number"]}
                inv_id = numbers.get(str(record["number"]))
                if inv_id is None:
                    raise resource_missing("invoice", str(record["number"]), "number")
            if not isinstance(inv_id, str):
                raise InvalidRequestError("Missing required param: invoice.",
                                          code="parameter_missing", param="invoice")
            backend.pay_invoice(inv_id, P.InvoicePay(paid_out_of_band=True))

        return {"invoice_payments": backend.import_each(kind, records, pay)}
    raise UnknownImportKind(kind, KINDS)


def _replay_updates(backend: StripeBackend, sub: Doc, updates: Any, where: str) -> int:
    """Subscription updates at their ``_at`` (e.g. seats following usage), in time order;
    the cycles that ended before each update are billed first, as time would have."""
    if not isinstance(updates, list):
        raise InvalidRequestError(f"{where} must be a list", param=where)
    timed = []
    for j, update in enumerate(updates):
        if not isinstance(update, dict) or "_at" not in update:
            raise InvalidRequestError(f"{where}[{j}] must be an object with _at",
                                      param=f"{where}[{j}]")
        body = dict(update)
        timed.append((import_instant(body.pop("_at"), f"{where}[{j}]._at"), j, body))
    for at, _j, body in sorted(timed, key=lambda t: (t[0], t[1])):
        first = sub["items"]["data"][0]["id"]
        if "quantity" in body:  # the subscription's (single) item's seat count
            seats = body.pop("quantity")
            body["items"] = [{"id": first, "quantity": seats}]
        params = parse(P.SubscriptionUpdate, body)
        with backend.clock.pinned(at):
            backend._cycle(sub, int(at))
            sub = backend.update_subscription(sub["id"], params)
    return len(timed)


def _price_id(backend: StripeBackend, ref: str, index: dict[str, str]) -> str:
    """A price id as given, or the active price with that ``lookup_key`` (``index`` caches
    the lookup keys for one import request)."""
    if ref.startswith("price_"):
        return ref
    if ref not in index:
        index.update({p["lookup_key"]: p["id"] for p in backend.coll("prices").values()
                      if p["lookup_key"] and p["active"]})
    return index.get(ref, ref)  # unknown: the subscription reports the missing price
