"""Business scenarios on the landscape: onboarding batch, month-end invoice run, payment run,
mixed, migration wave. Each drives the systems through their vendor APIs (Closed Won in the
CRM, subscriptions and usage through the layer's domain API, the billing clock at month end,
card payments at the gateway) and waits for the system to settle — on conditions with a
deadline, never fixed sleeps.

No locust here: Locust users, ``harness check`` and tests import these definitions. A run
returns a :class:`ScenarioRun` that says what was done (accounts, wave plan, invoices, payments)
so a reconciliation can tell what *should* be true afterwards.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx

from .actors import Billing, Crm, Endpoints, Gateway, Layer

POLL_S = 0.1


@dataclass(frozen=True)
class WaveEntry:
    """From ``effective_at`` (epoch seconds) on, ``legal_entity`` posts to ``erp``."""

    legal_entity: str
    erp: str
    company_code: str
    effective_at: float = 946_684_800.0  # 2000-01-01

    def as_json(self) -> dict[str, Any]:
        return {"legal_entity": self.legal_entity, "erp": self.erp,
                "company_code": self.company_code,
                "effective_at": datetime.fromtimestamp(self.effective_at, UTC).isoformat()}


# legal entities still on the legacy ERP, and those already migrated to the cloud ERP
WAVE_PLAN: tuple[WaveEntry, ...] = (
    WaveEntry("US01", "legacy_erp", "1000"),
    WaveEntry("DE01", "cloud_erp", "1010"),
    WaveEntry("FR01", "legacy_erp", "3000"),
    WaveEntry("GB01", "cloud_erp", "1110"),
    WaveEntry("JP01", "legacy_erp", "5000"),
)
# the migration wave: France moves from the legacy ERP to the cloud ERP
FRANCE_WAVE = WaveEntry("FR01", "cloud_erp", "1210")


@dataclass(frozen=True)
class Account:
    """A customer the sales team wins: its CRM account as the scenario creates it."""

    name: str
    country: str
    legal_entity: str
    currency: str
    city: str
    street: str
    postal_code: str
    vat: str | None = None


TEMPLATES: tuple[Account, ...] = (
    Account("Acme Analytics Inc", "US", "US01", "USD", "Seattle", "410 Terry Ave N", "98109"),
    Account("Müller Datensysteme GmbH", "DE", "DE01", "EUR", "Walldorf",
            "Dietmar-Hopp-Allee 16", "69190", "DE811569869"),
    Account("Lumière Logiciels SAS", "FR", "FR01", "EUR", "Paris", "8 Rue de Londres",
            "75009", "FR40303265045"),
    Account("Thames Ledger Ltd", "GB", "GB01", "GBP", "London", "1 Poultry", "EC2R 8EJ",
            "GB980780684"),
)


@dataclass
class WonAccount:
    """An account won during the run and what the layer made of it."""

    external_id: str
    crm_id: str
    account: Account
    customer_id: str | None = None
    subscription_id: str | None = None


@dataclass
class ScenarioRun:
    """What a scenario did; the reconciliation's expectations are derived from it."""

    scenario: str
    run_id: str
    wave_plan: list[WaveEntry]
    accounts: list[WonAccount] = field(default_factory=list)
    invoices: list[str] = field(default_factory=list)  # billing invoice ids finalized
    payments: dict[str, str] = field(default_factory=dict)  # invoice id → pspReference
    settled: bool = True
    notes: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)


@dataclass
class ScenarioContext:
    """Everything one scenario run needs, passed explicitly."""

    endpoints: Endpoints
    run_id: str
    size: int = 4
    seed: int = 7
    settle_timeout_s: float = 90.0
    on_phase: Callable[[str], None] = lambda phase: None
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        if self.client.auth is None and self.endpoints.layer_auth is not None:
            self.client.auth = self.endpoints.layer_auth  # applies to the layer's URL only

    @property
    def billing(self) -> Billing:
        return Billing(self.endpoints, self.client)

    @property
    def layer(self) -> Layer:
        return Layer(self.endpoints, self.client)

    @property
    def gateway(self) -> Gateway:
        return Gateway(self.endpoints, self.client)

    def sim(self, name: str) -> str:
        return self.endpoints.simulators[name]


