"""Parameters of every endpoint, as pydantic models (they also feed the OpenAPI schemas).

Ints are lax (form values are strings); unknown params are rejected; enums are Literals.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .forms import FormBool, Nested, Params

Metadata = dict[str, str] | None
Expand = list[str] | None
Limit = Annotated[int, Field(ge=1, le=100)]
Amount = Annotated[int, Field(ge=0, le=99_999_999_999)]
Count = Annotated[int, Field(ge=0, le=1_000_000_000)]
Timestamp = Annotated[int, Field(ge=0, le=32503680000)]  # up to year 3000
Text = Annotated[str, Field(max_length=5000)]
Currency = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[a-zA-Z]{3}$")]
Interval = Literal["day", "week", "month", "year"]
CollectionMethod = Literal["charge_automatically", "send_invoice"]


class Retrieve(Params):
    expand: Expand = None


class ListParams(Params):
    limit: Limit = 10
    starting_after: str | None = None
    ending_before: str | None = None
    expand: Expand = None


class Address(Nested):
    city: str | None = None
    country: str | None = None
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None
    state: str | None = None


class Shipping(Nested):
    address: Address
    name: str
    phone: str | None = None


class InvoiceSettingsParam(Nested):
    default_payment_method: str | None = None
    footer: str | None = None


# -- customers ---------------------------------------------------------------------------
class CustomerUpdate(Params):
    address: Address | None = None
    balance: Annotated[int, Field(ge=-99_999_999_999, le=99_999_999_999)] | None = None
    description: Text | None = None
    email: Annotated[str, Field(max_length=512)] | None = None
    invoice_prefix: Annotated[str, Field(min_length=3, max_length=12,
                                         pattern=r"^[A-Z0-9]+$")] | None = None
    invoice_settings: InvoiceSettingsParam | None = None
    metadata: Metadata = None
    name: Annotated[str, Field(max_length=256)] | None = None
    next_invoice_sequence: Annotated[int, Field(ge=1, le=1_000_000_000)] | None = None
    phone: Annotated[str, Field(max_length=20)] | None = None
    preferred_locales: list[str] | None = None
    shipping: Shipping | None = None
    tax_exempt: Literal["none", "exempt", "reverse"] | None = None
    expand: Expand = None


class CustomerCreate(CustomerUpdate):
    test_clock: str | None = None


class CustomerList(ListParams):
    email: Annotated[str, Field(max_length=512)] | None = None
    test_clock: str | None = None


# -- products and prices -----------------------------------------------------------------
class RecurringParam(Nested):
    interval: Interval
    interval_count: Annotated[int, Field(ge=1, le=365)] = 1
    usage_type: Literal["licensed", "metered"] = "licensed"
    meter: str | None = None


class DefaultPriceData(Nested):
    currency: Currency
    unit_amount: Amount | None = None
    recurring: RecurringParam | None = None
    tax_behavior: Literal["exclusive", "inclusive", "unspecified"] | None = None


class ProductUpdate(Params):
    active: FormBool | None = None
    description: Text | None = None
    metadata: Metadata = None
    name: Annotated[str, Field(min_length=1, max_length=5000)] | None = None
    statement_descriptor: Annotated[str, Field(max_length=22)] | None = None
    tax_code: str | None = None
    unit_label: Annotated[str, Field(max_length=12)] | None = None
    url: Text | None = None
    images: list[str] | None = None
    shippable: FormBool | None = None
    default_price: str | None = None
    expand: Expand = None


class ProductCreate(ProductUpdate):
    name: Annotated[str, Field(min_length=1, max_length=5000)]
    id: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    default_price: None = None  # type: ignore[assignment]  # not a create param
    default_price_data: DefaultPriceData | None = None


class ProductList(ListParams):
    active: FormBool | None = None


class ProductData(Nested):
    name: Annotated[str, Field(min_length=1, max_length=5000)]
    metadata: dict[str, str] | None = None


class PriceUpdate(Params):
    active: FormBool | None = None
    lookup_key: Annotated[str, Field(max_length=200)] | None = None
    metadata: Metadata = None
    nickname: Text | None = None
    tax_behavior: Literal["exclusive", "inclusive", "unspecified"] | None = None
    expand: Expand = None


class PriceCreate(PriceUpdate):
    currency: Currency
    unit_amount: Amount | None = None
    product: str | None = None
    product_data: ProductData | None = None
    recurring: RecurringParam | None = None
    billing_scheme: Literal["per_unit"] | None = None


class PriceList(ListParams):
    active: FormBool | None = None
    product: str | None = None
    currency: Currency | None = None
    type: Literal["one_time", "recurring"] | None = None
    lookup_keys: list[str] | None = None


# -- tax rates ---------------------------------------------------------------------------
class TaxRateUpdate(Params):
    active: FormBool | None = None
    country: Annotated[str, Field(max_length=2)] | None = None
    description: Text | None = None
    display_name: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    jurisdiction: Annotated[str, Field(max_length=50)] | None = None
    metadata: Metadata = None
    state: str | None = None
    tax_type: Literal["amusement_tax", "communications_tax", "gst", "hst", "igst", "jct",
                      "lease_tax", "pst", "qst", "retail_delivery_fee", "rst", "sales_tax",
                      "service_tax", "vat"] | None = None
    expand: Expand = None


class TaxRateCreate(TaxRateUpdate):
    display_name: Annotated[str, Field(min_length=1, max_length=50)]
    inclusive: FormBool
    percentage: Annotated[float, Field(ge=0, le=100)]


class TaxRateList(ListParams):
    active: FormBool | None = None
    inclusive: FormBool | None = None


# -- subscriptions -----------------------------------------------------------------------
class SubscriptionItemParam(Nested):
    price: str
    quantity: Count | None = None
    metadata: dict[str, str] | None = None
    tax_rates: list[str] | None = None


class SubscriptionItemUpdateParam(Nested):
    id: str | None = None
    price: str | None = None
    quantity: Count | None = None
    metadata: dict[str, str] | None = None
    tax_rates: list[str] | None = None
    deleted: FormBool | None = None


PaymentBehavior = Literal["allow_incomplete", "default_incomplete", "error_if_incomplete",
                          "pending_if_incomplete"]
ProrationBehavior = Literal["always_invoice", "create_prorations", "none"]


class SubscriptionCreate(Params):
    customer: str
    items: Annotated[list[SubscriptionItemParam], Field(min_length=1, max_length=20)]
    collection_method: CollectionMethod | None = None
    days_until_due: Annotated[int, Field(ge=0, le=365)] | None = None
    default_tax_rates: list[str] | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    metadata: Metadata = None
    cancel_at_period_end: FormBool | None = None
    payment_behavior: PaymentBehavior | None = None
    proration_behavior: ProrationBehavior | None = None
    expand: Expand = None


class SubscriptionUpdate(Params):
    items: Annotated[list[SubscriptionItemUpdateParam], Field(max_length=20)] | None = None
    collection_method: CollectionMethod | None = None
    days_until_due: Annotated[int, Field(ge=0, le=365)] | None = None
    default_tax_rates: list[str] | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    metadata: Metadata = None
    cancel_at_period_end: FormBool | None = None
    payment_behavior: PaymentBehavior | None = None
    proration_behavior: ProrationBehavior | None = None
    expand: Expand = None


class CancellationDetails(Nested):
    comment: Annotated[str, Field(max_length=5000)] | None = None
    feedback: Literal["customer_service", "low_quality", "missing_features", "other",
                      "switched_service", "too_complex", "too_expensive", "unused"] | None = None


class SubscriptionCancel(Params):
    invoice_now: FormBool | None = None
    prorate: FormBool | None = None
    cancellation_details: CancellationDetails | None = None
    expand: Expand = None


class SubscriptionList(ListParams):
    customer: str | None = None
    price: str | None = None
    status: Literal["active", "all", "canceled", "ended", "incomplete", "incomplete_expired",
                    "past_due", "paused", "trialing", "unpaid"] | None = None
    collection_method: CollectionMethod | None = None
    test_clock: str | None = None


class SubscriptionItemList(ListParams):
    subscription: str


# -- billing meters ----------------------------------------------------------------------
class Aggregation(Nested):
    formula: Literal["count", "last", "sum"]


class CustomerMapping(Nested):
    event_payload_key: Annotated[str, Field(min_length=1, max_length=100)]
    type: Literal["by_id"]


class ValueSettings(Nested):
    event_payload_key: Annotated[str, Field(min_length=1, max_length=100)]


class MeterCreate(Params):
    default_aggregation: Aggregation
    display_name: Annotated[str, Field(min_length=1, max_length=250)]
    event_name: Annotated[str, Field(min_length=1, max_length=100)]
    customer_mapping: CustomerMapping | None = None
    value_settings: ValueSettings | None = None
    event_time_window: Literal["day", "hour"] | None = None
    expand: Expand = None


class MeterList(ListParams):
    status: Literal["active", "inactive"] | None = None


class MeterEventCreate(Params):
    event_name: Annotated[str, Field(min_length=1, max_length=100)]
    payload: dict[str, str]
    identifier: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    timestamp: Annotated[int, Field(ge=0, le=32503680000)] | None = None
    expand: Expand = None


# -- invoice items and invoices ----------------------------------------------------------
class Period(Nested):
    start: Timestamp
    end: Timestamp


class PricingParam(Nested):
    price: str


class InvoiceItemUpdate(Params):
    amount: Annotated[int, Field(ge=-99_999_999_999, le=99_999_999_999)] | None = None
    description: Text | None = None
    discountable: FormBool | None = None
    metadata: Metadata = None
    period: Period | None = None
    pricing: PricingParam | None = None
    quantity: Count | None = None
    tax_rates: list[str] | None = None
    unit_amount_decimal: Annotated[str, Field(max_length=24,
                                             pattern=r"^-?\d{1,12}(\.\d{1,12})?$")] | None = None
    expand: Expand = None


class InvoiceItemCreate(InvoiceItemUpdate):
    customer: str
    currency: Currency | None = None
    invoice: str | None = None
    subscription: str | None = None


class InvoiceItemList(ListParams):
    customer: str | None = None
    invoice: str | None = None
    pending: FormBool | None = None


class InvoiceUpdate(Params):
    auto_advance: FormBool | None = None
    collection_method: CollectionMethod | None = None
    days_until_due: Annotated[int, Field(ge=0, le=365)] | None = None
    default_tax_rates: list[str] | None = None
    description: Annotated[str, Field(max_length=1500)] | None = None
    due_date: Timestamp | None = None
    footer: Annotated[str, Field(max_length=5000)] | None = None
    metadata: Metadata = None
    expand: Expand = None


class InvoiceCreate(InvoiceUpdate):
    customer: str
    currency: Currency | None = None
    pending_invoice_items_behavior: Literal["exclude", "include"] | None = None
    subscription: str | None = None


class InvoiceList(ListParams):
    customer: str | None = None
    subscription: str | None = None
    status: Literal["draft", "open", "paid", "uncollectible", "void"] | None = None
    collection_method: CollectionMethod | None = None


class InvoiceFinalize(Params):
    auto_advance: FormBool | None = None
    expand: Expand = None


class InvoicePay(Params):
    paid_out_of_band: FormBool | None = None
    forgive: FormBool | None = None
    off_session: FormBool | None = None
    payment_method: str | None = None
    expand: Expand = None


class InvoiceAction(Params):
    expand: Expand = None


class InvoiceLinesList(ListParams):
    pass


# -- credit notes ------------------------------------------------------------------------
class CreditNoteLineParam(Nested):
    type: Literal["invoice_line_item", "custom_line_item"]
    invoice_line_item: str | None = None
    amount: Amount | None = None
    quantity: Annotated[int, Field(ge=1, le=1_000_000_000)] | None = None
    unit_amount: Amount | None = None
    description: Annotated[str, Field(max_length=5000)] | None = None
    tax_rates: list[str] | None = None


class CreditNoteCreate(Params):
    invoice: str
    amount: Amount | None = None
    lines: Annotated[list[CreditNoteLineParam], Field(max_length=100)] | None = None
    memo: Annotated[str, Field(max_length=5000)] | None = None
    metadata: Metadata = None
    reason: Literal["duplicate", "fraudulent", "order_change",
                    "product_unsatisfactory"] | None = None
    credit_amount: Amount | None = None
    out_of_band_amount: Amount | None = None
    expand: Expand = None


class CreditNoteUpdate(Params):
    memo: Annotated[str, Field(max_length=5000)] | None = None
    metadata: Metadata = None
    expand: Expand = None


class CreditNoteList(ListParams):
    customer: str | None = None
    invoice: str | None = None


# -- webhooks, events, test clocks -------------------------------------------------------
class WebhookEndpointUpdate(Params):
    url: Annotated[str, Field(max_length=5000, pattern=r"^https?://")] | None = None
    enabled_events: Annotated[list[Annotated[str, Field(min_length=1)]],
                              Field(min_length=1)] | None = None
    description: Annotated[str, Field(max_length=5000)] | None = None
    disabled: FormBool | None = None
    metadata: Metadata = None
    expand: Expand = None


class WebhookEndpointCreate(WebhookEndpointUpdate):
    url: Annotated[str, Field(max_length=5000, pattern=r"^https?://")]
    enabled_events: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    api_version: str | None = None
    disabled: None = None  # type: ignore[assignment]  # not a create param


class EventList(ListParams):
    type: str | None = None
    types: list[str] | None = None


class TestClockCreate(Params):
    frozen_time: Annotated[int, Field(ge=0, le=32503680000)]
    name: Annotated[str, Field(max_length=300)] | None = None
    expand: Expand = None


class TestClockAdvance(Params):
    frozen_time: Annotated[int, Field(ge=0, le=32503680000)]
    expand: Expand = None


class Empty(Params):
    pass
