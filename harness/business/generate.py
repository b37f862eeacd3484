"""One seed → one business: deterministic, no I/O (see :func:`generate_business`)."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from faker import Faker

from simulators._kit import LEGAL_SUFFIX, LOCALE_COUNTRY, make_faker, vat_id

from .geography import (
    CA_PROVINCE_OF_LETTER,
    ENTITIES,
    ENTITY_OF_COUNTRY,
    FALLBACK_POSTAL,
    POSTAL_RE,
    RTL_WORDS,
    UNICODE_MARKS,
    US_CITIES,
)
from .model import (
    Address,
    Business,
    BusinessOptions,
    Contact,
    Customer,
    Exemption,
    Opportunity,
    Subscription,
)

DAY = 86_400.0
STAGES_OPEN = ("Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
               "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
               "Negotiation/Review")
INDUSTRIES = ("Banking", "Chemicals", "Communications", "Consulting", "Education",
              "Electronics", "Energy", "Engineering", "Healthcare", "Insurance",
              "Manufacturing", "Media", "Retail", "Technology", "Transportation")
PRODUCTS = ("Platform Subscription", "Seat Expansion", "Premium Support", "Analytics Pack",
            "Enterprise Renewal")
LOCALE_WEIGHT = {"en_US": 3, "de_DE": 2}
_LONG_TAIL = " Holding International Services and Trading Division"
EXEMPT_REASONS = ("RESALE", "GOVERNMENT", "CHARITABLE", "EDUCATIONAL", "MANUFACTURING")


def epoch(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def _rng(options: BusinessOptions, salt: str) -> random.Random:
    return random.Random(f"{options.seed}:{salt}")


def generate_business(options: BusinessOptions) -> Business:
    """The business of ``options``: legal entities, and customers with their whole story.

    Deterministic: a function of the options only (Faker seeded per locale, one random
    stream per concern), never of the wall clock.
    """
    unknown = [loc for loc in options.locales if loc not in LOCALE_COUNTRY]
    if unknown or not options.locales:
        raise ValueError(f"unsupported locale(s) {unknown or '(none)'}; supported: "
                         f"{', '.join(sorted(LOCALE_COUNTRY))}")
    if options.customers < 0:
        raise ValueError("customers must not be negative")
    seed_ts = epoch(options.seed_date)
    fakers = {loc: make_faker(options.seed, [loc]) for loc in options.locales}
    pools = {loc: _pool(fake) for loc, fake in fakers.items()}
    pick = _rng(options, "locale")
    weights = [LOCALE_WEIGHT.get(loc, 1) for loc in options.locales]
    customers: list[Customer] = []
    originals: dict[str, list[Customer]] = {}  # per country: accounts a duplicate can copy
    for i in range(options.customers):
        locale = pick.choices(options.locales, weights)[0]
        r = _rng(options, f"customer:{i}")
        customer = _customer(options, i, locale, fakers[locale], pools[locale], r, seed_ts,
                             originals)
        customers.append(customer)
        if customer.duplicate_of is None:
            originals.setdefault(customer.country, []).append(customer)
    entities = sorted({c.legal_entity for c in customers} | {
        ENTITY_OF_COUNTRY[LOCALE_COUNTRY[loc][0]] for loc in options.locales})
    return Business(options=options, seed_ts=seed_ts, entities=entities, customers=customers)


@dataclass(frozen=True)
class _Pool:
    """Per-locale names drawn once from Faker (contacts pick from them: much faster than a
    Faker call each, and as realistic)."""

    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    phones: tuple[str, ...]
    jobs: tuple[str, ...]
    tld: str


def _pool(fake: Faker) -> _Pool:
    # drawn first from the locale's seeded Faker: depends on the seed and locale only
    return _Pool(tuple(fake.first_name() for _ in range(300)),
                 tuple(fake.last_name() for _ in range(300)),
                 tuple(fake.phone_number()[:40] for _ in range(200)),
                 tuple(fake.job()[:128] for _ in range(150)), fake.tld())


def _address(fake: Faker, country: str, r: random.Random) -> Address:
    """A street address the tax engine resolves (US: a city it knows local taxes of)."""
    if country == "US":
        city, state, zip5, _ = r.choice(US_CITIES)
        return Address(fake.street_address(), city, state, zip5, "US")
    postal = fake.postcode()
    pattern = POSTAL_RE.get(country)
    for _ in range(5):
        if pattern is None or pattern.fullmatch(postal):
            break
        postal = fake.postcode()
    else:
        postal = FALLBACK_POSTAL.get(country, postal)
    region = CA_PROVINCE_OF_LETTER.get(postal[0], "ON") if country == "CA" else ""
    return Address(fake.street_address().replace("\n", ", "), fake.city(), region, postal,
                   country)


def _near_duplicate(name: str, variant: int) -> str:
    """A name a human would call the same company: case, whitespace, punctuation, suffix."""
    parts = name.rsplit(" ", 1)
    return [name.upper(), f" {name}  ", name.replace(",", "").replace(".", "").replace("-", " "),
            parts[0] if len(parts) == 2 else name.lower(), name.lower()][variant % 5]


def _customer(options: BusinessOptions, i: int, locale: str, fake: Faker, pool: _Pool,
              r: random.Random, seed_ts: float,
              originals: dict[str, list[Customer]]) -> Customer:
    d = options.dirtiness
    country, _currency = LOCALE_COUNTRY[locale]
    entity = ENTITIES[ENTITY_OF_COUNTRY[country]]
    defects: list[str] = []
    base = fake.company()
    suffix = LEGAL_SUFFIX.get(country, "")
    name = base if base.endswith(suffix) else f"{base} {suffix}".strip()
    address = _address(fake, country, r)
    duplicate_of = None
    original: Customer | None = None
    same_country = originals.get(country)
    if same_country and r.random() < d.near_duplicate:
        original = r.choice(same_country)
        duplicate_of = original.number
        name = _near_duplicate(original.name, r.randrange(5))
        address = original.address
        defects.append("near_duplicate")
    if r.random() < d.long_name:
        name = (name.strip() + _LONG_TAIL)[:120]
        defects.append("long_name")
    if r.random() < d.unicode_rtl:
        words = r.sample(RTL_WORDS, 3) if r.random() < 0.6 else [r.choice(UNICODE_MARKS)]
        name = f"{' '.join(words)} {suffix}".strip()
        defects.append("unicode_rtl")
    if original is not None and name == original.name:
        name = name.replace(" ", "  ", 1) if " " in name else f"{name}."  # still a near one
    erp_address = address
    if r.random() < d.stale_address:
        erp_address = address  # the systems downstream kept the old one; the CRM moved on
        address = _address(fake, country, r)
        defects.append("stale_address")
    if r.random() < d.missing_postal_code:
        address = Address(address.line1, address.city, address.region, None, country)
        erp_address = Address(erp_address.line1, erp_address.city, erp_address.region, None,
                              country)
        defects.append("missing_postal_code")
    contacts = []
    slug = "".join(ch for ch in base.lower() if ch.isascii() and ch.isalnum())[:20]
    domain = f"{slug or 'company' + str(i)}.{pool.tld}"
    for _ in range(r.randint(1, 3)):
        first, last = r.choice(pool.first_names), r.choice(pool.last_names)
        local_part = f"{first}.{last}".lower().replace(" ", "")
        if not local_part.isascii():
            local_part = f"contact{r.randint(100, 999)}"
        contacts.append(Contact(first, last, f"{local_part}@{domain}",
                                r.choice(pool.phones), r.choice(pool.jobs)))
    history_days = max(2, options.history_months * 30)
    won = r.random() < (0.2 if duplicate_of else 0.55)
    won_at = seed_ts - r.uniform(1.0, history_days) * DAY if won else None
    created_at = (won_at - r.uniform(20, 400) * DAY if won_at is not None
                  else seed_ts - r.uniform(1, 900) * DAY)
    opportunities = _opportunities(options, r, base, created_at, won_at, seed_ts)
    customer = Customer(
        number=f"C{options.seed % 1000:03d}-{i + 1:06d}", locale=locale, country=country,
        legal_entity=entity.code, name=name, address=address, erp_address=erp_address,
        vat_id=vat_id(country, r), industry=r.choice(INDUSTRIES), created_at=created_at,
        contacts=contacts, opportunities=opportunities, duplicate_of=duplicate_of)
    if won_at is None:
        customer.defects = tuple(defects)
        return customer
    customer.won_at = won_at
    if r.random() < d.missing_in_billing:
        defects.append("missing_in_billing")
        customer.defects = tuple(defects)
        return customer
    customer.billing_at = min(won_at + r.uniform(0.02, 2.0) * DAY, seed_ts - 3600)
    currency = entity.currency.lower()
    if r.random() < d.mismatched_currency:
        currency = "usd" if currency != "usd" else "eur"
        defects.append("mismatched_currency")
    plan = r.choices(("starter", "growth", "scale", "enterprise"), (40, 35, 20, 5))[0]
    quantity = max(1, min(500, int(math.exp(r.gauss(1.2, 1.0)))))
    started_at = customer.billing_at + r.uniform(60, 3600)
    customer.subscription = Subscription(
        plan=plan, interval="month" if r.random() < 0.8 else "year", quantity=quantity,
        currency=currency, started_at=started_at,
        seat_changes=_seat_curve(r, customer.industry, quantity, started_at, seed_ts))
    erp_at = customer.billing_at + r.uniform(0.01, 3.0) * DAY
    if r.random() < d.missing_in_erp:
        defects.append("missing_in_erp")
    elif erp_at < seed_ts:  # onboarded to the ERP before the seed date; else still pending
        customer.erp_at = erp_at
    customer.payment_terms = r.choices(("NT30", "NT14", "NT60", "0001"), (60, 20, 15, 5))[0]
    customer.never_pays = r.random() < 0.06
    slow = r.random() < 0.2
    customer.pays_after_days = (15, 75) if slow else (2, 30)
    customer.card_payer = r.random() < 0.7
    if r.random() < 0.07:
        signed = options.seed_date - dt.timedelta(days=r.randint(30, 1000))
        expires = signed + dt.timedelta(days=r.randint(365, 1460))
        customer.exemption = Exemption(
            number=f"EX-{country}-{r.randint(100000, 999999)}", reason=r.choice(EXEMPT_REASONS),
            region=address.region if country == "US" else "", signed=signed, expires=expires)
    customer.defects = tuple(defects)
    return customer


# the month of the year each industry's usage peaks (the rest peak at the year end)
PEAK_MONTH = {"Retail": 12, "Education": 9, "Transportation": 7, "Energy": 1, "Media": 11}


def _seat_curve(r: random.Random, industry: str, quantity: int, started_at: float,
                seed_ts: float) -> tuple[tuple[float, int], ...]:
    """Monthly seat counts following usage: a growth trend times a yearly season (peaking in
    the industry's busy month); only the months where the rounded count changes."""
    peak = PEAK_MONTH.get(industry, 12)
    amplitude = r.uniform(0.05, 0.35)
    growth = r.gauss(0.02, 0.03)

    def season(ts: float) -> float:
        month = dt.datetime.fromtimestamp(ts, dt.UTC).month
        return 1 + amplitude * math.cos(2 * math.pi * (month - peak) / 12)

    base = quantity / season(started_at)
    changes, current = [], quantity
    at, months = started_at + r.uniform(10, 25) * DAY, 1
    while at < seed_ts:
        seats = max(1, min(1000, round(base * (1 + growth) ** months * season(at))))
        if seats != current:
            changes.append((at, seats))
            current = seats
        at += 30.4 * DAY
        months += 1
    return tuple(changes)


def _opportunities(options: BusinessOptions, r: random.Random, base: str, created_at: float,
                   won_at: float | None, seed_ts: float) -> list[Opportunity]:
    out = []
    today = options.seed_date
    if won_at is not None:
        out.append(Opportunity(f"{base[:60]} - {r.choice(PRODUCTS)}", "Closed Won",
                               dt.datetime.fromtimestamp(won_at, dt.UTC).date(),
                               round(r.uniform(2_000, 250_000), 2),
                               max(created_at, won_at - r.uniform(10, 120) * DAY)))
    for _ in range(r.randint(0, 2)):
        roll = r.random()
        opened = min(seed_ts - DAY, created_at + r.uniform(1, 300) * DAY)
        if roll < 0.35:
            close = today - dt.timedelta(days=r.randint(1, 400))
            stage = "Closed Lost"
            opened = min(opened, epoch(close) - DAY)
        else:
            # quarter ends close more deals: pick a month, then pull it to its quarter's end
            days = r.randint(5, 150)
            close = today + dt.timedelta(days=days)
            if r.random() < 0.4:
                quarter_end_month = ((close.month - 1) // 3 + 1) * 3
                close = dt.date(close.year, quarter_end_month, 28)
            stage = r.choice(STAGES_OPEN)
        out.append(Opportunity(f"{base[:60]} - {r.choice(PRODUCTS)}", stage, close,
                               round(r.uniform(1_000, 250_000), 2), opened))
    return out
