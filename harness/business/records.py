"""The business as import records, in each vendor's own wire shape (``POST /_sim/import``).

Seeding runs in phases because each system numbers its own records, as the real ones do:
1. the catalog (billing tax rates, products, prices);
2. master data everywhere: CRM accounts/contacts/opportunities, tax companies and
   exemptions, billing customers with their subscriptions (billing then drafts and finalizes
   the cycle invoices itself, at their historic times), ERP business partners/customers;
3. what happened to each finalized billing invoice, read back from billing and joined to the
   ERP customer numbers read back from the ERP: postings in the ERP the wave plan routed it to,
   payments in the gateway and billing, clearing in the ERP; the rest stays open.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from simulators._kit import vat_id

from .generate import DAY
from .geography import (
    ENTITIES,
    PAYMENT_TERMS,
    PLANS,
    PRICE_FACTOR,
    US_CITIES,
    VAT_RATE,
    ZERO_DECIMAL,
)
from .model import Business, Customer, ErpName

Record = dict[str, Any]
Batches = list[tuple[str, list[Record]]]  # (kind, records) in import order
MERCHANT_ACCOUNT = "O2CHarnessECOM"
TEST_CARD = "4111111145551142"


def invoice_prefix(customer: Customer) -> str:
    """Billing's invoice prefix of a customer: its number without punctuation (≤ 12)."""
    return customer.number.replace("-", "")[:12]


def legacy_number(customer: Customer) -> str:
    """The legacy ERP's customer number ([A-Z0-9]{1,10}): the business key, compacted."""
    return customer.number.replace("-", "")[-10:]


# -- phase 1: the catalog ---------------------------------------------------------------------
def tax_rate_key(country: str, region: str) -> str:
    return f"{country}-{region}" if region else country


def catalog_batches(business: Business) -> Batches:
    currencies = sorted({c.subscription.currency for c in business.customers
                         if c.subscription is not None}
                        | {ENTITIES[e].currency.lower() for e in business.entities})
    at = business.seed_ts - (business.options.history_months + 13) * 30 * DAY
    tax_rates = []
    for country, pct in sorted(VAT_RATE.items()):
        tax_rates.append({"display_name": "VAT" if country not in ("JP", "AU", "CA") else "GST",
                          "inclusive": False, "percentage": pct, "country": country,
                          "jurisdiction": country, "tax_type": "vat",
                          "description": tax_rate_key(country, ""), "_at": at})
    for city, state, _zip, pct in US_CITIES:
        if pct > 0:
            tax_rates.append({"display_name": "Sales Tax", "inclusive": False,
                              "percentage": pct, "country": "US", "state": state,
                              "jurisdiction": city.upper(), "tax_type": "sales_tax",
                              "description": tax_rate_key("US", city.upper()), "_at": at})
    products, prices = [], []
    for tier, usd_cents in PLANS:
        products.append({"id": f"prod_o2c_{tier}", "name": f"{tier.title()} plan",
                         "description": f"{tier.title()} subscription, per seat",
                         "metadata": {"tier": tier}, "_at": at})
        for cur in currencies:
            unit = usd_cents * PRICE_FACTOR.get(cur.upper(), 1.0)
            unit = round(unit / 100) if cur.upper() in ZERO_DECIMAL else round(unit)
            for interval, factor in (("month", 1), ("year", 10)):
                prices.append({"currency": cur, "unit_amount": int(unit * factor),
                               "product": f"prod_o2c_{tier}",
                               "recurring": {"interval": interval},
                               "lookup_key": f"{tier}_{cur}_{interval}ly",
                               "nickname": f"{tier.title()} {interval}ly {cur.upper()}",
                               "_at": at})
    return [("tax_rates", tax_rates), ("products", products), ("prices", prices)]


def tax_rate_ids(billing_state: dict[str, dict[str, Record]]) -> dict[str, str]:
    """Billing's tax rate id per key (country, or US-CITY), read back from its snapshot."""
    return {doc["description"]: doc["id"]
            for doc in billing_state.get("tax_rates", {}).values() if doc.get("description")}


