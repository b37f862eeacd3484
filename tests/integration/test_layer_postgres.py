"""The layer on PostgreSQL (by URL, psycopg 3): onboarding and its bookkeeping end to end.
Runs when 127.0.0.1:5432 answers; skipped with the reason otherwise."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from o2c_landscape import Landscape, landscape, postgres_url
from sqlalchemy import create_engine, text


@pytest.fixture(scope="module")
def on_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landscape]:
    url = postgres_url()
    if url is None:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432 (trust auth, database "
                    "'test', user postgres or root)")
    schema = f"o2c_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        with landscape(Path(tmp_path_factory.mktemp("pg")),
                       database_url=f"{url}?options=-csearch_path%3D{schema}") as running:
            yield running
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_onboarding_on_postgres(on_postgres: Landscape) -> None:
    scape = on_postgres
    assert scape.layer.get("/health").json()["database"] == "postgresql"
    r = scape.layer.post("/customers", headers={"Idempotency-Key": "pg-1"}, json={
        "crm_account_id": "001POSTGRES0000AAA", "name": "Postgres Pty Ltd",
        "legal_entity": "US01", "country": "US", "currency": "USD",
        "address": {"line1": "410 Terry Ave N", "city": "Seattle", "postal_code": "98109",
                    "country": "US"}})
    assert r.status_code == 201, r.text
    customer = r.json()
    assert customer["status"] == "onboarded" and customer["erp"] == "legacy_erp"
    replay = scape.layer.post("/customers", headers={"Idempotency-Key": "pg-1"}, json={
        "crm_account_id": "001POSTGRES0000AAA", "name": "Postgres Pty Ltd",
        "legal_entity": "US01", "country": "US", "currency": "USD",
        "address": {"line1": "410 Terry Ave N", "city": "Seattle", "postal_code": "98109",
                    "country": "US"}})
    assert replay.json() == customer
    timeline = scape.layer.get(f"/timeline/{customer['crm_account_id']}").json()
    assert timeline["correlation_ids"] == [customer["correlation_id"]]
    assert [s["step"] for s in timeline["steps"]][-1] == "customer.onboarded"
    legacy = scape.await_fact("legacy_erp", "customer.created",
                              customer["references"]["legacy_erp:1000"])
    assert legacy["count"] == 1
