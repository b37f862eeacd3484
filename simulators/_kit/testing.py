"""Test helpers for code that talks to simulators: a condition poller and a webhook
recorder (an ASGI receiver that remembers what it got and answers from a script).

Public so that users' own tests (and the harness's pytest plugin) can use them too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from .server import serve_in_thread

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.02) -> T:
    """Poll ``condition`` until it returns something truthy and return it; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@dataclass(frozen=True)
class Received:
    """One request a :class:`WebhookRecorder` got (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class WebhookRecorder:
    """An ASGI webhook receiver: records every request; answers with the next scripted
    ``(status, body)`` and then with ``default``. Serve it with :meth:`serve`."""

    def __init__(self, default: tuple[int, bytes] = (200, b""),
                 content_type: bytes = b"text/plain") -> None:
        self.default = default
        self.content_type = content_type
        self.script: list[tuple[int, bytes]] = []
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self.url = ""

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def bodies(self) -> list[bytes]:
        return [r.body for r in self.received]

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self.script.clear()

    @contextmanager
    def serve(self, path: str = "") -> Iterator[WebhookRecorder]:
        """Serve on a free loopback port; ``url`` is set to the base URL + ``path``."""
        with serve_in_thread(self, name="webhook-recorder") as server:
            self.url = f"{server.url}{path}"
            try:
                yield self
            finally:
                self.url = ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": f"{message['type']}.complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        with self._lock:
            self._received.append(Received(scope["method"], scope["path"], headers, body))
            status, answer = self.script.pop(0) if self.script else self.default
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", self.content_type)]})
        await send({"type": "http.response.body", "body": answer})
