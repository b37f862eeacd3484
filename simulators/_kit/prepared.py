"""Responses for the hot path: JSON already serialized, headers already encoded.

Starlette's ``Response.__init__`` renders the content, then turns a header mapping into the
raw list (lower-casing, encoding and checking each name). A handler that already has the
body bytes and its few extra headers in wire form skips both; the resulting header list is
exactly the one ``JSONResponse(content, status, headers)`` builds, in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.responses import Response
from starlette.types import Scope

_JSON = b"application/json"
RawHeaders = list[tuple[bytes, bytes]]


class PreparedJSONResponse(Response):
    """``body`` (serialized JSON) with ``raw_headers`` (lower-case names, latin-1 bytes)."""

    media_type = "application/json"

    def __init__(self, body: bytes, status_code: int = 200,
                 raw_headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        raw = list(raw_headers)
        if not (status_code < 200 or status_code in (204, 304)):
            raw.append((b"content-length", str(len(body)).encode("latin-1")))
        raw.append((b"content-type", _JSON))
        self.raw_headers = raw


def header_value(scope: Scope, name: bytes) -> bytes | None:
    """The first value of request header ``name`` (lower-case bytes), as Starlette's
    ``request.headers.get`` finds it, without building the ``Headers`` object."""
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None
