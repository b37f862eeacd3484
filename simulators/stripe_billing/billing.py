"""Billing behaviour of the Stripe backend: subscriptions and their cycles, meters and
metered usage, invoice items, invoices (with their state machine) and credit notes.

Invoice state machine (Stripe's): draft → open → paid | void | uncollectible, and
uncollectible → paid | void; a draft may be deleted. Drafts with ``auto_advance`` finalize
one hour after creation (Stripe's grace period) on the clock they belong to.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import TYPE_CHECKING, Any

from . import params as P
from .errors import InvalidRequestError, resource_missing

if TYPE_CHECKING:
    from .models import StripeBackend

Doc = dict[str, Any]
GRACE_S = 3600
ALLOWED: dict[str, set[str]] = {
    "draft": {"open", "deleted"},
    "open": {"paid", "void", "uncollectible"},
    "uncollectible": {"paid", "void"},
    "paid": set(),
    "void": set(),
}
INVOICE_LINES_EMBEDDED = 10


def add_interval(ts: int, interval: str, count: int) -> int:
    """``ts`` moved by ``count`` intervals, in UTC, clamping month ends like Stripe."""
    if interval == "day":
        return ts + 86400 * count
    if interval == "week":
        return ts + 7 * 86400 * count
    moment = dt.datetime.fromtimestamp(ts, dt.UTC)
    months = count * (12 if interval == "year" else 1)
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def tax_lines(amount: int, rates: list[Doc]) -> list[Doc]:
    """Stripe's ``taxes`` entries of an amount under tax rates (inclusive or exclusive)."""
    out = []
    for rate in rates:
        pct = rate["percentage"]
        if rate["inclusive"]:
            taxable = round(amount / (1 + pct / 100))
            tax = amount - taxable
        else:
            taxable = amount
            tax = round(amount * pct / 100)
        out.append({
            "amount": tax,
            "tax_behavior": "inclusive" if rate["inclusive"] else "exclusive",
            "tax_rate_details": {"tax_rate": rate["id"]},
            "taxability_reason": "standard_rated",
            "taxable_amount": taxable,
            "type": "tax_rate_details",
        })
    return out


