"""Request journal and Prometheus metrics, as one pure-ASGI middleware."""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.utils import floatToGoString
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .clock import Clock


class RequestJournal:
    """The last ``size`` vendor requests. Recorded as flat tuples (the hot path) and turned
    into the journal's documents only when read.

    An entry holds only strings, bytes and numbers, never the request's header list: a tuple
    of such atoms is untracked by the cyclic garbage collector, so 10,000 entries cost the
    collector nothing (holding each request's headers kept ~6 tracked objects per entry
    alive, and the collector's full passes over them cost ~8% of a GET, measured on the
    wire)."""

    def __init__(self, size: int = 10_000) -> None:
        # (at, method, path, raw query, route, status, duration s, raw correlation id,
        #  raw idempotency key, fault)
        self.entries: deque[tuple[Any, ...]] = deque(maxlen=size)

    def record(self, at: float, scope: Scope, route: str, status: int,
               duration_s: float) -> None:
        correlation_id = idempotency_key = None
        for name, value in scope.get("headers") or ():
            if name == b"x-correlation-id":
                correlation_id = value
            elif name == b"idempotency-key":
                idempotency_key = value
        self.entries.append((at, scope["method"], scope["path"], scope.get("query_string", b""),
                             route, status, duration_s, correlation_id, idempotency_key,
                             scope.get("o2c.fault")))

    @staticmethod
    def _document(entry: tuple[Any, ...]) -> dict[str, Any]:
        at, method, path, query, route, status, duration_s, correlation, idempotency, fault = \
            entry
        return {
            "at": at,
            "method": method,
            "path": path,
            "query": query.decode("latin-1"),
            "route": route,
            "status": status,
            "duration_ms": round(duration_s * 1000, 3),
            "correlation_id": correlation.decode("latin-1") or None if correlation else None,
            "idempotency_key": idempotency.decode("latin-1") or None if idempotency else None,
            "fault": fault,
        }

    def list(self, limit: int = 100, path: str | None = None,
             method: str | None = None) -> list[dict[str, Any]]:
        wanted = None if method is None else method.upper()
        items = [
            e for e in self.entries
            if (path is None or e[2].startswith(path)) and (wanted is None or e[1] == wanted)
        ]
        return [self._document(e) for e in items[-limit:]]

    def clear(self) -> None:
        self.entries.clear()


LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ServedRequests:
    """``sim_requests_total`` and ``sim_request_duration_seconds`` as a custom collector.

    The same families, labels, buckets and ``_created`` samples a prometheus ``Counter`` and
    ``Histogram`` export, but counted in plain dicts: a labelled child's ``inc()`` and
    ``observe()`` validate and take a lock on every call, a visible share of a simulator's
    per-request cost. Counted on the event loop's thread, read by ``collect()`` on the same.
    """

    def __init__(self, simulator: str) -> None:
        self.simulator = simulator
        self._counts: dict[tuple[str, str, int], list[float]] = {}  # key → [count, created]
        # route → [bucket counts (last: +Inf), sum, created]
        self._latency: dict[str, list[Any]] = {}

    def add(self, method: str, route: str, status: int, duration_s: float) -> None:
        key = (method, route, status)  # the status label is rendered by collect()
        counted = self._counts.get(key)
        if counted is None:
            counted = self._counts[key] = [0.0, time.time()]
        counted[0] += 1.0
        timed = self._latency.get(route)
        if timed is None:
            timed = self._latency[route] = [[0] * (len(LATENCY_BUCKETS) + 1), 0.0, time.time()]
        # prometheus' Histogram: the first bucket whose upper bound is >= the value
        timed[0][bisect.bisect_left(LATENCY_BUCKETS, duration_s)] += 1
        timed[1] += duration_s

    def describe(self) -> list[Metric]:
        return [CounterMetricFamily("sim_requests_total", "Requests served"),
                Metric("sim_request_duration_seconds",
                       "Time to serve a request (including injected latency)", "histogram")]

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily("sim_requests_total", "Requests served",
                                       labels=["simulator", "method", "route", "status"])
        for (method, route, status), (count, created) in list(self._counts.items()):
            requests.add_metric([self.simulator, method, route, str(status)], count,
                                created=created)
        yield requests
        latency = Metric("sim_request_duration_seconds",
                         "Time to serve a request (including injected latency)", "histogram")
        bounds = [floatToGoString(b) for b in LATENCY_BUCKETS]  # type: ignore[no-untyped-call]
        bounds.append("+Inf")
        for route, (buckets, total, created) in list(self._latency.items()):
            labels = {"simulator": self.simulator, "route": route}
            cumulative = 0
            for bound, count in zip(bounds, buckets, strict=True):
                cumulative += count
                latency.add_sample("sim_request_duration_seconds_bucket",
                                   {**labels, "le": bound}, float(cumulative))
            latency.add_sample("sim_request_duration_seconds_count", labels, float(cumulative))
            latency.add_sample("sim_request_duration_seconds_sum", labels, total)
            latency.add_sample("sim_request_duration_seconds_created", labels, created)
        yield latency


class Metrics:
    def __init__(self, simulator: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.served = ServedRequests(simulator)
        self.registry.register(self.served)  # type: ignore[arg-type]
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
        self.served = metrics.served
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim/"):
            await self.app(scope, receive, send)
            return
        await self.observe(self.app, scope, receive, send)

    async def observe(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Run ``app`` on one vendor request, journaled and counted."""
        started = time.perf_counter()
        at = self.clock.now()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            self._served(scope, at, started, status)

    async def observe_endpoint(self, endpoint: Any, scope: Scope, receive: Receive,
                               send: Send) -> None:
        """:meth:`observe` for the kit's own endpoint app (the direct path): it tells the
        status it answered with, so ``send`` is passed on unwrapped."""
        started = time.perf_counter()
        at = self.clock.now()
        status = 500
        try:
            status = await endpoint.respond(scope, receive, send)
        except BaseException:
            status = scope.get("o2c.status", status)
            raise
        finally:
            self._served(scope, at, started, status)

    def _served(self, scope: Scope, at: float, started: float, status: int) -> None:
        """Journal and count one request that began at ``started`` (perf counter)."""
        duration = time.perf_counter() - started
        route = scope.get("o2c.route", "unmatched")
        self.journal.record(at, scope, route, status, duration)
        self.served.add(scope["method"], route, status, duration)
