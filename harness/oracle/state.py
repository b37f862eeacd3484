"""Reading the systems of record over HTTP: what each simulator holds after a run.

Only vendor APIs and the simulators' documented admin API (``/_sim/facts``, ``/_sim/journal``,
the legacy ERP's ``/_sim/legacy/documents``) are used; the integration layer is asked only for
its open exceptions (the DLQ). ``since`` (per simulator, on its own clock) separates what the
run did from what was there before (seeded history, earlier runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from scenarios import Credentials, Crm, Endpoints

JE_SET = "/sap/opu/odata/sap/API_O2C_JOURNALENTRY_SRV/A_JournalEntry"
# Stripe amounts are in the currency's minor unit, except for these zero-decimal currencies
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx",
                "vnd", "vuv", "xaf", "xof", "xpf"}


def major(amount_minor: int, currency: str) -> Decimal:
    """A Stripe/Adyen minor-unit amount in major units (cents → euros, yen stay yen)."""
    if currency.lower() in ZERO_DECIMAL:
        return Decimal(amount_minor)
    return (Decimal(amount_minor) / 100).quantize(Decimal("0.01"))


def dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


@dataclass(frozen=True)
class CrmAccount:
    id: str
    name: str
    legal_entity: str
    country: str


@dataclass(frozen=True)
class BillingCustomer:
    id: str
    crm_account_id: str | None
    correlation_id: str | None
    created: float
    canonical_id: str | None = None


@dataclass(frozen=True)
class BillingInvoice:
    id: str
    number: str | None
    customer: str
    status: str
    total: Decimal  # major units
    currency: str  # upper case
    finalized_at: float | None
    paid: bool
    billing_reason: str | None

    @property
    def references(self) -> set[str]:
        """What an ERP posting of this invoice may carry as external reference: the number
        (the agreed key, ≤ 16 characters) or the billing id."""
        return {r for r in (self.number, self.id) if r}


@dataclass(frozen=True)
class Posting:
    """One AR invoice document in an ERP."""

    erp: str
    company_code: str
    document: str
    reference: str
    customer: str
    gross: Decimal
    tax: Decimal | None
    currency: str
    cleared: bool
    clearings: int


@dataclass(frozen=True)
class ErpCustomer:
    erp: str
    number: str
    name: str
    link: str | None  # the CRM account id when the ERP record carries it (S/4 search term)


@dataclass(frozen=True)
class TaxTransaction:
    code: str
    total_tax: Decimal
    currency: str
    commits: int


@dataclass(frozen=True)
class GatewayPayment:
    psp: str
    reference: str
    amount: Decimal
    currency: str
    status: str  # authorised | refused | refunded | cancelled


@dataclass
class LandscapeState:
    """Everything the oracle reconciles, read in one pass."""

    accounts: dict[str, CrmAccount] = field(default_factory=dict)
    won_accounts: set[str] = field(default_factory=set)  # Closed Won during the run
    billing_customers: list[BillingCustomer] = field(default_factory=list)
    invoices: list[BillingInvoice] = field(default_factory=list)
    postings: list[Posting] = field(default_factory=list)
    erp_customers: list[ErpCustomer] = field(default_factory=list)
    tax: dict[str, TaxTransaction] = field(default_factory=dict)
    payments: list[GatewayPayment] = field(default_factory=list)
    cleared_refs: dict[str, dict[str, int]] = field(default_factory=dict)  # erp → ref → count
    partner_terms: dict[str, int] = field(default_factory=dict)  # S/4 search term → partners
    journals: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    exceptions: list[dict[str, Any]] | None = None  # None: the layer did not answer
    # business key → the keys the layer may file its exceptions under (its canonical ids)
    aliases: dict[str, set[str]] = field(default_factory=dict)


class StateReader:
    """Reads a :class:`LandscapeState` from running simulators (and the layer's DLQ)."""

    def __init__(self, endpoints: Endpoints, since: Mapping[str, float],
                 client: httpx.Client | None = None) -> None:
        self.endpoints = endpoints
        self.since = since
        self.client = client or httpx.Client(timeout=30, auth=endpoints.layer_auth)
        self.credentials: Credentials = endpoints.credentials

    def url(self, name: str) -> str:
        return self.endpoints.simulators[name]

    def _get(self, url: str, **kwargs: Any) -> Any:
        r = self.client.get(url, **kwargs)
        r.raise_for_status()
        return r.json()

    def facts(self, name: str, kind: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self._get(
            f"{self.url(name)}/_sim/facts",
            params={"kind": kind, "limit": 100_000, "since": self.since.get(name, 0.0)})["data"]
        return data

    def read(self) -> LandscapeState:
        state = LandscapeState()
        self._crm(state)
        self._billing(state)
        self._tax(state)
        self._payments(state)
        self._legacy(state)
        self._cloud(state)
        for name in ("billing", "tax", "cloud_erp", "legacy_erp"):
            state.journals[name] = self._get(f"{self.url(name)}/_sim/journal",
                                             params={"limit": 10_000})["data"]
        state.exceptions = self._exceptions()
        self._aliases(state)
        return state

    def _aliases(self, state: LandscapeState) -> None:
        """The layer files onboarding exceptions under its canonical customer id: learn it
        from billing metadata, or from the layer's domain API for an account billing lacks."""
        for c in state.billing_customers:
            if c.crm_account_id and c.canonical_id:
                state.aliases.setdefault(c.crm_account_id, set()).add(c.canonical_id)
        if state.exceptions is None:
            return
        for account in state.won_accounts - set(state.aliases):
            try:
                r = self.client.get(
                    f"{self.endpoints.integration.rstrip('/')}/customers/{account}")
            except httpx.HTTPError:
                continue
            if r.status_code == 200 and r.json().get("id"):
                state.aliases[account] = {str(r.json()["id"])}

    def _crm(self, state: LandscapeState) -> None:
        for fact in self.facts("crm", "opportunity.closed_won"):
            state.won_accounts.add(str(fact["data"]["AccountId"]))
        crm = Crm(self.endpoints, self.client)
        for rec in crm.query("SELECT Id, Name, Legal_Entity__c, BillingCountry FROM Account"):
            country = str(rec.get("BillingCountry") or "US").upper()[:2]
            state.accounts[rec["Id"]] = CrmAccount(
                rec["Id"], rec.get("Name") or "", rec.get("Legal_Entity__c") or f"{country}01",
                country)

    def _billing_list(self, path: str) -> list[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.credentials.billing_api_key}"}
        items: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100}
            if after:
                params["starting_after"] = after
            page = self._get(f"{self.url('billing')}{path}", params=params, headers=headers)
            items.extend(page["data"])
            if not page.get("has_more") or not page["data"]:
                return items
            after = page["data"][-1]["id"]

    def _billing(self, state: LandscapeState) -> None:
        since = int(self.since.get("billing", 0.0))
        for c in self._billing_list("/v1/customers"):
            if c["created"] >= since:
                meta = c.get("metadata") or {}
                state.billing_customers.append(BillingCustomer(
                    c["id"], meta.get("crm_account_id"), meta.get("correlation_id"),
                    c["created"], meta.get("canonical_id")))
        for inv in self._billing_list("/v1/invoices"):
            finalized = (inv.get("status_transitions") or {}).get("finalized_at")
            if inv["created"] < since or finalized is None:
                continue
            state.invoices.append(BillingInvoice(
                inv["id"], inv.get("number"), inv["customer"], inv["status"],
                major(inv["total"], inv["currency"]), inv["currency"].upper(), finalized,
                inv["status"] == "paid", inv.get("billing_reason")))

    def _tax(self, state: LandscapeState) -> None:
        for fact in self.facts("tax", "transaction.committed"):
            d = fact["data"]
            state.tax[fact["key"]] = TaxTransaction(fact["key"], dec(d.get("totalTax")),
                                                    str(d.get("currency") or "").upper(),
                                                    int(fact["count"]))

    def _payments(self, state: LandscapeState) -> None:
        latest: dict[str, GatewayPayment] = {}
        order = {"payment.authorised": 0, "payment.captured": 1, "payment.refused": 2,
                 "payment.cancelled": 3, "payment.refunded": 4}
        for kind in sorted(order, key=order.__getitem__):
            for fact in self.facts("payments", kind):
                d = fact["data"]
                if fact["key"] != d.get("merchantReference"):
                    continue  # each fact is recorded under the psp reference too
                status = kind.split(".")[1]
                if status == "captured":
                    status = "authorised"
                latest[d["pspReference"]] = GatewayPayment(
                    d["pspReference"], d["merchantReference"], dec(d.get("amountMajor")),
                    str(d["currency"]).upper(), status)
        state.payments = list(latest.values())

    def _legacy(self, state: LandscapeState) -> None:
        since = self.since.get("legacy_erp", 0.0)
        body = self._get(f"{self.url('legacy_erp')}/_sim/legacy/documents")
        clearings: dict[str, int] = {}
        for c in body["clearings"]:
            if c["posted_at"] >= since:
                clearings[c["ExternalReference"]] = clearings.get(c["ExternalReference"], 0) + 1
        state.cleared_refs["legacy_erp"] = clearings
        for d in body["data"]:
            if d["posted_at"] < since:
                continue
            state.postings.append(Posting(
                "legacy_erp", d["CompanyCode"], d["DocumentNumber"], d["ExternalReference"],
                d["CustomerNumber"], dec(d["GrossAmount"]), dec(d["TaxAmount"]),
                str(d["Currency"]).upper(), d["Status"] == "CLEARED", len(d["clearings"])))
        for fact in self.facts("legacy_erp", "customer.created"):
            d = fact["data"]
            state.erp_customers.append(ErpCustomer("legacy_erp", d["CustomerNumber"],
                                                   d.get("Name") or "", None))

    def _cloud(self, state: LandscapeState) -> None:
        posted = {f["key"] for f in self.facts("cloud_erp", "invoice.posted")}
        auth = (self.credentials.cloud_erp_user, self.credentials.cloud_erp_password)
        skip, page = 0, 500
        while posted:
            body = self._get(f"{self.url('cloud_erp')}{JE_SET}", auth=auth, params={
                "$format": "json", "$top": page, "$skip": skip})
            rows = body["d"]["results"] if isinstance(body["d"], dict) else body["d"]
            for je in rows:
                if je.get("DocumentReferenceID") not in posted:
                    continue
                if je.get("AccountingDocumentType") != "DR":
                    continue
                state.postings.append(Posting(
                    "cloud_erp", je["CompanyCode"], je["AccountingDocument"],
                    je["DocumentReferenceID"], je.get("Customer") or "",
                    dec(je["AmountInTransactionCurrency"]), dec(je.get("TaxAmount")),
                    str(je["TransactionCurrency"]).upper(), bool(je.get("IsCleared")), 0))
            if len(rows) < page:
                break
            skip += page
        state.cleared_refs["cloud_erp"] = {
            f["key"]: int(f["count"]) for f in self.facts("cloud_erp", "payment.cleared")}
        numbers: dict[str, str] = {}
        terms: dict[str, str] = {}
        for fact in self.facts("cloud_erp", "business_partner.created"):
            d = fact["data"]
            if fact["key"] == d["BusinessPartner"]:
                numbers[d["BusinessPartner"]] = d.get("BusinessPartnerFullName") or ""
            else:
                terms[d["BusinessPartner"]] = fact["key"]
                state.partner_terms[fact["key"]] = int(fact["count"])
        for number, name in numbers.items():
            state.erp_customers.append(ErpCustomer("cloud_erp", number, name, terms.get(number)))

    def _exceptions(self) -> list[dict[str, Any]] | None:
        try:
            r = self.client.get(f"{self.endpoints.integration.rstrip('/')}/exceptions",
                                params={"limit": 1000})
        except httpx.HTTPError:
            return None
        if r.status_code != 200:
            return None
        found: list[dict[str, Any]] = r.json()
        return found
