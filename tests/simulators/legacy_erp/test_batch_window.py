"""The nightly batch window (22:00-06:00 UTC here) driven by the simulator clock."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import zeep
import zeep.exceptions

from simulators._kit import ThreadedServer
from simulators.legacy_erp import BatchWindow, Config

from .conftest import advance_to_utc, fault_code, invoice, make_client, serve


def _server(outside: str) -> Iterator[ThreadedServer]:
    window = BatchWindow(start="22:00", end="06:00", tz="UTC", outside=outside)  # type: ignore[arg-type]
    yield from serve(Config(default_latency_ms=0, batch_window=window))


@pytest.fixture(scope="module")
def refusing() -> Iterator[ThreadedServer]:
    yield from _server("refuse")


@pytest.fixture(scope="module")
def queueing() -> Iterator[ThreadedServer]:
    yield from _server("queue")


def _setup(server: ThreadedServer) -> tuple[zeep.Client, httpx.Client, str]:
    admin = httpx.Client(base_url=server.url, timeout=10)
    admin.post("/_sim/reset").raise_for_status()
    client = make_client(server)
    number = client.service.CreateCustomer(Name="Night Owl Ltd", Country="US", Currency="USD",
                                           CompanyCode="1000")
    return client, admin, number


def test_outside_the_window_postings_are_refused(refusing: ThreadedServer) -> None:
    client, admin, number = _setup(refusing)
    advance_to_utc(admin, 12)
    with pytest.raises(zeep.exceptions.Fault) as err:
        client.service.PostInvoice(**invoice(number, "in_DAY"))
    assert fault_code(err.value) == "BATCH_WINDOW_CLOSED"
    assert err.value.code == "soap:Server"
    with pytest.raises(zeep.exceptions.Fault) as err:
        client.service.ApplyPayment(CompanyCode="1000", CustomerNumber=number,
                                    ExternalReference="in_DAY", Amount="1.00", Currency="USD",
                                    PaymentDate="2024-03-02", PaymentReference="pi")
    assert fault_code(err.value) == "BATCH_WINDOW_CLOSED"
    # reading is always allowed
    assert client.service.GetOpenItems(CompanyCode="1000") == []

    advance_to_utc(admin, 22, 30)
    posted = client.service.PostInvoice(**invoice(number, "in_DAY"))
    assert posted.Status == "POSTED"
    admin.close()


def test_outside_the_window_postings_are_queued_and_booked_when_it_opens(
        queueing: ThreadedServer) -> None:
    client, admin, number = _setup(queueing)
    advance_to_utc(admin, 9)
    queued = client.service.PostInvoice(**invoice(number, "in_NIGHT"))
    assert queued.Status == "QUEUED" and queued.QueueTicket and queued.DocumentNumber is None
    paid = client.service.ApplyPayment(CompanyCode="1000", CustomerNumber=number,
                                       ExternalReference="in_NIGHT", Amount="108.25",
                                       Currency="USD", PaymentDate="2024-03-02",
                                       PaymentReference="pi_n")
    assert paid.Status == "QUEUED"
    [item] = client.service.GetOpenItems(CompanyCode="1000", ExternalReference="in_NIGHT")
    assert (item.Status, item.QueueTicket) == ("QUEUED", queued.QueueTicket)
    nothing = admin.get("/_sim/await", params={"kind": "invoice.posted", "key": "in_NIGHT",
                                               "timeout": 0})
    assert nothing.json()["matched"] is False

    opened = advance_to_utc(admin, 22, 0)
    posted = admin.get("/_sim/await", params={"kind": "invoice.posted", "key": "in_NIGHT",
                                              "timeout": 5}).json()
    assert posted["matched"] and posted["fact"]["at"] >= opened.timestamp()
    assert posted["fact"]["data"]["queue_ticket"] == queued.QueueTicket
    cleared = admin.get("/_sim/await", params={"kind": "payment.cleared", "key": "in_NIGHT",
                                               "timeout": 5}).json()
    assert cleared["matched"]
    queue = admin.get("/_sim/legacy/queue").json()
    assert queue["window_open"] is True
    assert [e["Status"] for e in queue["data"]] == ["BOOKED", "BOOKED"]
    [item] = client.service.GetOpenItems(CompanyCode="1000", ExternalReference="in_NIGHT",
                                         IncludeCleared=True)
    assert (item.Status, item.DocumentNumber) == ("CLEARED", "9000000001")
    admin.close()


def test_a_queued_payment_that_cannot_be_booked_is_marked_failed(
        queueing: ThreadedServer) -> None:
    client, admin, number = _setup(queueing)
    advance_to_utc(admin, 7)
    ticket = client.service.ApplyPayment(CompanyCode="1000", CustomerNumber=number,
                                         ExternalReference="in_NEVER", Amount="5.00",
                                         Currency="USD", PaymentDate="2024-03-02",
                                         PaymentReference="pi_f").QueueTicket
    advance_to_utc(admin, 23)
    [entry] = [e for e in admin.get("/_sim/legacy/queue").json()["data"]
               if e["QueueTicket"] == ticket]
    assert entry["Status"] == "FAILED"
    assert entry["error"]["Code"] == "DOCUMENT_NOT_FOUND"
    admin.close()


def test_window_spanning_midnight_and_validation() -> None:
    window = BatchWindow(start="22:00", end="06:00", tz="Europe/Berlin")
    # 2024-01-15 21:30 UTC is 22:30 in Berlin (open); 12:00 UTC is 13:00 (closed)
    assert window.is_open(1705354200)
    assert not window.is_open(1705320000)
    assert BatchWindow(start="00:00", end="00:00").is_open(1705320000)
    with pytest.raises(ValueError):
        BatchWindow(start="25:00")
    with pytest.raises(ValueError):
        BatchWindow(tz="Mars/Olympus")
