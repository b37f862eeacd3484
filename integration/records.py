"""The layer's bookkeeping on its own database: cross-references, timeline, exceptions,
idempotency keys, the webhook inbox and emitted events. Every function takes the session of
the caller's unit of work, so a state change and its bookkeeping commit together.

The hot ones write with one Core statement on the unit's connection, at once, instead of
adding ORM objects for the flush: the same rows in the same transaction, without the unit of
work's flush machinery (about three times cheaper per write, measured; ``bench/RESULTS.md``).
:func:`save` does the same for a change to a loaded row."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from . import correlation
from .db.tables import (
    CrossReference,
    EventRecord,
    ExceptionRecord,
    IdempotencyRecord,
    InboxMessage,
    TimelineStep,
    utcnow,
)


def new_id(prefix: str) -> str:
    """A canonical id: ``<prefix>_<32 hex>``."""
    return f"{prefix}_{uuid.uuid4().hex}"


# -- writes without the ORM flush ----------------------------------------------------------------
def table_of(model: type[Any]) -> Table:
    """The table of a mapped class (typed)."""
    return cast(Table, model.__table__)


_UPDATES: dict[type[Any], tuple[str, Any]] = {}


def save(session: Session, row: Any, **values: Any) -> None:
    """Write ``values`` to the loaded ORM ``row`` with one UPDATE by primary key, now, and
    into ``row`` as its loaded state (not dirty: the flush leaves it alone). Column defaults
    for updates (``updated_at``) apply as in a flush."""
    known = _UPDATES.get(type(row))
    if known is None:
        # every table saved this way has a one-column key
        (key,) = table_of(type(row)).primary_key.columns
        known = _UPDATES[type(row)] = (key.key, update(table_of(type(row))).where(
            key == bindparam("pk_")))
    session.connection().execute(known[1], {"pk_": getattr(row, known[0]), **values})
    for name, value in values.items():
        set_committed_value(row, name, value)


def read(session: Session, statement: Any, params: dict[str, Any]) -> Any:
    """A Core read (a statement built once) on the unit's connection; what the unit added as
    ORM objects is flushed first, as an ORM query's autoflush would."""
    session.flush()  # nothing to do (and cheap) when the unit holds no pending objects
    return session.connection().execute(statement, params)


_INSERT_OF: dict[type[Any], Any] = {}


def insert_row(session: Session, model: type[Any], **values: Any) -> None:
    """One INSERT of a ``model`` row now (column defaults applied), on the unit's
    connection."""
    statement = _INSERT_OF.get(model)
    if statement is None:
        statement = _INSERT_OF[model] = insert(table_of(model))
    session.connection().execute(statement, values)


# -- cross-references --------------------------------------------------------------------------
_XREF = table_of(CrossReference)
_XREF_OF = select(_XREF.c.id, _XREF.c.external_id).where(
    _XREF.c.entity == bindparam("entity"), _XREF.c.canonical_id == bindparam("canonical_id"),
    _XREF.c.system == bindparam("system"), _XREF.c.scope == bindparam("scope"))
_XREF_SET = update(_XREF).where(_XREF.c.id == bindparam("pk_"))


def link(session: Session, entity: str, canonical_id: str, system: str, external_id: str,
         scope: str = "") -> None:
    """The cross-reference of ``canonical_id`` in ``system`` (within ``scope``), created or
    moved to ``external_id``."""
    key = {"entity": entity, "canonical_id": canonical_id, "system": system, "scope": scope}
    existing = read(session, _XREF_OF, key).first()
    if existing is not None:
        if existing.external_id != external_id:
            session.connection().execute(_XREF_SET, {"pk_": existing.id,
                                                     "external_id": external_id})
        return
    insert_row(session, CrossReference, **key, external_id=external_id,
               correlation_id=correlation.current_id())


_CANONICAL_OF = select(_XREF.c.canonical_id).where(
    _XREF.c.entity == bindparam("entity"), _XREF.c.system == bindparam("system"),
    _XREF.c.external_id == bindparam("external_id")).limit(1)


def external_id(session: Session, entity: str, canonical_id: str, system: str,
                scope: str = "") -> str | None:
    found = read(session, _XREF_OF, {"entity": entity, "canonical_id": canonical_id,
                                     "system": system, "scope": scope}).first()
    return found.external_id if found is not None else None


def canonical_id(session: Session, entity: str, system: str, external: str) -> str | None:
    return read(session, _CANONICAL_OF, {  # type: ignore[no-any-return]
        "entity": entity, "system": system, "external_id": external}).scalar()


def references(session: Session, entity: str, canonical: str) -> dict[str, str]:
    rows = session.scalars(select(CrossReference).where(
        CrossReference.entity == entity, CrossReference.canonical_id == canonical))
    return {(f"{r.system}:{r.scope}" if r.scope else r.system): r.external_id for r in rows}


