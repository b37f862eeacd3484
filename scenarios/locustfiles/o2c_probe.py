"""The business-latency probe of the o2c Locust files: it reads the simulators' facts and
fires Locust request events named ``invoice-posting`` and ``payment-update``.

Latencies (milliseconds, from the simulators' ``wall_at`` — their clock with any advance
taken out, so billing's month-end clock jumps do not distort them):

- ``invoice-posting`` = billing ``invoice.finalized`` → ERP ``invoice.posted`` (the ERP fact is
  keyed by the external reference: the invoice number; the billing id is accepted too);
  a posting in another ERP or company code than the wave plan says is a failure.
- ``payment-update`` = gateway ``payment.authorised`` → the later of billing ``invoice.paid``
  and ERP ``payment.cleared``.

Each Locust process measures the invoices of the customers its own users won (its
:class:`Ledger`), so ``--processes``/workers never count an invoice twice. Every sample also
goes to ``<--o2c-samples>/business-<pid>.csv`` (exact values; Locust's tables round them).
Imports locust: run by Locust only.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import logging
import os
import random
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gevent
import httpx
from locust.env import Environment

from scenarios import WaveEntry
from scenarios.definitions import TEMPLATES, Account
from scenarios.layer_auth import LayerAuth

INVOICE_POSTING = "invoice-posting"
PAYMENT_UPDATE = "payment-update"
BUSINESS = "business"  # the request_type of business-latency events
ERPS = ("cloud_erp", "legacy_erp")
SAMPLE_FIELDS = ("latency", "key", "number", "erp", "company_code", "start_wall", "end_wall",
                 "latency_ms", "error")
logging.getLogger("httpx").setLevel(logging.WARNING)  # the probe polls several times a second


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
        # the layer's API wants the harness' bearer token (O2C_LAYER_* from harness load)
        self.layer_auth = LayerAuth.from_env(self.layer)
        self.http = httpx.Client(timeout=15, auth=self.layer_auth)
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
    if expected is not None and (expected.erp, expected.company_code) != (erp, company):
        # judge against the current plan: a wave switched since the last refresh is not a
        # misroute (a posting that still disagrees after the refresh is one)
        refresh_plan(ledger)
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
