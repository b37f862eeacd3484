"""Small wire helpers shared by simulators: JSON responses and the connection-reset fault."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from harness.canonical.redact import install_logging_filter

_JSON = b"application/json"


class JSONResponse(Response):
    """orjson-rendered JSON (the hot path of every simulator)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """Starlette's headers for a JSON body, built without its generic checks (the same
        list, in the same order); a caller setting its own length or type gets Starlette's."""
        if self.media_type != "application/json":
            super().init_headers(headers)
            return
        raw = ([(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
               if headers else [])
        for name, _ in raw:
            if name == b"content-length" or name == b"content-type":
                super().init_headers(headers)
                return
        if not (self.status_code < 200 or self.status_code in (204, 304)):
            raw.append((b"content-length", str(len(self.body)).encode("latin-1")))
        raw.append((b"content-type", _JSON))
        self.raw_headers = raw


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status_code=status, headers=headers)


class ConnectionResetFault(Exception):
    """Raised after the response started, so the server drops the connection mid-response."""


class ResetResponse(Response):
    """Starts a response, then aborts: the client sees the peer close without a full reply."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"1000")]})
        raise ConnectionResetFault("fault injection: connection reset")


class _DropResetTracebacks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionResetFault)


def quiet_reset_faults() -> None:
    """Injected resets are intended; keep them out of the server's error log. Every server and
    simulator log line is redacted (e-mail, phone, card data, tax ids)."""
    for name in ("uvicorn.error", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropResetTracebacks) for f in logger.filters):
            logger.addFilter(_DropResetTracebacks())
    install_logging_filter("uvicorn.error", "uvicorn.asgi", "uvicorn.access", "o2c.simulators",
                           "o2c.simulators.webhooks")


def is_digits(text: str) -> bool:
    """Only ASCII digits, at least one: what a wire number is. ``str.isdigit`` also takes
    '²' or '①', on which ``int()`` then raises (a 500 where the vendor answers 400)."""
    return text.isascii() and text.isdigit()
