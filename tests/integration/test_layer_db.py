"""Persistence: the Alembic migrations build exactly the ORM's schema, on SQLite (default,
WAL) and on PostgreSQL (when 127.0.0.1:5432 answers; skipped with the reason otherwise)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from o2c_landscape import postgres_url
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import IntegrityError

from integration import records
from integration.db import Base, Database
from integration.db.tables import (
    CrossReference,
    CustomerRow,
    ErpPosting,
    ExceptionRecord,
    InvoiceRow,
)
from integration.routing import route, seed_wave_plan
from integration.settings import Settings


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'layer.db'}")
        yield db
        db.dispose()
        return
    url = postgres_url()
    if url is None:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432 (trust auth, database "
                    "'test', user postgres or root)")
    schema = f"o2c_{uuid.uuid4().hex[:12]}"  # one schema per test: xdist-safe
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(f"{url}?options=-csearch_path%3D{schema}")
    try:
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_migrations_build_the_orm_schema(database: Database) -> None:
    database.migrate()
    database.migrate()  # idempotent at head
    with database.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_unit_of_work_and_cross_references(database: Database) -> None:
    database.migrate()
    with database.session() as s:
        seed_wave_plan(s, Settings().wave_plan)
        s.add(CustomerRow(id="cus_" + "1" * 32, crm_account_id="001A", match_key="DE|acme|",
                          name="Acme GmbH", legal_entity="DE01", country="DE",
                          currency="EUR", email=None, tax_id=None, address={"country": "DE"},
                          status="received", sources={}, correlation_id="c-1"))
        records.link(s, "customer", "cus_" + "1" * 32, "billing", "cus_B1")
        # the same ERP document number in two fiscal years / company codes is fine
        records.link(s, "invoice", "inv_a", "cloud_erp", "2026/1800000000", "1010")
        records.link(s, "invoice", "inv_b", "cloud_erp", "2027/1800000000", "1010")
        records.link(s, "invoice", "inv_c", "legacy_erp", "9000000001", "1000")
        records.link(s, "invoice", "inv_d", "legacy_erp", "9000000001", "3000")
        records.step(s, "cus_" + "1" * 32, "customer.received", "crm")
    with database.session() as s:
        assert records.canonical_id(s, "customer", "billing", "cus_B1") == "cus_" + "1" * 32
        assert [t.step for t in records.timeline(s, "cus_B1")] == ["customer.received"]
        assert route(s, "DE01", datetime.now(UTC)).erp == "cloud_erp"
        assert s.get(CustomerRow, "cus_" + "1" * 32).created_at.tzinfo is not None
    with pytest.raises(IntegrityError), database.session() as s:
        s.add(InvoiceRow(id="inv_x", billing_invoice_id="in_1", customer_id="cus_" + "1" * 32,
                         legal_entity="DE01", currency="EUR", net_amount=1, status="draft",
                         hold_reasons=[], correlation_id="c"))
        s.add(InvoiceRow(id="inv_y", billing_invoice_id="in_1", customer_id="cus_" + "1" * 32,
                         legal_entity="DE01", currency="EUR", net_amount=1, status="draft",
                         hold_reasons=[], correlation_id="c"))
        s.flush()


def test_inbox_drops_a_second_delivery(database: Database) -> None:
    database.migrate()
    with database.session() as s:
        assert records.receive(s, "billing", "evt_1", "invoice.created", {"id": "evt_1"})
    with database.session() as s:
        assert not records.receive(s, "billing", "evt_1", "invoice.created", {"id": "evt_1"})


def _customer_and_invoice(database: Database) -> None:
    database.migrate()
    with database.session() as s:
        s.add(CustomerRow(id="cus_" + "2" * 32, crm_account_id="001B", match_key="US|b|",
                          name="B Inc", legal_entity="US01", country="US", currency="USD",
                          email=None, tax_id=None, address={"country": "US"},
                          status="received", sources={}, correlation_id="c-2"))
        s.flush()
        s.add(InvoiceRow(id="inv_1", billing_invoice_id="in_1", customer_id="cus_" + "2" * 32,
                         legal_entity="US01", currency="USD", net_amount=100, status="draft",
                         hold_reasons=[], correlation_id="c-2"))


def test_save_writes_at_once_and_leaves_the_flush_nothing(database: Database) -> None:
    """``records.save``: one UPDATE now; the loaded row shows the values as its committed
    state (nothing dirty for the flush); ``updated_at`` gets its ``onupdate`` as in a
    flush."""
    _customer_and_invoice(database)
    with database.session() as s:
        row = s.get_one(InvoiceRow, "inv_1")
        before = row.updated_at
        records.save(s, row, status="held", hold_reasons=["tax"], tax_amount=19)
        assert (row.status, row.hold_reasons, row.tax_amount) == ("held", ["tax"], 19)
        assert not s.dirty
        # the same transaction sees it before the commit
        assert s.scalar(select(InvoiceRow.status).where(InvoiceRow.id == "inv_1")) == "held"
    with database.session() as s:
        row = s.get_one(InvoiceRow, "inv_1")
        assert (row.status, row.hold_reasons, row.tax_amount) == ("held", ["tax"], 19)
        assert row.updated_at > before
    with pytest.raises(RuntimeError), database.session() as s:  # rolled back with its unit
        records.save(s, s.get_one(InvoiceRow, "inv_1"), status="posted")
        raise RuntimeError("the unit fails")
    with database.session() as s:
        assert s.get_one(InvoiceRow, "inv_1").status == "held"


def test_core_writes_and_reads_see_the_units_orm_objects(database: Database) -> None:
    """``records.read`` and ``resolve_exceptions`` flush the unit's pending ORM objects first
    (as an ORM query's autoflush would); ``insert_row`` applies column defaults."""
    _customer_and_invoice(database)
    with database.session() as s:
        records.exception(s, "in_1", "tax_mismatch", "tax", "pending, not flushed")
        records.exception(s, "in_1", "erp_posting_delayed", "cloud_erp", "stays open")
        records.resolve_exceptions(s, "in_1", "tax_mismatch", "amount_mismatch")
        records.insert_row(s, ErpPosting, billing_invoice_id="in_1", erp="cloud_erp",
                           company_code="1010", status="attempting", correlation_id="c-2")
    with database.session() as s:
        open_kinds = s.scalars(select(ExceptionRecord.kind).where(
            ExceptionRecord.business_key == "in_1", ExceptionRecord.resolved.is_(False)))
        assert list(open_kinds) == ["erp_posting_delayed"]
        ledger = s.get_one(ErpPosting, "in_1")
        assert (ledger.attempts, ledger.created_at.tzinfo is not None) == (0, True)
    with database.session() as s:
        s.add(CrossReference(entity="invoice", canonical_id="inv_1", system="billing",
                             external_id="in_1", scope="", correlation_id="c-2"))
        assert records.canonical_id(s, "invoice", "billing", "in_1") == "inv_1"  # pending
        records.link(s, "invoice", "inv_1", "billing", "in_1b")  # moves the pending one
        assert records.external_id(s, "invoice", "inv_1", "billing") == "in_1b"
    with database.session() as s:
        assert records.references(s, "invoice", "inv_1") == {"billing": "in_1b"}
