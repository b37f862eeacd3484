"""Deterministic org data: accounts across locales with legal entities and VAT numbers,
contacts, and opportunities at every stage, plus the dirt real orgs carry.

Dirtiness (0..1) is the share of accounts that get one defect: a near-duplicate of an
earlier account, a missing postal code, a name longer than an ERP's 40 characters, or a
shipping address that drifted from the billing one.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from simulators._kit import LEGAL_SUFFIX, LOCALE_COUNTRY, SeedRequest, make_faker, rng, vat_id

from .schema import ACCOUNT_TYPES, INDUSTRIES, OPPORTUNITY_TYPES, SOBJECTS, STAGES

if TYPE_CHECKING:
    from .models import SalesforceBackend

DAY = 86_400.0
PRODUCTS = ["Platform Subscription", "Usage Add-on", "Premium Support", "Implementation",
            "Analytics Pack", "Enterprise Renewal", "Seat Expansion"]
_LONG_TAIL = " Holding International Services and Trading Division"


def _near_duplicate(name: str, variant: int) -> str:
    """A name a human would call the same company."""
    return [name.upper(), name.replace(",", "").replace(".", ""), f"{name} ",
            name.replace(" and ", " & ").replace("-", " "), name.rsplit(" ", 1)[0]][variant % 5]


def seed_org(backend: SalesforceBackend, request: SeedRequest) -> dict[str, int]:
    fake = make_faker(request.seed, request.locales)
    r = rng(request.seed, "salesforce")
    now = backend.clock.now()
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    accounts_t, contacts_t, opps_t = (SOBJECTS["Account"], SOBJECTS["Contact"],
                                      SOBJECTS["Opportunity"])
    counts = {"Account": 0, "Contact": 0, "Opportunity": 0}
    stages = list(STAGES)
    stage_turn = 0
    made: list[dict[str, Any]] = []
    for i in range(request.size):
        locale = request.locales[i % len(request.locales)] if request.locales else "en_US"
        local = fake[locale] if len(request.locales) > 1 else fake
        country, currency = LOCALE_COUNTRY[locale]
        base = local.company()
        name = f"{base} {LEGAL_SUFFIX[country]}" if not base.endswith(LEGAL_SUFFIX[country]) \
            else base
        defect = r.choice(["duplicate", "no_postal", "long_name", "drift"]) \
            if r.random() < request.dirtiness else None
        if defect == "duplicate" and made:
            name = _near_duplicate(r.choice(made)["Name"], r.randint(0, 4))
        elif defect == "long_name":
            name = (name + _LONG_TAIL)[:120]
        street, city, postal = local.street_address(), local.city(), local.postcode()
        state = local.state() if hasattr(local, "state") and country in ("US", "AU") else None
        created_at = now - r.uniform(30, 900) * DAY
        values: dict[str, Any] = {
            "Name": name.strip() if defect != "duplicate" else name,
            "Type": r.choice(ACCOUNT_TYPES[:3]),
            "Industry": r.choice(INDUSTRIES),
            "BillingStreet": street, "BillingCity": city, "BillingState": state,
            "BillingPostalCode": None if defect == "no_postal" else postal,
            "BillingCountry": country,
            "ShippingStreet": local.street_address() if defect == "drift" else street,
            "ShippingCity": local.city() if defect == "drift" else city,
            "ShippingState": state, "ShippingPostalCode": postal, "ShippingCountry": country,
            "Phone": local.phone_number()[:40],
            "Website": f"https://www.{local.domain_name()}",
            "CurrencyIsoCode": currency.upper(),
            "VAT_Number__c": vat_id(country, r),
            "Legal_Entity__c": f"{country}01",
            # a third of the accounts exist only in the CRM (no ERP/billing key yet)
            "External_Id__c": f"CUST-{request.seed:03d}-{i + 1:06d}" if r.random() > 0.33
            else None,
        }
        account = backend.insert(accounts_t, values, at=created_at,
                                 modified_at=created_at + r.uniform(0, 25) * DAY, events=False)
        made.append(account)
        counts["Account"] += 1
        for _ in range(r.randint(1, 3)):
            first, last = local.first_name(), local.last_name()
            backend.insert(contacts_t, {
                "AccountId": account["Id"], "FirstName": first, "LastName": last,
                "Email": f"{first}.{last}@{local.domain_name()}".lower().replace(" ", ""),
                "Phone": local.phone_number()[:40], "Title": local.job()[:128],
                "MailingStreet": street, "MailingCity": city,
                "MailingPostalCode": values["BillingPostalCode"], "MailingCountry": country,
                "CurrencyIsoCode": currency.upper(),
            }, at=created_at + r.uniform(0, 10) * DAY, events=False)
            counts["Contact"] += 1
        for _ in range(r.randint(0, 3)):
            stage = stages[stage_turn % len(stages)]
            stage_turn += 1
            closed = STAGES[stage][1]
            close = today - dt.timedelta(days=r.randint(1, 200)) if closed \
                else today + dt.timedelta(days=r.randint(5, 120))
            opp_created = created_at + r.uniform(1, 20) * DAY
            backend.insert(opps_t, {
                "AccountId": account["Id"],
                "Name": f"{base[:60]} - {r.choice(PRODUCTS)}",
                "StageName": stage, "CloseDate": close.isoformat(),
                "Amount": round(r.uniform(1_000, 250_000), 2),
                "CurrencyIsoCode": currency.upper(), "Type": r.choice(OPPORTUNITY_TYPES),
            }, at=opp_created, modified_at=opp_created + r.uniform(0, 5) * DAY, events=False)
            counts["Opportunity"] += 1
    return counts
