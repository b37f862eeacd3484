"""What every o2c Locust file shares: the customer users, the month-end closer, the wave
switch, and the wiring of the business-latency probe (``o2c_probe``) into Locust's events.

Runs inside Locust only (it imports locust, which patches the interpreter with gevent): the
harness starts it in a subprocess (``harness load``); by hand::

    locust -f scenarios/locustfiles/month_end.py --host http://127.0.0.1:8100 \\
        --o2c-urls billing=http://127.0.0.1:8102,payments=...,cloud_erp=...,legacy_erp=...
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gevent
import httpx
from locust import FastHttpUser, between, events, task
from locust import stats as locust_stats
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner
from o2c_probe import (
    BUSINESS,
    INVOICE_POSTING,
    PAYMENT_UPDATE,
    Invoice,
    Ledger,
    Owned,
    Payment,
    drain,
    ledger_of,
    probe_loop,
)

from scenarios import FRANCE_WAVE, Credentials, Endpoints, WaveEntry
from scenarios.actors import SF_VERSION, Billing
from scenarios.definitions import TEMPLATES
from scenarios.layer_auth import LayerAuth

DRAIN_MESSAGE, DRAINED_MESSAGE = "o2c-drain", "o2c-drained"


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


def layer_headers(ledger: Ledger) -> dict[str, str]:
    """The harness' bearer token for a call to the layer's API (none when not configured)."""
    return ledger.layer_auth.headers() if ledger.layer_auth is not None else {}


def switch_wave(layer: str, billing_url: str, wave: WaveEntry) -> WaveEntry:
    """The migration team's cut-over: from billing's now on, ``wave`` applies."""
    with httpx.Client(timeout=30, auth=LayerAuth.from_env(layer)) as http:
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
            headers={"Idempotency-Key": f"sub-{external}", **layer_headers(ledger)})
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
                                 headers=layer_headers(ledger_of(self.environment)),
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
        self.client.post("/usage", name="POST /usage", headers=layer_headers(ledger), json={
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
