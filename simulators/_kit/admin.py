"""The admin API every simulator serves under ``/_sim/`` (documented under the tag ``admin``)."""

from __future__ import annotations

import gc
import hashlib
import time
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .base import (
    BadImportRecord,
    ImportRequest,
    SeedRequest,
    SimulatorError,
    UnknownImportKind,
)
from .faults import FaultConfig, UnknownProfileError
from .http import json_response

if TYPE_CHECKING:
    from .app import Kit

SNAPSHOT_FORMAT = 1


def _exactly_one_of_seconds_or_to(schema: dict[str, Any]) -> None:
    # the JSON Schema says what the validator below enforces (found by fuzzing)
    props = schema["properties"]
    seconds = {"type": "number", "minimum": 0, "maximum": 86_400 * 3660}
    to = {"type": "number", "minimum": 0, "maximum": 32_503_680_000}
    props["seconds"] = {"anyOf": [seconds, {"type": "null"}]}
    props["to"] = {"anyOf": [to, {"type": "null"}],
                   "description": props["to"].get("description", "")}
    schema["anyOf"] = [
        {"required": ["seconds"], "properties": {"seconds": seconds, "to": {"type": "null"}}},
        {"required": ["to"], "properties": {"to": to, "seconds": {"type": "null"}}},
    ]


