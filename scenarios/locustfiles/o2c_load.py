"""What every o2c Locust file shares: the customer users, the month-end closer, the wave
switch, and the **business-latency probe** that turns the simulators' own fact timestamps into
Locust request events named ``invoice-posting`` and ``payment-update``.

Runs inside Locust only (it imports locust, which patches the interpreter with gevent): the
harness starts it in a subprocess (``harness load``); by hand::

    locust -f scenarios/locustfiles/month_end.py --host http://127.0.0.1:8100 \\
        --o2c-urls billing=http://127.0.0.1:8102,payments=...,cloud_erp=...,legacy_erp=...

Latencies (milliseconds, from the simulators' ``wall_at`` — their clock with any advance
taken out, so billing's month-end clock jumps do not distort them):

- ``invoice-posting`` = billing ``invoice.finalized`` → ERP ``invoice.posted`` (the ERP fact is
  keyed by the external reference: the invoice number; the billing id is accepted too);
  a posting in another ERP or company code than the wave plan says is a failure.
- ``payment-update`` = gateway ``payment.authorised`` → the later of billing ``invoice.paid``
  and ERP ``payment.cleared``.

Each Locust process measures the invoices of the customers its own users onboarded, so
``--processes``/workers never count an invoice twice. Every sample also goes to
``<--o2c-samples>/business-<pid>.csv`` (exact values; Locust's tables round them).
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import itertools
import logging
import os
import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gevent
import httpx
from locust import FastHttpUser, between, events, task
from locust import stats as locust_stats
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from scenarios import FRANCE_WAVE, Credentials, Endpoints, WaveEntry
from scenarios.actors import SF_VERSION, Billing
from scenarios.definitions import TEMPLATES, Account

INVOICE_POSTING = "invoice-posting"
PAYMENT_UPDATE = "payment-update"
BUSINESS = "business"  # the request_type of business-latency events
ERPS = ("cloud_erp", "legacy_erp")
SAMPLE_FIELDS = ("latency", "key", "number", "erp", "company_code", "start_wall", "end_wall",
                 "latency_ms", "error")
DRAIN_MESSAGE, DRAINED_MESSAGE = "o2c-drain", "o2c-drained"
logging.getLogger("httpx").setLevel(logging.WARNING)  # the probe polls several times a second


# -- command line (Locust forwards these to its workers) -----------------------------------
@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("o2c-harness")
    group.add_argument("--o2c-urls", default="", help="simulator=url,... (billing, payments, "
                       "cloud_erp, legacy_erp; crm, tax optional); --host is the layer")
    group.add_argument("--o2c-samples", default="", help="directory for business-<pid>.csv")
    group.add_argument("--o2c-timeout", type=float, default=30.0,
                       help="seconds a finalized invoice may take to post (and a payment to be "
                            "applied) before it counts as a failure")
    group.add_argument("--o2c-close-every", type=float, default=0.0,
                       help="seconds between month-end closings (0: the scenario's default)")
    group.add_argument("--o2c-wave-at", type=float, default=0.0,
                       help="seconds after the start to switch the migration wave (0: half "
                            "the run time)")
    group.add_argument("--o2c-entities", default="", help="legal entities of the customers, "
                       "comma-separated (default: every template's)")
    group.add_argument("--o2c-seed", type=int, default=7)
    group.add_argument("--o2c-run", default="", help="tag making ids unique per run")
    group.add_argument("--o2c-poll", type=float, default=0.25,
                       help="seconds between the probe's fact polls")


def _urls(raw: str) -> dict[str, str]:
    pairs = (item.partition("=") for item in raw.split(",") if item.strip())
    return {name.strip(): url.strip().rstrip("/") for name, _, url in pairs}


# -- the process's book of customers and invoices ------------------------------------------
@dataclass
class Owned:
    billing_id: str
    customer_id: str
    account: Account
    payable: deque[Invoice] = field(default_factory=deque)


@dataclass
class Invoice:
    id: str
    number: str
    customer: str
    total: int
    currency: str
    finalized_wall: float
    finalized_at: float  # billing's own time of finalization (what the wave plan is read at)
    posted: bool = False


@dataclass
class Payment:
    invoice: Invoice
    started_wall: float
    submitted: bool = False  # the gateway answered Authorised (a user stopped mid-call: no)
    authorised_wall: float | None = None
    paid_wall: float | None = None
    cleared_wall: float | None = None


@dataclass
class Ledger:
    """Per Locust process: the customers its users own and what the probe learned."""

    environment: Environment
    urls: dict[str, str]
    layer: str
    timeout_s: float
    poll_s: float
    seed: int
    run_tag: str
    entities: list[str]
    samples_dir: Path | None
    customers: dict[str, Owned] = field(default_factory=dict)  # billing customer id → owned
    pending: dict[str, Invoice] = field(default_factory=dict)  # number and id → unposted
    paying: dict[str, Payment] = field(default_factory=dict)  # invoice id → in flight
    plan: list[WaveEntry] = field(default_factory=list)
    counter: Iterable[int] = field(default_factory=itertools.count)
    seen: set[tuple[str, str, str]] = field(default_factory=set)
    cursors: dict[tuple[str, str], float] = field(default_factory=dict)
    stopping: bool = False
    _samples: Any = None

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.seed}-{os.getpid()}")
        self.http = httpx.Client(timeout=15)
        templates = [t for t in TEMPLATES if not self.entities or t.legal_entity in
                     self.entities]
        if not templates:
            raise ValueError(f"no account template for legal entities {self.entities}")
        self.templates = templates
        if self.samples_dir is not None:
            self.samples_dir.mkdir(parents=True, exist_ok=True)
            handle = (self.samples_dir / f"business-{os.getpid()}.csv").open(
                "w", newline="", encoding="utf-8")
            self._samples = (handle, csv.writer(handle))
            self._samples[1].writerow(SAMPLE_FIELDS)

    # customers ------------------------------------------------------------------------
    def next_account(self) -> tuple[str, Account]:
        n = next(self.counter)  # type: ignore[call-overload]
        template = self.templates[n % len(self.templates)]
        external = f"{self.run_tag}-{os.getpid()}-{n}"
        return external, replace(template, name=f"{template.name} {external[-10:]}"[:80])

    def own(self, billing_id: str, customer_id: str, account: Account) -> Owned:
        owned = Owned(billing_id, customer_id, account)
        self.customers[billing_id] = owned
        return owned

    # events ---------------------------------------------------------------------------
    def fire(self, name: str, key: str, number: str, start: float, end: float, *,
             erp: str = "", company_code: str = "", error: str | None = None) -> None:
        latency_ms = max(0.0, (end - start) * 1000.0)
        self.environment.events.request.fire(
            request_type=BUSINESS, name=name, response_time=latency_ms, response_length=0,
            response=None, context={"key": key},
            exception=BusinessBreach(error) if error else None)
        if self._samples is not None:
            self._samples[1].writerow((name, key, number, erp, company_code, f"{start:.6f}",
                                       f"{end:.6f}", f"{latency_ms:.3f}", error or ""))
            self._samples[0].flush()

    def close(self) -> None:
        if self._samples is not None:
            self._samples[0].close()
            self._samples = None
        self.http.close()


class BusinessBreach(Exception):
    """A business latency that did not complete as it should (timeout, misrouting)."""


def ledger_of(environment: Environment) -> Ledger:
    ledger = getattr(environment, "o2c_ledger", None)
    if ledger is None:
        raise RuntimeError("o2c_load.install(...) was not called by the locustfile")
    return ledger  # type: ignore[no-any-return]


# -- the probe: facts → latencies ----------------------------------------------------------
def _facts(ledger: Ledger, system: str, kind: str) -> list[dict[str, Any]]:
    url = ledger.urls.get(system)
    if not url:
        return []
    since = ledger.cursors.get((system, kind), 0.0)
    try:
        r = ledger.http.get(f"{url}/_sim/facts", params={"kind": kind, "since": max(since, 0.0),
                                                         "limit": 100_000})
        r.raise_for_status()
    except (httpx.HTTPError, ValueError):
        return []
    data: list[dict[str, Any]] = r.json()["data"]
    if data:
        # facts are recorded in clock order; re-read a little overlap, dedupe by key
        ledger.cursors[(system, kind)] = max(f["at"] for f in data) - 2.0
    fresh = [f for f in data if (system, kind, f["key"]) not in ledger.seen]
    return fresh


def _wall(fact: dict[str, Any]) -> float:
    return float(fact.get("wall_at", fact["at"]))


def _expected_route(ledger: Ledger, invoice: Invoice) -> WaveEntry | None:
    owner = ledger.customers.get(invoice.customer)
    if owner is None:
        return None
    entries = [e for e in ledger.plan if e.legal_entity == owner.account.legal_entity
               and e.effective_at <= invoice.finalized_at]
    return max(entries, key=lambda e: e.effective_at) if entries else None


def refresh_plan(ledger: Ledger) -> None:
    try:
        r = ledger.http.get(f"{ledger.layer}/routing")
        r.raise_for_status()
    except httpx.HTTPError:
        return
    plan = []
    for row in r.json():
        at = dt.datetime.fromisoformat(str(row["effective_at"]).replace("Z", "+00:00"))
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        plan.append(WaveEntry(row["legal_entity"], row["erp"], row["company_code"],
                              at.timestamp()))
    ledger.plan = plan


def poll_once(ledger: Ledger) -> None:
    """One round: new finalized invoices, postings, payments; fire what completed."""
    for fact in _facts(ledger, "billing", "invoice.finalized"):
        data = fact["data"]
        if data.get("customer") not in ledger.customers or not data.get("total"):
            continue  # not ours, or nothing to post (zero invoices are paid at once)
        ledger.seen.add(("billing", "invoice.finalized", fact["key"]))
        transitions = data.get("status_transitions") or {}
        invoice = Invoice(fact["key"], str(data.get("number") or ""), data["customer"],
                          int(data["total"]), str(data["currency"]), _wall(fact),
                          float(transitions.get("finalized_at") or fact["at"]))
        ledger.pending[invoice.id] = invoice
        if invoice.number:
            ledger.pending[invoice.number] = invoice
    for erp in ERPS:
        for fact in _facts(ledger, erp, "invoice.posted"):
            invoice = ledger.pending.get(fact["key"])
            if invoice is None:
                continue
            ledger.seen.add((erp, "invoice.posted", fact["key"]))
            _posted(ledger, invoice, erp, fact)
    for fact in _facts(ledger, "payments", "payment.authorised"):
        payment = ledger.paying.get(fact["key"])
        if payment is not None and payment.authorised_wall is None:
            ledger.seen.add(("payments", "payment.authorised", fact["key"]))
            payment.authorised_wall = _wall(fact)
    for fact in _facts(ledger, "billing", "invoice.paid"):
        payment = ledger.paying.get(fact["key"])
        if payment is not None and payment.paid_wall is None:
            ledger.seen.add(("billing", "invoice.paid", fact["key"]))
            payment.paid_wall = _wall(fact)
    for erp in ERPS:
        for fact in _facts(ledger, erp, "payment.cleared"):
            payment = _payment_by_reference(ledger, fact["key"])
            if payment is not None and payment.cleared_wall is None:
                ledger.seen.add((erp, "payment.cleared", fact["key"]))
                payment.cleared_wall = _wall(fact)
    for invoice_id, payment in list(ledger.paying.items()):
        if payment.authorised_wall and payment.paid_wall and payment.cleared_wall:
            del ledger.paying[invoice_id]
            ledger.fire(PAYMENT_UPDATE, invoice_id, payment.invoice.number,
                        payment.authorised_wall, max(payment.paid_wall, payment.cleared_wall))
    _expire(ledger, time.time())


def _payment_by_reference(ledger: Ledger, reference: str) -> Payment | None:
    found = ledger.paying.get(reference)
    if found is not None:
        return found
    return next((p for p in ledger.paying.values() if p.invoice.number == reference), None)


def _posted(ledger: Ledger, invoice: Invoice, erp: str, fact: dict[str, Any]) -> None:
    ledger.pending.pop(invoice.id, None)
    ledger.pending.pop(invoice.number, None)
    invoice.posted = True
    company = str(fact["data"].get("CompanyCode") or "")
    expected = _expected_route(ledger, invoice)
    error = None
    if expected is not None and (expected.erp, expected.company_code) != (erp, company):
        error = (f"{invoice.number or invoice.id} posted to {erp}/{company}; the wave plan "
                 f"says {expected.erp}/{expected.company_code}")
    ledger.fire(INVOICE_POSTING, invoice.id, invoice.number, invoice.finalized_wall,
                _wall(fact), erp=erp, company_code=company, error=error)
    owner = ledger.customers.get(invoice.customer)
    if owner is not None and error is None:
        owner.payable.append(invoice)


def _expire(ledger: Ledger, now: float) -> None:
    for key, invoice in list(ledger.pending.items()):
        if key == invoice.id and now - invoice.finalized_wall > ledger.timeout_s:
            ledger.pending.pop(invoice.id, None)
            ledger.pending.pop(invoice.number, None)
            ledger.fire(INVOICE_POSTING, invoice.id, invoice.number, invoice.finalized_wall,
                        now, error=f"{invoice.number or invoice.id} not posted within "
                                   f"{ledger.timeout_s:.0f}s of its finalization")
    for invoice_id, payment in list(ledger.paying.items()):
        start = payment.authorised_wall or payment.started_wall
        if now - start > ledger.timeout_s:
            del ledger.paying[invoice_id]
            missing = [what for what, at in (("authorised at the gateway",
                                              payment.authorised_wall),
                                             ("paid in billing", payment.paid_wall),
                                             ("cleared in the ERP", payment.cleared_wall))
                       if at is None]
            ledger.fire(PAYMENT_UPDATE, invoice_id, payment.invoice.number, start, now,
                        error=f"payment of {payment.invoice.number or invoice_id} not "
                              f"{' / '.join(missing)} within {ledger.timeout_s:.0f}s")


def probe_loop(ledger: Ledger) -> None:
    last_plan = 0.0
    while not ledger.stopping:
        if time.monotonic() - last_plan > 1.0:
            refresh_plan(ledger)
            last_plan = time.monotonic()
        poll_once(ledger)
        gevent.sleep(ledger.poll_s)


def drain(ledger: Ledger) -> None:
    """After the users stopped: keep measuring until nothing is in flight (each item fails
    at its own deadline, so this ends within ``timeout_s``)."""
    ledger.stopping = True
    refresh_plan(ledger)
    for invoice_id, payment in list(ledger.paying.items()):
        if not payment.submitted and payment.authorised_wall is None:
            del ledger.paying[invoice_id]  # its user was stopped before the gateway answered
    while ledger.pending or ledger.paying:
        poll_once(ledger)
        gevent.sleep(ledger.poll_s)
    poll_once(ledger)


# -- the month-end closer and the wave switch (one per run: master or local runner) -------
def add_month(epoch_s: float) -> float:
    """``epoch_s`` one calendar month later in UTC, month ends clamped (how billing cycles)."""
    moment = dt.datetime.fromtimestamp(epoch_s, dt.UTC)
    month0 = moment.month  # zero-based index of the next month
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day).timestamp()


def close_month(http: httpx.Client, billing_url: str) -> float:
    """Move billing's clock just past one month after now: every subscription created since
    the last closing (and every older one, a month further on) reaches its period end
    inside billing's one-hour grace, so the layer holds, taxes and finalizes each invoice."""
    now = float(http.get(f"{billing_url}/_sim/clock").json()["now"])
    target = add_month(now) + 2.0
    r = http.post(f"{billing_url}/_sim/clock/advance", json={"to": target})
    r.raise_for_status()
    return target