# -- phase 2: master data ---------------------------------------------------------------------
def crm_batches(business: Business) -> Batches:
    accounts, contacts, opportunities = [], [], []
    for c in business.customers:
        a = c.address
        accounts.append({
            "Name": c.name, "Type": "Customer - Direct" if c.won else "Prospect",
            "Industry": c.industry, "BillingStreet": a.line1, "BillingCity": a.city,
            "BillingState": a.region or None, "BillingPostalCode": a.postal_code,
            "BillingCountry": a.country, "ShippingStreet": a.line1, "ShippingCity": a.city,
            "ShippingState": a.region or None, "ShippingPostalCode": a.postal_code,
            "ShippingCountry": a.country, "CurrencyIsoCode": ENTITIES[c.legal_entity].currency,
            "VAT_Number__c": c.vat_id, "Legal_Entity__c": c.legal_entity,
            "External_Id__c": c.number, "_at": c.created_at})
        ref = {"External_Id__c": c.number}
        for k, person in enumerate(c.contacts):
            contacts.append({
                "Account": ref, "FirstName": person.first_name, "LastName": person.last_name,
                "Email": person.email, "Phone": person.phone, "Title": person.title,
                "MailingStreet": a.line1, "MailingCity": a.city,
                "MailingPostalCode": a.postal_code, "MailingCountry": a.country,
                "_at": c.created_at + (k + 1) * 600})
        for opp in c.opportunities:
            opportunities.append({
                "Account": ref, "Name": opp.name, "StageName": opp.stage,
                "CloseDate": opp.close_date.isoformat(), "Amount": opp.amount,
                "CurrencyIsoCode": ENTITIES[c.legal_entity].currency,
                "Type": "New Customer", "_at": opp.created_at})
    return [("Account", accounts), ("Contact", contacts), ("Opportunity", opportunities)]


def tax_batches(business: Business) -> Batches:
    r = random.Random(f"{business.options.seed}:tax-companies")
    companies = [{"companyCode": ENTITIES[e].tax_company, "name": ENTITIES[e].name,
                  "country": ENTITIES[e].country,
                  "taxpayerIdNumber": vat_id(ENTITIES[e].country, r)}
                 for e in business.entities]
    exemptions = [{"customerCode": c.number, "companyCode": ENTITIES[c.legal_entity].tax_company,
                   "exemptionNo": c.exemption.number, "exemptReason": c.exemption.reason,
                   "country": c.country, "region": c.exemption.region,
                   "signedDate": c.exemption.signed.isoformat(),
                   "expirationDate": c.exemption.expires.isoformat()}
                  for c in business.customers if c.exemption is not None and c.in_billing]
    return [("companies", companies), ("exemptions", exemptions)]


def exempt_at_seed_date(customer: Customer, seed_date: dt.date) -> bool:
    e = customer.exemption
    return e is not None and e.signed <= seed_date <= e.expires


def billing_batches(business: Business, rates: dict[str, str]) -> Batches:
    customers = []
    seed_date = business.options.seed_date
    for c in business.customers:
        if c.billing_at is None or c.subscription is None:
            continue
        a = c.erp_address  # billing got the address at onboarding: stale if it moved since
        exempt = exempt_at_seed_date(c, seed_date)
        rate_key = tax_rate_key("US", a.city.upper()) if c.country == "US" else c.country
        rate = None if exempt else rates.get(rate_key)
        sub = c.subscription
        person = c.contacts[0]
        customers.append({
            "name": c.name, "email": person.email, "phone": person.phone[:20],
            "description": f"{c.legal_entity} customer {c.number}",
            "address": {"line1": a.line1, "city": a.city, "state": a.region or None,
                        "postal_code": a.postal_code, "country": a.country},
            "preferred_locales": [c.locale.replace("_", "-")],
            "invoice_prefix": invoice_prefix(c), "tax_exempt": "exempt" if exempt else "none",
            "metadata": {"crm_account": c.number, "legal_entity": c.legal_entity},
            "_at": c.billing_at,
            "subscriptions": [{
                "items": [{"price": sub.lookup_key, "quantity": sub.quantity}],
                "collection_method": "send_invoice",
                "days_until_due": PAYMENT_TERMS[c.payment_terms],
                "default_tax_rates": [rate] if rate else None,
                "metadata": {"crm_account": c.number}, "_at": sub.started_at,
                "updates": [{"quantity": seats, "_at": at} for at, seats in sub.seat_changes]}],
        })
    return [("customers", customers)]


def erp_of_customer(business: Business, c: Customer, at: float) -> ErpName:
    return business.options.erp_of(c.legal_entity, dt.datetime.fromtimestamp(at, dt.UTC).date())


def erp_presence(business: Business, c: Customer) -> dict[ErpName, float]:
    """When the customer was created in each ERP: at onboarding in the ERP of its entity
    then, and at each later migration wave (before the seed date) in the new ERP."""
    if c.erp_at is None:
        return {}
    out: dict[ErpName, float] = {erp_of_customer(business, c, c.erp_at): c.erp_at}
    for step in sorted(business.options.wave_plan, key=lambda s: s.effective):
        when = dt.datetime(step.effective.year, step.effective.month, step.effective.day,
                           tzinfo=dt.UTC).timestamp()
        if step.legal_entity == c.legal_entity and c.erp_at < when < business.seed_ts:
            out.setdefault(step.erp, when)
    return out