class ClockAdvance(BaseModel):
    """Body of ``POST /_sim/clock/advance``: either ``seconds`` or an absolute ``to``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_exactly_one_of_seconds_or_to)
    seconds: Annotated[float, Field(ge=0, le=86_400 * 3660)] | None = None
    to: Annotated[float, Field(ge=0, le=32_503_680_000)] | None = Field(
        default=None, description="epoch seconds on the simulator clock")

    @model_validator(mode="after")
    def _one(self) -> ClockAdvance:
        if (self.seconds is None) == (self.to is None):
            raise ValueError("give exactly one of 'seconds' or 'to'")
        return self


class ClockSet(BaseModel):
    """Body of ``PUT /_sim/clock``: put the clock at ``now``, running or frozen there (e.g.
    frozen at a seed date while history is imported, so the state is reproducible)."""

    model_config = ConfigDict(extra="forbid")
    now: Annotated[float, Field(ge=0, le=32_503_680_000, description="epoch seconds")]
    frozen: bool = False


class Snapshot(BaseModel):
    """Body of ``GET/PUT /_sim/snapshot``."""

    model_config = ConfigDict(extra="forbid")
    format: int = SNAPSHOT_FORMAT
    simulator: str
    clock: dict[str, Any] = Field(default_factory=dict)
    state: dict[str, dict[str, dict[str, Any]]]


def admin_error(status: int, code: str, message: str, detail: Any = None) -> Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if detail is not None:
        body["error"]["detail"] = detail
    return json_response(body, status)


async def _parse(request: Request, model: type[BaseModel]) -> BaseModel | Response:
    raw = await request.body()
    try:
        # no body is an empty one; whitespace alone is not JSON (found by fuzzing)
        data = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        return admin_error(400, "invalid_json", f"body is not JSON: {exc}")
    try:
        # strict: the documented JSON types only (no false → 0.0, no "1" → 1); a number
        # with a zero fraction (500.0) is a JSON Schema integer, so it is one here too
        # (not inside snapshots and imported records: vendor documents keep their numbers)
        if model not in (Snapshot, ImportRequest):
            data = _integral_floats_as_ints(data)
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return admin_error(422, "invalid_request", f"{where}: {first['msg']}",
                           [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()])


def _integral_floats_as_ints(data: Any) -> Any:
    if isinstance(data, float) and data.is_integer():
        return int(data)
    if isinstance(data, dict):
        return {k: _integral_floats_as_ints(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_integral_floats_as_ints(v) for v in data]
    return data


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = int(raw)  # ValueError → 400 by the caller
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}")
    return value


def _float_param(request: Request, name: str, default: float, lo: float, hi: float) -> float:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = float(raw)
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}")
    return value


def admin_routes(kit: Kit) -> list[Route]:
    sim_name = kit.simulator.name

    async def reset(request: Request) -> Response:
        kit.reset()
        return json_response({"simulator": sim_name, "status": "reset"})

    async def seed(request: Request) -> Response:
        parsed = await _parse(request, SeedRequest)
        if isinstance(parsed, Response):
            return parsed
        assert isinstance(parsed, SeedRequest)
        counts = kit.backend.seed(parsed)
        kit.store.flush()
        return json_response({"simulator": sim_name, "seed": parsed.seed, "created": counts})

    async def import_(request: Request) -> Response:
        parsed = await _parse(request, ImportRequest)
        if isinstance(parsed, Response):
            return parsed
        assert isinstance(parsed, ImportRequest)
        imported: dict[str, int] = {}
        # an import allocates many long-lived documents: the cyclic collector would rescan
        # the growing state again and again (a third of the time) and find nothing to free
        collecting = gc.isenabled()
        gc.disable()
        try:
            for batch in parsed.all_batches():
                for key, n in kit.backend.import_records(batch.kind, batch.records).items():
                    imported[key] = imported.get(key, 0) + n
            kit.tick()  # imported history may leave work due now (cycles, queues)
        except UnknownImportKind as exc:
            kit.store.flush()
            return admin_error(422, "unknown_kind", str(exc), {"supported": exc.supported})
        except BadImportRecord as exc:
            kit.store.flush()
            return admin_error(422, "invalid_request", str(exc))
        except SimulatorError as exc:  # a bad record: the vendor's own error body
            kit.store.flush()
            response = exc.to_response()
            if response.status_code >= 500:  # a SOAP fault: still the caller's bad record
                response.status_code = 422
            response.headers["X-Sim-Import-Failed-At"] = getattr(exc, "import_at", "")
            return response
        finally:
            if collecting:
                gc.enable()
        return json_response({"simulator": sim_name, "imported": imported})

    def snapshot_body() -> bytes:
        # the Snapshot model's shape, built directly: validating a large state through
        # pydantic costs seconds and changes nothing
        kit.save_clock()
        return orjson.dumps({"format": SNAPSHOT_FORMAT, "simulator": sim_name,
                             "clock": kit.ctx.clock.state(), "state": kit.store.snapshot()},
                            option=orjson.OPT_NON_STR_KEYS)

    async def get_snapshot(request: Request) -> Response:
        return Response(snapshot_body(), media_type="application/json")

    async def snapshot_digest(request: Request) -> Response:
        body = snapshot_body()
        return json_response({"simulator": sim_name, "sha256": hashlib.sha256(body).hexdigest(),
                              "bytes": len(body)})

    async def put_snapshot(request: Request) -> Response:
        parsed = await _parse(request, Snapshot)
        if isinstance(parsed, Response):
            return parsed
        assert isinstance(parsed, Snapshot)
        if parsed.simulator != sim_name:
            return admin_error(409, "wrong_simulator",
                               f"snapshot is of {parsed.simulator!r}, this is {sim_name!r}")
        kit.store.restore(parsed.state)
        kit.ctx.clock.restore(parsed.clock)
        kit.save_clock()
        kit.store.flush()
        return json_response({"simulator": sim_name, "status": "restored",
                              "collections": {k: len(v) for k, v in parsed.state.items()}})

    async def journal(request: Request) -> Response:
        try:
            limit = _int_param(request, "limit", 100, 1, 10_000)
        except ValueError as exc:
            return admin_error(400, "invalid_request", str(exc))
        return json_response({"data": kit.journal.list(limit, request.query_params.get("path"),
                                                        request.query_params.get("method"))})

    async def webhooks(request: Request) -> Response:
        try:
            limit = _int_param(request, "limit", 100, 1, 5000)
        except ValueError as exc:
            return admin_error(400, "invalid_request", str(exc))
        flag = request.query_params.get("body")
        if flag not in (None, "1", "0", "true", "false"):  # documented as a boolean
            return admin_error(400, "invalid_request", "body must be true or false")
        with_body = flag in ("1", "true")
        return json_response({
            "pending": not kit.ctx.webhooks.idle,
            "data": kit.ctx.webhooks.describe(limit, request.query_params.get("event_id"),
                                              with_body),
        })

    async def get_faults(request: Request) -> Response:
        return json_response(kit.ctx.faults.describe())

    async def put_faults(request: Request) -> Response:
        parsed = await _parse(request, FaultConfig)
        if isinstance(parsed, Response):
            return parsed
        assert isinstance(parsed, FaultConfig)
        try:
            kit.ctx.faults.configure(parsed, kit.ctx.clock.now())
        except UnknownProfileError as exc:
            return admin_error(422, "unknown_profile", str(exc))
        return json_response(kit.ctx.faults.describe())

    async def delete_faults(request: Request) -> Response:
        kit.ctx.faults.clear()
        return json_response(kit.ctx.faults.describe())

    async def clock(request: Request) -> Response:
        return json_response(kit.ctx.clock.state())

    async def clock_set(request: Request) -> Response:
        parsed = await _parse(request, ClockSet)
        if isinstance(parsed, Response):
            return parsed
        assert isinstance(parsed, ClockSet)
        before = kit.ctx.clock.now()
        if parsed.frozen:
            kit.ctx.clock.restore({"offset": 0.0, "frozen_at": parsed.now})
        else:
            kit.ctx.clock.restore({"offset": parsed.now - time.time(), "frozen_at": None})
        kit.save_clock()
        if parsed.now > before:
            kit.tick()
        kit.store.flush()
        return json_response(kit.ctx.clock.state())

    async def clock_advance(request: Request) -> Response:
        parsed = await _parse(request, ClockAdvance)
        if isinstance(parsed, Response):
            return parsed
        assert isinstance(parsed, ClockAdvance)
        if parsed.to is not None:
            if parsed.to < kit.ctx.clock.now():
                # well-formed, but in conflict with the clock's current state
                return admin_error(409, "clock_conflict", "'to' is in the past: the clock only "
                                   "moves forward")
            kit.ctx.clock.advance_to(parsed.to)
        else:
            kit.ctx.clock.advance(parsed.seconds or 0.0)
        kit.save_clock()
        kit.tick()
        return json_response(kit.ctx.clock.state())

    async def await_fact(request: Request) -> Response:
        kind = request.query_params.get("kind")
        key = request.query_params.get("key")
        if not kind or not key:
            return admin_error(400, "invalid_request", "query parameters 'kind' and 'key' are "
                               "required")
        try:
            timeout = _float_param(request, "timeout", 10.0, 0.0, 300.0)
        except ValueError as exc:
            return admin_error(400, "invalid_request", str(exc))
        fact = await kit.ctx.facts.wait(kind, key, timeout)
        return json_response({"matched": fact is not None, "kind": kind, "key": key,
                              "fact": fact, "now": kit.ctx.clock.now()})

    async def facts(request: Request) -> Response:
        try:
            limit = _int_param(request, "limit", 1000, 1, 100_000)
            since = _float_param(request, "since", 0.0, 0.0, 1e12)
        except ValueError as exc:
            return admin_error(400, "invalid_request", str(exc))
        return json_response({"data": kit.ctx.facts.list(request.query_params.get("kind"),
                                                          since, limit)})

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(kit.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def health(request: Request) -> Response:
        return json_response({
            "simulator": sim_name,
            "title": kit.simulator.title,
            "status": "ok",
            "store": kit.store.kind,
            "clock": kit.ctx.clock.state(),
            "webhooks_pending": not kit.ctx.webhooks.idle,
        })

    return [
        Route("/_sim/reset", reset, methods=["POST"]),
        Route("/_sim/seed", seed, methods=["POST"]),
        Route("/_sim/import", import_, methods=["POST"]),
        Route("/_sim/snapshot", get_snapshot, methods=["GET"]),
        Route("/_sim/snapshot/digest", snapshot_digest, methods=["GET"]),
        Route("/_sim/snapshot", put_snapshot, methods=["PUT"]),
        Route("/_sim/journal", journal, methods=["GET"]),
        Route("/_sim/webhooks", webhooks, methods=["GET"]),
        Route("/_sim/faults", get_faults, methods=["GET"]),
        Route("/_sim/faults", put_faults, methods=["PUT"]),
        Route("/_sim/faults", delete_faults, methods=["DELETE"]),
        Route("/_sim/clock", clock, methods=["GET"]),
        Route("/_sim/clock", clock_set, methods=["PUT"]),
        Route("/_sim/clock/advance", clock_advance, methods=["POST"]),
        Route("/_sim/await", await_fact, methods=["GET"]),
        Route("/_sim/facts", facts, methods=["GET"]),
        Route("/_sim/metrics", metrics, methods=["GET"]),
        Route("/_sim/health", health, methods=["GET"]),
    ]
