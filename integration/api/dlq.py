"""The dead-letter queue: list, replay one, replay all of a reason, compensate; every replay
is audited with who asked (``actor`` in the body, ``X-Actor``, or the token's client id)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from .. import dlq
from ..adapters.http import AdapterError
from ..db.reliability_tables import DeadLetter, DeadLetterReplay
from ..services import Services
from .security import scoped

router = APIRouter(prefix="/dlq", tags=["dead letters"])


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


class ReplayOut(BaseModel):
    action: str
    actor: str
    outcome: str
    detail: str
    correlation_id: str
    at: datetime


class DeadLetterOut(BaseModel):
    id: int
    business_key: str
    operation: str
    reason: str
    system: str
    message: str
    payload: dict[str, Any]
    correlation_id: str
    status: str
    replays: int
    created_at: datetime
    updated_at: datetime
    audit: list[ReplayOut] = Field(default_factory=list)


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    actor: Annotated[str, Field(min_length=1, max_length=200)] | None = None


#: a dead letter's id as the database stores it (a 64-bit integer)
LetterId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _actor(body: ReplayIn | None, header: str | None, request: Request) -> str:
    """Who asked: ``actor`` in the body, else ``X-Actor``, else the OAuth2 client of the token
    (the audit trail records that client id in any case)."""
    principal = getattr(request.state, "principal", None)
    return (body.actor if body and body.actor else None) or header or \
        (principal.client_id if principal is not None else "anonymous")


def _out(services: Services, letter_ids: list[int]) -> list[DeadLetterOut]:
    with services.db.session() as session:
        letters = {d.id: d for d in session.scalars(select(DeadLetter).where(
            DeadLetter.id.in_(letter_ids)))}
        audit: dict[int, list[ReplayOut]] = {}
        for a in session.scalars(select(DeadLetterReplay).where(
                DeadLetterReplay.dead_letter_id.in_(letter_ids)).order_by(DeadLetterReplay.id)):
            audit.setdefault(a.dead_letter_id, []).append(ReplayOut(
                action=a.action, actor=a.actor, outcome=a.outcome, detail=a.detail,
                correlation_id=a.correlation_id, at=a.at))
        return [DeadLetterOut(id=d.id, business_key=d.business_key, operation=d.operation,
                              reason=d.reason, system=d.system, message=d.message,
                              payload=d.payload, correlation_id=d.correlation_id,
                              status=d.status, replays=d.replays, created_at=d.created_at,
                              updated_at=d.updated_at, audit=audit.get(d.id, []))
                for i in letter_ids if (d := letters.get(i)) is not None]


# the newest listed letter: replay or compensate it, or read its flow's timeline
_LISTED = {"links": {
    "replay_newest": {"operationId": "replay_dead_letter",
                      "parameters": {"path.letter_id": "$response.body#/0/id"}},
    "compensate_newest": {"operationId": "compensate_dead_letter",
                          "parameters": {"path.letter_id": "$response.body#/0/id"}},
    "timeline_of_newest": {"operationId": "get_timeline",
                           "parameters": {"path.business_key": "$response.body#/0/business_key"}},
}}


@router.get("", summary="Dead letters (newest first), with their replay audit",
            dependencies=scoped("dlq:read"), operation_id="list_dead_letters",
            responses={200: _LISTED})
async def list_dead_letters(
        request: Request, status: Annotated[str | None, Query(max_length=20)] = "open",
        reason: Annotated[str | None, Query(max_length=60)] = None,
        business_key: Annotated[str | None, Query(max_length=128)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[DeadLetterOut]:
    services = _services(request)
    dlq.collect(services)  # what failed since the last sweep is listed at once
    query = select(DeadLetter.id).order_by(DeadLetter.id.desc()).limit(limit)
    if status and status != "all":
        query = query.where(DeadLetter.status == status)
    if reason:
        query = query.where(DeadLetter.reason == reason)
    if business_key:
        query = query.where(DeadLetter.business_key == business_key)
    with services.db.session() as session:
        ids = list(session.scalars(query))
    return _out(services, ids)


@router.post("/replay", summary="Replay every open dead letter of a reason",
             dependencies=scoped("dlq:replay"))
async def replay_by_reason(
        request: Request, reason: Annotated[str, Query(min_length=1, max_length=60)],
        body: Annotated[ReplayIn | None, Body()] = None,
        x_actor: Annotated[str | None, Header(max_length=200)] = None) -> list[DeadLetterOut]:
    services = _services(request)
    dlq.collect(services)
    done = await dlq.replay_all(services, reason, _actor(body, x_actor, request))
    return _out(services, [d.id for d in done])


async def _one(request: Request, letter_id: int, action: str, actor: str) -> DeadLetterOut:
    services = _services(request)
    try:
        if action == "replay":
            await dlq.replay(services, letter_id, actor)
        else:
            await dlq.compensate(services, letter_id, actor)
    except KeyError:
        raise HTTPException(404, f"no dead letter {letter_id}") from None
    except dlq.NotReplayable as err:
        raise HTTPException(409, str(err)) from None
    except AdapterError as err:
        raise HTTPException(502, f"compensation failed: {err}") from None
    return _out(services, [letter_id])[0]


@router.post("/{letter_id}/replay", summary="Replay one dead letter (after fixing the data)",
             dependencies=scoped("dlq:replay"), operation_id="replay_dead_letter",
             responses={404: {"description": "no such dead letter"},
                        409: {"description": "not open (replayed, compensated)"}})
async def replay_one(request: Request, letter_id: LetterId,
                     body: Annotated[ReplayIn | None, Body()] = None,
                     x_actor: Annotated[str | None, Header(max_length=200)] = None) -> \
        DeadLetterOut:
    return await _one(request, letter_id, "replay", _actor(body, x_actor, request))


@router.post("/{letter_id}/compensate",
             summary="Compensate in billing now (void or credit note per policy)",
             dependencies=scoped("dlq:replay"), operation_id="compensate_dead_letter",
             responses={404: {"description": "no such dead letter"},
                        409: {"description": "not open, or not an invoice posting"},
                        502: {"description": "billing refused the compensation"}})
async def compensate_one(request: Request, letter_id: LetterId,
                         body: Annotated[ReplayIn | None, Body()] = None,
                         x_actor: Annotated[str | None, Header(max_length=200)] = None) -> \
        DeadLetterOut:
    return await _one(request, letter_id, "compensate", _actor(body, x_actor, request))
