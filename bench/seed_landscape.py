"""How long does one consistent business take to seed into a running landscape?

Starts ``harness up`` (all simulators, memory stores, free ports) as a separate process, as a
user runs it, then seeds it over HTTP the way ``harness seed --customers N`` does, and prints
the wall time per phase and simulator. Target: 10,000 customers in under 60 s on 2 cores.

    python -m bench.seed_landscape --customers 10000 --dirtiness 0.1
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

import simulators
from harness.business import BusinessOptions, Dirtiness, http_clients, seed_landscape


def start_landscape(state_dir: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    # the simulators only: a reference layer wired to them would act on the seeded data
    env = dict(os.environ, HARNESS_STATE_DIR=str(state_dir), HARNESS_INTEGRATION__SERVE="false")
    for name in simulators.names():
        env[f"HARNESS_SIMULATORS__{name.upper()}__PORT"] = "0"
    log = (state_dir / "landscape.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "harness", "up"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    state = state_dir / "landscape.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if state.is_file():
            urls: dict[str, str] = json.loads(state.read_text())["urls"]
            if all(_healthy(url) for url in urls.values()):
                return proc, urls
        if proc.poll() is not None:
            raise SystemExit(f"landscape exited: see {state_dir / 'landscape.log'}")
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("landscape did not start within 60 s")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_sim/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dirtiness", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=1, help="seed this many times in a row")
    args = parser.parse_args()
    options = BusinessOptions(seed=args.seed, customers=args.customers,
                              dirtiness=Dirtiness.uniform(args.dirtiness))
    print(f"cpus: {os.cpu_count()} (affinity {len(os.sched_getaffinity(0))}); "
          f"customers: {args.customers}; dirtiness {args.dirtiness}")
    with tempfile.TemporaryDirectory(prefix="o2c-seed-bench-") as tmp:
        proc, urls = start_landscape(Path(tmp))
        try:
            server = psutil.Process(proc.pid)
            me = psutil.Process()

            def cpu(p: psutil.Process) -> float:
                t = p.cpu_times()
                return float(t.user + t.system)

            with http_clients(urls) as clients:
                for run in range(args.repeat):
                    marks: list[tuple[str, float, float]] = [("start", cpu(server), cpu(me))]

                    def mark(msg: str, marks: list[tuple[str, float, float]] = marks) -> None:
                        marks.append((msg, cpu(server), cpu(me)))

                    result = seed_landscape(clients, options, progress=mark)
                    marks.append(("done", cpu(server), cpu(me)))
                    busy = (marks[-1][1] - marks[0][1]) + (marks[-1][2] - marks[0][2])
                    print(f"run {run + 1}: {result.timings['total']:.1f} s wall "
                          f"(load average {os.getloadavg()[0]:.1f}), CPU: landscape "
                          f"{marks[-1][1] - marks[0][1]:.1f} s + harness "
                          f"{marks[-1][2] - marks[0][2]:.1f} s = {busy:.1f} s; landscape "
                          f"{result.landscape_checksum[:16]}")
                    for (_, s0, h0), (msg, s1, h1) in itertools.pairwise(marks):
                        print(f"  CPU until '{msg}': landscape {s1 - s0:.1f} s, "
                              f"harness {h1 - h0:.1f} s")
                    for key, value in result.timings.items():
                        print(f"  {key:28s} {value:7.2f} s")
                    print("  imported:", json.dumps(result.imported))
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
