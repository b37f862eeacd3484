"""Routing by legal entity: the wave plan says, per legal entity, which ERP (and company
code) takes its postings from which moment on. The latest entry in effect wins.

Cut-over rules of a migration wave (``PUT /routing`` during a run):

- an invoice goes to the ERP that owns its legal entity when billing *finalizes* it (the
  invoice's ``finalized_at``, billing's clock), not when it was drafted: an invoice drafted
  (held) before the switch and finalized after it posts to the new ERP; the ERP customer is
  created in the new company code on the way;
- a posting once started keeps its ERP (the posting ledger, ``erp_postings``): retries, in-doubt
  look-ups and DLQ replays never move it;
- receivables stay where they were posted: the layer does not migrate open items, and a
  payment for an invoice posted to the legacy ERP is cleared in the legacy ERP (company code
  of the posting) even after the legal entity moved to the cloud ERP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from . import records
from .db.tables import WavePlanEntry as WaveRow
from .settings import WavePlanEntry


@dataclass(frozen=True)
class Route:
    legal_entity: str
    erp: str
    company_code: str
    effective_at: datetime


class RoutingError(LookupError):
    """No wave plan entry covers the legal entity at that moment."""


def wave_plan(session: Session) -> list[Route]:
    rows = session.scalars(select(WaveRow).order_by(WaveRow.legal_entity, WaveRow.effective_at))
    return [Route(r.legal_entity, r.erp, r.company_code, r.effective_at) for r in rows]


def replace_wave_plan(session: Session, entries: Sequence[WavePlanEntry]) -> None:
    session.execute(delete(WaveRow))
    session.flush()
    for e in entries:
        session.add(WaveRow(legal_entity=e.legal_entity, erp=e.erp,
                            company_code=e.company_code, effective_at=e.effective_at))


def seed_wave_plan(session: Session, entries: list[WavePlanEntry]) -> None:
    """Install the configured plan on an empty table (a plan changed by PUT /routing stays)."""
    if session.scalar(select(WaveRow).limit(1)) is None:
        replace_wave_plan(session, entries)


_WAVES = records.table_of(WaveRow)
_ROUTE_AT = select(_WAVES.c.legal_entity, _WAVES.c.erp, _WAVES.c.company_code,
                   _WAVES.c.effective_at).where(
    _WAVES.c.legal_entity == bindparam("legal_entity"),
    _WAVES.c.effective_at <= bindparam("at")).order_by(_WAVES.c.effective_at.desc()).limit(1)


def route(session: Session, legal_entity: str, at: datetime) -> Route:
    row = records.read(session, _ROUTE_AT, {"legal_entity": legal_entity, "at": at}).first()
    if row is None:
        raise RoutingError(f"no ERP in the wave plan for legal entity {legal_entity!r} at "
                           f"{at.isoformat()}")
    return Route(row.legal_entity, row.erp, row.company_code, row.effective_at)
