"""The business one seed describes: options in, entities and customers out (plain data)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Literal

ErpName = Literal["cloud_erp", "legacy_erp"]
DEFAULT_LOCALES = ("en_US", "de_DE", "fr_FR", "en_GB", "ja_JP")
DEFAULT_SEED_DATE = dt.date(2026, 1, 1)


@dataclass(frozen=True)
class Dirtiness:
    """Probabilities (0..1) of each defect real landscapes carry."""

    near_duplicate: float = 0.0  # a second CRM account for the same company (case, spaces...)
    missing_postal_code: float = 0.0
    long_name: float = 0.0  # longer than the ERP's 40-character name field
    unicode_rtl: float = 0.0  # non-Latin and right-to-left names
    stale_address: float = 0.0  # the customer moved: the CRM knows, billing and ERP do not
    missing_in_erp: float = 0.0  # in CRM and billing, never created in the ERP
    missing_in_billing: float = 0.0  # won in the CRM, onboarding to billing never happened
    mismatched_currency: float = 0.0  # billed in another currency than its entity's

    @classmethod
    def uniform(cls, p: float) -> Dirtiness:
        return cls(**{f.name: p for f in fields(cls)})

    def with_overrides(self, overrides: dict[str, float]) -> Dirtiness:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown dirtiness knob(s) {unknown}; known: {sorted(known)}")
        values = {f.name: getattr(self, f.name) for f in fields(self)} | overrides
        return Dirtiness(**values)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"dirtiness {f.name} must be within 0..1, got {value}")


@dataclass(frozen=True)
class WaveStep:
    """From ``effective`` on, ``legal_entity`` books in ``erp`` (its company code there)."""

    legal_entity: str
    erp: ErpName
    effective: dt.date = dt.date(2000, 1, 1)


# the integration layer's default plan: US, FR and JP still on the legacy ERP
DEFAULT_WAVE_PLAN: tuple[WaveStep, ...] = (
    WaveStep("US01", "legacy_erp"), WaveStep("DE01", "cloud_erp"),
    WaveStep("FR01", "legacy_erp"), WaveStep("GB01", "cloud_erp"),
    WaveStep("JP01", "legacy_erp"),
)


@dataclass(frozen=True)
class BusinessOptions:
    """Everything that decides the generated business; same options → same business."""

    seed: int = 42
    customers: int = 200
    locales: tuple[str, ...] = DEFAULT_LOCALES
    dirtiness: Dirtiness = field(default_factory=Dirtiness)
    seed_date: dt.date = DEFAULT_SEED_DATE
    history_months: int = 6
    wave_plan: tuple[WaveStep, ...] = DEFAULT_WAVE_PLAN

    def erp_of(self, legal_entity: str, day: dt.date) -> ErpName:
        """Which ERP books ``legal_entity`` on ``day`` (the last step in effect)."""
        steps = sorted((s for s in self.wave_plan if s.legal_entity == legal_entity
                        and s.effective <= day), key=lambda s: s.effective)
        return steps[-1].erp if steps else "cloud_erp"

    def describe(self) -> dict[str, object]:
        return {
            "seed": self.seed, "customers": self.customers, "locales": list(self.locales),
            "dirtiness": {f.name: getattr(self.dirtiness, f.name)
                          for f in fields(self.dirtiness)},
            "seed_date": self.seed_date.isoformat(), "history_months": self.history_months,
            "wave_plan": [{"legal_entity": s.legal_entity, "erp": s.erp,
                           "effective": s.effective.isoformat()} for s in self.wave_plan],
        }


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    region: str  # US/CA state or province; "" elsewhere
    postal_code: str | None
    country: str


@dataclass(frozen=True)
class Contact:
    first_name: str
    last_name: str
    email: str
    phone: str
    title: str


@dataclass(frozen=True)
class Opportunity:
    name: str
    stage: str
    close_date: dt.date
    amount: float
    created_at: float


@dataclass(frozen=True)
class Subscription:
    plan: str  # catalog tier
    interval: Literal["month", "year"]
    quantity: int
    currency: str  # lower case, as billing keeps it
    started_at: float
    # seats following the customer's usage (growth and seasonality): (when, new quantity)
    seat_changes: tuple[tuple[float, int], ...] = ()

    @property
    def lookup_key(self) -> str:
        return f"{self.plan}_{self.currency}_{self.interval}ly"


@dataclass(frozen=True)
class Exemption:
    number: str
    reason: str
    region: str
    signed: dt.date
    expires: dt.date


@dataclass
class Customer:
    """One company across the systems: its CRM account and, if won, its life after."""

    number: str  # the business key: CRM External_Id__c, billing metadata, ERP search term
    locale: str
    country: str
    legal_entity: str
    name: str
    address: Address  # current (the CRM's)
    erp_address: Address  # what billing and the ERP hold (older when stale)
    vat_id: str
    industry: str
    created_at: float
    contacts: list[Contact]
    opportunities: list[Opportunity]
    defects: tuple[str, ...] = ()
    duplicate_of: str | None = None
    won_at: float | None = None
    subscription: Subscription | None = None
    billing_at: float | None = None  # created in billing
    erp_at: float | None = None  # created in the ERP (None: not there by the seed date)
    payment_terms: str = "NT30"
    pays_after_days: tuple[int, int] = (5, 30)
    never_pays: bool = False
    exemption: Exemption | None = None
    card_payer: bool = True

    @property
    def clean(self) -> bool:
        return not self.defects

    @property
    def won(self) -> bool:
        return self.won_at is not None

    @property
    def in_billing(self) -> bool:
        return self.billing_at is not None


@dataclass
class Business:
    """The generated business (pure data; writing it is :mod:`.seeding`'s job)."""

    options: BusinessOptions
    seed_ts: float
    entities: list[str]  # legal entity codes in use
    customers: list[Customer]

    def by_number(self) -> dict[str, Customer]:
        return {c.number: c for c in self.customers}