def closer_loop(environment: Environment, billing_url: str, every_s: float,
                stop: Callable[[], bool]) -> None:
    with httpx.Client(timeout=30) as http:
        while True:
            gevent.sleep(every_s)
            if stop():
                return
            try:
                close_month(http, billing_url)
            except httpx.HTTPError as exc:  # shown, and the next closing tries again
                environment.events.request.fire(
                    request_type="admin", name="month-end close", response_time=0,
                    response_length=0, response=None, context={}, exception=exc)


def switch_wave(layer: str, billing_url: str, wave: WaveEntry) -> WaveEntry:
    """The migration team's cut-over: from billing's now on, ``wave`` applies."""
    with httpx.Client(timeout=30) as http:
        now = float(http.get(f"{billing_url}/_sim/clock").json()["now"])
        current = http.get(f"{layer}/routing").json()
        moved = replace(wave, effective_at=now)
        entries = [*current, moved.as_json()]
        r = http.put(f"{layer}/routing", json={"entries": entries})
        r.raise_for_status()
        return moved


# -- the users -------------------------------------------------------------------------------
class O2cUser(FastHttpUser):
    """What every o2c user can do; tasks are declared by the subclasses (Locust collects the
    tasks of every base class, so none are declared here)."""

    abstract = True
    wait_time = between(0.5, 1.5)
    pay_share = 1.0
    owned: Owned | None = None
    _crm: tuple[str, dict[str, str]] | None = None

    def on_start(self) -> None:
        self.owned = None
        self.onboard()

    def onboard(self) -> Owned | None:
        """A deal closes in the CRM (Salesforce REST, upsert by external id); the layer
        onboards the customer from the change event; then the customer subscribes."""
        ledger = ledger_of(self.environment)
        external, account = ledger.next_account()
        crm = self._crm_session(ledger)
        if crm is None:
            return None
        base, headers = crm
        r = self.client.patch(f"{base}/sobjects/Account/External_Id__c/{external}",
                              name="PATCH CRM Account (upsert)", headers=headers, json={
            "Name": account.name, "BillingStreet": account.street,
            "BillingCity": account.city, "BillingPostalCode": account.postal_code,
            "BillingCountry": account.country, "VAT_Number__c": account.vat,
            "Legal_Entity__c": account.legal_entity, "CurrencyIsoCode": account.currency})
        if r.status_code not in (200, 201):
            return None
        crm_id = str(r.json()["id"])
        r = self.client.patch(f"{base}/sobjects/Opportunity/External_Id__c/{external}-opp",
                              name="PATCH CRM Opportunity (upsert)", headers=headers, json={
            "Name": f"{account.name} — subscription", "AccountId": crm_id,
            "StageName": "Prospecting", "CloseDate": "2026-11-30", "Amount": 588,
            "CurrencyIsoCode": account.currency})
        if r.status_code not in (200, 201):
            return None
        r = self.client.patch(f"{base}/sobjects/Opportunity/{r.json()['id']}",
                              name="PATCH CRM Opportunity (Closed Won)", headers=headers,
                              json={"StageName": "Closed Won"})
        if r.status_code != 204:
            return None
        view = self._await_onboarded(crm_id, ledger.timeout_s)
        billing_id = (view or {}).get("references", {}).get("billing")
        if view is None or not billing_id:
            return None
        # owned before subscribing: the first invoice is finalized inside that call
        owned = ledger.own(billing_id, view["id"], account)
        cur = account.currency.lower()
        r = self.client.post("/subscriptions", name="POST /subscriptions", json={
            "customer_id": view["id"], "items": [{"plan": f"growth-{cur}", "quantity": 1},
                                                 {"plan": f"api-calls-{cur}"}]},
            headers={"Idempotency-Key": f"sub-{external}"})
        if r.status_code != 201:
            return None
        self.owned = owned
        return owned

    def _crm_session(self, ledger: Ledger) -> tuple[str, dict[str, str]] | None:
        if self._crm is None:
            c = Credentials()
            r = self.client.post(f"{ledger.urls['crm']}/services/oauth2/token",
                                 name="POST CRM oauth2/token", data={
                "grant_type": "password", "client_id": c.crm_client_id,
                "client_secret": c.crm_client_secret, "username": c.crm_username,
                "password": c.crm_password + c.crm_security_token})
            if r.status_code != 200:
                return None
            token = r.json()
            self._crm = (f"{token['instance_url']}/services/data/{SF_VERSION}",
                         {"Authorization": f"Bearer {token['access_token']}"})
        return self._crm

    def _await_onboarded(self, crm_id: str, timeout_s: float) -> dict[str, Any] | None:
        """The customer as the layer reports it once onboarded (upstream systems learn the
        canonical id this way); a 404 while the change event is on its way is expected."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.client.get(f"/customers/{crm_id}", name="GET /customers/{crm id}",
                                 catch_response=True) as r:
                if r.status_code == 404:
                    r.success()
                elif r.status_code == 200 and r.json().get("status") == "onboarded":
                    return r.json()  # type: ignore[no-any-return]
            gevent.sleep(0.2)
        return None

    def report_usage(self) -> None:
        assert self.owned is not None
        ledger = ledger_of(self.environment)
        self.client.post("/usage", name="POST /usage", json={
            "customer_id": self.owned.customer_id, "meter_event_name": "api_calls",
            "quantity": ledger.rng.randint(1, 500),
            "idempotency_key": f"{self.owned.customer_id}-{ledger.rng.getrandbits(48):x}"})

    def pay(self, invoice: Invoice) -> None:
        ledger = ledger_of(self.environment)
        c = Credentials()
        # registered before the call: the gateway records the authorisation inside it
        ledger.paying[invoice.id] = Payment(invoice, time.time())
        r = self.client.post(f"{ledger.urls['payments']}/v71/payments",
                             name="POST /v71/payments (gateway)", headers={
                                 "X-API-Key": c.payments_api_key,
                                 "Idempotency-Key": f"pay-{invoice.id}"}, json={
            "merchantAccount": c.merchant_account, "reference": invoice.id,
            "returnUrl": "https://shop.example.com/checkout/return",
            "amount": {"currency": invoice.currency.upper(), "value": invoice.total},
            "paymentMethod": {"type": "scheme", "number": "4111111111111111",
                              "expiryMonth": "03", "expiryYear": "2030", "cvc": "737",
                              "holderName": "Ada Lovelace"}})
        if r.status_code != 200 or (r.json() or {}).get("resultCode") != "Authorised":
            ledger.paying.pop(invoice.id, None)
        elif invoice.id in ledger.paying:
            ledger.paying[invoice.id].submitted = True


class CustomerUser(O2cUser):
    """A customer won by the sales team: Closed Won in the CRM, onboarded by the layer,
    subscribed through its domain API, reports usage, pays each posted invoice (with
    probability ``pay_share``) by card at the gateway."""

    abstract = True

    @task
    def work(self) -> None:
        if self.owned is None:
            self.onboard()
            return
        if self.owned.payable:
            invoice = self.owned.payable.popleft()
            if ledger_of(self.environment).rng.random() < self.pay_share:
                self.pay(invoice)
                return
        self.report_usage()


class OnboardingUser(O2cUser):
    """A sales team closing deals: every task onboards and subscribes one more customer."""

    abstract = True

    @task
    def win_deal(self) -> None:
        self.onboard()


# -- wiring ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoadPlan:
    """What a scenario's background does: month-end closings, a migration wave."""

    name: str
    close_every_s: float = 0.0  # 0: no month-end closings
    wave: WaveEntry | None = None


