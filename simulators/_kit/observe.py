"""Request journal and Prometheus metrics, as one pure-ASGI middleware."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .clock import Clock


class RequestJournal:
    def __init__(self, size: int = 10_000) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=size)

    def list(self, limit: int = 100, path: str | None = None,
             method: str | None = None) -> list[dict[str, Any]]:
        items = [
            e for e in self.entries
            if (path is None or e["path"].startswith(path))
            and (method is None or e["method"] == method.upper())
        ]
        return items[-limit:]

    def clear(self) -> None:
        self.entries.clear()


class Metrics:
    def __init__(self, simulator: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "sim_requests_total", "Requests served", ["simulator", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sim_request_duration_seconds", "Time to serve a request (including injected latency)",
            ["simulator", "route"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.faults = Counter(
            "sim_faults_injected_total", "Faults injected", ["simulator", "kind"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "sim_webhook_attempts_total", "Webhook delivery attempts", ["simulator", "outcome"],
            registry=self.registry,
        )
        self.simulator = simulator


class ObserveMiddleware:
    """Journals every non-admin request and counts it; admin calls are not journaled."""

    def __init__(self, app: ASGIApp, *, journal: RequestJournal, metrics: Metrics,
                 clock: Clock) -> None:
        self.app = app
        self.journal = journal
        self.metrics = metrics
        self.clock = clock
        # labelled metric children, looked up once per label set: ``labels()`` validates and
        # locks on every call, which was a visible share of a simulator's per-request cost
        self._counted: dict[tuple[str, str, str], Any] = {}
        self._timed: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim/"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        at = self.clock.now()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            duration = time.perf_counter() - started
            route = scope.get("o2c.route", "unmatched")
            correlation_id = idempotency_key = None
            for name, value in scope.get("headers") or ():
                if name == b"x-correlation-id":
                    correlation_id = value.decode("latin-1") or None
                elif name == b"idempotency-key":
                    idempotency_key = value.decode("latin-1") or None
            method = scope["method"]
            self.journal.entries.append({
                "at": at,
                "method": method,
                "path": scope["path"],
                "query": scope.get("query_string", b"").decode("latin-1"),
                "route": route,
                "status": status,
                "duration_ms": round(duration * 1000, 3),
                "correlation_id": correlation_id,
                "idempotency_key": idempotency_key,
                "fault": scope.get("o2c.fault"),
            })
            key = (method, route, str(status))
            counted = self._counted.get(key)
            if counted is None:
                counted = self._counted[key] = self.metrics.requests.labels(
                    self.metrics.simulator, *key)
            counted.inc()
            timed = self._timed.get(route)
            if timed is None:
                timed = self._timed[route] = self.metrics.latency.labels(
                    self.metrics.simulator, route)
            timed.observe(duration)
