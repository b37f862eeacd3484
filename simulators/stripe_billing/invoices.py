"""Invoice items and invoices, with Stripe's invoice state machine.

Invoice state machine (Stripe's): draft → open → paid | void | uncollectible, and
uncollectible → paid | void; a draft may be deleted. Drafts with ``auto_advance`` finalize
one hour after creation (Stripe's grace period) on the clock they belong to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import params as P
from .errors import InvalidRequestError
from .pricing import ALLOWED, GRACE_S, INVOICE_LINES_EMBEDDED, tax_lines

if TYPE_CHECKING:
    from .models import StripeBackend

Doc = dict[str, Any]


class InvoicesMixin:
    """Mixed into :class:`~.models.StripeBackend`."""

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
            total=inv["total"], total_excluding_tax=inv["total_excluding_tax"],
            due_date=inv["due_date"], amount_due=inv["amount_due"],
            amount_paid=inv["amount_paid"],
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
