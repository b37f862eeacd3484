"""Short garbage collections in the processes that serve simulators (``serve_all``).

A simulator keeps its state as documents in memory, and CPython's full (generation 2)
collection walks every one of them: under a load test that creates state, the pauses grow
with it (measured: up to 353 ms per pass for ~15,700 Stripe customers; billing POST p99
274 ms; ``bench/RESULTS.md``). :func:`freeze_survivors` moves what survived into the
permanent generation once a second (``gc.freeze()``), so a full pass walks only what is newer
than that. Before each freeze the young generations are collected, so what is frozen is
(almost) only live objects; acyclic objects are freed by reference counting, frozen or not.
What becomes *cyclic* garbage while frozen is reclaimed every ``reclaim_s`` (unfreeze, one
full collection: one longer pause in that period instead of many).

Process-wide, so only a process that serves until stopped installs it (``serve_all``:
``harness up``, ``harness integration serve``, the bench's servers), never ``build_app`` or
the in-process servers of tests and ``mock_landscape``.
"""

from __future__ import annotations

import gc
import threading
import time

_lock = threading.Lock()
_started = False


def freeze_survivors(every_s: float = 1.0, reclaim_s: float = 300.0) -> bool:
    """Start the policy in this process (a daemon thread); False when it already runs."""
    global _started
    with _lock:
        if _started:
            return False
        _started = True
    threading.Thread(target=_run, args=(every_s, reclaim_s), name="o2c-gc-freeze",
                     daemon=True).start()
    return True


def _run(every_s: float, reclaim_s: float) -> None:
    next_reclaim = time.monotonic() + reclaim_s
    while True:
        time.sleep(every_s)
        if time.monotonic() >= next_reclaim:
            gc.unfreeze()
            gc.collect()  # what died while frozen
            next_reclaim = time.monotonic() + reclaim_s
        else:
            gc.collect(1)  # young cycles: not frozen as if they were live
        gc.freeze()


__all__ = ["freeze_survivors"]
