"""Minor units (what billing and the layer store) ↔ decimal amounts (what tax engines and
ERPs speak), per ISO 4217 exponent."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from harness.canonical import currency_exponent


def to_decimal(minor: int, currency: str) -> Decimal:
    exp = currency_exponent(currency)
    return (Decimal(minor) / (Decimal(10) ** exp)).quantize(Decimal(1).scaleb(-exp))


def to_minor(amount: Decimal | float | str | int, currency: str) -> int:
    exp = currency_exponent(currency)
    value = Decimal(str(amount)) * (Decimal(10) ** exp)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def text(minor: int, currency: str) -> str:
    return str(to_decimal(minor, currency))
