"""The reference layer under a profiler: ``python -m bench.profiled_layer PORT OUT KIND``.

uvicorn serving ``integration:create_app`` (settings from the ``O2C_*`` environment, as
``bench.e2e`` sets them). The profile covers a window, not the whole process: ``SIGUSR1``
starts it, ``SIGUSR2`` stops it and writes ``OUT`` (``bench.e2e --profile`` sends them around
the month end, so set-up and start-up are not in it). ``KIND``:

- ``pyinstrument`` — a wall-clock sampling call tree as text;
- ``cprofile`` — every call counted (cProfile), the top functions by own and by cumulative
  time as text, and the raw stats next to it (``OUT.pstats``);
- ``sql`` — every SQL statement the layer sent, counted by its text (and the commits).

``py-spy`` is not in this module: it samples the plain layer process from outside
(:class:`PySpy`, on-CPU samples only, nothing inside the layer instrumented), so its shares are
the least distorted; :func:`summarize_collapsed` turns its stacks into text.

For finding where the layer's time goes under the e2e load, not for its figures (profiling
costs CPU).
"""

from __future__ import annotations

import io
import shutil
import signal
import subprocess
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


class PySpy:
    """``py-spy record`` attached to a running process for a window: ``start()``, ``stop()``
    (py-spy writes its collapsed stacks on SIGINT; the summary goes to ``out``)."""

    def __init__(self, pid: int, out: Path, rate: int = 200) -> None:
        self.pid, self.out, self.rate = pid, out, rate
        self.raw = out.with_name(out.name + ".collapsed")
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def command() -> str:
        """The py-spy executable (next to this interpreter, else on PATH)."""
        beside = Path(sys.executable).with_name("py-spy")
        found = str(beside) if beside.exists() else shutil.which("py-spy")
        if found is None:
            raise SystemExit("py-spy is not installed: pip install -e \".[bench]\" "
                             "(or pip install py-spy)")
        return found

    def start(self) -> None:
        # the default (blocking) mode pauses the process for each sample: whole stacks, no
        # sampling errors; --idle is off, so only samples on the CPU are counted
        self.proc = subprocess.Popen(
            [self.command(), "record", "--pid", str(self.pid), "--rate", str(self.rate),
             "--format", "raw", "--output", str(self.raw)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGINT)
        try:
            said = proc.communicate(timeout=60)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            proc.kill()
            said = proc.communicate()[0].decode(errors="replace")
        if not self.raw.exists():
            self.out.write_text(f"py-spy wrote no samples (exit {proc.returncode}):\n{said}")
            return
        self.out.write_text(summarize_collapsed(self.raw.read_text(), self.rate))


def _package(frame: str) -> str:
    """``name (sqlalchemy/orm/session.py:12)`` → ``sqlalchemy``; a stdlib module file
    (``weakref.py``) → ``weakref``; frozen and C frames by their name."""
    where = frame.rsplit(" (", 1)[-1].rstrip(")")
    path = where.rsplit(":", 1)[0]
    if path.startswith("<"):
        return path
    head = path.lstrip("/").split("/")
    if "site-packages" in head:
        head = head[head.index("site-packages") + 1:]
    return head[0].removesuffix(".py") if head else path


# a thread parked in one of these is waiting, whatever py-spy's idle heuristic says (it
# reports the anyio worker threads' Condition.wait as on the CPU)
_WAITS = ("Condition.wait (threading.py", "Event.wait (threading.py", "Queue.get (queue.py",
          "Semaphore.acquire (threading.py")


def summarize_collapsed(text: str, rate: int, top: int = 30) -> str:
    """py-spy's collapsed stacks (``frame;frame;... count`` per line, root first) as shares:
    own time by package (the sampled frame's), inclusive time by package, and the layer's
    own functions (``integration/``) inclusive of what they call. Samples of a thread parked
    in a wait (``_WAITS``) are left out and counted apart."""
    from collections import Counter

    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    layer: Counter[str] = Counter()
    total = waiting = 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        if frames[-1].startswith(_WAITS):
            waiting += n
            continue
        total += n
        own[_package(frames[-1])] += n
        for package in {_package(f) for f in frames}:
            inclusive[package] += n
        for name in {f.rsplit(" (", 1)[0] + " (" + f.rsplit(" (", 1)[-1].split(":")[0] + ")"
                     for f in frames if "(integration/" in f}:
            layer[name] += n
    if not total:
        return "no samples\n"

    def table(title: str, counts: Counter[str]) -> list[str]:
        return [title, *(f"  {n / total * 100:5.1f}%  {name}"
                         for name, n in counts.most_common(top)), ""]

    lines = [f"{total} samples on the CPU at {rate} Hz (~{total / rate:.2f} CPU-seconds); "
             f"{waiting} more of threads parked in a wait, left out", ""]
    lines += table("own time by package (the sampled frame's; C calls count for their "
                   "Python caller)", own)
    lines += table("inclusive by package (samples with the package anywhere on the stack)",
                   inclusive)
    lines += table("the layer's functions, inclusive", layer)
    return "\n".join(lines)


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
