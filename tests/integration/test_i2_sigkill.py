"""Crash safety (issue 8): the layer runs as its own process (uvicorn on the reference app,
SQLite file database) and is SIGKILLed in the middle of a month-end run, then restarted on
the same database and port. The systems of record then hold every invoice exactly once (ERP
documents per invoice number), every tax transaction is committed, and every event the layer
emitted was published (the outbox); with a RabbitMQ broker answering, the layer publishes
there and every event reaches the broker, duplicates only as the same message id (consumers
dedupe).

Kill point: the cloud ERP answers each posting after a delay, and the layer is killed once
half of the cloud ERP's cycle postings are facts of the cloud ERP (the others in flight or
not started). The legacy ERP is either down (503: no legacy posting can have happened) or
slow (its postings in flight, booked after the kill: the answers are lost); it recovers
after the restart. A posting a killed process left "attempting" is in doubt: the restarted
layer looks it up after ``in_doubt_after_s`` and re-posts only what was not booked.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from o2c_actors import billing_catalog, billing_client
from o2c_landscape import BROKER, SIM_KEYS, Landscape, broker_answers, sim_app, wait_for
from sqlalchemy import func, select

from harness.check import ProcessLayer
from integration.db import Database
from integration.db.reliability_tables import OutboxEntry
from integration.db.tables import EventRecord
from simulators._kit import serve_in_thread

JOURNAL = "*/API_O2C_JOURNALENTRY_SRV/A_JournalEntry"
PER_ERP = 3  # customers (and cycle invoices) per ERP
LEGACY_LATENCY_S = 6  # the slow legacy ERP books each request this long after receiving it



def layer_process(workdir: Path, urls: dict[str, str], **extra: str) -> ProcessLayer:
    """``uvicorn integration:create_app`` as a child process (harness.check's, as the crash
    cells run it), with short sweeps and retries so the test's month end settles quickly."""
    return ProcessLayer(urls, workdir, start_timeout_s=60, env={
        "O2C_LOG_LEVEL": "warning", "O2C_SWEEP_INTERVAL_S": "0.25",
        "O2C_CRM__POLL_INTERVAL_S": "0", "O2C_RETRY__WAIT_INITIAL_S": "0.05",
        "O2C_RETRY__WAIT_MAX_S": "0.3", "O2C_RETRY__WAIT_JITTER_S": "0.05",
        "O2C_RETRY__TIMEOUT_S": "3", "O2C_RETRY__ATTEMPTS": "4",
        # a tax commit the kill interrupted is picked up by the sweep after this long
        "O2C_RELIABILITY__REPLAY_PARKED_AFTER_S": "1",
        # a posting the kill interrupted is in doubt: looked up after this long (longer
        # than the slow legacy ERP takes to book a request sent before the kill)
        "O2C_LEGACY_ERP__IN_DOUBT_AFTER_S": str(LEGACY_LATENCY_S + 1), **extra})


@contextmanager
def process_landscape(tmp: Path, **layer_env: str) -> Iterator[tuple[Landscape, ProcessLayer]]:
    with ExitStack() as stack:
        urls = {name: stack.enter_context(serve_in_thread(
            sim_app(name, tick_interval_s=0.1), name=name)).url for name in SIM_KEYS}
        layer = layer_process(tmp, urls, **layer_env)
        stack.callback(layer.stop)
        scape = Landscape(urls={**urls, "layer": layer.url}, layer_url=layer.url,
                          layer_app=None)
        stack.callback(lambda: [c.close() for c in scape.clients.values()])
        yield scape, layer


ENTITIES = {
    "DE01": ("DE", "EUR", {"line1": "Unter den Linden 1", "city": "Berlin",
                           "postal_code": "10117", "country": "DE"}),
    "US01": ("US", "USD", {"line1": "410 Terry Ave N", "city": "Seattle",
                           "postal_code": "98109", "country": "US"}),
}


def _onboard(scape: Landscape, entity: str, n: int) -> dict[str, Any]:
    country, currency, address = ENTITIES[entity]
    r = scape.layer.post("/customers", headers={"Idempotency-Key": f"kill-{entity}-{n}"},
                         json={"crm_account_id": f"001KILL{entity}{n:09d}",
                               "name": f"Crash Test {entity} {n}", "legal_entity": entity,
                               "country": country, "currency": currency,
                               "address": address}, timeout=60)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _status(scape: Landscape, invoice_id: str) -> str | None:
    r = scape.layer.get(f"/invoices/{invoice_id}")
    return r.json()["status"] if r.status_code == 200 else None


def _facts(scape: Landscape, system: str, kind: str, since: float) -> list[dict[str, Any]]:
    return scape.sim(system).get("/_sim/facts", params={  # type: ignore[no-any-return]
        "kind": kind, "since": since}).json()["data"]


