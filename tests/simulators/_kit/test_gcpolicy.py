"""The garbage-collection policy of serving processes: process-wide, so each test runs it in
a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_CYCLE = """
import gc, time, weakref
from simulators._kit.gcpolicy import freeze_survivors

class Node:
    pass

def cycle():
    \"\"\"A node in a reference cycle (only the collector frees it) and the list its
    finalizer appends to.\"\"\"
    node = Node()
    node.me = node
    dead = []
    weakref.finalize(node, dead.append, True)
    return node, dead

def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _CYCLE + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=60, check=False)


def test_survivors_are_frozen_and_cycles_that_die_frozen_are_reclaimed() -> None:
    done = _run("""
        node, dead = cycle()
        assert freeze_survivors(every_s=0.05, reclaim_s=3)
        assert not freeze_survivors()  # once per process
        assert wait_until(gc.get_freeze_count, 5), "nothing was frozen"
        del node
        gc.collect()  # a full pass skips the frozen: the dead cycle stays for now
        assert not dead, "a frozen cycle was collected by a plain full pass"
        assert wait_until(lambda: dead, 15), "the reclaim never freed the cycle that died frozen"
        print("ok")
    """)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_a_young_dead_cycle_is_collected_before_it_could_be_frozen() -> None:
    done = _run("""
        gc.disable()  # no automatic pass: only the policy's own collection can free it
        node, dead = cycle()
        del node
        assert freeze_survivors(every_s=0.05, reclaim_s=3600)
        assert wait_until(lambda: dead, 5), "a dead young cycle was frozen instead of collected"
        print("ok")
    """)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
