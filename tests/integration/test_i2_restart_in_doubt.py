"""A posting a killed process left ``attempting`` is in doubt after a restart: the ERP may
still book the request that process had sent (the legacy ERP has no idempotency), so the
restarted layer sends nothing at once — it looks the posting up after ``in_doubt_after_s``
and re-posts only what was not booked. A posting this process started is not in doubt."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from o2c_layer import refusing_layer
from sqlalchemy import select

from integration.db.tables import ErpPosting, ExceptionRecord
from integration.flows.month_end import _post
from integration.services import Services

INVOICE = "in_restart0001"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[tuple[Services, list[httpx.Request]]]:
    with refusing_layer(tmp_path / "layer.db", INVOICE, "r1") as layer:
        yield layer


def _ledger(services: Services, updated_at: datetime) -> None:
    with services.db.session() as session:
        session.add(ErpPosting(billing_invoice_id=INVOICE, erp="legacy_erp",
                               company_code="1000", status="attempting", attempts=1,
                               correlation_id="corr-r1", updated_at=updated_at))


def _post_now(services: Services) -> None:
    asyncio.run(_post(services, INVOICE, "legacy_erp", "1000", "C0001",
                      datetime.now(UTC)))


def test_an_attempt_of_a_killed_process_is_in_doubt_not_reposted(
        services: tuple[Services, list[httpx.Request]]) -> None:
    layer, sent = services
    attempted = layer.started_at - timedelta(seconds=5)  # before this process started
    _ledger(layer, attempted)
    _post_now(layer)
    assert sent == []  # nothing sent: neither a blind re-post nor an early look-up
    with layer.db.session() as session:
        ledger = session.get_one(ErpPosting, INVOICE)
        assert (ledger.status, ledger.attempts) == ("in_doubt", 1)
        assert ledger.updated_at == attempted  # in doubt since the attempt, not the restart
        kinds = list(session.scalars(select(ExceptionRecord.kind).where(
            ExceptionRecord.business_key == INVOICE)))
        assert kinds == ["erp_posting_in_doubt"]

    _post_now(layer)  # the sweep, after in_doubt_after_s: look up first (attempts > 1)
    assert [r.url.path for r in sent][:1] == ["/soap/LegacyErp"]
    assert b"GetOpenItems" in sent[0].content


def test_an_attempt_of_this_process_is_tried_again(
        services: tuple[Services, list[httpx.Request]]) -> None:
    layer, sent = services
    _ledger(layer, layer.started_at + timedelta(seconds=1))
    _post_now(layer)
    assert sent  # retried (with its look-up first), not parked as in doubt
    assert b"GetOpenItems" in sent[0].content
    with layer.db.session() as session:
        assert session.get_one(ErpPosting, INVOICE).status != "in_doubt"