def install(plan: LoadPlan) -> None:
    """Register the ledger, probe, closer and wave switch for the locustfile's scenario."""
    state: dict[str, Any] = {}

    @events.init.add_listener
    def _init(environment: Environment, **_: Any) -> None:
        options = environment.parsed_options
        if options is None:
            return
        urls = _urls(options.o2c_urls)
        state["urls"] = urls
        if isinstance(environment.runner, MasterRunner):
            environment.runner.register_message(DRAINED_MESSAGE, _on_drained(state))
            return
        layer = (environment.host or options.host or "").rstrip("/")
        entities = [e.strip() for e in options.o2c_entities.split(",") if e.strip()]
        ledger = Ledger(environment, urls, layer, options.o2c_timeout, options.o2c_poll,
                        options.o2c_seed, options.o2c_run or f"load{int(time.time())}",
                        entities, Path(options.o2c_samples) if options.o2c_samples else None)
        environment.o2c_ledger = ledger  # type: ignore[attr-defined]
        if isinstance(environment.runner, WorkerRunner):
            environment.runner.register_message(DRAIN_MESSAGE, _on_drain(ledger, state))

    @events.test_start.add_listener
    def _start(environment: Environment, **_: Any) -> None:
        options = environment.parsed_options
        urls = state.get("urls", {})
        runner = environment.runner
        if not isinstance(runner, WorkerRunner):
            _catalog(urls, environment.host or "", options.o2c_entities if options else "")
            every = (options.o2c_close_every if options and options.o2c_close_every else
                     plan.close_every_s)
            state["stop"] = False
            if every > 0:
                state["closer"] = gevent.spawn(closer_loop, environment, urls["billing"],
                                               every, lambda: bool(state["stop"]))
            if plan.wave is not None:
                run_time = getattr(options, "run_time", None) or 40
                at = options.o2c_wave_at if options and options.o2c_wave_at else run_time / 2
                state["wave"] = gevent.spawn_later(at, _switch, environment, state, plan.wave)
        if not isinstance(runner, MasterRunner):
            ledger = ledger_of(environment)
            ledger.stopping = False
            state["probe"] = gevent.spawn(probe_loop, ledger)

    @events.test_stopping.add_listener
    def _stopping(environment: Environment, **_: Any) -> None:
        state["stop"] = True
        for name in ("closer", "wave"):
            if state.get(name) is not None:
                state[name].kill(block=False)
        runner = environment.runner
        if isinstance(runner, MasterRunner) and runner.clients.all:
            # workers drain their probes; their last events must reach the master's stats
            state["drained"] = set()
            for client in runner.clients.all:
                runner.send_message(DRAIN_MESSAGE, None, client.id)
            deadline = time.monotonic() + _timeout(environment) + 15
            while len(state["drained"]) < len(runner.clients.all) and \
                    time.monotonic() < deadline:
                gevent.sleep(0.2)
            _let_csv_catch_up()

    @events.test_stop.add_listener
    def _stop(environment: Environment, **_: Any) -> None:
        if isinstance(environment.runner, MasterRunner | WorkerRunner):
            return  # workers drained on the master's request
        _finish(environment, state)

    @events.quitting.add_listener
    def _quit(environment: Environment, **_: Any) -> None:
        ledger = getattr(environment, "o2c_ledger", None)
        if ledger is not None:
            ledger.close()


