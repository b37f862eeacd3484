"""Credit notes: before payment they reduce what is due; after payment they credit the
customer balance or record an out-of-band refund.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import params as P
from .errors import InvalidRequestError, resource_missing
from .pricing import tax_lines

if TYPE_CHECKING:
    from .models import StripeBackend

Doc = dict[str, Any]


class CreditNotesMixin:
    """Mixed into :class:`~.models.StripeBackend`."""

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
