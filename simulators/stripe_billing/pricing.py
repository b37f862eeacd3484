"""Calendar and money arithmetic shared by subscriptions, invoices and credit notes."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

Doc = dict[str, Any]
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