def erp_batches(business: Business) -> dict[str, Batches]:
    partners, legacy = [], []
    for c in business.customers:
        entity = ENTITIES[c.legal_entity]
        a = c.erp_address
        for erp, at in erp_presence(business, c).items():
            if erp == "cloud_erp":
                street, _, house = a.line1.rpartition(" ")
                if not street or not any(ch.isdigit() for ch in house):
                    street, house = a.line1, ""
                partners.append({
                    "BusinessPartnerCategory": "2",
                    # SAP users split a long name over Name 1/Name 2 (40 each)
                    "OrganizationBPName1": c.name[:40], "OrganizationBPName2": c.name[40:80],
                    "SearchTerm1": c.number, "CorrespondenceLanguage": c.locale[:2].upper(),
                    "to_BusinessPartnerAddress": [{
                        "StreetName": street[:60], "HouseNumber": house[:10],
                        "PostalCode": (a.postal_code or "")[:10], "CityName": a.city[:40],
                        "Region": a.region[:3], "Country": a.country,
                        "Language": c.locale[:2].upper()}],
                    "to_Customer": {"VATRegistration": c.vat_id[:20], "to_CustomerCompany": [
                        {"CompanyCode": entity.cloud_company_code,
                         "PaymentTerms": c.payment_terms}]},
                    "_at": at})
            else:
                legacy.append({
                    "CustomerNumber": legacy_number(c),
                    # the old column holds 35 characters: longer names were cut on entry
                    "Name": c.name.strip()[:35] or c.number, "Street": a.line1[:35] or None,
                    "City": a.city[:35] or None, "PostalCode": a.postal_code,
                    "Country": a.country, "Currency": entity.currency,
                    "CompanyCode": entity.legacy_company_code, "TaxId": c.vat_id[:20],
                    "_at": at})
    return {"cloud_erp": [("A_BusinessPartner", partners)], "legacy_erp": [("customers", legacy)]}


# -- phase 3: what happened to each invoice ---------------------------------------------------
@dataclass(frozen=True)
class Invoice:
    """A finalized billing invoice as read back from billing."""

    id: str
    number: str
    customer: str  # business key (billing metadata crm_account)
    currency: str  # upper case
    total: int  # minor units
    tax: int
    finalized_at: float
    due_date: float


def finalized_invoices(customer_facts: list[Record],
                       invoice_facts: list[Record]) -> list[Invoice]:
    """Billing's finalized invoices from its ``customer.created`` and ``invoice.finalized``
    facts (``GET /_sim/facts``): far lighter than its snapshot, which holds every event."""
    keys = {f["key"]: (f["data"].get("metadata") or {}).get("crm_account")
            for f in customer_facts}
    out = []
    for fact in invoice_facts:
        data = fact["data"]
        key = keys.get(data.get("customer"))
        if not key or not data.get("number"):
            continue
        finalized = float(data["status_transitions"]["finalized_at"])
        total = int(data["total"])
        out.append(Invoice(fact["key"], data["number"], key, str(data["currency"]).upper(),
                           total, total - int(data.get("total_excluding_tax", total)),
                           finalized, float(data.get("due_date") or finalized)))
    out.sort(key=lambda i: (i.finalized_at, i.number))
    return out


def major(amount: int, currency: str) -> str:
    if currency in ZERO_DECIMAL:
        return str(amount)
    return str((Decimal(amount) / 100).quantize(Decimal("0.01")))


def _day(ts: float) -> dt.date:
    return dt.datetime.fromtimestamp(ts, dt.UTC).date()


def _odata_date(ts: float) -> str:
    return f"/Date({int(ts // DAY * DAY) * 1000})/"


@dataclass(frozen=True)
class History:
    """Phase 3 per simulator: first postings and payments, then the ERP clearings."""

    postings: dict[str, Batches]
    clearings: dict[str, Batches]


