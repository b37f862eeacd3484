"""The transactional outbox and its relay (issue 8): an event exists iff its state change
committed; the relay publishes in order per business key, holds a key back when its event
cannot be published, and publishes what a killed process left behind. The same tests run on
PostgreSQL when 127.0.0.1:5432 answers. The RabbitMQ path delivers every event although its
connection is cut mid-run, on the wire (a TCP proxy) and by the broker (``rabbitmqctl
close_connection``); skipped with the reason when no broker answers."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from o2c_landscape import BROKER, broker_answers, postgres_url
from sqlalchemy import create_engine, func, select, text

from harness.canonical import CustomerOnboarded, Erp, Event
from integration import correlation
from integration.bus import LocalPublisher
from integration.db import Database
from integration.db.reliability_tables import OutboxEntry
from integration.db.tables import EventRecord
from integration.events import EventBus
from integration.outbox import OutboxRelay


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'outbox.db'}")
        database.migrate()
        yield database
        database.dispose()
        return
    url = postgres_url()
    if url is None:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432 (trust auth, database "
                    "'test', user postgres or root)")
    schema = f"o2c_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(f"{url}?options=-csearch_path%3D{schema}")
    database.migrate()
    try:
        yield database
    finally:
        database.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _onboarded(n: int) -> CustomerOnboarded:
    return CustomerOnboarded(customer_id=f"cus_{n}", crm_account_id=f"001{n:015d}",
                             billing_customer_id=f"cus_b{n}", erp=Erp("cloud_erp"),
                             company_code="1010", erp_customer_id=f"{1000 + n}")


def _emit(db: Database, bus: EventBus, key: str, n: int) -> str:
    with correlation.bound(correlation.start()), db.session() as session:
        return bus.emit(session, key, _onboarded(n)).id


def test_event_is_written_with_its_state_change_or_not_at_all(db: Database) -> None:
    bus = EventBus()
    with pytest.raises(RuntimeError), correlation.bound(correlation.start()), \
            db.session() as session:
        bus.emit(session, "cus_1", _onboarded(1))
        raise RuntimeError("the state change failed")
    event_id = _emit(db, bus, "cus_2", 2)
    with db.session() as session:
        assert list(session.scalars(select(EventRecord.id))) == [event_id]
        entry = session.scalar(select(OutboxEntry))
        assert entry is not None and entry.event_id == event_id and entry.published_at is None


class FlakyPublisher:
    """Refuses the first publication of each event id in ``fail_once``."""

    def __init__(self, fail_once: set[str]) -> None:
        self.fail_once = fail_once
        self.delivered: list[Event] = []

    async def publish(self, event: Event) -> None:
        if event.id in self.fail_once:
            self.fail_once.discard(event.id)
            raise ConnectionError("broker unavailable")
        self.delivered.append(event)

    async def aclose(self) -> None:
        return None


def test_relay_keeps_order_per_business_key(db: Database) -> None:
    bus = EventBus()
    a1, b1, a2, b2 = (_emit(db, bus, key, n) for n, key in enumerate("abab"))
    publisher = FlakyPublisher({a1})
    relay = OutboxRelay(db, publisher, batch=3)  # several batches, too

    assert asyncio.run(relay.flush()) == 2  # a is held back behind a1; b goes on
    assert [e.id for e in publisher.delivered] == [b1, b2]
    assert relay.pending() == 2
    assert asyncio.run(relay.flush()) == 2
    assert [e.id for e in publisher.delivered] == [b1, b2, a1, a2]
    assert relay.pending() == 0
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(EventRecord).where(
            EventRecord.published_at.is_(None))) == 0
        failed = session.scalar(select(OutboxEntry).where(OutboxEntry.event_id == a1))
        assert failed is not None and failed.attempts == 2
        assert failed.last_error and "broker unavailable" in failed.last_error


def test_events_left_by_a_killed_process_are_published_after_restart(db: Database) -> None:
    bus = EventBus()
    ids = [_emit(db, bus, f"cus_{n}", n) for n in range(3)]  # committed, never published
    restarted = Database(db.url)
    try:
        publisher = LocalPublisher([])
        asyncio.run(OutboxRelay(restarted, publisher).flush())
        assert [e.id for e in publisher.published] == ids
        assert asyncio.run(publisher.publish(publisher.published[0])) is None
        assert len(publisher.published) == 3  # a re-published id is dropped
    finally:
        restarted.dispose()


# -- RabbitMQ -------------------------------------------------------------------------------



class CuttableProxy:
    """A TCP proxy to the broker whose open connections the test can cut at will."""

    def __init__(self) -> None:
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None
        self.cuts = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*BROKER)
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        self.cuts += 1
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def stop(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()


NO_BROKER = "RabbitMQ not reachable on 127.0.0.1:5672 (amqp://guest:guest@)"
CUT_AFTER = (20, 40)  # published events after which the broker connection dies


async def _relay_through_cuts(db: Database, ids: list[str], exchange: str, url: str,
                              connection_name: str,
                              cut: Callable[[], Awaitable[None]]) -> tuple[list[str], int]:
    """Relay the outbox to the broker, cutting the connection after each of CUT_AFTER
    publications; returns the event ids a consumer received and the dead-lettered count."""
    import aio_pika

    from integration.bus.rabbitmq import RabbitPublisher, declare_topology, event_from_message

    publisher = RabbitPublisher(url, exchange, timeout_s=5, connection_name=connection_name)
    published = 0
    real_publish = publisher.publish

    async def publish_then_cut(event: Event) -> None:
        nonlocal published
        await real_publish(event)
        published += 1
        if published in CUT_AFTER:
            await cut()

    publisher.publish = publish_then_cut  # type: ignore[method-assign]
    relay = OutboxRelay(db, publisher, batch=25)
    consumer = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    try:
        channel = await consumer.channel()
        await declare_topology(channel, exchange)
        queue = await channel.get_queue(f"{exchange}.all")
        dead = await channel.get_queue(f"{exchange}.dead")  # the DLX queue exists
        received: list[str] = []
        got_all = asyncio.Event()

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                event = event_from_message(message.body)
                assert event.id == message.message_id
                received.append(event.id)
                if set(ids) <= set(received):
                    got_all.set()

        await queue.consume(on_message)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while relay.pending() and loop.time() < deadline:
            await relay.flush()
        assert relay.pending() == 0, "the relay did not drain the outbox"
        await asyncio.wait_for(got_all.wait(), timeout=30)
        dead_count = (await dead.declare()).message_count or 0
        for name in (f"{exchange}.all", f"{exchange}.dead"):
            await channel.queue_delete(name)
        for name in (exchange, f"{exchange}.dlx"):
            await channel.exchange_delete(name)
        return received, dead_count
    finally:
        await publisher.aclose()
        await consumer.close()


def _assert_delivered(ids: list[str], received: list[str], dead: int, cuts: int) -> None:
    assert cuts == len(CUT_AFTER)
    assert set(received) == set(ids)  # every event delivered
    # at least once: a duplicate is possible only for an event whose confirm was lost
    assert len(received) - len(set(received)) <= cuts
    assert dead == 0
    # per business key, the first deliveries come in outbox order
    order = {event_id: i for i, event_id in enumerate(ids)}
    firsts = list(dict.fromkeys(received))
    for key in range(7):
        mine = [e for e in firsts if ids.index(e) % 7 == key]
        assert mine == sorted(mine, key=order.__getitem__)


def _outbox_of_60(tmp_path: Path) -> tuple[Database, list[str]]:
    db = Database(f"sqlite:///{tmp_path / 'outbox.db'}")
    db.migrate()
    bus = EventBus()
    return db, [_emit(db, bus, f"cus_{n % 7}", n) for n in range(60)]


@pytest.mark.skipif(not broker_answers(), reason=NO_BROKER)
def test_rabbitmq_delivers_every_event_when_the_connection_is_cut(tmp_path: Path) -> None:
    """The connection dies on the wire (a TCP proxy aborts it)."""
    db, ids = _outbox_of_60(tmp_path)
    exchange = f"o2c.test.{uuid.uuid4().hex[:10]}"

    async def run() -> tuple[list[str], int, int]:
        proxy = CuttableProxy()
        port = await proxy.start()

        async def cut() -> None:
            proxy.cut()

        try:
            received, dead = await _relay_through_cuts(
                db, ids, exchange, f"amqp://guest:guest@127.0.0.1:{port}/",
                f"o2c-test-{exchange}", cut)
            return received, dead, proxy.cuts
        finally:
            await proxy.stop()

    try:
        received, dead, cuts = asyncio.run(run())
    finally:
        db.dispose()
    _assert_delivered(ids, received, dead, cuts)


def _rabbitmqctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def _rabbitmqctl_usable() -> str | None:
    """Why the broker cannot be told to close a connection here (None: it can)."""
    if not broker_answers():
        return NO_BROKER
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl not installed"
    probe = _rabbitmqctl("list_connections", "--no-table-headers", "name")
    if probe.returncode != 0:
        return f"rabbitmqctl cannot reach the broker: {probe.stderr.strip()[:200]}"
    return None


@pytest.mark.slow  # ~17 s: each rabbitmqctl call boots an Erlang VM (~4 s), four calls
@pytest.mark.skipif(not broker_answers(), reason=NO_BROKER)
def test_rabbitmq_delivers_every_event_when_the_broker_closes_the_connection(
        tmp_path: Path) -> None:
    """The broker closes the layer's connection (``rabbitmqctl close_connection``, as an
    operator or a broker restart would), twice mid-run; the machine's RabbitMQ stays up."""
    why_not = _rabbitmqctl_usable()
    if why_not is not None:
        pytest.skip(why_not)
    db, ids = _outbox_of_60(tmp_path)
    exchange = f"o2c.test.{uuid.uuid4().hex[:10]}"
    name = f"o2c-test-{exchange}"
    closed: list[str] = []

    async def cut() -> None:
        listed = await asyncio.to_thread(_rabbitmqctl, "list_connections",
                                         "--no-table-headers", "pid", "client_properties")
        ours = [line.split("\t", 1)[0] for line in listed.stdout.splitlines()
                if f'{{"connection_name","{name}"}}' in line]
        assert len(ours) == 1, listed.stdout
        done = await asyncio.to_thread(_rabbitmqctl, "close_connection", ours[0],
                                       "o2c test: connection closed mid-run")
        assert done.returncode == 0, done.stderr
        closed.append(ours[0])

    try:
        received, dead = asyncio.run(_relay_through_cuts(
            db, ids, exchange, "amqp://guest:guest@127.0.0.1:5672/", name, cut))
    finally:
        db.dispose()
    assert len(set(closed)) == len(closed)  # each cut closed a new connection: reconnected
    _assert_delivered(ids, received, dead, len(closed))
