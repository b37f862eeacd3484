"""The simulator's controllable clock: wall time plus an offset the admin API can advance.

Every timestamp a simulator writes comes from here, so latency measurements and state
machines (grace periods, batch windows, outage windows) are reproducible.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Clock:
    """Wall-clock time shifted by an offset; ``frozen`` stops it at one instant."""

    def __init__(self, *, frozen_at: float | None = None) -> None:
        self._offset = 0.0
        self._frozen_at = frozen_at

    def now(self) -> float:
        if self._frozen_at is not None:
            return self._frozen_at + self._offset
        return time.time() + self._offset

    def now_int(self) -> int:
        return int(self.now())

    @property
    def offset(self) -> float:
        return self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        return self.now()

    def advance_to(self, instant: float) -> float:
        return self.advance(max(0.0, instant - self.now()))

    def freeze(self, at: float | None = None) -> None:
        self._frozen_at = (at if at is not None else time.time()) - self._offset

    def unfreeze(self) -> None:
        if self._frozen_at is not None:
            # keep "now" continuous across the switch
            self._offset = self._frozen_at + self._offset - time.time()
            self._frozen_at = None

    @contextmanager
    def pinned(self, at: float) -> Iterator[None]:
        """Inside the block ``now()`` is ``at`` (importing history through the backend's own
        creation code); the clock is exactly as before afterwards."""
        saved = (self._offset, self._frozen_at)
        self._offset, self._frozen_at = 0.0, float(at)
        try:
            yield
        finally:
            self._offset, self._frozen_at = saved

    def state(self) -> dict[str, float | bool | None]:
        return {"now": self.now(), "offset": self._offset, "frozen": self.frozen}

    def persisted(self) -> dict[str, float | None]:
        """What survives a restart: the offset and the frozen instant (not "now")."""
        return {"offset": self._offset, "frozen_at": self._frozen_at}

    def restore(self, state: dict[str, object]) -> None:
        """Accepts ``persisted()`` or ``state()`` output."""
        if "frozen_at" in state:
            offset, frozen_at = state.get("offset"), state.get("frozen_at")
            self._offset = float(offset) if isinstance(offset, int | float) else 0.0
            self._frozen_at = float(frozen_at) if isinstance(frozen_at, int | float) else None
            return
        offset = state.get("offset", 0.0)
        self._offset = float(offset) if isinstance(offset, int | float) else 0.0
        if state.get("frozen"):
            now = state.get("now")
            instant = float(now) if isinstance(now, int | float) else time.time()
            self._frozen_at = instant - self._offset
        else:
            self._frozen_at = None