def history_batches(business: Business, invoices: list[Invoice],
                    erp_customers: dict[str, str]) -> History:
    """Phase 3. ``erp_customers``: S/4 customer number per business key."""
    customers = business.by_number()
    seed_ts = business.seed_ts
    paid, payments = [], []
    postings: dict[ErpName, list[Record]] = {"cloud_erp": [], "legacy_erp": []}
    clearings: dict[ErpName, list[Record]] = {"cloud_erp": [], "legacy_erp": []}
    for inv in invoices:
        c = customers.get(inv.customer)
        if c is None:
            continue
        r = random.Random(f"{business.options.seed}:invoice:{inv.number}")
        presence = erp_presence(business, c)
        erp = erp_of_customer(business, c, inv.finalized_at)
        # the integration holds an invoice until the customer exists in the routed ERP
        post_at = max(inv.finalized_at, presence.get(erp, float("inf"))) + r.uniform(30, 900)
        posted = post_at < seed_ts and (erp != "cloud_erp" or inv.customer in erp_customers)
        entity = ENTITIES[c.legal_entity]
        gross, tax = major(inv.total, inv.currency), major(inv.tax, inv.currency)
        if posted and erp == "cloud_erp":
            postings[erp].append({
                "CompanyCode": entity.cloud_company_code, "Customer": erp_customers[inv.customer],
                "DocumentDate": _odata_date(inv.finalized_at), "PostingDate": _odata_date(post_at),
                "DocumentReferenceID": inv.number, "AccountingDocumentHeaderText":
                f"Invoice {inv.number}"[:25], "AmountInTransactionCurrency": gross,
                "TaxAmount": tax, "TransactionCurrency": inv.currency, "_at": post_at})
        elif posted:
            net = major(inv.total - inv.tax, inv.currency)
            postings[erp].append({
                "CompanyCode": entity.legacy_company_code, "CustomerNumber": legacy_number(c),
                "ExternalReference": inv.number, "InvoiceDate": _day(inv.finalized_at).isoformat(),
                "DueDate": max(_day(inv.due_date), _day(inv.finalized_at)).isoformat(),
                "Currency": inv.currency, "NetAmount": net, "TaxAmount": tax,
                "GrossAmount": gross, "_at": post_at})
        if c.never_pays:
            continue
        lo, hi = c.pays_after_days
        paid_at = inv.finalized_at + r.uniform(lo, hi) * DAY
        if paid_at >= seed_ts:
            continue  # an open item at the seed date
        paid.append({"number": inv.number, "_at": paid_at})
        reference = f"BANK-{inv.number}"
        if c.card_payer:
            person = c.contacts[0]
            reference = f"PSP-{inv.number}"
            payments.append({
                "merchantAccount": MERCHANT_ACCOUNT, "reference": inv.number,
                "amount": {"currency": inv.currency, "value": inv.total},
                "paymentMethod": {"type": "scheme", "number": TEST_CARD, "expiryMonth": "03",
                                  "expiryYear": "2030", "cvc": "737",
                                  "holderName": f"{person.first_name} {person.last_name}"},
                "returnUrl": "https://portal.example.com/return", "shopperReference": c.number,
                "captureDelayHours": 0, "metadata": {"crm_account": c.number},
                "_at": paid_at - 120})
        clear_at = max(paid_at, post_at) + r.uniform(0.3, 2.0) * DAY
        if not posted or clear_at >= seed_ts:
            continue  # paid, but not (yet) cleared in the ERP: drift the oracle must see
        if erp == "cloud_erp":
            clearings[erp].append({
                "CompanyCode": entity.cloud_company_code, "Customer": erp_customers[inv.customer],
                "PostingDate": _odata_date(clear_at), "AmountInTransactionCurrency": gross,
                "TransactionCurrency": inv.currency, "InvoiceReference": inv.number,
                "_at": clear_at})
        else:
            clearings[erp].append({
                "CompanyCode": entity.legacy_company_code, "CustomerNumber": legacy_number(c),
                "ExternalReference": inv.number, "Amount": gross, "Currency": inv.currency,
                "PaymentDate": _day(paid_at).isoformat(), "PaymentReference": reference,
                "_at": clear_at})
    by_time = lambda rec: rec["_at"]  # noqa: E731 - sort key
    return History(
        postings={
            "billing": [("invoice_payments", sorted(paid, key=by_time))],
            "payments": [("payments", sorted(payments, key=by_time))],
            "cloud_erp": [("A_JournalEntry", sorted(postings["cloud_erp"], key=by_time))],
            "legacy_erp": [("documents", sorted(postings["legacy_erp"], key=by_time))],
        },
        clearings={
            "cloud_erp": [("A_IncomingPayment", sorted(clearings["cloud_erp"], key=by_time))],
            "legacy_erp": [("payments", sorted(clearings["legacy_erp"], key=by_time))],
        })


def with_document_numbers(batches: Batches, posted: dict[str, str]) -> Batches:
    """Legacy clearings naming the document the ERP booked (what PostInvoice answered), so
    the ERP need not search its documents by reference."""
    return [(kind, [{**rec, "DocumentNumber": posted[rec["ExternalReference"]]}
                    if rec.get("ExternalReference") in posted else rec for rec in records])
            for kind, records in batches]
