"""The garbage-collection policy of serving processes: process-wide, so each test runs it in
a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=60, check=False)


def test_survivors_are_frozen_and_cycles_that_die_frozen_are_reclaimed() -> None:
    done = _run("""
        import gc, time, weakref
        from simulators._kit.gcpolicy import freeze_survivors

        class Node:
            pass

        node = Node()
        node.me = node  # a cycle: only the collector frees it
        dead = []
        probe = weakref.ref(node, lambda _: dead.append(True))
        assert freeze_survivors(every_s=0.05, reclaim_s=1.5)
        assert not freeze_survivors()  # once per process
        deadline = time.monotonic() + 5
        while gc.get_freeze_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gc.get_freeze_count() > 0, "nothing was frozen"
        del node
        gc.collect()  # a full pass skips the frozen: the dead cycle stays for now
        assert not dead, "a frozen cycle was collected by a plain full pass"
        deadline = time.monotonic() + 10
        while not dead and time.monotonic() < deadline:
            time.sleep(0.05)
        assert dead, "the reclaim never freed the cycle that died frozen"
        print("ok")
    """)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_a_young_dead_cycle_is_collected_before_it_could_be_frozen() -> None:
    done = _run("""
        import gc, time, weakref
        from simulators._kit.gcpolicy import freeze_survivors

        class Node:
            pass

        gc.disable()  # no automatic pass: only the policy's own collection can free it
        node = Node()
        node.me = node
        dead = []
        probe = weakref.ref(node, lambda _: dead.append(True))
        del node
        assert freeze_survivors(every_s=0.05, reclaim_s=3600)
        deadline = time.monotonic() + 5
        while not dead and time.monotonic() < deadline:
            time.sleep(0.02)
        assert dead, "a dead young cycle was frozen instead of collected"
        print("ok")
    """)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
