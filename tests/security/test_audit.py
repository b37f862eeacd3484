"""The audit trail (issue 15, S1-A): who (client id) did what (command, DLQ replay, routing
change, refusal) to what, with what outcome, when, under which correlation id; append-only
(the database refuses UPDATE and DELETE: SQLite and, when reachable, PostgreSQL) and queryable
with filters and keyset paging (``GET /audit``, scope ``audit:read``)."""

from __future__ import annotations

import ast
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from integration import Settings, create_app
from integration.auth_settings import HARNESS_CLIENT_ID, HARNESS_CLIENT_SECRET
from integration.db import Database

ROOT = Path(__file__).resolve().parents[2]
OPS = {"client_id": "ops-team", "client_secret": "test-ops-secret",
       "scopes": ["routing:read", "routing:admin", "dlq:read", "dlq:replay"]}


class As:
    """Requests through the one test client, as one OAuth2 client (its bearer token)."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Any:
        return self.request("PUT", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("audit") / "audit.db"
    settings = Settings(database_url=f"sqlite:///{db}", register_webhooks=False,
                        log_level="warning", crm={"poll_interval_s": 0}, sweep_interval_s=60,
                        auth={"signing_key": "a" * 40, "clients": [
                            {"client_id": HARNESS_CLIENT_ID,
                             "client_secret": HARNESS_CLIENT_SECRET}, OPS]})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _as(client: TestClient, client_id: str, secret: str) -> As:
    r = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                          "client_id": client_id, "client_secret": secret})
    assert r.status_code == 200, r.text
    return As(client, {"Authorization": f"Bearer {r.json()['access_token']}"})


@pytest.fixture(scope="module")
def auditor(client: TestClient) -> As:
    return _as(client, HARNESS_CLIENT_ID, HARNESS_CLIENT_SECRET)


@pytest.fixture(scope="module")
def ops(client: TestClient) -> As:
    return _as(client, OPS["client_id"], OPS["client_secret"])


def _entries(auditor: As, **params: Any) -> list[dict[str, Any]]:
    r = auditor.get("/audit", params=params)
    assert r.status_code == 200, r.text
    return r.json()["entries"]  # type: ignore[no-any-return]


def test_a_routing_change_is_audited_with_client_outcome_and_correlation(
        ops: As, auditor: As) -> None:
    plan = ops.get("/routing").json()
    started = datetime.now(UTC) - timedelta(seconds=1)
    r = ops.put("/routing", json={"entries": plan},
                headers={"X-Correlation-ID": "audit-routing-1"})
    assert r.status_code == 200
    [entry] = _entries(auditor, correlation_id="audit-routing-1")
    assert entry["client_id"] == "ops-team" and entry["action"] == "routing.change"
    assert entry["method"] == "PUT" and entry["target"] == "/routing"
    assert entry["outcome"] == "ok" and entry["status"] == 200
    at = datetime.fromisoformat(entry["at"])
    assert started <= at <= datetime.now(UTC)
    # reads are not audited (by default)
    assert _entries(auditor, client_id="ops-team", action="GET /routing") == []


def test_dlq_replays_are_audited_even_when_refused(ops: As,
                                                   auditor: As) -> None:
    assert ops.post("/dlq/424242/replay", json={"actor": "alice"}).status_code == 404
    assert ops.post("/dlq/replay", params={"reason": "erp_posting_rejected"}).status_code == 200
    replays = _entries(auditor, client_id="ops-team", action="dlq.replay")
    assert [(e["target"], e["status"], e["outcome"]) for e in replays] == [
        ("/dlq/424242/replay", 404, "refused"),
        ("/dlq/replay?reason=erp_posting_rejected", 200, "ok")]
    assert ops.post("/dlq/424242/compensate").status_code == 404
    assert [e["action"] for e in _entries(auditor, target="/dlq/424242/compensate")] == [
        "dlq.compensate"]


def test_a_customer_command_is_audited(auditor: As) -> None:
    # a legal entity the wave plan does not route: refused before any vendor call
    r = auditor.post("/customers", json={
        "crm_account_id": "001AUDIT0000000001", "name": "Nowhere Ltd", "legal_entity": "ZZ01",
        "country": "US", "currency": "USD"})
    assert r.status_code == 409
    [entry] = _entries(auditor, action="customer.onboard")
    assert entry["target"] == "customer 001AUDIT0000000001"
    assert (entry["client_id"], entry["outcome"], entry["status"]) == \
        (HARNESS_CLIENT_ID, "refused", 409)


def test_refused_requests_and_token_requests_are_audited(client: TestClient, ops: As,
                                                         auditor: As) -> None:
    anonymous = As(client, {})
    assert anonymous.put("/routing", json={"entries": []}).status_code == 401
    assert ops.get("/audit").status_code == 403  # ops-team has no audit:read
    assert anonymous.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "ops-team",
        "client_secret": "guess"}).status_code == 401
    denied = _entries(auditor, outcome="denied")
    seen = {(e["client_id"], e["action"], e["status"]) for e in denied}
    assert ("anonymous", "routing.change", 401) in seen
    assert ("ops-team", "GET /audit", 403) in seen
    assert ("ops-team", "auth.token", 401) in seen
    issued = _entries(auditor, action="auth.token", outcome="ok", client_id="ops-team")
    assert issued and "dlq:replay" in issued[0]["detail"]
    assert all("guess" not in e["detail"] for e in _entries(auditor, limit=1000))


def test_filters_and_keyset_paging(auditor: As) -> None:
    everything = _entries(auditor, limit=1000)
    assert len(everything) >= 6
    ids = [e["id"] for e in everything]
    assert ids == sorted(ids)  # oldest first
    pages: list[int] = []
    after = 0
    while True:
        page = auditor.get("/audit", params={"limit": 2, "after_id": after}).json()
        pages.extend(e["id"] for e in page["entries"])
        if page["next_after_id"] is None:
            break
        assert len(page["entries"]) == 2
        after = page["next_after_id"]
    assert pages == ids[:len(pages)] and len(pages) >= len(ids)
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert _entries(auditor, since=future) == []
    assert len(_entries(auditor, until=future, limit=1000)) >= len(ids)
    assert auditor.get("/audit", params={"since": "yesterday"}).status_code == 422
    assert auditor.get("/audit", params={"outcome": "maybe"}).status_code == 422


def _append_only(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO audit_log (at, client_id, action, method, target, outcome, status, "
            "detail, correlation_id) VALUES (:at, 'c', 'test.action', 'POST', '/x', 'ok', 200, "
            "'', 'corr')"), {"at": datetime.now(UTC)})
    for statement in ("UPDATE audit_log SET outcome = 'forged'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE outcome = 'forged'")
                            ).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() >= 1


def test_the_database_refuses_update_and_delete_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'append.db'}")
    db.migrate()
    _append_only(db)
    db.dispose()


def _postgres_url() -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        return None
    for user in ("postgres", "root"):
        url = f"postgresql+psycopg://{user}@127.0.0.1:5432/test"
        try:
            create_engine(url).connect().close()
            return url
        except Exception:
            continue
    return None


def test_the_database_refuses_update_and_delete_postgresql() -> None:
    url = _postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    schema = f"audit_{datetime.now(UTC):%H%M%S%f}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        db = Database(f"{url}?options=-csearch_path%3D{schema}")
        db.migrate()
        _append_only(db)
        with db.engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text("TRUNCATE audit_log"))
        db.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_the_code_has_no_update_or_delete_path_for_the_audit_log() -> None:
    offenders = []
    for path in (ROOT / "integration").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(
                    node.func, "attr", "")) in ("update", "delete") and any(
                    isinstance(a, ast.Name) and a.id == "AuditEntry" for a in node.args):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        source = path.read_text(encoding="utf-8").lower()
        for verb in ("update audit_log", "delete from audit_log"):
            if verb in source and "migrations" not in path.parts:
                offenders.append(f"{path.relative_to(ROOT)}: {verb}")
    assert offenders == []


def test_a_dlq_replay_without_actor_is_credited_to_the_tokens_client() -> None:
    from types import SimpleNamespace

    from integration.api.dlq import ReplayIn, _actor
    from integration.auth import Principal

    request: Any = SimpleNamespace(state=SimpleNamespace(
        principal=Principal("ops-team", frozenset({"dlq:replay"}))))
    assert _actor(None, None, request) == "ops-team"
    assert _actor(ReplayIn(actor="alice"), None, request) == "alice"
    assert _actor(None, "bob", request) == "bob"
    assert _actor(None, None, SimpleNamespace(state=SimpleNamespace())) == "anonymous"
