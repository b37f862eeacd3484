"""Instructions per request under valgrind: a cost measure the other engineers' load can't move.

On a shared 2-core machine, requests/s and even CPU time move by tens of percent from one
run to the next. ``valgrind --tool=callgrind`` counts instructions instead, which are the
same for the same code and inputs whatever else runs. Each cell runs the in-process driver
of :mod:`bench.inproc` twice (``--small`` and ``--large`` requests) and divides the
difference by the extra requests, so interpreter start-up and imports cancel out.

Slow (valgrind runs Python ~50x slower: about a minute per cell, two cells at a time); use it
to compare before/after a change, not as a throughput figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from .apps import APPS, billing_available

_COLLECTED = re.compile(r"Collected : (\d+)")


def _child(name: str, method: str, n: int) -> None:
    from . import inproc
    from .apps import build
    from .reference import capture_asgi, fixture_reference

    async def run() -> None:
        # the same reference as bench.inproc: captured from ours when it is available
        ref = fixture_reference()
        if billing_available() is None:
            ref = await capture_asgi(build("billing", ref))
        app = await inproc._prepare(name, ref)
        ex = ref.exchanges()[method]
        for _ in range(n):
            await inproc.call(app, ex)

    asyncio.run(run())


def count(name: str, method: str, n: int, timeout_s: float = 900) -> int:
    """Instructions of a whole child run with ``n`` requests."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         "-m", "bench.instructions", "--child", name, method, str(n)],
        capture_output=True, text=True, timeout=timeout_s, env=env, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"valgrind run failed ({done.returncode}): {done.stderr[-400:]}")
    return int(found.group(1))


def per_request(name: str, method: str, small: int, large: int) -> float:
    with ThreadPoolExecutor(max_workers=2) as pool:
        a = pool.submit(count, name, method, small)
        b = pool.submit(count, name, method, large)
        return (b.result() - a.result()) / (large - small)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(APPS))
    parser.add_argument("--method", default="GET,POST")
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=1100)
    parser.add_argument("--child", nargs=3, metavar=("APP", "METHOD", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind not found (apt-get install -y valgrind)", file=sys.stderr)
        return 2
    names = [a for a in APPS if a in args.only.split(",")]
    if billing_available() is not None:
        names = [a for a in names if not a.startswith("billing")]
    methods = args.method.split(",")
    print(f"instructions per request (callgrind, in process, "
          f"({args.large} - {args.small}) requests)")
    print(f"{'app':<14}" + "".join(f"{m:>12}" for m in methods))
    for name in names:
        row = [per_request(name, m, args.small, args.large) for m in methods]
        print(f"{name:<14}" + "".join(f"{v:>12,.0f}" for v in row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
