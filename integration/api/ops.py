"""Operations: health, Prometheus metrics, the wave plan, timelines, exceptions, events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, model_validator
from sqlalchemy import func, select, text

from .. import records, residency
from ..db.tables import EventRecord, ExceptionRecord, InvoiceRow, PaymentRow
from ..routing import replace_wave_plan, wave_plan
from ..services import Services
from ..settings import WavePlanEntry
from .problems import REJECTIONS_EXTENSION
from .security import refuse_residency, scoped
from .timestamps import rfc3339

router = APIRouter(tags=["operations"])


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


class RouteOut(BaseModel):
    legal_entity: str
    erp: str
    company_code: str
    effective_at: datetime


class RouteIn(WavePlanEntry):
    """A wave plan entry as ``PUT /routing`` takes it: an RFC 3339 date-time with offset
    (not a number of seconds, not a local time)."""

    effective_at: Annotated[AwareDatetime, BeforeValidator(rfc3339)] = \
        datetime(2000, 1, 1, tzinfo=UTC)


ONE_ROUTE = "one route per legal entity and instant"


class WavePlan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entries: list[RouteIn]

    @model_validator(mode="after")
    def _one_route_per_instant(self) -> WavePlan:
        seen: dict[tuple[str, datetime], int] = {}
        for i, entry in enumerate(self.entries):
            key = (entry.legal_entity, entry.effective_at)
            if key in seen:
                raise ValueError(f"entries {seen[key]} and {i} both route legal entity "
                                 f"{entry.legal_entity!r} from {entry.effective_at.isoformat()}"
                                 f": {ONE_ROUTE}")
            seen[key] = i
        return self


class TimelineStepOut(BaseModel):
    step: str
    system: str
    at: datetime
    correlation_id: str
    business_key: str
    subject: str | None
    detail: dict[str, Any]


class Timeline(BaseModel):
    business_key: str
    correlation_ids: list[str]
    steps: list[TimelineStepOut]


class ExceptionOut(BaseModel):
    id: int
    business_key: str
    kind: str
    system: str
    message: str
    correlation_id: str
    at: datetime
    resolved: bool


class EventOut(BaseModel):
    id: str
    type: str
    business_key: str
    correlation_id: str
    occurred_at: datetime
    data: dict[str, Any]


@router.get("/health", summary="Liveness and database reachability")
async def health(request: Request) -> dict[str, Any]:
    services = _services(request)
    with services.db.session() as session:
        session.execute(text("SELECT 1"))
        held = session.scalar(select(func.count()).select_from(InvoiceRow).where(
            InvoiceRow.status.in_(["draft", "held", "tax_determined"]))) or 0
        buffered = session.scalar(select(func.count()).select_from(PaymentRow).where(
            PaymentRow.status == "buffered")) or 0
    return {"status": "ok", "database": services.db.engine.dialect.name,
            "invoices_held": held, "payments_buffered": buffered,
            "webhooks_registered": sorted(services.webhook_secrets)}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            dependencies=scoped("ops:read"))
async def metrics(request: Request) -> Response:
    services = _services(request)
    return Response(generate_latest(services.metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)


@router.get("/routing", summary="The wave plan: legal entity → ERP from a date",
            dependencies=scoped("routing:read"))
async def get_routing(request: Request) -> list[RouteOut]:
    with _services(request).db.session() as session:
        return [RouteOut(**r.__dict__) for r in wave_plan(session)]


@router.put("/routing", summary="Replace the wave plan", dependencies=scoped("routing:admin"),
            response_model=list[RouteOut],
            responses={409: {"description": "an entry routes a legal entity's data to an "
                                            "ERP outside its allowed regions (residency)"},
                       422: {REJECTIONS_EXTENSION: [{
                           "match": ONE_ROUTE,
                           "why": "two entries for the same legal entity and effective_at "
                                  "(a JSON Schema cannot say that pairs are unique)"}]}})
async def put_routing(plan: WavePlan, request: Request) -> Any:
    for entry in plan.entries:
        try:
            residency.check_route(_services(request).settings, entry.legal_entity, entry.erp)
        except residency.ResidencyViolation as err:
            return refuse_residency(request, err)
    with _services(request).db.session() as session:
        replace_wave_plan(session, plan.entries)
    with _services(request).db.session() as session:
        return [RouteOut(**r.__dict__) for r in wave_plan(session)]


@router.get("/timeline/{business_key}", summary="Every step of a business flow",
            dependencies=scoped("ops:read"), operation_id="get_timeline")
async def get_timeline(business_key: str, request: Request) -> Timeline:
    with _services(request).db.session() as session:
        steps = records.timeline(session, business_key)
        out = [TimelineStepOut(step=s.step, system=s.system, at=s.at,
                               correlation_id=s.correlation_id, business_key=s.business_key,
                               subject=s.subject, detail=s.detail) for s in steps]
    return Timeline(business_key=business_key,
                    correlation_ids=sorted({s.correlation_id for s in out}), steps=out)


@router.get("/exceptions", summary="Business exceptions (newest first)",
            dependencies=scoped("ops:read"))
async def get_exceptions(request: Request, business_key: str | None = None,
                         include_resolved: bool = False, limit: int = 200) -> \
        list[ExceptionOut]:
    with _services(request).db.session() as session:
        query = select(ExceptionRecord).order_by(ExceptionRecord.id.desc()).limit(
            max(1, min(limit, 1000)))
        if business_key:
            query = query.where(ExceptionRecord.business_key == business_key)
        if not include_resolved:
            query = query.where(ExceptionRecord.resolved.is_(False))
        return [ExceptionOut(id=e.id, business_key=e.business_key, kind=e.kind,
                             system=e.system, message=e.message,
                             correlation_id=e.correlation_id, at=e.at, resolved=e.resolved)
                for e in session.scalars(query)]


@router.get("/events", summary="Business events emitted (customer.onboarded, ...)",
            dependencies=scoped("ops:read"))
async def get_events(request: Request, business_key: str | None = None,
                     type: str | None = None, limit: int = 200) -> list[EventOut]:
    with _services(request).db.session() as session:
        query = select(EventRecord).order_by(EventRecord.occurred_at).limit(
            max(1, min(limit, 1000)))
        if business_key:
            query = query.where(EventRecord.business_key == business_key)
        if type:
            query = query.where(EventRecord.type == type)
        return [EventOut(id=e.id, type=e.type, business_key=e.business_key,
                         correlation_id=e.correlation_id, occurred_at=e.occurred_at,
                         data=e.payload) for e in session.scalars(query)]
