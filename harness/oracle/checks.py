"""The reconciliation: what must be true of the systems of record after a run, checked on a
:class:`~harness.oracle.state.LandscapeState`. Each check examines business objects and
reports a :class:`Breach` per object that is wrong, named by its business key and linked to
its timeline in the integration layer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from scenarios import WaveEntry

from .state import BillingInvoice, LandscapeState, Posting

MUTATING = {"POST", "PUT", "PATCH", "DELETE", "MERGE"}


@dataclass(frozen=True)
class Breach:
    """One thing wrong in the systems of record."""

    check: str
    key: str
    message: str
    timeline: str | None = None


@dataclass
class CheckOutcome:
    check: str
    description: str
    examined: int = 0
    breaches: list[Breach] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.breaches


@dataclass
class Reconciliation:
    outcomes: list[CheckOutcome]

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def breaches(self) -> list[Breach]:
        return [b for o in self.outcomes for b in o.breaches]


@dataclass(frozen=True)
class Expectations:
    """What the run set up: the wave plan in force, and where timelines are."""

    wave_plan: Sequence[WaveEntry]
    integration_url: str | None = None

    def route(self, legal_entity: str, at: float) -> WaveEntry | None:
        entries = [e for e in self.wave_plan
                   if e.legal_entity == legal_entity and e.effective_at <= at]
        return max(entries, key=lambda e: e.effective_at) if entries else None

    def timeline(self, key: str) -> str | None:
        return f"{self.integration_url.rstrip('/')}/timeline/{key}" \
            if self.integration_url else None


CHECKS: dict[str, str] = {
    "customers.onboarded_once": "every Closed Won account is one customer in billing and in "
                                "the ERP of its legal entity",
    "customers.no_orphans": "no customer created in billing or an ERP without a CRM account",
    "invoices.posted_once": "every finalized invoice is posted exactly once",
    "invoices.right_erp": "each posting is in the ERP and company code of the wave plan",
    "invoices.amounts": "posting amount, currency and tax equal billing and tax to the cent",
    "tax.committed": "the tax transaction of every posted invoice is committed once",
    "payments.applied": "every settled gateway payment is paid in billing and cleared once "
                        "in the ERP",
    "postings.no_orphans": "no ERP posting without a finalized billing invoice",
    "correlation.end_to_end": "the flow's correlation id reaches every system it touched",
    "exceptions.accounted": "everything not done is in the layer's DLQ with a reason",
}


class _Run:
    def __init__(self, state: LandscapeState, expect: Expectations) -> None:
        self.s = state
        self.e = expect
        self.outcomes = {name: CheckOutcome(name, text) for name, text in CHECKS.items()}
        self.by_ref: dict[str, list[Posting]] = defaultdict(list)
        for p in state.postings:
            self.by_ref[p.reference].append(p)
        self.customers = {c.id: c for c in state.billing_customers}
        self.not_done: dict[str, str] = {}  # business key → what is missing

    def breach(self, check: str, key: str, message: str) -> None:
        self.outcomes[check].breaches.append(Breach(check, key, message, self.e.timeline(key)))

    def examined(self, check: str, n: int = 1) -> None:
        self.outcomes[check].examined += n

    def postings_of(self, inv: BillingInvoice) -> list[Posting]:
        return [p for ref in sorted(inv.references) for p in self.by_ref.get(ref, [])]

    def legal_entity(self, inv: BillingInvoice) -> str | None:
        customer = self.customers.get(inv.customer)
        account = self.s.accounts.get(customer.crm_account_id or "") if customer else None
        return account.legal_entity if account else None


def _name_key(name: str) -> str:
    return " ".join(name.casefold().split())[:35]


def check_customers(r: _Run) -> None:
    by_account: dict[str, list[str]] = defaultdict(list)
    for c in r.s.billing_customers:
        if c.crm_account_id in r.s.won_accounts:
            by_account[c.crm_account_id].append(c.id)
        else:
            r.examined("customers.no_orphans")
            r.breach("customers.no_orphans", c.id, "billing customer created during the run "
                     f"without a Closed Won CRM account (crm_account_id={c.crm_account_id!r})")
    won = [a for a in r.s.accounts.values() if a.id in r.s.won_accounts]
    by_term = {a.id.upper()[:20]: a.id for a in won}  # the layer's S/4 search term
    by_name = {_name_key(a.name): a.id for a in won}
    erp_of: dict[tuple[str, str], list[str]] = defaultdict(list)
    for ec in r.s.erp_customers:
        r.examined("customers.no_orphans")
        owner = by_term.get(ec.link or "") or by_name.get(_name_key(ec.name))
        if owner is None:
            r.breach("customers.no_orphans", ec.number, f"{ec.erp} customer {ec.number} "
                     f"({ec.name!r}) matches no Closed Won CRM account")
            continue
        erp_of[(owner, ec.erp)].append(ec.number)
    for term, count in r.s.partner_terms.items():
        if count > 1:
            r.breach("customers.onboarded_once", term, f"{count} business partners in the "
                     f"cloud ERP carry search term {term}")
    for account_id in sorted(r.s.won_accounts):
        r.examined("customers.onboarded_once")
        account = r.s.accounts.get(account_id)
        billing = by_account.get(account_id, [])
        if not billing:
            r.breach("customers.onboarded_once", account_id, "Closed Won account has no "
                     "billing customer")
            r.not_done[account_id] = "onboarding"
        elif len(billing) > 1:
            r.breach("customers.onboarded_once", account_id, f"{len(billing)} billing "
                     f"customers for one account: {', '.join(billing)}")
        if account is None:
            continue
        first = r.e.route(account.legal_entity, float("inf"))
        if first is None:
            r.breach("customers.onboarded_once", account_id, "no wave plan entry for legal "
                     f"entity {account.legal_entity}")
            continue
        for erp in {e.erp for e in r.e.wave_plan if e.legal_entity == account.legal_entity}:
            numbers = erp_of.get((account_id, erp), [])
            if len(numbers) > 1:
                r.breach("customers.onboarded_once", account_id, f"{len(numbers)} customers "
                         f"in {erp} for one account: {', '.join(numbers)}")
        initial = min((e for e in r.e.wave_plan if e.legal_entity == account.legal_entity),
                      key=lambda e: e.effective_at)
        if not erp_of.get((account_id, initial.erp)):
            r.breach("customers.onboarded_once", account_id, f"no customer in {initial.erp} "
                     f"(legal entity {account.legal_entity})")
            r.not_done.setdefault(account_id, "onboarding")


def check_invoices(r: _Run) -> None:
    known_refs: set[str] = set()
    for inv in r.s.invoices:
        known_refs |= inv.references
        if inv.status == "void" or inv.total == 0:
            continue  # nothing to post (a voided invoice is a compensation, not a posting)
        r.examined("invoices.posted_once")
        postings = r.postings_of(inv)
        if not postings:
            r.breach("invoices.posted_once", inv.id, f"finalized invoice {inv.number} "
                     f"({inv.total} {inv.currency}) is not posted in any ERP")
            r.not_done[inv.id] = "posting"
            continue
        if len(postings) > 1:
            where = ", ".join(f"{p.erp}/{p.company_code}/{p.document}" for p in postings)
            r.breach("invoices.posted_once", inv.id, f"invoice {inv.number} is posted "
                     f"{len(postings)} times: {where}")
        r.examined("invoices.right_erp")
        entity = r.legal_entity(inv)
        route = r.e.route(entity, inv.finalized_at or 0.0) if entity else None
        if route is None:
            r.breach("invoices.right_erp", inv.id, f"cannot tell the ERP of invoice "
                     f"{inv.number}: legal entity {entity!r} not in the wave plan")
        else:
            for p in postings:
                if (p.erp, p.company_code) != (route.erp, route.company_code):
                    r.breach("invoices.right_erp", inv.id, f"invoice {inv.number} "
                             f"({entity}) posted to {p.erp}/{p.company_code}, expected "
                             f"{route.erp}/{route.company_code}")
        tx = r.s.tax.get(inv.id)
        r.examined("tax.committed")
        if tx is None:
            r.breach("tax.committed", inv.id, f"posted invoice {inv.number} has no committed "
                     "tax transaction")
            r.not_done.setdefault(inv.id, "tax commit")
        elif tx.commits > 1:
            r.breach("tax.committed", inv.id, f"tax transaction {inv.id} committed "
                     f"{tx.commits} times")
        for p in postings:
            r.examined("invoices.amounts")
            wrong = []
            if p.currency != inv.currency:
                wrong.append(f"currency {p.currency} ≠ billing {inv.currency}")
            if p.gross != inv.total:
                wrong.append(f"gross {p.gross} ≠ billing total {inv.total}")
            if tx is not None and p.tax is not None and p.tax != tx.total_tax:
                wrong.append(f"tax {p.tax} ≠ committed tax {tx.total_tax}")
            if wrong:
                r.breach("invoices.amounts", inv.id, f"{p.erp} document {p.document} of "
                         f"invoice {inv.number}: " + "; ".join(wrong))
    for p in r.s.postings:
        r.examined("postings.no_orphans")
        if p.reference not in known_refs:
            r.breach("postings.no_orphans", p.reference, f"{p.erp}/{p.company_code} document "
                     f"{p.document} references {p.reference!r}, no finalized billing invoice")


def check_payments(r: _Run) -> None:
    invoices = {inv.id: inv for inv in r.s.invoices}
    for pay in r.s.payments:
        if pay.status != "authorised":
            continue
        r.examined("payments.applied")
        inv = invoices.get(pay.reference)
        if inv is None:
            r.breach("payments.applied", pay.reference, f"payment {pay.psp} references no "
                     "finalized billing invoice")
            r.not_done[pay.reference] = "payment"
            continue
        missing = []
        if not inv.paid:
            missing.append(f"billing invoice is {inv.status}, not paid")
        postings = r.postings_of(inv)
        clearings = sum(r.s.cleared_refs.get(p.erp, {}).get(p.reference, 0) for p in
                        {(p.erp, p.reference): p for p in postings}.values())
        if postings and clearings == 0 and not any(p.cleared for p in postings):
            missing.append("receivable not cleared in "
                           + ", ".join(sorted({p.erp for p in postings})))
        elif clearings > 1:
            missing.append(f"receivable cleared {clearings} times")
        if pay.amount != inv.total or pay.currency != inv.currency:
            missing.append(f"paid {pay.amount} {pay.currency} for {inv.total} {inv.currency}")
        if missing:
            r.breach("payments.applied", inv.id, f"payment {pay.psp} of invoice "
                     f"{inv.number}: " + "; ".join(missing))
            r.not_done.setdefault(inv.id, "payment")


def check_correlation(r: _Run) -> None:
    seen: dict[str, set[str]] = {
        name: {e.get("correlation_id") or "" for e in entries}
        for name, entries in r.s.journals.items()}
    for erp in ("cloud_erp", "legacy_erp", "tax"):
        missing = [e for e in r.s.journals.get(erp, []) if e["method"] in MUTATING
                   and e.get("status", 500) < 400 and not e.get("correlation_id")]
        if missing:
            r.breach("correlation.end_to_end", erp, f"{len(missing)} successful write(s) to "
                     f"{erp} without X-Correlation-ID, e.g. {missing[0]['method']} "
                     f"{missing[0]['path']}")
    for inv in r.s.invoices:
        postings = r.postings_of(inv)
        if not postings:
            continue
        r.examined("correlation.end_to_end")
        customer = r.customers.get(inv.customer)
        flow = customer.correlation_id if customer else None
        if not flow:
            r.breach("correlation.end_to_end", inv.id, f"billing customer {inv.customer} "
                     "carries no correlation id")
            continue
        absent = [s for s in ("billing", "tax", *sorted({p.erp for p in postings}))
                  if flow not in seen.get(s, set())]
        if absent:
            r.breach("correlation.end_to_end", inv.id, f"correlation id {flow} of invoice "
                     f"{inv.number} never reached {', '.join(absent)}")


def check_exceptions(r: _Run) -> None:
    if not r.not_done:
        return
    if r.s.exceptions is None:
        r.breach("exceptions.accounted", "-", "the integration layer's exception list "
                 "could not be read")
        return
    reasons: dict[str, str] = {}
    for e in r.s.exceptions:
        if e.get("message"):
            reasons.setdefault(str(e["business_key"]), str(e["message"]))
    for key, what in sorted(r.not_done.items()):
        r.examined("exceptions.accounted")
        if not ({key} | r.s.aliases.get(key, set())) & set(reasons):
            r.breach("exceptions.accounted", key, f"{what} not done and not in the DLQ")


STEPS: tuple[Callable[[_Run], None], ...] = (check_customers, check_invoices, check_payments,
                                             check_correlation, check_exceptions)


def reconcile(state: LandscapeState, expect: Expectations) -> Reconciliation:
    """Check every rule on ``state``; the result lists each check with its breaches."""
    run = _Run(state, expect)
    for step in STEPS:
        step(run)
    return Reconciliation(list(run.outcomes.values()))

