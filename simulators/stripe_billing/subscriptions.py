"""Subscriptions and their billing cycles, billing meters and metered usage.

A subscription's periods follow its customer's test clock (or the simulator clock); passing
a period end drafts a ``subscription_cycle`` invoice with licensed lines for the next period
and metered lines (aggregated meter events) for the ended one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import params as P
from .errors import InvalidRequestError, resource_missing
from .pricing import _money, _plan, add_interval

if TYPE_CHECKING:
    from .models import StripeBackend

Doc = dict[str, Any]


class SubscriptionsMixin:
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
