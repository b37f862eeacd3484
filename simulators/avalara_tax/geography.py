"""Address resolution against the bundled geography: which place is this, and which tax
jurisdictions cover it. No HTTP here; problems are raised as :class:`AddressProblem`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .rates import (
    CA_PROVINCES,
    COUNTRIES,
    EU_MEMBERS,
    ISO_COUNTRIES,
    US_LOCALITIES,
    US_STATES,
    Locality,
)

JURISDICTION_TYPE = {"CNT": "Country", "STA": "State", "CTY": "County", "CIT": "City",
                     "STJ": "Special"}
_LOCALITY_BY_PREFIX = {p: loc for loc in US_LOCALITIES for p in loc.prefixes}
_LOCALITY_BY_CITY = {(loc.state, loc.city): loc for loc in US_LOCALITIES}
_POSTAL_RE = {code: re.compile(spec[3]) for code, spec in COUNTRIES.items()}


class AddressProblem(Exception):
    """Why an address cannot be resolved. ``kind``: incomplete, country, region, postal."""

    def __init__(self, kind: str, summary: str, details: str) -> None:
        super().__init__(summary)
        self.kind = kind
        self.summary = summary
        self.details = details


@dataclass(frozen=True)
class Jurisdiction:
    juris_type: str  # STA, CTY, CIT, STJ, CNT
    code: str
    name: str
    rate: Decimal
    tax_name: str
    country: str
    region: str
    tax_type: str = "Sales"
    rate_type: str = "General"

    @property
    def jurisdiction_type(self) -> str:
        return JURISDICTION_TYPE[self.juris_type]

    @property
    def avalara_id(self) -> str:
        return str(int.from_bytes(_digest(self.country + self.code), "big") % 10_000_000)

    @property
    def signature_code(self) -> str:
        return "".join(chr(65 + b % 26) for b in _digest("sig" + self.country + self.code)[:4])


@dataclass
class Place:
    """A resolved address with the jurisdictions that tax a sale delivered there."""

    country: str
    region: str
    postal_code: str
    city: str
    line1: str = ""
    line2: str = ""
    line3: str = ""
    county: str = ""
    latitude: float = 0.0
    longitude: float = 0.0
    quality: str = "NotCoded"
    jurisdictions: list[Jurisdiction] = field(default_factory=list)

    @property
    def in_eu(self) -> bool:
        return self.country in EU_MEMBERS

    def as_address(self, text_case: str = "Upper") -> dict[str, Any]:
        fix = (lambda s: s.upper()) if text_case == "Upper" else _mixed
        return {"line1": fix(self.line1), "line2": fix(self.line2), "line3": fix(self.line3),
                "city": fix(self.city), "region": self.region, "country": self.country,
                "postalCode": self.postal_code}


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=8).digest()


def _mixed(text: str) -> str:
    return " ".join(w.capitalize() for w in text.split(" "))


def _text(addr: dict[str, Any], key: str) -> str:
    value = addr.get(key)
    return value.strip() if isinstance(value, str) else ""


def resolve(addr: dict[str, Any]) -> Place:
    """Resolve an AvaTax address (``line1``, ``city``, ``region``, ``postalCode``, ``country``)."""
    country = _text(addr, "country").upper()
    line1, city = _text(addr, "line1"), _text(addr, "city")
    region, postal = _text(addr, "region").upper(), _text(addr, "postalCode").upper()
    if not country:
        raise AddressProblem("incomplete", "An Address is incomplete or invalid.",
                             "A country code is required to resolve an address.")
    if country not in ISO_COUNTRIES:
        raise AddressProblem("country", f"The country '{country}' is not a recognized country "
                             "code.", "Use a two character ISO 3166 country code.")
    place = Place(country=country, region=region, postal_code=postal, city=city.upper(),
                  line1=line1, line2=_text(addr, "line2"), line3=_text(addr, "line3"))
    if country == "US":
        _resolve_us(place)
    elif country == "CA":
        _resolve_ca(place)
    else:
        _resolve_international(place)
    return place


def _postal_problem(place: Place, why: str) -> AddressProblem:
    return AddressProblem("postal", f"The postal code '{place.postal_code}' is not valid for "
                          f"country '{place.country}'.", why)


def _state_for_zip(prefix: int) -> str | None:
    for code, state in US_STATES.items():
        if any(lo <= prefix <= hi for lo, hi in state.zip_ranges):
            return code
    return None


def _resolve_us(place: Place) -> None:
    if place.region and place.region not in US_STATES:
        raise AddressProblem("region", f"The region '{place.region}' is not a recognized region "
                             "within country 'US'.", "Use a two letter USPS state code.")
    locality: Locality | None
    if place.postal_code:
        if not _POSTAL_RE["US"].fullmatch(place.postal_code):
            raise _postal_problem(place, "A US postal code is a 5 digit ZIP or ZIP+4.")
        state = _state_for_zip(int(place.postal_code[:3]))
        if state is None:
            raise _postal_problem(place, "The ZIP code is not assigned to any state.")
        if place.region and place.region != state:
            raise AddressProblem("postal", f"The postal code '{place.postal_code}' does not "
                                 f"belong to region '{place.region}'.",
                                 f"ZIP code {place.postal_code} is in {state}.")
        place.region = state
        locality = _LOCALITY_BY_PREFIX.get(place.postal_code[:3])
        place.quality = "PostalCentroidBest" if place.line1 else "PostalCentroidGood"
    elif place.line1 and place.city and place.region:
        locality = _LOCALITY_BY_CITY.get((place.region, place.city))
        if locality is not None:
            place.postal_code = locality.zip
        place.quality = "PostalCentroidBetter" if locality else "RegionCentroid"
    else:
        raise AddressProblem("incomplete", "An Address is incomplete or invalid.",
                             "Provide a postal code, line1 + city + region, or line1 + postal "
                             "code.")
    state = US_STATES[place.region]
    place.latitude, place.longitude = state.lat, state.lon
    if locality is not None and locality.state == place.region:
        place.city = place.city or locality.city
        place.county = locality.county
        place.latitude, place.longitude = locality.lat, locality.lon
    if Decimal(state.rate) > 0:
        place.jurisdictions.append(Jurisdiction(
            "STA", state.fips, state.name, Decimal(state.rate), f"{place.region} STATE TAX",
            "US", place.region))
    if locality is not None and locality.state == place.region:
        for juris_type, code, name, rate, tax_name in locality.components:
            place.jurisdictions.append(Jurisdiction(juris_type, code, name, Decimal(rate),
                                                    tax_name, "US", place.region))


def _resolve_ca(place: Place) -> None:
    if place.region and place.region not in CA_PROVINCES:
        raise AddressProblem("region", f"The region '{place.region}' is not a recognized region "
                             "within country 'CA'.", "Use a two letter province code.")
    if place.postal_code:
        if not _POSTAL_RE["CA"].fullmatch(place.postal_code):
            raise _postal_problem(place, "A Canadian postal code looks like 'A1A 1A1'.")
        letter = place.postal_code[0]
        provinces = [code for code, spec in CA_PROVINCES.items() if letter in spec[4]]
        if place.region and place.region not in provinces:
            raise AddressProblem("postal", f"The postal code '{place.postal_code}' does not "
                                 f"belong to region '{place.region}'.",
                                 f"Postal codes starting with {letter} are in "
                                 f"{'/'.join(provinces)}.")
        place.region = place.region or provinces[0]
        if len(place.postal_code) == 6:
            place.postal_code = f"{place.postal_code[:3]} {place.postal_code[3:]}"
        place.quality = "PostalCentroidBest" if place.line1 else "PostalCentroidGood"
    elif place.line1 and place.city and place.region:
        place.quality = "RegionCentroid"
    else:
        raise AddressProblem("incomplete", "An Address is incomplete or invalid.",
                             "Provide a postal code, line1 + city + region, or line1 + postal "
                             "code.")
    name, hst, pst, pst_name, _, lat, lon = CA_PROVINCES[place.region]
    place.latitude, place.longitude = lat, lon
    if hst is not None:
        place.jurisdictions.append(Jurisdiction("CNT", "CA", "CANADA", Decimal(hst), "HST", "CA",
                                                place.region))
        return
    place.jurisdictions.append(Jurisdiction("CNT", "CA", "CANADA", Decimal("0.05"), "GST", "CA",
                                            place.region))
    if pst is not None:
        place.jurisdictions.append(Jurisdiction("STA", place.region, name, Decimal(pst),
                                                pst_name, "CA", place.region))


def _resolve_international(place: Place) -> None:
    spec = COUNTRIES.get(place.country)
    if spec is None:  # a real country with no bundled rate: resolvable, untaxed
        place.quality = "CountryCentroid"
        return
    name, rate, tax_name, _, lat, lon = spec
    if place.postal_code:
        if not _POSTAL_RE[place.country].fullmatch(place.postal_code):
            raise _postal_problem(place, f"The postal code does not match the format used in "
                                  f"{name.title()}.")
        place.quality = "PostalCentroidBest" if place.line1 else "PostalCentroidGood"
    else:
        place.quality = "CountryCentroid"
    place.latitude, place.longitude = lat, lon
    if rate is not None:
        vat = tax_name == "Standard Rate"
        place.jurisdictions.append(Jurisdiction(
            "CNT", place.country, name, Decimal(rate), tax_name, place.country, place.region,
            tax_type="Output" if vat else "Sales", rate_type="Standard" if vat else "General"))
