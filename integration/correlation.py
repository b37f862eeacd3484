"""Correlation: ``X-Correlation-ID`` accepted or created, W3C ``traceparent`` continued, both
kept in a context variable for the duration of a request or a background job, sent on every
outbound call and stored on every record.
"""

from __future__ import annotations

import contextvars
import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Correlation-ID"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


@dataclass(frozen=True)
class Trace:
    correlation_id: str
    trace_id: str
    parent_id: str | None = None
    flags: str = "01"

    def traceparent(self) -> str:
        """A ``traceparent`` for an outbound call: same trace, a new span id."""
        return f"00-{self.trace_id}-{secrets.token_hex(8)}-{self.flags}"

    def headers(self) -> dict[str, str]:
        return {HEADER: self.correlation_id, "traceparent": self.traceparent()}


_current: contextvars.ContextVar[Trace | None] = contextvars.ContextVar("o2c_trace",
                                                                        default=None)


def new_correlation_id() -> str:
    return str(uuid.uuid4())


def start(correlation_id: str | None = None, traceparent: str | None = None) -> Trace:
    """A trace from incoming headers (validated) or a fresh one."""
    cid = correlation_id if correlation_id and _VALID_ID.match(correlation_id) else None
    match = _TRACEPARENT.match(traceparent or "")
    if match and match.group(1) != "0" * 32:
        trace = Trace(cid or new_correlation_id(), match.group(1), match.group(2),
                      match.group(3))
    else:
        trace = Trace(cid or new_correlation_id(), secrets.token_hex(16))
    return trace


def current() -> Trace:
    """The trace of the work in progress (a fresh one outside any request or job)."""
    trace = _current.get()
    if trace is None:
        trace = start()
        _current.set(trace)
    return trace


def current_id() -> str:
    return current().correlation_id


@contextmanager
def bound(trace: Trace | str) -> Iterator[Trace]:
    """Run a block (a background job) under ``trace`` — or a correlation id to continue."""
    if isinstance(trace, str):
        trace = start(trace)
    token = _current.set(trace)
    with structlog.contextvars.bound_contextvars(correlation_id=trace.correlation_id,
                                                 trace_id=trace.trace_id):
        try:
            yield trace
        finally:
            _current.reset(token)


class CorrelationMiddleware:
    """Pure ASGI: bind the request's trace, echo ``X-Correlation-ID`` on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers") or []}
        trace = start(headers.get("x-correlation-id"), headers.get("traceparent"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"],
                                      (HEADER.lower().encode(), trace.correlation_id.encode())]
            await send(message)

        with bound(trace):
            await self.app(scope, receive, send_with_id)
