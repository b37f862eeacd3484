"""Business facts a simulator records (invoice finalized, document posted, ...) and the
long-poll that waits for them: ``GET /_sim/await?kind=...&key=...``.

The latency measurements read the simulators' own timestamps from here, never the
integration layer's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .clock import Clock
from .store import StateStore


class FactLog:
    def __init__(self, store: StateStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._waiters: dict[tuple[str, str], list[asyncio.Future[dict[str, Any]]]] = {}

    @property
    def _coll(self):  # type: ignore[no-untyped-def]
        return self._store.collection("_facts")

    def record(self, kind: str, key: str, **data: Any) -> dict[str, Any]:
        """Record that ``kind`` happened to ``key`` now; repeats are counted, first time kept.

        ``at`` is the simulator clock; ``wall_at`` is ``at`` minus the clock's offset (the
        unshifted instant, equal to ``at`` until someone advances the clock)."""
        fact_id = f"{kind}|{key}"
        existing = self._coll.get(fact_id)
        if existing is not None:
            existing["count"] += 1
            existing["last_at"] = self._clock.now()
            self._coll.put(fact_id, existing)
            return existing
        at = self._clock.now()
        # ``wall_at``: the same instant with clock advances taken out, so latencies can be
        # measured across simulators whose clocks were moved differently (month-end billing)
        fact = {"kind": kind, "key": key, "at": at, "last_at": at, "count": 1,
                "wall_at": at - self._clock.offset, "data": data}
        self._coll.put(fact_id, fact)
        for fut in self._waiters.pop((kind, key), []):
            if not fut.done():
                fut.set_result(fact)
        return fact

    def find(self, kind: str, key: str) -> dict[str, Any] | None:
        return self._coll.get(f"{kind}|{key}")

    def list(self, kind: str | None = None, since: float | None = None,
             limit: int = 1000) -> list[dict[str, Any]]:
        out = [
            f for f in self._coll.values()
            if (kind is None or f["kind"] == kind) and (since is None or f["at"] >= since)
        ]
        return out[-limit:]

    async def wait(self, kind: str, key: str, timeout_s: float) -> dict[str, Any] | None:
        fact = self.find(kind, key)
        if fact is not None:
            return fact
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault((kind, key), []).append(fut)
        try:
            return await asyncio.wait_for(fut, timeout_s)
        except TimeoutError:
            return None
        finally:
            waiters = self._waiters.get((kind, key))
            if waiters and fut in waiters:
                waiters.remove(fut)
                if not waiters:
                    self._waiters.pop((kind, key), None)
