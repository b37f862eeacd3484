"""The reference layer under a profiler: ``python -m bench.profiled_layer PORT OUT KIND``.

uvicorn serving ``integration:create_app`` (settings from the ``O2C_*`` environment, as
``bench.e2e`` sets them). The profile covers a window, not the whole process: ``SIGUSR1``
starts it, ``SIGUSR2`` stops it and writes ``OUT`` (``bench.e2e --profile`` sends them around
the month end, so set-up and start-up are not in it). ``KIND``:

- ``pyinstrument`` — a wall-clock sampling call tree as text;
- ``cprofile`` — every call counted (cProfile), the top functions by own and by cumulative
  time as text, and the raw stats next to it (``OUT.pstats``);
- ``sql`` — every SQL statement the layer sent, counted by its text (and the commits).

For finding where the layer's time goes under the e2e load, not for its figures (profiling
costs CPU).
"""

from __future__ import annotations

import io
import signal
import sys
from pathlib import Path
from typing import Any


class Window:
    def __init__(self, out: Path, kind: str) -> None:
        self.out, self.kind = out, kind
        self.profiler: Any = None

    def start(self, *_: Any) -> None:
        if self.profiler is not None:
            return
        if self.kind == "sql":
            self.profiler = SqlCounter()
        elif self.kind == "cprofile":
            import cProfile

            self.profiler = cProfile.Profile()
            self.profiler.enable()
        else:
            from pyinstrument import Profiler

            self.profiler = Profiler(interval=0.001, async_mode="disabled")
            self.profiler.start()

    def stop(self, *_: Any) -> None:
        if self.profiler is None:
            return
        profiler, self.profiler = self.profiler, None
        if self.kind == "sql":
            self.out.write_text(profiler.stop())
        elif self.kind == "cprofile":
            import pstats

            profiler.disable()
            profiler.dump_stats(str(self.out) + ".pstats")
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text)
            stats.sort_stats("tottime").print_stats(60)
            stats.sort_stats("cumulative").print_stats(120)
            self.out.write_text(text.getvalue())
        else:
            profiler.stop()
            self.out.write_text(
                profiler.output_text(unicode=False, color=False, show_all=False)
                + "\n\nFlat (self time per function):\n"
                + profiler.output_text(unicode=False, color=False, flat=True))


class SqlCounter:
    """Counts the statements every engine sends (SQLAlchemy's cursor events)."""

    def __init__(self) -> None:
        from collections import Counter

        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        self.counts: Counter[str] = Counter()
        self.commits = 0
        self._engine = Engine
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.counts[" ".join(statement.split())[:160]] += 1

    def _commit(self, _conn: Any) -> None:
        self.commits += 1

    def stop(self) -> str:
        from sqlalchemy import event

        event.remove(self._engine, "before_cursor_execute", self._statement)
        event.remove(self._engine, "commit", self._commit)
        lines = [f"{sum(self.counts.values())} statements, {self.commits} commits"]
        lines += [f"{n:7d}  {text}" for text, n in self.counts.most_common()]
        return "\n".join(lines) + "\n"


def main() -> None:
    port, out, kind = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    import uvicorn

    import integration  # noqa: F401  (imports before the profile: they are not the question)

    window = Window(out, kind)
    signal.signal(signal.SIGUSR1, window.start)
    signal.signal(signal.SIGUSR2, window.stop)
    try:
        uvicorn.run("integration:create_app", factory=True, host="127.0.0.1", port=port,
                    log_level="warning")
    finally:
        window.stop()


if __name__ == "__main__":
    main()