def _timeout(environment: Environment) -> float:
    options = environment.parsed_options
    return float(options.o2c_timeout) if options else 30.0


def _finish(environment: Environment, state: dict[str, Any]) -> None:
    ledger = ledger_of(environment)
    if state.get("probe") is not None:
        ledger.stopping = True
        state["probe"].join(timeout=10)
        state["probe"] = None
    drain(ledger)
    if not isinstance(environment.runner, WorkerRunner):
        _let_csv_catch_up()


def _let_csv_catch_up() -> None:
    """Locust rewrites its CSV files every CSV_STATS_INTERVAL_SEC from a greenlet; one more
    round makes the events of the drain part of them (its JSON and HTML are written at exit)."""
    gevent.sleep(locust_stats.CSV_STATS_INTERVAL_SEC + 0.2)


def _on_drain(ledger: Ledger, state: dict[str, Any]) -> Callable[..., None]:
    def handler(environment: Environment, msg: Any, **_: Any) -> None:
        def work() -> None:
            runner = environment.runner
            if runner is not None:
                runner.stop()  # the users first, then what they left in flight
            _finish(environment, state)
            if isinstance(runner, WorkerRunner):
                runner._send_stats()  # the drained events, before the master quits
                runner.send_message(DRAINED_MESSAGE, {"pid": os.getpid()})
        gevent.spawn(work)
    return handler