class SettleTimeout(RuntimeError):
    """The landscape did not reach the awaited state in time."""


def wait_until(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``condition`` until it returns something truthy; raise after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SettleTimeout(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(POLL_S)


def facts(ctx: ScenarioContext, system: str, kind: str) -> list[dict[str, Any]]:
    try:
        r = ctx.client.get(f"{ctx.sim(system)}/_sim/facts",
                           params={"kind": kind, "limit": 100_000})
    except httpx.TransportError:
        return []
    return r.json()["data"] if r.status_code == 200 else []  # type: ignore[no-any-return]


def open_exceptions(ctx: ScenarioContext) -> set[str]:
    """Business keys the layer has parked as exceptions (DLQ); empty when it is down."""
    try:
        r = ctx.client.get(f"{ctx.endpoints.integration}/exceptions", params={"limit": 1000})
    except httpx.TransportError:
        return set()
    return {e["business_key"] for e in r.json()} if r.status_code == 200 else set()


# -- steps ---------------------------------------------------------------------------------
def win_accounts(ctx: ScenarioContext, run: ScenarioRun, count: int, tag: str) -> \
        list[WonAccount]:
    """Close ``count`` deals (templates in turn), upserted by external id (safe to retry)."""
    crm = Crm(ctx.endpoints, ctx.client)
    won: list[WonAccount] = []
    for i in range(count):
        t = TEMPLATES[(len(run.accounts) + i) % len(TEMPLATES)]
        ext = f"{ctx.run_id}-{tag}{i}"
        name = f"{t.name} {ext[-6:]}"[:80]
        account_id = crm.upsert("Account", ext, {
            "Name": name, "BillingStreet": t.street, "BillingCity": t.city,
            "BillingPostalCode": t.postal_code, "BillingCountry": t.country,
            "VAT_Number__c": t.vat, "Legal_Entity__c": t.legal_entity,
            "CurrencyIsoCode": t.currency})
        opp = crm.upsert("Opportunity", f"{ext}-opp", {
            "Name": f"{name} — subscription", "AccountId": account_id,
            "StageName": "Prospecting", "CloseDate": "2026-11-30", "Amount": 588,
            "CurrencyIsoCode": t.currency})
        crm.update("Opportunity", opp, {"StageName": "Closed Won"})
        won.append(WonAccount(ext, account_id, Account(**{**t.__dict__, "name": name})))
    run.accounts.extend(won)
    ctx.on_phase(f"accounts-won:{tag}")
    return won


def await_onboarded(ctx: ScenarioContext, accounts: list[WonAccount]) -> None:
    """Wait until the layer reports each account onboarded (its domain API is how upstream
    consumers learn the canonical customer id they subscribe)."""
    def done() -> bool:
        for acc in accounts:
            if acc.customer_id is None:
                found = ctx.layer.customer(acc.crm_id)
                if found and found.get("status") == "onboarded":
                    acc.customer_id = str(found["id"])
        return all(a.customer_id for a in accounts)
    wait_until(done, ctx.settle_timeout_s, f"{len(accounts)} customer(s) to be onboarded")


def subscribe(ctx: ScenarioContext, run: ScenarioRun, accounts: list[WonAccount]) -> None:
    billing = ctx.billing
    keys = {c: billing.catalog(c, ctx.run_id) for c in {a.account.currency for a in accounts}}
    for acc in accounts:
        if acc.customer_id is None:
            continue
        plan = keys[acc.account.currency]
        sub = ctx.layer.subscribe(acc.customer_id, [{"plan": plan["plan"], "quantity": 1},
                                                    {"plan": plan["usage"]}],
                                  f"sub-{acc.external_id}")
        acc.subscription_id = str(sub["billing_subscription_id"])
        for n in range(ctx.rng.randint(1, 3)):
            ctx.layer.report_usage(acc.customer_id, ctx.rng.randint(10, 500),
                                   f"{acc.external_id}-u{n}")


def month_end(ctx: ScenarioContext, run: ScenarioRun, accounts: list[WonAccount]) -> \
        list[dict[str, Any]]:
    """Advance the billing clock past the subscriptions' period end; wait until each of their
    cycle invoices is finalized and posted in an ERP (or parked as an exception)."""
    billing = ctx.billing
    subs = [a.subscription_id for a in accounts if a.subscription_id]
    if not subs:
        return []
    ends = [billing.subscription(s)["items"]["data"][0]["current_period_end"] for s in subs]
    before = {f["key"] for f in facts(ctx, "billing", "invoice.finalized")}
    billing.advance_clock_to(max(ends) + 60)
    ctx.on_phase("month-end:clock-advanced")

    def finalized() -> list[dict[str, Any]]:
        found = [f for f in facts(ctx, "billing", "invoice.finalized")
                 if f["key"] not in before and f["data"].get("subscription") in subs
                 and f["data"].get("billing_reason") == "subscription_cycle"]
        return found if len(found) >= len(subs) else []
    try:
        invoices: list[dict[str, Any]] = wait_until(finalized, ctx.settle_timeout_s,
                              f"{len(subs)} cycle invoice(s) to be finalized")
    except SettleTimeout as exc:
        run.settled = False
        run.notes.append(str(exc))
        invoices = [f for f in facts(ctx, "billing", "invoice.finalized")
                    if f["key"] not in before and f["data"].get("subscription") in subs]
    run.invoices.extend(f["key"] for f in invoices)
    await_postings(ctx, run, invoices)
    return invoices


def _posted_refs(ctx: ScenarioContext, kind: str) -> set[str]:
    return {f["key"] for erp in ("cloud_erp", "legacy_erp") for f in facts(ctx, erp, kind)}


def await_postings(ctx: ScenarioContext, run: ScenarioRun,
                   invoices: list[dict[str, Any]]) -> None:
    def done() -> bool:
        refs = _posted_refs(ctx, "invoice.posted") | open_exceptions(ctx)
        return all(f["key"] in refs or f["data"].get("number") in refs for f in invoices
                   if f["data"].get("total"))
    try:
        wait_until(done, ctx.settle_timeout_s, f"{len(invoices)} invoice(s) to be posted")
    except SettleTimeout as exc:
        run.settled = False
        run.notes.append(str(exc))


def pay(ctx: ScenarioContext, run: ScenarioRun, invoices: list[dict[str, Any]]) -> None:
    """Each customer pays its invoice in full by card; wait until paid in billing and cleared
    in an ERP (or parked as an exception)."""
    due = [f for f in invoices if f["data"].get("total")]
    for f in due:
        run.payments[f["key"]] = ctx.gateway.pay(reference=f["key"], amount=f["data"]["total"],
                                                 currency=f["data"]["currency"])

    def done() -> bool:
        paid = {f["key"] for f in facts(ctx, "billing", "invoice.paid")}
        cleared = _posted_refs(ctx, "payment.cleared")
        parked = open_exceptions(ctx)
        return all(f["key"] in parked or (f["key"] in paid and (
            f["key"] in cleared or f["data"].get("number") in cleared)) for f in due)
    try:
        wait_until(done, ctx.settle_timeout_s, f"{len(due)} payment(s) to be applied")
    except SettleTimeout as exc:
        run.settled = False
        run.notes.append(str(exc))


def quiesce(ctx: ScenarioContext, quiet_s: float = 1.0, timeout_s: float = 30.0) -> bool:
    """Wait until no simulator records a new fact or has webhooks pending for ``quiet_s``
    (late retries and duplicate deliveries land before anyone reconciles)."""
    def fingerprint() -> tuple[Any, ...]:
        marks: list[Any] = []
        for name, url in sorted(ctx.endpoints.simulators.items()):
            try:
                health = ctx.client.get(f"{url}/_sim/health").json()
                counted = ctx.client.get(f"{url}/_sim/facts", params={"limit": 100_000}).json()
            except (httpx.HTTPError, ValueError):
                return (time.monotonic(),)  # unreadable: not quiet
            marks.append((name, health.get("webhooks_pending"),
                          sum(f["count"] for f in counted["data"])))
        return tuple(marks)

    deadline = time.monotonic() + timeout_s
    last, since = fingerprint(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(POLL_S)
        now = fingerprint()
        pending = any(m[1] for m in now if isinstance(m, tuple) and len(m) == 3)
        if now != last or pending:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return True
    return False


# -- the scenarios --------------------------------------------------------------------------
def _start(ctx: ScenarioContext, name: str, plan: list[WaveEntry]) -> ScenarioRun:
    run = ScenarioRun(name, ctx.run_id, list(plan))
    ctx.layer.set_wave_plan([e.as_json() for e in plan])
    return run


def onboarding(ctx: ScenarioContext) -> ScenarioRun:
    """A batch of deals closes; every customer is onboarded once, in billing and its ERP."""
    run = _start(ctx, "onboarding", list(WAVE_PLAN))
    won = win_accounts(ctx, run, ctx.size, "a")
    try:
        await_onboarded(ctx, won)
    except SettleTimeout as exc:
        run.settled, run.notes = False, [str(exc)]
    return run


def _onboard_and_subscribe(ctx: ScenarioContext, run: ScenarioRun, count: int,
                           tag: str) -> list[WonAccount]:
    won = win_accounts(ctx, run, count, tag)
    try:
        await_onboarded(ctx, won)
    except SettleTimeout as exc:
        run.settled = False
        run.notes.append(str(exc))
    subscribe(ctx, run, won)
    return won


def month_end_run(ctx: ScenarioContext) -> ScenarioRun:
    """Month end: every subscription's cycle invoice is taxed, finalized and posted once."""
    run = _start(ctx, "month-end", list(WAVE_PLAN))
    won = _onboard_and_subscribe(ctx, run, ctx.size, "m")
    month_end(ctx, run, won)
    return run


def payment_run(ctx: ScenarioContext) -> ScenarioRun:
    """Month end, then every customer pays: paid in billing, cleared in the ERP."""
    run = _start(ctx, "payment-run", list(WAVE_PLAN))
    won = _onboard_and_subscribe(ctx, run, ctx.size, "p")
    pay(ctx, run, month_end(ctx, run, won))
    return run


def mixed(ctx: ScenarioContext) -> ScenarioRun:
    """Steady state: month end while new deals close; half of the customers pay."""
    run = _start(ctx, "mixed", list(WAVE_PLAN))
    won = _onboard_and_subscribe(ctx, run, ctx.size, "x")
    invoices = month_end(ctx, run, won)
    late = win_accounts(ctx, run, max(1, ctx.size // 2), "late")
    pay(ctx, run, invoices[::2])
    try:
        await_onboarded(ctx, late)
    except SettleTimeout as exc:
        run.settled = False
        run.notes.append(str(exc))
    return run


def migration_wave(ctx: ScenarioContext) -> ScenarioRun:
    """France moves from the legacy ERP to the cloud ERP between two month ends: the first
    month's invoices stay (and are paid) in the legacy ERP, the second month's post to the
    cloud ERP; nothing is lost, doubled or misrouted."""
    run = _start(ctx, "migration-wave", list(WAVE_PLAN))
    size = max(ctx.size, 2)
    won = _onboard_and_subscribe(ctx, run, size, "w")
    first = month_end(ctx, run, won)
    cutover = ctx.billing.now()
    run.wave_plan.append(replace(FRANCE_WAVE, effective_at=cutover))
    ctx.layer.set_wave_plan([e.as_json() for e in run.wave_plan])
    ctx.on_phase("migration-wave:switched")
    pay(ctx, run, first[::2])  # legacy receivables paid after the cut-over stay legacy
    second = month_end(ctx, run, won)
    pay(ctx, run, second)
    return run


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    run: Callable[[ScenarioContext], ScenarioRun]


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("onboarding", "a batch of Closed Won deals onboarded once everywhere", onboarding),
    Scenario("month-end", "month-end invoice run: taxed, finalized, posted once",
             month_end_run),
    Scenario("payment-run", "month end, then every invoice paid through the gateway",
             payment_run),
    Scenario("mixed", "month end while deals close; half of the invoices paid", mixed),
    Scenario("migration-wave", "a legal entity moves ERP between two month ends",
             migration_wave),
)}
