"""Where onboarding starts: a CRM opportunity reaching *Closed Won*, learnt from the CRM's
change events (pushed) and from SOQL polling with a ``LastModifiedDate`` watermark (pulled,
so nothing is missed while the receiver was down). Both end in the same idempotent
:func:`onboard_customer`, keyed by the CRM account id."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .. import records
from ..adapters.http import AdapterError
from ..db.tables import Watermark
from ..observability import get_logger
from ..services import Services
from .onboarding import AddressIn, CustomerRequest, OnboardingError, onboard_customer

log = get_logger("integration.crm")
WATERMARK = "crm.opportunity.closed_won"


def request_from_opportunity(opp: dict[str, Any], default_currency: str = "USD") -> \
        CustomerRequest:
    account = opp.get("Account") or {}
    country = (account.get("BillingCountry") or "US").upper()[:2]
    return CustomerRequest(
        crm_account_id=opp["AccountId"], name=account.get("Name") or opp.get("Name") or "?",
        legal_entity=account.get("Legal_Entity__c") or f"{country}01", country=country,
        currency=(account.get("CurrencyIsoCode") or opp.get("CurrencyIsoCode")
                  or default_currency).upper(),
        tax_id=account.get("VAT_Number__c"),
        address=AddressIn(line1=account.get("BillingStreet"),
                          city=account.get("BillingCity"),
                          postal_code=account.get("BillingPostalCode"),
                          region=account.get("BillingState"), country=country))


async def on_closed_won(services: Services, opp: dict[str, Any]) -> str | None:
    if opp.get("StageName") != "Closed Won" or not opp.get("AccountId"):
        return None
    async with services.unit() as session:
        records.step(session, opp["AccountId"], "crm.opportunity_closed_won", "crm",
                     subject=opp["Id"], opportunity=opp["Id"])
    try:
        return await onboard_customer(services, request_from_opportunity(opp))
    except OnboardingError as err:
        log.warning("onboarding stopped", opportunity=opp["Id"], error=str(err))
        return None


async def on_change_event(services: Services, event: dict[str, Any]) -> None:
    """An ``OpportunityChangeEvent``: when StageName changed, read the opportunity (the event
    carries only changed fields) and onboard if it is Closed Won."""
    payload = event.get("payload") or {}
    header = payload.get("ChangeEventHeader") or {}
    if header.get("entityName") != "Opportunity":
        return
    if "StageName" in payload and payload["StageName"] != "Closed Won":
        return
    for opp_id in header.get("recordIds") or []:
        opp = await services.adapters.crm.opportunity(opp_id)
        if opp is not None:
            await on_closed_won(services, opp)


def _watermark(session: Session) -> str | None:
    row = session.get(Watermark, WATERMARK)
    return row.value if row else None


async def poll_closed_won(services: Services) -> int:
    """One polling round; returns how many opportunities were handled."""
    async with services.unit() as session:
        mark = _watermark(session)
    try:
        opportunities = await services.adapters.crm.closed_won_since(mark)
    except AdapterError as err:
        log.warning("CRM polling failed", error=str(err))
        return 0
    for opp in opportunities:
        await on_closed_won(services, opp)
        async with services.unit() as session:
            session.merge(Watermark(name=WATERMARK, value=opp["LastModifiedDate"]))
    return len(opportunities)