def _on_drained(state: dict[str, Any]) -> Callable[..., None]:
    def handler(environment: Environment, msg: Any, **_: Any) -> None:
        state.setdefault("drained", set()).add(msg.node_id)
    return handler


def _switch(environment: Environment, state: dict[str, Any], wave: WaveEntry) -> None:
    urls = state.get("urls", {})
    start = time.time()
    try:
        switch_wave((environment.host or "").rstrip("/"), urls["billing"], wave)
        exception = None
    except httpx.HTTPError as exc:
        exception = exc
    environment.events.request.fire(
        request_type="admin", name=f"wave switch {wave.legal_entity} → {wave.erp}",
        response_time=(time.time() - start) * 1000, response_length=0, response=None,
        context={}, exception=exception)


def _catalog(urls: dict[str, str], layer: str, entities: str) -> None:
    """The billing admin's price book: a plan and a metered add-on per currency."""
    wanted = [e.strip() for e in entities.split(",") if e.strip()]
    currencies = sorted({t.currency for t in TEMPLATES if not wanted or t.legal_entity in
                         wanted})
    with httpx.Client(timeout=30) as http:
        billing = Billing(Endpoints(simulators=urls, integration=layer), http)
        for currency in currencies:
            billing.catalog(currency, f"load-{os.getpid()}")


__all__ = ["BUSINESS", "FRANCE_WAVE", "INVOICE_POSTING", "PAYMENT_UPDATE", "CustomerUser",
           "Ledger", "LoadPlan", "OnboardingUser", "add_month", "install"]
