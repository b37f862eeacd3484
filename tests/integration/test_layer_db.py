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
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from integration import records
from integration.db import Base, Database
from integration.db.tables import CustomerRow, InvoiceRow
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
