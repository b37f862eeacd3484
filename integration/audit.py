"""The audit trail (issue 15): one append-only row per command, DLQ replay, routing change,
residency refusal and refused request — who (client id), what (action, target), outcome,
when, correlation id.

- :func:`record` appends one row (its own unit of work; nothing here updates or deletes).
- :class:`AuditMiddleware` (ASGI) audits every authenticated request that changes something
  (POST/PUT/PATCH/DELETE; reads too with ``auth.audit_reads``), once its status is known and
  *before* the response is sent, so a client that got its answer finds the row.
- :func:`query` reads the trail with filters and keyset paging (``GET /audit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .db.audit_tables import AuditEntry
from .db.engine import Database
from .observability import get_logger

log = get_logger("integration.audit")

#: route (endpoint name) → audited action; other routes: "<METHOD> <path template>"
ACTIONS = {
    "post_customer": "customer.onboard",
    "post_subscription": "subscription.create",
    "post_usage": "usage.report",
    "put_routing": "routing.change",
    "replay_by_reason": "dlq.replay",
    "replay_one": "dlq.replay",
    "compensate_one": "dlq.compensate",
}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def outcome_of(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "denied"
    return "refused" if status < 500 else "failed"


def record(db: Database, *, client_id: str, action: str, method: str, target: str,
           outcome: str, status: int, correlation_id: str, detail: str = "") -> None:
    """Append one row to the trail (a failure to write is logged, never hides the answer)."""
    try:
        with db.session() as session:
            session.add(AuditEntry(client_id=client_id[:200], action=action[:60],
                                   method=method[:10], target=target[:500],
                                   outcome=outcome[:20], status=status,
                                   detail=detail[:2000], correlation_id=correlation_id[:128]))
    except Exception:
        log.exception("audit write failed", action=action, client_id=client_id)


def target_of(scope: Scope) -> str:
    state = scope.get("state") or {}
    if state.get("audit_target"):
        return str(state["audit_target"])
    path = str(scope.get("path", ""))
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def action_of(scope: Scope) -> str:
    state = scope.get("state") or {}
    if state.get("audit_action"):
        return str(state["audit_action"])
    route = scope.get("route")
    name = getattr(route, "name", None)
    if name in ACTIONS:
        return ACTIONS[name]
    return f"{scope.get('method', '')} {getattr(route, 'path', scope.get('path', ''))}"


class AuditMiddleware:
    """Audits authenticated requests that change something, with the status they got."""

    def __init__(self, app: ASGIApp, db: Database, audit_reads: bool = False) -> None:
        self.app = app
        self.db = db
        self.audit_reads = audit_reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        scope.setdefault("state", {})  # shared with the request (and any copy of the scope)

        async def audited(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state") or {}
                principal = state.get("principal")
                if principal is not None and (method in WRITES or self.audit_reads):
                    headers = dict(message.get("headers") or [])
                    status = int(message["status"])
                    record(self.db, client_id=principal.client_id, action=action_of(scope),
                           method=method, target=target_of(scope),
                           outcome=outcome_of(status), status=status,
                           correlation_id=headers.get(b"x-correlation-id", b"").decode(
                               "latin-1"), detail=str(state.get("audit_detail", "")))
            await send(message)

        await self.app(scope, receive, audited)


@dataclass(frozen=True)
class AuditFilter:
    client_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    target: str | None = None  # a prefix
    correlation_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def query(db: Database, flt: AuditFilter, *, after_id: int = 0, limit: int = 100) -> \
        tuple[list[dict[str, Any]], int | None]:
    """Rows matching ``flt`` with an id above ``after_id`` (oldest first), and the cursor of
    the next page (None on the last one)."""
    stmt = select(AuditEntry).where(AuditEntry.id > after_id).order_by(AuditEntry.id)
    conditions: Sequence[Any] = [
        AuditEntry.client_id == flt.client_id if flt.client_id else None,
        AuditEntry.action == flt.action if flt.action else None,
        AuditEntry.outcome == flt.outcome if flt.outcome else None,
        AuditEntry.target.startswith(flt.target, autoescape=True) if flt.target else None,
        AuditEntry.correlation_id == flt.correlation_id if flt.correlation_id else None,
        AuditEntry.at >= flt.since if flt.since else None,
        AuditEntry.at < flt.until if flt.until else None,
    ]
    for condition in conditions:
        if condition is not None:
            stmt = stmt.where(condition)
    with db.session() as session:
        rows = list(session.scalars(stmt.limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        out: list[dict[str, Any]] = [{
            "id": r.id, "at": r.at, "client_id": r.client_id, "action": r.action,
            "method": r.method, "target": r.target, "outcome": r.outcome, "status": r.status,
            "detail": r.detail, "correlation_id": r.correlation_id} for r in rows]
        cursor = rows[-1].id if more and rows else None
    return out, cursor


__all__ = ["ACTIONS", "AuditFilter", "AuditMiddleware", "outcome_of", "query", "record"]
