"""Stripe's routes: one table of operations (method, path, params model, backend action).

The same table feeds the served handlers and the OpenAPI document, so every served route is
documented with the parameters it really validates. Handlers are thin: decode the form or
query string, validate into the params model, call the backend, render, expand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response

from simulators._kit import Call, PreparedJSONResponse, header_value

from . import params as P
from .errors import API_VERSION, request_id
from .forms import Params, decode, parse

if TYPE_CHECKING:
    from .models import StripeBackend

Doc = dict[str, Any]
Action = Callable[["StripeBackend", dict[str, Any], Any], Doc]


@dataclass(frozen=True)
class Operation:
    """One Stripe API operation."""

    method: str
    path: str
    params: type[Params]
    action: Action
    summary: str
    returns: str  # component schema name of the 200 body
    tag: str

    @property
    def idempotent(self) -> bool:
        return self.method == "POST"


def _list(collection: str, url: str, keep: Callable[[Any], Callable[[Doc], bool] | None]
          ) -> Action:
    def action(b: StripeBackend, pp: dict[str, Any], p: Any) -> Doc:
        return b.page(collection, p, url, keep(p))
    return action


def _filters(**fields: str) -> Callable[[Any], Callable[[Doc], bool] | None]:
    """A list filter from params: ``param name → document field`` equality."""
    def build(p: Any) -> Callable[[Doc], bool] | None:
        wanted = {doc_field: getattr(p, name) for name, doc_field in fields.items()
                  if getattr(p, name) is not None}
        if not wanted:
            return None
        return lambda d: all(d.get(k) == v for k, v in wanted.items())
    return build


def _subscription_filter(p: P.SubscriptionList) -> Callable[[Doc], bool]:
    def keep(d: Doc) -> bool:
        if p.customer is not None and d["customer"] != p.customer:
            return False
        if p.test_clock is not None and d["test_clock"] != p.test_clock:
            return False
        if p.collection_method is not None and d["collection_method"] != p.collection_method:
            return False
        if p.price is not None and all(it["price"]["id"] != p.price
                                       for it in d["items"]["data"]):
            return False
        status = p.status
        if status is None:  # Stripe's default hides canceled subscriptions
            return d["status"] != "canceled"
        if status == "all":
            return True
        if status == "ended":
            return d["status"] in ("canceled", "incomplete_expired")
        return d["status"] == status
    return keep


def _invoiceitem_filter(p: P.InvoiceItemList) -> Callable[[Doc], bool]:
    def keep(d: Doc) -> bool:
        if p.customer is not None and d["customer"] != p.customer:
            return False
        if p.invoice is not None and d["invoice"] != p.invoice:
            return False
        return p.pending is None or (d["invoice"] is None) == p.pending
    return keep


def _event_filter(p: P.EventList) -> Callable[[Doc], bool] | None:
    patterns = list(p.types or []) + ([p.type] if p.type else [])
    if not patterns:
        return None
    from .models import event_matches

    return lambda d: event_matches(patterns, d["type"])


def _price_filter(p: P.PriceList) -> Callable[[Doc], bool]:
    base = _filters(active="active", product="product", type="type")(p)
    keys = set(p.lookup_keys or [])

    def keep(d: Doc) -> bool:
        if base is not None and not base(d):
            return False
        if p.currency is not None and d["currency"] != p.currency.lower():
            return False
        return not keys or d["lookup_key"] in keys
    return keep


def _invoice_lines(b: StripeBackend, pp: dict[str, Any], p: P.InvoiceLinesList) -> Doc:
    lines = b.invoice_lines(pp["id"])
    return b.page_of(lines, p, f"/v1/invoices/{pp['id']}/lines", "invoice_lines")


def _credit_note_lines(b: StripeBackend, pp: dict[str, Any], p: P.ListParams) -> Doc:
    cn = b.get("cn_", pp["id"])
    return b.page_of(list(cn["_lines"]), p, f"/v1/credit_notes/{pp['id']}/lines", "cn_lines")


def _sub_items(b: StripeBackend, pp: dict[str, Any], p: P.SubscriptionItemList) -> Doc:
    sub = b.get("sub_", p.subscription, "subscription")
    return b.page_of(list(sub["items"]["data"]), p,
                     f"/v1/subscription_items?subscription={sub['id']}", "subscription_items")


def _sub_item(b: StripeBackend, pp: dict[str, Any], p: P.Retrieve) -> Doc:
    for sub in b.coll("subscriptions").values():
        for item in sub["items"]["data"]:
            if item["id"] == pp["id"]:
                return item
    from .errors import resource_missing

    raise resource_missing("subscription_item", pp["id"])


def _get(prefix: str) -> Action:
    return lambda b, pp, p: b.get(prefix, pp["id"])


def _webhook_endpoint(b: StripeBackend, pp: dict[str, Any], p: Any) -> Doc:
    return b.get("we_", pp["id"])


def operations() -> list[Operation]:
    """Every Stripe operation the simulator serves."""
    O = Operation  # noqa: E741 - keeps the table readable
    return [
        # customers
        O("POST", "/v1/customers", P.CustomerCreate,
          lambda b, pp, p: b.create_customer(p), "Create a customer", "Customer", "Customers"),
        O("GET", "/v1/customers", P.CustomerList,
          _list("customers", "/v1/customers", _filters(email="email", test_clock="test_clock")),
          "List all customers", "CustomerList", "Customers"),
        O("GET", "/v1/customers/{id}", P.Retrieve,
          lambda b, pp, p: b.retrieve_customer(pp["id"]), "Retrieve a customer",
          "CustomerOrDeleted", "Customers"),
        O("POST", "/v1/customers/{id}", P.CustomerUpdate,
          lambda b, pp, p: b.update_customer(pp["id"], p), "Update a customer", "Customer",
          "Customers"),
        O("DELETE", "/v1/customers/{id}", P.Empty,
          lambda b, pp, p: b.delete_customer(pp["id"]), "Delete a customer", "Deleted",
          "Customers"),
        # products
        O("POST", "/v1/products", P.ProductCreate, lambda b, pp, p: b.create_product(p),
          "Create a product", "Product", "Products"),
        O("GET", "/v1/products", P.ProductList,
          _list("products", "/v1/products", _filters(active="active")), "List all products",
          "ProductList", "Products"),
        O("GET", "/v1/products/{id}", P.Retrieve, _get("prod_"), "Retrieve a product",
          "Product", "Products"),
        O("POST", "/v1/products/{id}", P.ProductUpdate,
          lambda b, pp, p: b.update_product(pp["id"], p), "Update a product", "Product",
          "Products"),
        O("DELETE", "/v1/products/{id}", P.Empty,
          lambda b, pp, p: b.delete_product(pp["id"]), "Delete a product", "Deleted",
          "Products"),
        # prices
        O("POST", "/v1/prices", P.PriceCreate, lambda b, pp, p: b.create_price(p),
          "Create a price", "Price", "Prices"),
        O("GET", "/v1/prices", P.PriceList, lambda b, pp, p: b.page(
            "prices", p, "/v1/prices", _price_filter(p)), "List all prices", "PriceList",
          "Prices"),
        O("GET", "/v1/prices/{id}", P.Retrieve, _get("price_"), "Retrieve a price", "Price",
          "Prices"),
        O("POST", "/v1/prices/{id}", P.PriceUpdate,
          lambda b, pp, p: b.update_price(pp["id"], p), "Update a price", "Price", "Prices"),
        # tax rates
        O("POST", "/v1/tax_rates", P.TaxRateCreate, lambda b, pp, p: b.create_tax_rate(p),
          "Create a tax rate", "TaxRate", "Tax rates"),
        O("GET", "/v1/tax_rates", P.TaxRateList,
          _list("tax_rates", "/v1/tax_rates", _filters(active="active", inclusive="inclusive")),
          "List all tax rates", "TaxRateList", "Tax rates"),
        O("GET", "/v1/tax_rates/{id}", P.Retrieve, _get("txr_"), "Retrieve a tax rate",
          "TaxRate", "Tax rates"),
        O("POST", "/v1/tax_rates/{id}", P.TaxRateUpdate,
          lambda b, pp, p: b.update_tax_rate(pp["id"], p), "Update a tax rate", "TaxRate",
          "Tax rates"),
        # subscriptions
        O("POST", "/v1/subscriptions", P.SubscriptionCreate,
          lambda b, pp, p: b.create_subscription(p), "Create a subscription", "Subscription",
          "Subscriptions"),
        O("GET", "/v1/subscriptions", P.SubscriptionList, lambda b, pp, p: b.page(
            "subscriptions", p, "/v1/subscriptions", _subscription_filter(p)),
          "List subscriptions", "SubscriptionList", "Subscriptions"),
        O("GET", "/v1/subscriptions/{id}", P.Retrieve, _get("sub_"),
          "Retrieve a subscription", "Subscription", "Subscriptions"),
        O("POST", "/v1/subscriptions/{id}", P.SubscriptionUpdate,
          lambda b, pp, p: b.update_subscription(pp["id"], p), "Update a subscription",
          "Subscription", "Subscriptions"),
        O("DELETE", "/v1/subscriptions/{id}", P.SubscriptionCancel,
          lambda b, pp, p: b.cancel_subscription(pp["id"], p), "Cancel a subscription",
          "Subscription", "Subscriptions"),
        O("GET", "/v1/subscription_items", P.SubscriptionItemList, _sub_items,
          "List all items of a subscription", "SubscriptionItemList", "Subscriptions"),
        O("GET", "/v1/subscription_items/{id}", P.Retrieve, _sub_item,
          "Retrieve a subscription item", "SubscriptionItem", "Subscriptions"),
        # billing meters
        O("POST", "/v1/billing/meters", P.MeterCreate, lambda b, pp, p: b.create_meter(p),
          "Create a billing meter", "Meter", "Billing meters"),
        O("GET", "/v1/billing/meters", P.MeterList,
          _list("meters", "/v1/billing/meters", _filters(status="status")),
          "List billing meters", "MeterList", "Billing meters"),
        O("GET", "/v1/billing/meters/{id}", P.Retrieve, _get("mtr_"),
          "Retrieve a billing meter", "Meter", "Billing meters"),
        O("POST", "/v1/billing/meter_events", P.MeterEventCreate,
          lambda b, pp, p: b.create_meter_event(p), "Create a billing meter event",
          "MeterEvent", "Billing meters"),
        # invoice items
        O("POST", "/v1/invoiceitems", P.InvoiceItemCreate,
          lambda b, pp, p: b.create_invoiceitem(p), "Create an invoice item", "InvoiceItem",
          "Invoice items"),
        O("GET", "/v1/invoiceitems", P.InvoiceItemList, lambda b, pp, p: b.page(
            "invoiceitems", p, "/v1/invoiceitems", _invoiceitem_filter(p)),
          "List all invoice items", "InvoiceItemList", "Invoice items"),
        O("GET", "/v1/invoiceitems/{id}", P.Retrieve, _get("ii_"),
          "Retrieve an invoice item", "InvoiceItem", "Invoice items"),
        O("DELETE", "/v1/invoiceitems/{id}", P.Empty,
          lambda b, pp, p: b.delete_invoiceitem(pp["id"]), "Delete an invoice item",
          "Deleted", "Invoice items"),
        # invoices
        O("POST", "/v1/invoices", P.InvoiceCreate, lambda b, pp, p: b.create_invoice(p),
          "Create an invoice", "Invoice", "Invoices"),
        O("GET", "/v1/invoices", P.InvoiceList, _list(
            "invoices", "/v1/invoices", lambda p: _invoice_filter(p)), "List all invoices",
          "InvoiceList", "Invoices"),
        O("GET", "/v1/invoices/{id}", P.Retrieve, _get("in_"), "Retrieve an invoice",
          "Invoice", "Invoices"),
        O("POST", "/v1/invoices/{id}", P.InvoiceUpdate,
          lambda b, pp, p: b.update_invoice(pp["id"], p), "Update an invoice", "Invoice",
          "Invoices"),
        O("DELETE", "/v1/invoices/{id}", P.Empty,
          lambda b, pp, p: b.delete_invoice(pp["id"]), "Delete a draft invoice", "Deleted",
          "Invoices"),
        O("GET", "/v1/invoices/{id}/lines", P.InvoiceLinesList, _invoice_lines,
          "Retrieve an invoice's line items", "LineItemList", "Invoices"),
        O("POST", "/v1/invoices/{id}/finalize", P.InvoiceFinalize,
          lambda b, pp, p: b.finalize_invoice(pp["id"], p), "Finalize an invoice",
          "Invoice", "Invoices"),
        O("POST", "/v1/invoices/{id}/pay", P.InvoicePay,
          lambda b, pp, p: b.pay_invoice(pp["id"], p), "Pay an invoice", "Invoice",
          "Invoices"),
        O("POST", "/v1/invoices/{id}/void", P.InvoiceAction,
          lambda b, pp, p: b.void_invoice(pp["id"]), "Void an invoice", "Invoice",
          "Invoices"),
        O("POST", "/v1/invoices/{id}/mark_uncollectible", P.InvoiceAction,
          lambda b, pp, p: b.mark_uncollectible(pp["id"]), "Mark an invoice as uncollectible",
          "Invoice", "Invoices"),
        # credit notes
        O("POST", "/v1/credit_notes", P.CreditNoteCreate,
          lambda b, pp, p: b.create_credit_note(p), "Create a credit note", "CreditNote",
          "Credit notes"),
        O("GET", "/v1/credit_notes", P.CreditNoteList, _list(
            "credit_notes", "/v1/credit_notes", _filters(customer="customer",
                                                         invoice="invoice")),
          "List all credit notes", "CreditNoteList", "Credit notes"),
        O("GET", "/v1/credit_notes/{id}", P.Retrieve, _get("cn_"), "Retrieve a credit note",
          "CreditNote", "Credit notes"),
        O("POST", "/v1/credit_notes/{id}", P.CreditNoteUpdate,
          lambda b, pp, p: b.update_credit_note(pp["id"], p), "Update a credit note",
          "CreditNote", "Credit notes"),
        O("GET", "/v1/credit_notes/{id}/lines", P.ListParams, _credit_note_lines,
          "Retrieve a credit note's line items", "CreditNoteLineItemList", "Credit notes"),
        O("POST", "/v1/credit_notes/{id}/void", P.InvoiceAction,
          lambda b, pp, p: b.void_credit_note(pp["id"]), "Void a credit note", "CreditNote",
          "Credit notes"),
        # webhook endpoints and events
        O("POST", "/v1/webhook_endpoints", P.WebhookEndpointCreate,
          lambda b, pp, p: b.create_webhook_endpoint(p), "Create a webhook endpoint",
          "WebhookEndpoint", "Webhook endpoints"),
        O("GET", "/v1/webhook_endpoints", P.ListParams,
          _list("webhook_endpoints", "/v1/webhook_endpoints", lambda p: None),
          "List all webhook endpoints", "WebhookEndpointList", "Webhook endpoints"),
        O("GET", "/v1/webhook_endpoints/{id}", P.Retrieve, _webhook_endpoint,
          "Retrieve a webhook endpoint", "WebhookEndpoint", "Webhook endpoints"),
        O("POST", "/v1/webhook_endpoints/{id}", P.WebhookEndpointUpdate,
          lambda b, pp, p: b.update_webhook_endpoint(pp["id"], p),
          "Update a webhook endpoint", "WebhookEndpoint", "Webhook endpoints"),
        O("DELETE", "/v1/webhook_endpoints/{id}", P.Empty,
          lambda b, pp, p: b.delete_webhook_endpoint(pp["id"]), "Delete a webhook endpoint",
          "Deleted", "Webhook endpoints"),
        O("GET", "/v1/events", P.EventList, lambda b, pp, p: b.page(
            "events", p, "/v1/events", _event_filter(p)), "List all events", "EventList",
          "Events"),
        O("GET", "/v1/events/{id}", P.Retrieve, _get("evt_"), "Retrieve an event", "Event",
          "Events"),
        # test clocks
        O("POST", "/v1/test_helpers/test_clocks", P.TestClockCreate,
          lambda b, pp, p: b.create_test_clock(p), "Create a test clock", "TestClock",
          "Test clocks"),
        O("GET", "/v1/test_helpers/test_clocks", P.ListParams,
          _list("test_clocks", "/v1/test_helpers/test_clocks", lambda p: None),
          "List all test clocks", "TestClockList", "Test clocks"),
        O("GET", "/v1/test_helpers/test_clocks/{id}", P.Retrieve, _get("clock_"),
          "Retrieve a test clock", "TestClock", "Test clocks"),
        O("DELETE", "/v1/test_helpers/test_clocks/{id}", P.Empty,
          lambda b, pp, p: b.delete_test_clock(pp["id"]), "Delete a test clock", "Deleted",
          "Test clocks"),
        O("POST", "/v1/test_helpers/test_clocks/{id}/advance", P.TestClockAdvance,
          lambda b, pp, p: b.advance_test_clock(pp["id"], p),
          "Advance a test clock (processed synchronously; returned ready)", "TestClock",
          "Test clocks"),
    ]


def _invoice_filter(p: P.InvoiceList) -> Callable[[Doc], bool]:
    base = _filters(customer="customer", status="status",
                    collection_method="collection_method")(p)

    def keep(d: Doc) -> bool:
        if base is not None and not base(d):
            return False
        if p.subscription is not None:
            parent = d["parent"] or {}
            return (parent.get("subscription_details") or {}).get("subscription") == \
                p.subscription
        return True
    return keep


_VERSION = API_VERSION.encode()


def handler(op: Operation) -> Callable[[Call], Response]:
    """The Starlette-facing handler of one operation."""
    model = op.params
    action = op.action
    from_query = op.method in ("GET", "DELETE")
    try:
        blank: Any = model()  # reused when a request carries no params (the hot path)
    except Exception:  # a model with required params has no blank form
        blank = None

    def handle(call: Call) -> Response:
        scope = call.request.scope
        if from_query:
            raw = scope["query_string"].decode("latin-1")
        else:
            raw = call.body.decode("utf-8", "replace")
        p = blank if not raw and blank is not None else parse(model, decode(raw))
        backend: StripeBackend = call.backend
        result = backend.render(action(backend, scope.get("path_params", {}), p))
        if p.expand:  # type: ignore[attr-defined]
            result = backend.expand(result, p.expand)  # type: ignore[attr-defined]
        # what json_response(result, 200, {"Request-Id": ..., "Stripe-Version": ...}) sends,
        # built without Starlette's generic header handling (the hot path of every call)
        return PreparedJSONResponse(
            orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS), 200,
            [(b"request-id", request_id().encode()),
             (b"stripe-version", header_value(scope, b"stripe-version") or _VERSION)])

    return handle
