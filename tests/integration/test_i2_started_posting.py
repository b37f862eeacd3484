"""A posting once started keeps its ERP (integration/routing.py) — and the customer number it
sends is the customer's number in *that* ERP, even after the wave plan moved the legal
entity to another ERP retroactively (PUT /routing with an effective date before the invoice's
finalization)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from o2c_layer import refusing_layer
from sqlalchemy import delete, select

from integration import records
from integration.db.tables import CrossReference, ErpPosting, ExceptionRecord
from integration.flows.month_end import post_invoice
from integration.routing import replace_wave_plan
from integration.services import Services
from integration.settings import WavePlanEntry

INVOICE = "in_started0001"
FINALIZED = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[tuple[Services, list[httpx.Request]]]:
    with refusing_layer(tmp_path / "layer.db", INVOICE, "s1", tax_transaction_code=INVOICE,
                        tax_company_code="O2C-US", billing_finalized_at=FINALIZED) as layer:
        built, _ = layer
        with built.db.session() as session:
            records.link(session, "customer", "cus_s1", "legacy_erp", "C0000042", "1000")
            records.link(session, "customer", "cus_s1", "cloud_erp", "17100042", "1710")
            # the legal entity moved to the cloud ERP, effective before the finalization
            replace_wave_plan(session, [WavePlanEntry(
                legal_entity="US01", erp="cloud_erp", company_code="1710",
                effective_at=FINALIZED - timedelta(days=30))])
            # ... after its posting to the legacy ERP had started (by this process)
            session.add(ErpPosting(billing_invoice_id=INVOICE, erp="legacy_erp",
                                   company_code="1000", status="attempting", attempts=1,
                                   correlation_id="corr-s1",
                                   updated_at=built.started_at + timedelta(seconds=1)))
        yield layer


def test_a_started_posting_is_retried_in_its_erp_for_its_customer_there(
        services: tuple[Services, list[httpx.Request]]) -> None:
    layer, sent = services
    asyncio.run(post_invoice(layer, INVOICE))
    assert sent, "the retry sent nothing"
    assert {r.url.path for r in sent} == {"/soap/LegacyErp"}  # never the cloud ERP
    first = sent[0].content
    assert b"GetOpenItems" in first  # a retry looks up first (the legacy ERP: no idempotency)
    assert b"C0000042" in first and b"17100042" not in first
    with layer.db.session() as session:
        ledger = session.get_one(ErpPosting, INVOICE)
        assert (ledger.erp, ledger.company_code, ledger.attempts) == ("legacy_erp", "1000", 2)


def test_a_started_posting_without_its_customer_there_waits_in_the_dlq(
        services: tuple[Services, list[httpx.Request]]) -> None:
    layer, sent = services
    with layer.db.session() as session:
        session.execute(delete(CrossReference).where(CrossReference.system == "legacy_erp"))
    asyncio.run(post_invoice(layer, INVOICE))
    assert sent == []  # not sent under the cloud ERP's customer number, nor to the cloud ERP
    with layer.db.session() as session:
        flagged = session.scalars(select(ExceptionRecord).where(
            ExceptionRecord.business_key == INVOICE)).all()
        assert [(e.kind, e.system) for e in flagged] == [("erp_customer_missing", "legacy_erp")]