def _cloud_documents(scape: Landscape, company: str, reference: str) -> list[dict[str, Any]]:
    r = scape.sim("cloud_erp").get(
        "/sap/opu/odata/sap/API_O2C_JOURNALENTRY_SRV/A_JournalEntry",
        params={"sap-client": "100", "$format": "json",
                "$filter": f"CompanyCode eq '{company}' and DocumentReferenceID eq "
                           f"'{reference}'"},
        auth=("O2C_COMM_USER", "o2c-password"))
    assert r.status_code == 200, r.text
    return r.json()["d"]["results"]  # type: ignore[no-any-return]


def _legacy_documents(scape: Landscape, reference: str) -> list[dict[str, Any]]:
    return scape.sim("legacy_erp").get("/_sim/legacy/documents", params={  # type: ignore[no-any-return]
        "external_reference": reference}).json()["data"]


def _drain(exchange: str) -> list[tuple[str, str, str]]:
    """(message id, type, business key) of every message on the exchange's catch-all queue;
    the queues and exchanges are deleted afterwards."""
    import aio_pika

    async def run() -> list[tuple[str, str, str]]:
        connection = await aio_pika.connect(f"amqp://guest:guest@{BROKER[0]}:{BROKER[1]}/")
        try:
            channel = await connection.channel()
            queue = await channel.get_queue(f"{exchange}.all")
            got: list[tuple[str, str, str]] = []
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                got.append((str(message.message_id), str(message.type),
                            str((message.headers or {}).get("business_key"))))
            for name in (f"{exchange}.all", f"{exchange}.dead"):
                await channel.queue_delete(name)
            for name in (exchange, f"{exchange}.dlx"):
                await channel.exchange_delete(name)
            return got
        finally:
            await connection.close()

    return asyncio.run(run())