class BillingMixin:
    """Mixed into :class:`~.models.StripeBackend`."""

    # -- meters and meter events -----------------------------------------------------------
    def create_meter(self: StripeBackend, p: P.MeterCreate) -> Doc:
        if any(m["event_name"] == p.event_name and m["status"] == "active"
               for m in self.coll("meters").values()):
            raise InvalidRequestError(
                f"An active meter with event_name `{p.event_name}` already exists.",
                param="event_name")
        now = self.now()
        doc: Doc = {
            "id": self.new_id("mtr"), "object": "billing.meter", "created": now,
            "customer_mapping": (p.customer_mapping.model_dump() if p.customer_mapping
                                 else {"event_payload_key": "stripe_customer_id",
                                       "type": "by_id"}),
            "default_aggregation": p.default_aggregation.model_dump(),
            "display_name": p.display_name, "event_name": p.event_name,
            "event_time_window": p.event_time_window, "livemode": False, "status": "active",
            "status_transitions": {"deactivated_at": None}, "updated": now,
            "value_settings": (p.value_settings.model_dump() if p.value_settings
                               else {"event_payload_key": "value"}),
        }
        self.save("meters", doc)
        return doc

    def create_meter_event(self: StripeBackend, p: P.MeterEventCreate) -> Doc:
        meter = next((m for m in self.coll("meters").values()
                      if m["event_name"] == p.event_name and m["status"] == "active"), None)
        if meter is None:
            raise InvalidRequestError(
                f"No active meter was found for event_name `{p.event_name}`.",
                param="event_name")
        cust_key = meter["customer_mapping"]["event_payload_key"]
        value_key = meter["value_settings"]["event_payload_key"]
        customer_id = p.payload.get(cust_key)
        if customer_id is None:
            raise InvalidRequestError(f"Missing required param: payload[{cust_key}].",
                                      code="parameter_missing", param=f"payload[{cust_key}]")
        customer = self.get("cus_", customer_id, f"payload[{cust_key}]")
        raw = p.payload.get(value_key, "1" if meter["default_aggregation"]["formula"] == "count"
                            else None)
        if raw is None:
            raise InvalidRequestError(f"Missing required param: payload[{value_key}].",
                                      code="parameter_missing", param=f"payload[{value_key}]")
        try:
            value = int(raw)
            if abs(value) > 10**12:
                raise ValueError(raw)
        except ValueError:
            raise InvalidRequestError(
                f"Invalid payload[{value_key}]: must be a whole number", code=None,
                param=f"payload[{value_key}]") from None
        identifier = p.identifier or self.new_id("", 20)
        events = self.coll("meter_events")
        if identifier in events:
            raise InvalidRequestError(
                f"An event already exists with identifier {identifier}.",
                code="duplicate_meter_event", param="identifier")
        doc: Doc = {
            "object": "billing.meter_event", "created": self.now(),
            "event_name": p.event_name, "identifier": identifier, "livemode": False,
            "payload": p.payload,
            "timestamp": p.timestamp if p.timestamp is not None else self.time_for(customer),
            "_customer": customer["id"], "_meter": meter["id"], "_value": value,
        }
        events.put(identifier, doc)
        return doc

    def usage(self: StripeBackend, meter_id: str, customer_id: str, start: int, end: int) -> int:
        """Aggregated usage of a customer on a meter in ``[start, end)``."""
        meter = self.coll("meters").get(meter_id)
        if meter is None:
            return 0
        hits = sorted((e for e in self.coll("meter_events").values()
                       if e["_meter"] == meter_id and e["_customer"] == customer_id
                       and start <= e["timestamp"] < end), key=lambda e: e["timestamp"])
        formula = meter["default_aggregation"]["formula"]
        if formula == "count":
            return len(hits)
        if formula == "last":
            return hits[-1]["_value"] if hits else 0
        return sum(e["_value"] for e in hits)

    # -- subscriptions ---------------------------------------------------------------------
    def _sub_item(self: StripeBackend, sub_id: str, price: Doc, quantity: int | None,
                  metadata: dict[str, str] | None, rates: list[Doc], created: int,
                  start: int, end: int, param: str) -> Doc:
        metered = price["recurring"]["usage_type"] == "metered"
        if metered and quantity is not None:
            raise InvalidRequestError(
                "Quantity should not be specified where usage_type is `metered`. Remove "
                "quantity from the request.", param=f"{param}[quantity]")
        return {
            "id": self.new_id("si", 14), "object": "subscription_item", "created": created,
            "current_period_end": end, "current_period_start": start, "discounts": [],
            "metadata": metadata or {}, "plan": _plan(price), "price": self.render(price),
            "quantity": None if metered else (1 if quantity is None else quantity),
            "subscription": sub_id, "tax_rates": [self.render(r) for r in rates],
            "billing_thresholds": None,
        }

    def _recurring_price(self: StripeBackend, price_id: str, param: str) -> Doc:
        price = self.get("price_", price_id, param)
        if price["type"] != "recurring":
            raise InvalidRequestError(
                "The price specified is set to `type=one_time` but this field only accepts "
                "prices with `type=recurring`.", param=param)
        if not price["active"]:
            raise InvalidRequestError("The price specified is inactive. This field only "
                                      "accepts active prices.", param=param)
        return price

    def create_subscription(self: StripeBackend, p: P.SubscriptionCreate) -> Doc:
        customer = self.get("cus_", p.customer, "customer")
        prices = [self._recurring_price(it.price, f"items[{i}][price]")
                  for i, it in enumerate(p.items)]
        first = prices[0]
        for i, price in enumerate(prices[1:], 1):
            if (price["currency"] != first["currency"]
                    or price["recurring"]["interval"] != first["recurring"]["interval"]
                    or price["recurring"]["interval_count"]
                    != first["recurring"]["interval_count"]):
                raise InvalidRequestError(
                    "Currency and interval fields must match across all prices on this "
                    f"subscription. Found mismatch in price: {price['id']}.",
                    param=f"items[{i}][price]")
        method = p.collection_method or "charge_automatically"
        if method == "send_invoice" and p.days_until_due is None:
            raise InvalidRequestError("Missing required param: days_until_due.",
                                      code="parameter_missing", param="days_until_due")
        if method == "charge_automatically" and p.days_until_due is not None:
            raise InvalidRequestError(
                "Invalid days_until_due: can only be set when collection_method is "
                "send_invoice.", param="days_until_due")
        default_rates = self.tax_rates(p.default_tax_rates, "default_tax_rates")
        now = self.time_for(customer)
        recurring = first["recurring"]
        end = add_interval(now, recurring["interval"], recurring["interval_count"])
        sub_id = self.new_id("sub")
        items = [self._sub_item(sub_id, price, it.quantity, it.metadata,
                                self.tax_rates(it.tax_rates, f"items[{i}][tax_rates]"),
                                now, now, end, f"items[{i}]")
                 for i, (it, price) in enumerate(zip(p.items, prices, strict=True))]
        doc: Doc = {
            "id": sub_id, "object": "subscription", "application": None,
            "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": now,
            "billing_cycle_anchor_config": None,
            "billing_mode": {"type": "classic"}, "billing_schedules": [],
            "customer_account": None, "managed_payments": {"enabled": False},
            "billing_thresholds": None,
            "cancel_at": None, "cancel_at_period_end": bool(p.cancel_at_period_end),
            "canceled_at": None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": method, "created": now, "currency": first["currency"],
            "customer": customer["id"], "days_until_due": p.days_until_due,
            "default_payment_method": None, "default_source": None,
            "default_tax_rates": [self.render(r) for r in default_rates],
            "description": p.description, "discounts": [], "ended_at": None,
            "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
            "items": {"object": "list", "data": items, "has_more": False,
                      "total_count": len(items),
                      "url": f"/v1/subscription_items?subscription={sub_id}"},
            "latest_invoice": None, "livemode": False, "metadata": {},
            "next_pending_invoice_item_invoice": None, "on_behalf_of": None,
            "pause_collection": None,
            "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                                 "save_default_payment_method": "off"},
            "pending_invoice_item_interval": None, "pending_setup_intent": None,
            "pending_update": None, "schedule": None, "start_date": now, "status": "active",
            "test_clock": customer["test_clock"], "transfer_data": None, "trial_end": None,
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "trial_start": None,
        }
        from .models import apply_metadata

        apply_metadata(doc["metadata"], p.metadata, "metadata" in p.model_fields_set)
        if customer["currency"] is None:
            customer["currency"] = first["currency"]
            self.save("customers", customer)
        self.save("subscriptions", doc)
        self.emit("customer.subscription.created", doc)
        lines = [self._sub_line(doc, it, now, end) for it in items
                 if it["price"]["recurring"]["usage_type"] == "licensed"]
        invoice = self._new_invoice(customer, doc["currency"], "subscription_create",
                                    method, p.days_until_due, doc, now, lines)
        doc["latest_invoice"] = invoice["id"]
        self.save("subscriptions", doc)
        self.finalize_invoice(invoice["id"], P.InvoiceFinalize())
        return doc

    def _sub_line(self: StripeBackend, sub: Doc, item: Doc, start: int, end: int,
                  quantity: int | None = None) -> Doc:
        price = item["price"]
        qty = item["quantity"] if quantity is None else quantity
        product = self.coll("products").get(price["product"])
        name = product["name"] if product else price["product"]
        rate_ids = [r["id"] for r in item["tax_rates"]] or \
            [r["id"] for r in sub["default_tax_rates"]]
        return {
            "amount": price["unit_amount"] * qty, "currency": price["currency"],
            "description": f"{qty} × {name} (at {_money(price)} / "  # noqa: RUF001
                           f"{price['recurring']['interval']})",
            "quantity": qty, "unit_amount": price["unit_amount"],
            "price": price["id"], "period": {"start": start, "end": end},
            "parent": {"type": "subscription_item_details", "invoice_item_details": None,
                       "subscription_item_details": {
                           "invoice_item": None, "proration": False, "proration_details":
                           {"credited_items": None}, "subscription": sub["id"],
                           "subscription_item": item["id"]}},
            "subscription": sub["id"], "_rates": rate_ids,
        }

    def update_subscription(self: StripeBackend, sub_id: str, p: P.SubscriptionUpdate) -> Doc:
        """Changes apply from now on; no prorations are computed (``proration_behavior=none``)."""
        sub = self.get("sub_", sub_id)
        if sub["status"] == "canceled":
            raise InvalidRequestError(
                "A canceled subscription can only update its cancellation_details and "
                "metadata.", param=None)
        given = p.model_fields_set
        previous: Doc = {}
        from .models import apply_metadata

        if "metadata" in given:
            previous["metadata"] = dict(sub["metadata"])
            apply_metadata(sub["metadata"], p.metadata, True)
        for field in ("description", "cancel_at_period_end", "collection_method",
                      "days_until_due"):
            if field in given:
                value = getattr(p, field)
                if field == "cancel_at_period_end":
                    value = bool(value)
                if field == "collection_method" and value is None:
                    continue
                previous[field] = sub[field]
                sub[field] = value
        if sub["collection_method"] == "send_invoice" and sub["days_until_due"] is None:
            raise InvalidRequestError("Missing required param: days_until_due.",
                                      code="parameter_missing", param="days_until_due")
        if sub["collection_method"] == "charge_automatically":
            sub["days_until_due"] = None
        if "default_tax_rates" in given:
            previous["default_tax_rates"] = sub["default_tax_rates"]
            sub["default_tax_rates"] = [self.render(r) for r in
                                        self.tax_rates(p.default_tax_rates, "default_tax_rates")]
        if p.items:
            previous["items"] = sub["items"]
            data = [dict(it) for it in sub["items"]["data"]]
            ref = data[0]
            for i, change in enumerate(p.items):
                param = f"items[{i}]"
                existing = next((it for it in data if it["id"] == change.id), None)
                if change.id is not None and existing is None:
                    raise resource_missing("subscription_item", change.id, f"{param}[id]")
                if existing is not None and change.deleted:
                    data.remove(existing)
                    continue
                if existing is None:
                    if change.price is None:
                        raise InvalidRequestError(f"Missing required param: {param}[price].",
                                                  code="parameter_missing",
                                                  param=f"{param}[price]")
                    price = self._recurring_price(change.price, f"{param}[price]")
                    data.append(self._sub_item(
                        sub["id"], price, change.quantity, change.metadata,
                        self.tax_rates(change.tax_rates, f"{param}[tax_rates]"),
                        self.time_for_clock(sub["test_clock"]), ref["current_period_start"],
                        ref["current_period_end"], param))
                    continue
                if change.price is not None and change.price != existing["price"]["id"]:
                    price = self._recurring_price(change.price, f"{param}[price]")
                    existing["price"] = self.render(price)
                    existing["plan"] = _plan(price)
                if change.quantity is not None:
                    existing["quantity"] = change.quantity
                if change.metadata is not None:
                    existing["metadata"] = {**existing["metadata"], **change.metadata}
                if change.tax_rates is not None:
                    existing["tax_rates"] = [self.render(r) for r in self.tax_rates(
                        change.tax_rates, f"{param}[tax_rates]")]
            if not data:
                raise InvalidRequestError("A subscription must have at least one active "
                                          "item.", param="items")
            sub["items"] = {**sub["items"], "data": data, "total_count": len(data)}
        self.save("subscriptions", sub)
        self.emit("customer.subscription.updated", sub, previous)
        return sub

    def cancel_subscription(self: StripeBackend, sub_id: str, p: P.SubscriptionCancel) -> Doc:
        sub = self.get("sub_", sub_id)
        if sub["status"] == "canceled":
            raise InvalidRequestError(
                "A canceled subscription can only update its cancellation_details and "
                "metadata.", param=None)
        now = self.time_for_clock(sub["test_clock"])
        if p.invoice_now:
            self._final_usage_invoice(sub, now)
        sub["status"] = "canceled"
        sub["canceled_at"] = now
        sub["ended_at"] = now
        sub["cancellation_details"] = {"comment": None, "feedback": None,
                                       "reason": "cancellation_requested"}
        if p.cancellation_details is not None:
            sub["cancellation_details"].update(
                p.cancellation_details.model_dump(exclude_unset=True))
        self.save("subscriptions", sub)
        self.emit("customer.subscription.deleted", sub)
        return sub

    def _final_usage_invoice(self: StripeBackend, sub: Doc, now: int) -> None:
        customer = self.coll("customers").get(sub["customer"])
        if customer is None:
            return
        lines = self._metered_lines(sub, sub["items"]["data"][0]["current_period_start"], now)
        if lines:
            inv = self._new_invoice(customer, sub["currency"], "subscription_cycle",
                                    sub["collection_method"], sub["days_until_due"], sub, now,
                                    lines)
            sub["latest_invoice"] = inv["id"]

    def _metered_lines(self: StripeBackend, sub: Doc, start: int, end: int) -> list[Doc]:
        lines = []
        for item in sub["items"]["data"]:
            recurring = item["price"]["recurring"]
            if recurring["usage_type"] != "metered":
                continue
            qty = self.usage(recurring["meter"], sub["customer"], start, end)
            lines.append(self._sub_line(sub, item, start, end, qty))
        return lines

    def run_billing(self: StripeBackend, now: int, clock_id: str | None) -> None:
        """Run every cycle and auto-finalization due at ``now`` on one clock.

        ``clock_id`` None is the simulator's own clock (objects without a test clock).
        """
        for sub in list(self.coll("subscriptions").values()):
            if sub["test_clock"] != clock_id or sub["status"] not in ("active", "past_due"):
                continue
            self._cycle(sub, now)
        due = self.coll("_autofinalize")
        for inv_id, entry in list(due.items()):
            if entry["clock"] == clock_id and now >= entry["at"]:
                due.delete(inv_id)
                inv = self.coll("invoices").get(inv_id)
                if inv is not None and inv["status"] == "draft" and inv["auto_advance"]:
                    self._finalize(inv, entry["at"])

    def _cycle(self: StripeBackend, sub: Doc, now: int) -> None:
        customer = self.coll("customers").get(sub["customer"])
        while sub["status"] == "active" and customer is not None:
            items = sub["items"]["data"]
            start = items[0]["current_period_start"]
            end = items[0]["current_period_end"]
            if now < end:
                return
            recurring = items[0]["price"]["recurring"]
            new_end = add_interval(end, recurring["interval"], recurring["interval_count"])
            metered = self._metered_lines(sub, start, end)
            if sub["cancel_at_period_end"]:
                if metered:
                    self._new_invoice(customer, sub["currency"], "subscription_cycle",
                                      sub["collection_method"], sub["days_until_due"], sub,
                                      end, metered)
                sub["status"] = "canceled"
                sub["canceled_at"] = sub["ended_at"] = end
                sub["cancellation_details"]["reason"] = "cancellation_requested"
                self.save("subscriptions", sub)
                self.emit("customer.subscription.deleted", sub)
                return
            previous = {"items": {"data": [dict(i) for i in items]}}
            for item in items:
                item["current_period_start"] = end
                item["current_period_end"] = new_end
            licensed = [self._sub_line(sub, it, end, new_end) for it in items
                        if it["price"]["recurring"]["usage_type"] == "licensed"]
            inv = self._new_invoice(customer, sub["currency"], "subscription_cycle",
                                    sub["collection_method"], sub["days_until_due"], sub, end,
                                    licensed + metered)
            sub["latest_invoice"] = inv["id"]
            self.save("subscriptions", sub)
            self.emit("customer.subscription.updated", sub, previous)

    # -- invoice items ---------------------------------------------------------------------
    def create_invoiceitem(self: StripeBackend, p: P.InvoiceItemCreate) -> Doc:
        customer = self.get("cus_", p.customer, "customer")
        price = None
        if p.pricing is not None:
            price = self.get("price_", p.pricing.price, "pricing[price]")
            if p.amount is not None:
                raise InvalidRequestError("You may only specify one of these parameters: "
                                          "amount, pricing.", code="parameters_exclusive",
                                          param="amount")
        qty = 1 if p.quantity is None else p.quantity
        if price is not None:
            unit = price["unit_amount"]
            currency = price["currency"]
        elif p.amount is not None:
            unit = None
            currency = p.currency
        elif p.unit_amount_decimal is not None:
            unit = round(float(p.unit_amount_decimal))
            currency = p.currency
        else:
            raise InvalidRequestError("Missing required param: amount.",
                                      code="parameter_missing", param="amount")
        if currency is None:
            currency = customer["currency"]
        if currency is None:
            raise InvalidRequestError("Missing required param: currency.",
                                      code="parameter_missing", param="currency")
        amount = p.amount if unit is None else unit * qty
        invoice = None
        if p.invoice is not None:
            invoice = self.get("in_", p.invoice, "invoice")
            if invoice["status"] != "draft":
                raise InvalidRequestError(
                    "You can only add invoice items to draft invoices.",
                    code="invoice_not_editable", param="invoice")
            if invoice["customer"] != customer["id"]:
                raise InvalidRequestError("The invoice belongs to a different customer.",
                                          param="invoice")
        rates = self.tax_rates(p.tax_rates, "tax_rates")
        now = self.time_for(customer)
        doc: Doc = {
            "id": self.new_id("ii"), "object": "invoiceitem", "amount": amount,
            "currency": currency.lower(), "customer": customer["id"],
            "customer_account": None, "date": now,
            "description": p.description, "discountable": p.discountable is not False,
            "discounts": [], "invoice": invoice["id"] if invoice else None, "livemode": False,
            "metadata": p.metadata or {}, "net_amount": amount,
            "parent": ({"type": "subscription_details",
                        "subscription_details": {"subscription": p.subscription}}
                       if p.subscription else None),
            "period": (p.period.model_dump() if p.period else {"start": now, "end": now}),
            "pricing": {"type": "price_details",
                        "price_details": ({"price": price["id"], "product": price["product"]}
                                          if price else None),
                        "unit_amount_decimal": str(unit if unit is not None else amount)},
            "proration": False, "quantity": qty, "quantity_decimal": str(qty),
            "tax_rates": [self.render(r) for r in rates],
            "test_clock": customer["test_clock"],
        }
        self.save("invoiceitems", doc)
        self.emit("invoiceitem.created", doc)
        if invoice is not None:
            invoice["_lines"].append(self._item_line(doc, invoice))
            self._recompute(invoice)
            self.save("invoices", invoice)
        return doc

    def _item_line(self: StripeBackend, item: Doc, invoice: Doc) -> Doc:
        rate_ids = [r["id"] for r in item["tax_rates"]] or \
            [r["id"] for r in invoice["default_tax_rates"]]
        return {
            "amount": item["amount"], "currency": item["currency"],
            "description": item["description"], "quantity": item["quantity"],
            "unit_amount": None, "price": (item["pricing"]["price_details"] or {}).get("price"),
            "period": item["period"],
            "parent": {"type": "invoice_item_details", "subscription_item_details": None,
                       "invoice_item_details": {
                           "invoice_item": item["id"], "proration": False,
                           "proration_details": {"credited_items": None},
                           "subscription": None}},
            "subscription": None, "_rates": rate_ids,
        }

    def delete_invoiceitem(self: StripeBackend, ii_id: str) -> Doc:
        item = self.get("ii_", ii_id)
        if item["invoice"] is not None:
            inv = self.coll("invoices").get(item["invoice"])
            if inv is not None and inv["status"] != "draft":
                raise InvalidRequestError(
                    "You cannot delete an invoice item that is attached to a finalized "
                    "invoice.", code="invoice_not_editable")
            if inv is not None:
                inv["_lines"] = [ln for ln in inv["_lines"]
                                 if (ln["parent"]["invoice_item_details"] or {})
                                 .get("invoice_item") != ii_id]
                self._recompute(inv)
                self.save("invoices", inv)
        self.coll("invoiceitems").delete(ii_id)
        self.emit("invoiceitem.deleted", item)
        return {"id": ii_id, "object": "invoiceitem", "deleted": True}

    # -- invoices --------------------------------------------------------------------------
    def _new_invoice(self: StripeBackend, customer: Doc, currency: str, reason: str,
                     method: str, days_until_due: int | None, sub: Doc | None, created: int,
                     lines: list[Doc], auto_advance: bool = True) -> Doc:
        inv_id = self.new_id("in")
        addr = customer["address"]
        doc: Doc = {
            "id": inv_id, "object": "invoice", "account_country": "US",
            "account_name": "o2c-harness simulated account", "account_tax_ids": None,
            "amount_due": 0, "amount_overpaid": 0, "amount_paid": 0, "amount_remaining": 0,
            "amount_shipping": 0, "application": None, "attempt_count": 0,
            "attempted": False, "auto_advance": auto_advance,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None,
                              "provider": None, "status": None},
            "automatically_finalizes_at": created + GRACE_S if auto_advance else None,
            "billing_reason": reason, "collection_method": method, "created": created,
            "currency": currency, "custom_fields": None, "customer": customer["id"],
            "customer_account": None,
            "customer_address": addr, "customer_email": customer["email"],
            "customer_name": customer["name"], "customer_phone": customer["phone"],
            "customer_shipping": customer["shipping"],
            "customer_tax_exempt": customer["tax_exempt"], "customer_tax_ids": [],
            "default_payment_method": None, "default_source": None,
            "default_tax_rates": [], "description": None, "discounts": [],
            "due_date": None, "effective_at": None, "ending_balance": None, "footer": None,
            "from_invoice": None, "hosted_invoice_url": None, "invoice_pdf": None,
            "issuer": {"type": "self"}, "last_finalization_error": None,
            "latest_revision": None, "livemode": False, "metadata": {},
            "next_payment_attempt": None, "number": None, "on_behalf_of": None,
            "parent": ({"type": "subscription_details", "quote_details": None,
                        "subscription_details": {"metadata": dict(sub["metadata"]),
                                                 "subscription": sub["id"]}}
                       if sub else None),
            "payment_settings": {"default_mandate": None, "payment_method_options": None,
                                 "payment_method_types": None},
            "period_end": created, "period_start": created,
            "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
            "receipt_number": None, "rendering": None, "shipping_cost": None,
            "shipping_details": None, "starting_balance": 0, "statement_descriptor": None,
            "status": "draft",
            "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None,
                                   "paid_at": None, "voided_at": None},
            "subscription": sub["id"] if sub else None,
            "subtotal": 0, "subtotal_excluding_tax": 0, "test_clock": customer["test_clock"],
            "total": 0, "total_discount_amounts": [], "total_excluding_tax": 0,
            "total_pretax_credit_amounts": [], "total_taxes": [],
            "webhooks_delivered_at": None,
            "_lines": [], "_days_until_due": days_until_due,
        }
        if sub is not None:
            # a cycle invoice covers the period that just ended (Stripe's period_start/end)
            first = sub["items"]["data"][0]
            doc["period_start"] = min(created, first["current_period_start"])
            doc["period_end"] = created
        for line in lines:
            doc["_lines"].append(line)
        self._recompute(doc)
        self.save("invoices", doc)
        if auto_advance:
            self.coll("_autofinalize").put(inv_id, {"at": created + GRACE_S,
                                                    "clock": customer["test_clock"]})
        self.emit("invoice.created", doc)
        return doc

    def create_invoice(self: StripeBackend, p: P.InvoiceCreate) -> Doc:
        customer = self.get("cus_", p.customer, "customer")
        method = p.collection_method or "charge_automatically"
        if method == "send_invoice" and p.days_until_due is None and p.due_date is None:
            raise InvalidRequestError(
                "Invoices with `collection_method=send_invoice` must have either "
                "`days_until_due` or `due_date` set.", param="days_until_due")
        sub = self.get("sub_", p.subscription, "subscription") if p.subscription else None
        pending = [ii for ii in self.coll("invoiceitems").values()
                   if ii["customer"] == customer["id"] and ii["invoice"] is None]
        if p.pending_invoice_items_behavior != "include":
            pending = []
        currency = (p.currency or (pending[0]["currency"] if pending else None)
                    or customer["currency"] or "usd").lower()
        pending = [ii for ii in pending if ii["currency"] == currency]
        now = self.time_for(customer)
        inv = self._new_invoice(customer, currency, "manual", method, p.days_until_due, sub,
                                now, [], auto_advance=bool(p.auto_advance))
        self._apply_invoice(inv, p)
        for ii in pending:
            ii["invoice"] = inv["id"]
            self.save("invoiceitems", ii)
            inv["_lines"].append(self._item_line(ii, inv))
        self._recompute(inv)
        return self.save("invoices", inv)

    def _apply_invoice(self: StripeBackend, inv: Doc, p: P.InvoiceUpdate) -> Doc:
        given = p.model_fields_set
        previous: Doc = {}
        from .models import apply_metadata

        draft_only = {"collection_method", "days_until_due", "default_tax_rates", "due_date"}
        if inv["status"] != "draft" and given & draft_only:
            field = sorted(given & draft_only)[0]
            raise InvalidRequestError(
                f"Finalized invoices can't be updated in this way: {field} can only be changed "
                "on draft invoices.", code="invoice_not_editable", param=field)
        if inv["status"] in ("void",) and given - {"metadata", "expand"}:
            raise InvalidRequestError("You can't update a voided invoice.",
                                      code="invoice_not_editable")
        if "metadata" in given:
            previous["metadata"] = dict(inv["metadata"])
            apply_metadata(inv["metadata"], p.metadata, True)
        for field in ("description", "footer", "collection_method", "due_date"):
            if field in given and getattr(p, field) is not None:
                previous[field] = inv[field]
                inv[field] = getattr(p, field)
        if "days_until_due" in given:
            inv["_days_until_due"] = p.days_until_due
        if "auto_advance" in given and p.auto_advance is not None:
            previous["auto_advance"] = inv["auto_advance"]
            inv["auto_advance"] = p.auto_advance
            if inv["status"] == "draft":
                if p.auto_advance:
                    at = max(inv["created"] + GRACE_S,
                             self.time_for_clock(inv["test_clock"]))
                    inv["automatically_finalizes_at"] = at
                    self.coll("_autofinalize").put(inv["id"], {"at": at,
                                                               "clock": inv["test_clock"]})
                else:
                    inv["automatically_finalizes_at"] = None
                    self.coll("_autofinalize").delete(inv["id"])
        if "default_tax_rates" in given:
            previous["default_tax_rates"] = inv["default_tax_rates"]
            inv["default_tax_rates"] = [self.render(r) for r in self.tax_rates(
                p.default_tax_rates, "default_tax_rates")]
            for line in inv["_lines"]:
                if line["parent"]["type"] == "invoice_item_details":
                    item = self.coll("invoiceitems").get(
                        line["parent"]["invoice_item_details"]["invoice_item"])
                    if item is not None and not item["tax_rates"]:
                        line["_rates"] = [r["id"] for r in inv["default_tax_rates"]]
        if inv["collection_method"] == "send_invoice" and inv["_days_until_due"] is None \
                and inv["due_date"] is None:
            raise InvalidRequestError(
                "Invoices with `collection_method=send_invoice` must have either "
                "`days_until_due` or `due_date` set.", param="days_until_due")
        return previous

    def update_invoice(self: StripeBackend, inv_id: str, p: P.InvoiceUpdate) -> Doc:
        inv = self.get("in_", inv_id)
        previous = self._apply_invoice(inv, p)
        self._recompute(inv)
        self.save("invoices", inv)
        self.emit("invoice.updated", inv, previous)
        return inv

    def delete_invoice(self: StripeBackend, inv_id: str) -> Doc:
        inv = self.get("in_", inv_id)
        if inv["status"] != "draft":
            raise InvalidRequestError(
                "You can only delete draft invoices. To get rid of an invoice that has been "
                "finalized, void it instead.", code="invoice_not_editable")
        for ii in self.coll("invoiceitems").values():
            if ii["invoice"] == inv_id:
                ii["invoice"] = None
                self.save("invoiceitems", ii)
        self.coll("invoices").delete(inv_id)
        self.coll("_autofinalize").delete(inv_id)
        self.emit("invoice.deleted", inv)
        return {"id": inv_id, "object": "invoice", "deleted": True}

    def _recompute(self: StripeBackend, inv: Doc) -> None:
        """Derive every amount of the invoice from its lines, taxes and credit notes."""
        rates = {r["id"]: r for r in self.coll("tax_rates").values()}
        for line in inv["_lines"]:
            if "id" not in line:
                line["id"] = self.new_id("il")
        subtotal = exclusive = inclusive = 0
        totals: dict[str, Doc] = {}
        for line in inv["_lines"]:
            taxes = tax_lines(line["amount"], [rates[r] for r in line["_rates"] if r in rates])
            line["taxes"] = taxes
            subtotal += line["amount"]
            for tax in taxes:
                if tax["tax_behavior"] == "exclusive":
                    exclusive += tax["amount"]
                else:
                    inclusive += tax["amount"]
                key = tax["tax_rate_details"]["tax_rate"]
                agg = totals.setdefault(key, {**tax, "amount": 0, "taxable_amount": 0})
                agg["amount"] += tax["amount"]
                agg["taxable_amount"] += tax["taxable_amount"]
        total = subtotal + exclusive
        inv["subtotal"] = subtotal
        inv["subtotal_excluding_tax"] = subtotal - inclusive
        inv["total"] = total
        inv["total_excluding_tax"] = total - exclusive - inclusive
        inv["total_taxes"] = list(totals.values())
        inv["amount_due"] = max(0, total - inv["pre_payment_credit_notes_amount"])
        if inv["status"] == "paid" or inv["status"] == "void":
            inv["amount_remaining"] = 0
        else:
            inv["amount_remaining"] = max(0, inv["amount_due"] - inv["amount_paid"])

    def render_invoice(self: StripeBackend, inv: Doc) -> Doc:
        out = {k: v for k, v in inv.items() if k[0] != "_"}
        lines = inv["_lines"]
        out["lines"] = {
            "object": "list",
            "data": [self.render_line(inv, i, ln)
                     for i, ln in enumerate(lines[:INVOICE_LINES_EMBEDDED])],
            "has_more": len(lines) > INVOICE_LINES_EMBEDDED,
            "total_count": len(lines),
            "url": f"/v1/invoices/{inv['id']}/lines",
        }
        return out

    def render_line(self: StripeBackend, inv: Doc, index: int, line: Doc) -> Doc:
        return {
            "id": line["id"],
            "object": "line_item",
            "amount": line["amount"], "currency": line["currency"],
            "description": line["description"], "discount_amounts": [],
            "discountable": True, "discounts": [], "invoice": inv["id"], "livemode": False,
            "metadata": {}, "parent": line["parent"], "period": line["period"],
            "pretax_credit_amounts": [],
            "pricing": {"type": "price_details",
                        "price_details": ({"price": line["price"],
                                           "product": self._product_of(line["price"])}
                                          if line.get("price") else None),
                        "unit_amount_decimal": (str(line["unit_amount"])
                                                if line.get("unit_amount") is not None
                                                else None)},
            "quantity": line["quantity"], "quantity_decimal": str(line["quantity"]),
            "subtotal": line["amount"], "taxes": line.get("taxes", []),
            "subscription": line.get("subscription"),
        }

    def invoice_lines(self: StripeBackend, inv_id: str) -> list[Doc]:
        inv = self.get("in_", inv_id, "invoice")
        return [self.render_line(inv, i, ln) for i, ln in enumerate(inv["_lines"])]

    def _product_of(self: StripeBackend, price_id: str) -> str | None:
        price = self.coll("prices").get(price_id)
        return price["product"] if price else None

    def _transition(self: StripeBackend, inv: Doc, target: str, message: str) -> None:
        if target not in ALLOWED[inv["status"]]:
            raise InvalidRequestError(message.format(status=inv["status"]))
        inv["status"] = target

    def finalize_invoice(self: StripeBackend, inv_id: str, p: P.InvoiceFinalize) -> Doc:
        inv = self.get("in_", inv_id, "invoice")
        if inv["status"] != "draft":
            raise InvalidRequestError(
                "This invoice is already finalized, you can't re-finalize a non-draft "
                "invoice.")
        if p.auto_advance is not None:
            inv["auto_advance"] = p.auto_advance
        return self._finalize(inv, self.time_for_clock(inv["test_clock"]))

    def _finalize(self: StripeBackend, inv: Doc, at: int) -> Doc:
        self._transition(inv, "open", "")
        self.coll("_autofinalize").delete(inv["id"])
        customer = self.coll("customers").get(inv["customer"])
        if customer is not None:
            seq = customer["next_invoice_sequence"]
            inv["number"] = f"{customer['invoice_prefix']}-{seq:04d}"
            customer["next_invoice_sequence"] = seq + 1
            self.save("customers", customer)
        else:
            inv["number"] = f"DELETED-{self.ctx.ids.sequence('orphan_invoice'):04d}"
        inv["status_transitions"]["finalized_at"] = at
        inv["effective_at"] = at
        inv["automatically_finalizes_at"] = None
        inv["ending_balance"] = 0
        inv["hosted_invoice_url"] = f"https://invoice.stripe.com/i/acct_sim/test_{inv['id']}"
        inv["invoice_pdf"] = f"https://pay.stripe.com/invoice/acct_sim/test_{inv['id']}/pdf"
        if inv["collection_method"] == "send_invoice" and inv["due_date"] is None:
            inv["due_date"] = at + 86400 * (inv["_days_until_due"] or 0)
        self._recompute(inv)
        self.save("invoices", inv)
        self.emit("invoice.finalized", inv)
        self._fact("invoice.finalized", inv)
        if inv["amount_due"] == 0:
            return self._mark_paid(inv, at)
        if inv["collection_method"] == "charge_automatically" and inv["auto_advance"]:
            # no payment method can exist in this simulator: the attempt fails
            inv["attempted"] = True
            inv["attempt_count"] += 1
            inv["next_payment_attempt"] = None
            self.save("invoices", inv)
            self.emit("invoice.payment_failed", inv)
        return inv

    def _fact(self: StripeBackend, kind: str, inv: Doc) -> None:
        self.ctx.facts.record(
            kind, inv["id"], number=inv["number"], customer=inv["customer"],
            total=inv["total"], amount_due=inv["amount_due"], amount_paid=inv["amount_paid"],
            currency=inv["currency"], status=inv["status"],
            status_transitions=dict(inv["status_transitions"]), metadata=dict(inv["metadata"]),
            subscription=(inv["parent"] or {}).get("subscription_details", {}).get(
                "subscription") if inv["parent"] else None,
            billing_reason=inv["billing_reason"], test_clock=inv["test_clock"])

    def _mark_paid(self: StripeBackend, inv: Doc, at: int) -> Doc:
        self._transition(inv, "paid", "")
        inv["amount_paid"] = inv["amount_due"]
        inv["status_transitions"]["paid_at"] = at
        inv["next_payment_attempt"] = None
        self._recompute(inv)
        self.save("invoices", inv)
        self.emit("invoice.paid", inv)
        self.emit("invoice.payment_succeeded", inv)
        self._fact("invoice.paid", inv)
        return inv

    def pay_invoice(self: StripeBackend, inv_id: str, p: P.InvoicePay) -> Doc:
        inv = self.get("in_", inv_id, "invoice")
        if inv["status"] == "paid":
            raise InvalidRequestError("Invoice is already paid", code="invoice_already_paid")
        if inv["status"] not in ("open", "uncollectible"):
            raise InvalidRequestError(
                f"You can only pay an invoice that is open or uncollectible. This invoice is "
                f"{inv['status']}.")
        if not p.paid_out_of_band:
            # no payment methods exist here; Stripe reports the missing method as a card error
            inv["attempted"] = True
            inv["attempt_count"] += 1
            self.save("invoices", inv)
            self.emit("invoice.payment_failed", inv)
            raise InvalidRequestError(
                "This customer has no attached payment source or default payment method. "
                "Please consider adding a default payment method, or pass "
                "`paid_out_of_band=true` to record a payment made outside of Stripe.",
                code="invoice_no_payment_method_types")
        return self._mark_paid(inv, self.time_for_clock(inv["test_clock"]))

    def void_invoice(self: StripeBackend, inv_id: str) -> Doc:
        inv = self.get("in_", inv_id, "invoice")
        self._transition(inv, "void", "You can only void an invoice that is open or "
                                      "uncollectible. This invoice is {status}.")
        inv["status_transitions"]["voided_at"] = self.time_for_clock(inv["test_clock"])
        inv["next_payment_attempt"] = None
        self._recompute(inv)
        self.save("invoices", inv)
        self.emit("invoice.voided", inv)
        self._fact("invoice.voided", inv)
        return inv

    def mark_uncollectible(self: StripeBackend, inv_id: str) -> Doc:
        inv = self.get("in_", inv_id, "invoice")
        self._transition(inv, "uncollectible", "You can only mark an open invoice as "
                                               "uncollectible. This invoice is {status}.")
        inv["status_transitions"]["marked_uncollectible_at"] = \
            self.time_for_clock(inv["test_clock"])
        inv["next_payment_attempt"] = None
        self.save("invoices", inv)
        self.emit("invoice.marked_uncollectible", inv)
        return inv

    # -- credit notes ----------------------------------------------------------------------
    def create_credit_note(self: StripeBackend, p: P.CreditNoteCreate) -> Doc:
        inv = self.get("in_", p.invoice, "invoice")
        if inv["status"] not in ("open", "paid", "uncollectible"):
            raise InvalidRequestError(
                f"You can only create a credit note for an invoice that is open, paid or "
                f"uncollectible. This invoice is {inv['status']}.", param="invoice")
        rates = {r["id"]: r for r in self.coll("tax_rates").values()}
        cn_id = self.new_id("cn")
        lines: list[Doc] = []
        if p.lines:
            rendered = {self.render_line(inv, i, ln)["id"]: ln
                        for i, ln in enumerate(inv["_lines"])}
            for i, lp in enumerate(p.lines):
                param = f"lines[{i}]"
                if lp.type == "invoice_line_item":
                    if lp.invoice_line_item is None:
                        raise InvalidRequestError(
                            f"Missing required param: {param}[invoice_line_item].",
                            code="parameter_missing", param=f"{param}[invoice_line_item]")
                    src = rendered.get(lp.invoice_line_item)
                    if src is None:
                        raise resource_missing("invoice line item", lp.invoice_line_item,
                                               f"{param}[invoice_line_item]")
                    if lp.amount is not None:
                        amount = lp.amount
                    elif lp.quantity is not None and src.get("unit_amount") is not None:
                        amount = src["unit_amount"] * lp.quantity
                    else:
                        amount = src["amount"]
                    line_rates = [rates[r] for r in src["_rates"] if r in rates]
                    desc = src["description"]
                    qty = lp.quantity or 1
                    unit = None
                else:
                    if lp.unit_amount is None:
                        raise InvalidRequestError(
                            f"Missing required param: {param}[unit_amount].",
                            code="parameter_missing", param=f"{param}[unit_amount]")
                    qty = lp.quantity or 1
                    unit = lp.unit_amount
                    amount = unit * qty
                    line_rates = self.tax_rates(lp.tax_rates, f"{param}[tax_rates]")
                    desc = lp.description
                taxes = tax_lines(amount, line_rates)
                lines.append({
                    "id": f"cnli_{cn_id[3:]}{i:03d}", "object": "credit_note_line_item",
                    "amount": amount, "description": desc, "discount_amount": 0,
                    "discount_amounts": [], "invoice_line_item": lp.invoice_line_item,
                    "livemode": False, "metadata": {}, "pretax_credit_amounts": [],
                    "quantity": qty, "tax_rates": [self.render(r) for r in line_rates],
                    "taxes": taxes, "type": lp.type, "unit_amount": unit,
                    "unit_amount_decimal": str(unit) if unit is not None else None,
                })
        elif p.amount is not None:
            lines.append({
                "id": f"cnli_{cn_id[3:]}000", "object": "credit_note_line_item",
                "amount": p.amount, "description": "Credit", "discount_amount": 0,
                "discount_amounts": [], "invoice_line_item": None, "livemode": False,
                "metadata": {}, "pretax_credit_amounts": [], "quantity": 1, "tax_rates": [],
                "taxes": [], "type": "custom_line_item", "unit_amount": p.amount,
                "unit_amount_decimal": str(p.amount),
            })
        else:
            raise InvalidRequestError("Missing required param: lines.",
                                      code="parameter_missing", param="lines")
        subtotal = sum(ln["amount"] for ln in lines)
        exclusive = sum(t["amount"] for ln in lines for t in ln["taxes"]
                        if t["tax_behavior"] == "exclusive")
        inclusive = sum(t["amount"] for ln in lines for t in ln["taxes"]
                        if t["tax_behavior"] == "inclusive")
        total = subtotal + exclusive
        credited = sum(c["total"] for c in self.coll("credit_notes").values()
                       if c["invoice"] == inv["id"] and c["status"] == "issued")
        creditable = inv["total"] - credited
        if total <= 0 or total > creditable:
            raise InvalidRequestError(
                f"The credit note total ({total}) must be greater than 0 and at most the "
                f"invoice's remaining creditable amount ({creditable}).", param="amount"
                if p.amount is not None else "lines")
        pre = inv["status"] in ("open", "uncollectible")
        if pre and total > inv["amount_remaining"]:
            raise InvalidRequestError(
                f"The credit note total ({total}) exceeds the amount remaining on the invoice "
                f"({inv['amount_remaining']}).", param="lines" if p.lines else "amount")
        if not pre and p.credit_amount is not None and p.out_of_band_amount is not None \
                and p.credit_amount + p.out_of_band_amount != total:
            raise InvalidRequestError(
                f"The sum of credit amount, refund amount and out of band amount "
                f"({p.credit_amount + p.out_of_band_amount}) must equal the credit note "
                f"amount ({total}).", param="credit_amount")
        seq = self.ctx.ids.sequence(f"cn:{inv['id']}")
        now = self.time_for_clock(inv["test_clock"])
        totals: dict[str, Doc] = {}
        for ln in lines:
            for t in ln["taxes"]:
                agg = totals.setdefault(t["tax_rate_details"]["tax_rate"],
                                        {**t, "amount": 0, "taxable_amount": 0})
                agg["amount"] += t["amount"]
                agg["taxable_amount"] += t["taxable_amount"]
        out_of_band = 0 if pre else (p.out_of_band_amount or 0)
        doc: Doc = {
            "id": cn_id, "object": "credit_note", "amount": total, "amount_shipping": 0,
            "created": now, "currency": inv["currency"], "customer": inv["customer"],
            "customer_account": None, "customer_balance_transaction": None,
            "discount_amount": 0, "discount_amounts": [], "effective_at": now,
            "invoice": inv["id"], "livemode": False, "memo": p.memo, "metadata": {},
            "number": f"{inv['number']}-CN-{seq:02d}", "out_of_band_amount":
            out_of_band or None,
            "pdf": f"https://pay.stripe.com/credit_notes/acct_sim/test_{cn_id}/pdf",
            "post_payment_amount": 0 if pre else total, "pre_payment_amount": total if pre
            else 0, "pretax_credit_amounts": [], "reason": p.reason, "refunds": [],
            "shipping_cost": None, "status": "issued", "subtotal": subtotal,
            "subtotal_excluding_tax": subtotal - inclusive, "total": total,
            "total_excluding_tax": subtotal - inclusive, "total_taxes": list(totals.values()),
            "type": "pre_payment" if pre else "post_payment", "voided_at": None,
            "_lines": lines, "_balance_credit": 0,
        }
        from .models import apply_metadata

        apply_metadata(doc["metadata"], p.metadata, "metadata" in p.model_fields_set)
        if pre:
            inv["pre_payment_credit_notes_amount"] += total
        else:
            inv["post_payment_credit_notes_amount"] += total
            balance_credit = total - out_of_band
            customer = self.coll("customers").get(inv["customer"])
            if balance_credit and customer is not None:
                customer["balance"] -= balance_credit
                self.save("customers", customer)
                doc["_balance_credit"] = balance_credit
        self._recompute(inv)
        self.save("credit_notes", doc)
        self.save("invoices", inv)
        self.emit("credit_note.created", doc)
        if pre and inv["amount_remaining"] == 0:
            self._mark_paid(inv, now)
        return doc

    def render_credit_note(self: StripeBackend, cn: Doc) -> Doc:
        out = {k: v for k, v in cn.items() if k[0] != "_"}
        out["lines"] = {"object": "list", "data": cn["_lines"][:10],
                        "has_more": len(cn["_lines"]) > 10, "total_count": len(cn["_lines"]),
                        "url": f"/v1/credit_notes/{cn['id']}/lines"}
        return out

    def update_credit_note(self: StripeBackend, cn_id: str, p: P.CreditNoteUpdate) -> Doc:
        from .models import apply_metadata

        cn = self.get("cn_", cn_id)
        previous: Doc = {}
        if "memo" in p.model_fields_set:
            previous["memo"] = cn["memo"]
            cn["memo"] = p.memo
        if "metadata" in p.model_fields_set:
            previous["metadata"] = dict(cn["metadata"])
            apply_metadata(cn["metadata"], p.metadata, True)
        self.save("credit_notes", cn)
        self.emit("credit_note.updated", cn, previous)
        return cn

    def void_credit_note(self: StripeBackend, cn_id: str) -> Doc:
        cn = self.get("cn_", cn_id)
        if cn["status"] != "issued":
            raise InvalidRequestError("This credit note has already been voided.")
        inv = self.coll("invoices").get(cn["invoice"])
        if inv is not None and cn["type"] == "pre_payment":
            if inv["status"] not in ("open", "uncollectible"):
                raise InvalidRequestError(
                    "You can only void a pre-payment credit note while its invoice is open or "
                    f"uncollectible. This invoice is {inv['status']}.")
            inv["pre_payment_credit_notes_amount"] -= cn["total"]
        elif inv is not None:
            inv["post_payment_credit_notes_amount"] -= cn["total"]
            customer = self.coll("customers").get(cn["customer"])
            if customer is not None and cn["_balance_credit"]:
                customer["balance"] += cn["_balance_credit"]
                self.save("customers", customer)
        if inv is not None:
            self._recompute(inv)
            self.save("invoices", inv)
        cn["status"] = "void"
        cn["voided_at"] = self.time_for_clock(inv["test_clock"] if inv else None)
        self.save("credit_notes", cn)
        self.emit("credit_note.voided", cn)
        return cn


def _plan(price: Doc) -> Doc:
    """The legacy ``plan`` view of a recurring price (still rendered on subscription items)."""
    r = price["recurring"]
    return {
        "id": price["id"], "object": "plan", "active": price["active"],
        "amount": price["unit_amount"], "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": "per_unit", "created": price["created"],
        "currency": price["currency"], "interval": r["interval"],
        "interval_count": r["interval_count"], "livemode": False,
        "metadata": price["metadata"], "meter": r["meter"], "nickname": price["nickname"],
        "product": price["product"], "tiers_mode": None, "transform_usage": None,
        "trial_period_days": None, "usage_type": r["usage_type"],
    }


def _money(price: Doc) -> str:
    amount = price["unit_amount"] or 0
    cur = price["currency"].upper()
    if cur in ("JPY", "KRW"):
        return f"{cur} {amount}"
    return f"{cur} {amount / 100:.2f}"
