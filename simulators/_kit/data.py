"""Seeded Faker helpers shared by the simulators' ``seed`` implementations."""

from __future__ import annotations

import random
from collections.abc import Sequence

from faker import Faker

# country of each supported locale, and its currency
LOCALE_COUNTRY = {
    "en_US": ("US", "usd"), "de_DE": ("DE", "eur"), "fr_FR": ("FR", "eur"),
    "en_GB": ("GB", "gbp"), "ja_JP": ("JP", "jpy"), "nl_NL": ("NL", "eur"),
    "es_ES": ("ES", "eur"), "it_IT": ("IT", "eur"), "de_AT": ("AT", "eur"),
    "en_CA": ("CA", "cad"), "en_AU": ("AU", "aud"), "sv_SE": ("SE", "sek"),
}
LEGAL_SUFFIX = {"US": "Inc.", "DE": "GmbH", "FR": "SAS", "GB": "Ltd", "JP": "K.K.", "NL": "B.V.",
                "ES": "S.L.", "IT": "S.r.l.", "AT": "GmbH", "CA": "Inc.", "AU": "Pty Ltd",
                "SE": "AB"}


def make_faker(seed: int, locales: Sequence[str]) -> Faker:
    unknown = [loc for loc in locales if loc not in LOCALE_COUNTRY]
    if unknown:
        raise ValueError(f"unsupported locale(s) {unknown}; supported: {sorted(LOCALE_COUNTRY)}")
    fake = Faker(list(locales) or ["en_US"])
    fake.seed_instance(seed)
    return fake


def rng(seed: int, salt: str = "") -> random.Random:
    return random.Random(f"{seed}:{salt}")


def vat_id(country: str, r: random.Random) -> str:
    """A tax id in the country's documented format (check digits are not computed)."""
    digits = lambda n: "".join(str(r.randint(0, 9)) for _ in range(n))  # noqa: E731
    return {
        "DE": lambda: "DE" + digits(9),
        "FR": lambda: "FR" + digits(2) + digits(9),
        "GB": lambda: "GB" + digits(9),
        "NL": lambda: "NL" + digits(9) + "B" + digits(2),
        "ES": lambda: "ES" + r.choice("ABCDEFGHJ") + digits(8),
        "IT": lambda: "IT" + digits(11),
        "AT": lambda: "ATU" + digits(8),
        "SE": lambda: "SE" + digits(10) + "01",
        "US": lambda: f"{digits(2)}-{digits(7)}",
        "JP": lambda: "T" + digits(13),
        "CA": lambda: digits(9) + "RT0001",
        "AU": lambda: digits(11),
    }.get(country, lambda: digits(10))()