# ~50 s alone each: two layer processes (each start imports the layer, ~10 s on a busy 2-core
# machine) and a month end on six customers. On RabbitMQ when a broker answers
# (then the broker's deliveries are checked too), else on the in-process bus; the restart's
# relay of a killed process' outbox is also tested in test_reliability_outbox.py.
@pytest.mark.slow
@pytest.mark.parametrize("legacy", ["down", "slow"])
def test_sigkill_mid_month_end_loses_and_doubles_nothing(tmp_path: Path, legacy: str) -> None:
    """``down``: the legacy ERP refuses (503) during the month end, so at the kill no legacy
    posting can have happened. ``slow``: it books each request 6 s after receiving it, so
    postings are in flight at the kill and booked after it — their answers lost; the layer
    (no idempotency in that ERP) must look them up, never post them again."""
    bus = "rabbitmq" if broker_answers() else "in-process"
    extra: dict[str, str] = {}
    exchange = f"o2c.kill.{uuid.uuid4().hex[:10]}"
    if bus == "rabbitmq":
        extra = {"O2C_BUS_URL": f"amqp://guest:guest@{BROKER[0]}:{BROKER[1]}/",
                 "O2C_BUS_EXCHANGE": exchange}
    with process_landscape(tmp_path, **extra) as (scape, layer):
        catalog = {cur: billing_catalog(scape, cur) for cur in ("EUR", "USD")}
        customers = {entity: [_onboard(scape, entity, n) for n in range(PER_ERP)]
                     for entity in ENTITIES}
        subscriptions: list[tuple[dict[str, Any], str]] = []
        for entity, group in customers.items():
            currency = ENTITIES[entity][1]
            for customer in group:
                r = scape.layer.post("/subscriptions", json={
                    "customer_id": customer["id"],
                    "items": [{"plan": catalog[currency]["plan"]}]}, timeout=60)
                assert r.status_code == 201, r.text
                subscriptions.append((customer, r.json()["billing_subscription_id"]))
        billing = billing_client(scape)
        firsts = [wait_for(lambda c=c: next(iter(billing.v1.invoices.list(params={
            "customer": c["references"]["billing"]}).data), None), timeout=30,
            message="a first invoice") for c, _ in subscriptions]
        for first in firsts:  # the subscriptions' first invoices, before the month end
            wait_for(lambda i=first.id: _status(scape, i) == "posted", timeout=60,
                     message=f"first invoice {first.id} posted")

        # month end: the legacy ERP is down, the cloud ERP answers each posting late
        since = {erp: scape.sim(erp).get("/_sim/clock").json()["now"]
                 for erp in ("cloud_erp", "legacy_erp")}
        fault = {"kind": "error", "status": 503} if legacy == "down" else {
            "kind": "latency", "latency": {"ms": LEGACY_LATENCY_S * 1000}}
        assert scape.sim("legacy_erp").put("/_sim/faults", json={"seed": 1, "rules": [{
            "route": "/soap/LegacyErp", **fault}]}).status_code == 200
        assert scape.sim("cloud_erp").put("/_sim/faults", json={"seed": 2, "rules": [{
            "kind": "latency", "route": JOURNAL, "methods": ["POST"],
            "latency": {"ms": 700}}]}).status_code == 200
        ends = [billing.v1.subscriptions.retrieve(s)["items"]["data"][0]["current_period_end"]
                for _, s in subscriptions]
        scape.sim("billing").post("/_sim/clock/advance", json={"to": max(ends) + 60})

        wait_for(lambda: len(_facts(scape, "cloud_erp", "invoice.posted",
                                    since["cloud_erp"])) >= PER_ERP // 2 + 1, timeout=90,
                 message="half of the cloud ERP's month-end postings")
        assert layer.kill() == -signal.SIGKILL
        legacy_at_kill = len(_facts(scape, "legacy_erp", "invoice.posted", since["legacy_erp"]))
        cloud_at_kill = len(_facts(scape, "cloud_erp", "invoice.posted", since["cloud_erp"]))
        if legacy == "down":  # mid-run: no legacy posting can have happened yet
            assert legacy_at_kill == 0
        else:  # mid-run: the legacy ERP had not booked everything when the layer died
            assert legacy_at_kill < PER_ERP
        layer.restart()
        scape.sim("legacy_erp").delete("/_sim/faults")
        scape.sim("cloud_erp").delete("/_sim/faults")

        cycle = {}
        for customer, _ in subscriptions:
            cycle[customer["id"]] = wait_for(lambda c=customer: next((
                i for i in billing.v1.invoices.list(params={
                    "customer": c["references"]["billing"]}).data
                if i.billing_reason == "subscription_cycle"), None), timeout=60,
                message="the cycle invoice")
        for invoice in cycle.values():
            wait_for(lambda i=invoice.id: _status(scape, i) == "posted", timeout=120,
                     message=f"cycle invoice {invoice.id} posted after the restart")

        # every invoice exactly once, in its ERP only
        for invoice in [*firsts, *cycle.values()]:
            view = scape.layer.get(f"/invoices/{invoice.id}").json()
            number = view["number"]
            legacy_docs = _legacy_documents(scape, number)
            cloud_docs = _cloud_documents(scape, "1010", number[:16])
            if view["erp"] == "cloud_erp":
                assert (len(cloud_docs), len(legacy_docs)) == (1, 0), (number, cloud_docs)
            else:
                assert (view["erp"], len(legacy_docs), len(cloud_docs)) == (
                    "legacy_erp", 1, 0), (number, legacy_docs)
            assert scape.await_fact(view["erp"], "invoice.posted", number)["count"] == 1
        assert cloud_at_kill <= PER_ERP
        # every tax transaction committed, also one whose commit the kill interrupted
        for invoice in [*firsts, *cycle.values()]:
            wait_for(lambda i=invoice.id: scape.layer.get(f"/invoices/{i}").json()[
                "tax_committed"], timeout=30, message=f"tax of {invoice.id} committed")
            assert scape.await_fact("tax", "transaction.committed", invoice.id)["count"] >= 1
        assert len(_facts(scape, "cloud_erp", "invoice.posted", since["cloud_erp"])) == PER_ERP
        assert len(_facts(scape, "legacy_erp", "invoice.posted", since["legacy_erp"])) == \
            PER_ERP

        # every event emitted once and published (the restarted relay drained the outbox)
        database = Database(layer.database_url)
        try:
            def outbox_drained() -> bool:
                with database.session() as session:
                    return session.scalar(select(func.count()).select_from(OutboxEntry).where(
                        OutboxEntry.published_at.is_(None))) == 0
            wait_for(outbox_drained, timeout=30, message="the outbox drained")
            with database.session() as session:
                posted = Counter(session.scalars(select(EventRecord.business_key).where(
                    EventRecord.type == "invoice.posted")))
                unpublished = session.scalar(select(func.count()).select_from(
                    EventRecord).where(EventRecord.published_at.is_(None)))
                events = {e.id: (e.type, e.business_key)
                          for e in session.scalars(select(EventRecord))}
        finally:
            database.dispose()
        assert posted == Counter({i.id: 1 for i in [*firsts, *cycle.values()]})
        assert unpublished == 0
    if bus == "rabbitmq":
        delivered = _drain(exchange)
        assert {m for m, _, _ in delivered} == set(events)  # nothing lost
        for message_id, kind, key in delivered:  # a duplicate is the same event again
            assert events[message_id] == (kind, key)