# -- timeline and exceptions -------------------------------------------------------------------
def step(session: Session, business_key: str, name: str, system: str, *,
         subject: str | None = None, at: datetime | None = None,
         **detail: Any) -> None:
    """Record one step of a business flow (what happened, in which system, when, under which
    correlation id)."""
    insert_row(session, TimelineStep, business_key=business_key, subject=subject,
               step=name, system=system, at=at or utcnow(),
               correlation_id=correlation.current_id(),
               detail=orjson.loads(orjson.dumps(detail, default=str)))


def timeline(session: Session, key: str) -> list[TimelineStep]:
    keys = {key, *references(session, "customer", key).values()}
    for entity in ("customer", "invoice", "payment", "subscription"):
        for system in ("crm", "billing", "payments", "cloud_erp", "legacy_erp"):
            found = canonical_id(session, entity, system, key)
            if found:
                keys.add(found)
    rows = session.scalars(select(TimelineStep).where(or_(
        TimelineStep.business_key.in_(keys), TimelineStep.subject.in_(keys))).order_by(
        TimelineStep.at, TimelineStep.id))
    return list(rows)


def exception(session: Session, business_key: str, kind: str, system: str,
              message: str) -> ExceptionRecord:
    record = ExceptionRecord(business_key=business_key, kind=kind, system=system,
                             message=message[:4000], correlation_id=correlation.current_id())
    session.add(record)
    return record


_EXCEPTIONS = table_of(ExceptionRecord)
_RESOLVE = update(_EXCEPTIONS).where(
    _EXCEPTIONS.c.business_key == bindparam("key"),
    _EXCEPTIONS.c.kind.in_(bindparam("kinds", expanding=True)),
    _EXCEPTIONS.c.resolved.is_(False)).values(resolved=True)


def resolve_exceptions(session: Session, business_key: str, *kinds: str) -> None:
    """Mark the open exceptions of these kinds for ``business_key`` resolved: one UPDATE,
    which covers the records this unit added (flushed first); a record already loaded keeps
    its old ``resolved`` in memory."""
    session.flush()
    session.connection().execute(_RESOLVE, {"key": business_key, "kinds": list(kinds)})


# -- idempotency -------------------------------------------------------------------------------
class IdempotencyConflict(Exception):
    """The key was used before with a different request."""


def request_hash(payload: Any) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def idempotent_result(session: Session, scope: str, key: str,
                      payload: Any) -> IdempotencyRecord | None:
    record = session.get(IdempotencyRecord, f"{scope}:{key}")
    if record is not None and record.request_hash != request_hash(payload):
        raise IdempotencyConflict(key)
    return record


def remember(session: Session, scope: str, key: str, payload: Any, status_code: int,
             response: dict[str, Any]) -> None:
    session.merge(IdempotencyRecord(key=f"{scope}:{key}", request_hash=request_hash(payload),
                                    status_code=status_code, response=response))


# -- inbox -------------------------------------------------------------------------------------
def receive(session: Session, source: str, event_id: str, event_type: str,
            payload: dict[str, Any]) -> bool:
    """Store a webhook once; False when this event id was already received (a duplicate).
    One ``INSERT ... ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL): a concurrent delivery
    of the same event loses on the primary key, never with an error."""
    message_id = f"{source}:{event_id}"
    connection = session.connection()
    dialect = connection.dialect.name
    statement = _RECEIVE.get(dialect)
    if statement is None:
        table = _INBOX
        statement = _RECEIVE[dialect] = _INSERTS[dialect](table).on_conflict_do_nothing(
            index_elements=[table.c.id]).returning(table.c.id)  # no row back: it was there
    inserted = connection.execute(statement, {
        "id": message_id, "source": source, "event_type": event_type, "payload": payload,
        "correlation_id": correlation.current_id()})
    if inserted.first() is not None:
        return True
    connection.execute(_DUPLICATE, {"pk_": message_id})
    return False


def inbox_outcome(session: Session, message_id: str, status: str, error: str | None) -> None:
    """A received message's job ended: ``processed`` or ``failed`` (with the error)."""
    session.connection().execute(_OUTCOME, {"pk_": message_id, "status": status,
                                            "error": error})


_INBOX = table_of(InboxMessage)
_RECEIVE: dict[str, Any] = {}
_DUPLICATE = update(_INBOX).where(_INBOX.c.id == bindparam("pk_")).values(
    duplicates=_INBOX.c.duplicates + 1)
_OUTCOME = update(_INBOX).where(_INBOX.c.id == bindparam("pk_"))
_INSERTS: dict[str, Any] = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


# -- events ------------------------------------------------------------------------------------
def record_event(session: Session, event_id: str, type_: str, business_key: str,
                 occurred_at: datetime, payload: dict[str, Any]) -> None:
    insert_row(session, EventRecord, id=event_id, type=type_,
               business_key=business_key, correlation_id=correlation.current_id(),
               occurred_at=occurred_at, payload=payload, published_at=None)
