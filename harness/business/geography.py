"""Reference data the generator needs to make addresses, tax ids, entities and prices that
the simulated systems accept.

Copied on purpose (the harness drives simulators over HTTP and does not import their
internals): the US cities/ZIPs and postal-code formats below are ones the tax simulator's
bundled geography resolves; the VAT rates are the published standard rates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# country → legal entity that books it (countries without an entity of their own are served
# by a neighbour's, as real groups do)
ENTITY_OF_COUNTRY = {"US": "US01", "CA": "US01", "AU": "US01", "DE": "DE01", "AT": "DE01",
                     "NL": "DE01", "ES": "DE01", "IT": "DE01", "SE": "DE01", "FR": "FR01",
                     "GB": "GB01", "JP": "JP01"}


@dataclass(frozen=True)
class EntitySpec:
    """A legal entity with its company code in each ERP and its tax-engine company."""

    code: str
    country: str
    name: str
    currency: str  # ISO 4217, upper case
    cloud_company_code: str  # S/4HANA (the simulator's default company codes)
    legacy_company_code: str  # the legacy ERP's company codes
    tax_company: str  # AvaTax company code


ENTITIES: dict[str, EntitySpec] = {
    "US01": EntitySpec("US01", "US", "O2C Inc.", "USD", "1710", "1000", "O2C-US"),
    "DE01": EntitySpec("DE01", "DE", "O2C Deutschland GmbH", "EUR", "1010", "2000", "O2C-DE"),
    "FR01": EntitySpec("FR01", "FR", "O2C France SAS", "EUR", "1210", "3000", "O2C-FR"),
    "GB01": EntitySpec("GB01", "GB", "O2C UK Ltd", "GBP", "1110", "4000", "O2C-GB"),
    "JP01": EntitySpec("JP01", "JP", "O2C Japan K.K.", "JPY", "1510", "5000", "O2C-JP"),
}

# standard VAT/GST/consumption tax rates (percent) of the countries the locales cover
VAT_RATE = {"DE": 19.0, "FR": 20.0, "GB": 20.0, "JP": 10.0, "NL": 21.0, "ES": 21.0,
            "IT": 22.0, "AT": 20.0, "SE": 25.0, "AU": 10.0, "CA": 5.0}

# postal-code formats the tax engine accepts, per country
POSTAL_FORMAT = {
    "US": r"\d{5}(-\d{4})?",
    "CA": r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d",
    "DE": r"\d{5}", "FR": r"\d{5}", "AT": r"\d{4}", "NL": r"\d{4} ?[A-Z]{2}", "ES": r"\d{5}",
    "IT": r"\d{5}", "SE": r"\d{3} ?\d{2}", "JP": r"\d{3}-?\d{4}", "AU": r"\d{4}",
    "GB": r"(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]([0-9ABEHMNPRVWXY])?|[0-9][A-HJKPS-UW])"
          r" ?[0-9][ABD-HJLNP-UW-Z]{2})",
}
POSTAL_RE = {country: re.compile(rx) for country, rx in POSTAL_FORMAT.items()}
# a known-good postal code per country, for when the locale's faker cannot make one
FALLBACK_POSTAL = {"CA": "M5V 2T6", "DE": "10115", "FR": "75001", "AT": "1010", "NL": "1012 AB",
                   "ES": "28001", "IT": "00184", "SE": "111 22", "JP": "100-0001",
                   "AU": "2000", "GB": "SW1A 1AA"}
CA_PROVINCE_OF_LETTER = {"M": "ON", "K": "ON", "L": "ON", "N": "ON", "P": "ON", "H": "QC",
                         "J": "QC", "G": "QC", "V": "BC", "T": "AB", "R": "MB", "S": "SK",
                         "E": "NB", "B": "NS", "C": "PE", "A": "NL"}

# US cities whose ZIP resolves to the city's local jurisdictions: (city, state, ZIP, rate %)
US_CITIES: tuple[tuple[str, str, str, float], ...] = (
    ("Seattle", "WA", "98101", 10.35), ("Spokane", "WA", "99201", 8.8),
    ("New York", "NY", "10001", 8.875), ("Brooklyn", "NY", "11201", 8.875),
    ("Buffalo", "NY", "14202", 8.75), ("Los Angeles", "CA", "90012", 9.5),
    ("San Francisco", "CA", "94103", 8.625), ("Irvine", "CA", "92614", 7.75),
    ("San Diego", "CA", "92101", 7.75), ("Houston", "TX", "77002", 8.25),
    ("Austin", "TX", "78701", 8.25), ("Dallas", "TX", "75201", 8.25),
    ("Chicago", "IL", "60601", 10.25), ("Miami", "FL", "33130", 7.0),
    ("Orlando", "FL", "32801", 6.5), ("Portland", "OR", "97204", 0.0),
    ("Boston", "MA", "02108", 6.25), ("Denver", "CO", "80202", 8.81),
    ("Atlanta", "GA", "30303", 8.9), ("Philadelphia", "PA", "19107", 8.0),
    ("Phoenix", "AZ", "85004", 8.6), ("Las Vegas", "NV", "89101", 8.38),
    ("Newark", "NJ", "07102", 6.625), ("Wilmington", "DE", "19801", 0.0),
)

# ISO 4217 minor units where they are not 2
ZERO_DECIMAL = {"JPY"}

# the catalog: tier → monthly list price in USD cents (other currencies converted below)
PLANS: tuple[tuple[str, int], ...] = (("starter", 1900), ("growth", 4900), ("scale", 19900),
                                      ("enterprise", 99900))
# list prices are set per currency, not converted daily: a rounded price-book factor
PRICE_FACTOR = {"USD": 1.0, "EUR": 0.95, "GBP": 0.8, "JPY": 1.5, "CAD": 1.35, "AUD": 1.5,
                "SEK": 10.5}

PAYMENT_TERMS = {"0001": 0, "NT14": 14, "NT30": 30, "NT60": 60}

# right-to-left trade names for the unicode dirtiness knob (Arabic and Hebrew)
RTL_WORDS = ("شركة", "التجارية", "للتقنية", "الخليج", "النور", "חברת", "טכנולוגיות",
             "מערכות", "הגליל", "ישיר")
UNICODE_MARKS = ("Société Générale d'Études", "Ærø Øresund Åbo", "Łódź Żółć", "Ñandú Peñalver",
                 "Çelik Şirketi", "Straße Müller Größe", "株式会社テスト", "Ελληνική Εταιρεία")
