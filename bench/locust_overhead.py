"""The harness's own load-generator cost: Locust user time per request, next to wrk's.

``python -m bench.locust_overhead`` serves the bare ``ceiling`` app (:mod:`bench.apps`,
uvicorn + Starlette returning fixed bytes: the cheapest server we have) on CPU 0 and sends it
the reference ``GET /v1/customers/{id}`` from CPU 1, one connection at a time:

- ``wrk -t1 -c1``: the floor — a C client, one request in flight;
- Locust, headless, one user with no wait time, on ``FastHttpUser`` — the client class every
  harness Locust user derives from (``scenarios/locustfiles/o2c_load.py: O2cUser``).

With one request in flight, a client's time per request is ``1 / requests per second``;
the server and the loopback cost the same for both, so Locust's time per request minus
wrk's is what Locust itself adds to each request (its user loop, request building,
response parsing, stats and event hooks). Also reported: the response time Locust records
(what its statistics would show for a server this fast) and each client's own CPU per request
(``rusage`` of its process; Locust's start-up CPU cancels out by taking the difference of a
short and a long run). Bounded: about ``3 x --duration`` seconds in all.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .load import LoadSettings, run_wrk, wrk_available
from .reference import fixture_reference
from .servers import LOAD_CPU, ROOT, Target, free_port, pinned, python_command, start, stop

LOCUSTFILE = '''
from locust import FastHttpUser, constant, task

HEADERS = {headers!r}


class OverheadUser(FastHttpUser):
    """The client class of the harness's users, without think time."""

    wait_time = constant(0)

    @task
    def get_customer(self) -> None:
        self.client.get({path!r}, headers=HEADERS, name="GET /v1/customers/{{id}}")
'''


def _run_measured(cmd: list[str], timeout_s: float) -> tuple[int, float, str]:
    """Run ``cmd``; its exit status, its CPU seconds (user + system, children included)
    and its stdout."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return proc.returncode, usage.ru_utime + usage.ru_stime, out.read().decode(
            errors="replace")


def run_locust(url: str, path: str, headers: dict[str, str], duration_s: int,
               workdir: Path) -> dict[str, Any]:
    locustfile = workdir / "overhead_locustfile.py"
    locustfile.write_text(textwrap.dedent(LOCUSTFILE.format(headers=headers, path=path)))
    prefix = workdir / f"locust-{duration_s}"
    cmd = pinned([sys.executable, "-m", "locust", "-f", str(locustfile), "--headless",
                  "-u", "1", "-r", "1", "-t", f"{duration_s}s", "--host", url,
                  "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
                  "--stop-timeout", "1"], LOAD_CPU)
    code, cpu_s, output = _run_measured(cmd, duration_s + 60)
    stats = prefix.with_name(prefix.name + "_stats.csv")
    if not stats.exists():
        raise RuntimeError(f"locust wrote no statistics (exit {code}): {output[-400:]}")
    with stats.open() as fh:
        row = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    requests = int(row["Request Count"])
    return {"requests": requests, "failures": int(row["Failure Count"]),
            "rps": float(row["Requests/s"]), "mean_ms": float(row["Average Response Time"]),
            "p50_ms": float(row["50%"]), "p99_ms": float(row["99%"]), "cpu_s": cpu_s,
            "duration_s": duration_s}


def measure(duration_s: int) -> dict[str, Any]:
    ref = fixture_reference()
    ex = ref.get
    with tempfile.TemporaryDirectory(prefix="o2c-bench-locust-") as tmp:
        workdir = Path(tmp)
        ref_path = ref.save(workdir / "reference.json")
        port = free_port()
        target = Target("ceiling", "ceiling", "bare Starlette + uvicorn", warmup_s=2)
        running = start(target, python_command("ceiling", port, ref_path), workdir, port, ref)
        try:
            settings = LoadSettings(connections=1, threads=1, duration_s=duration_s)
            run_wrk(running.url, ex, settings, duration_s=2)  # warm-up
            wrk = run_wrk(running.url, ex, settings)
            wrk_cmd = pinned(["wrk", "-t1", "-c1", f"-d{duration_s}s", running.url + ex.path],
                             LOAD_CPU)
            for name, value in ex.request_headers.items():
                wrk_cmd[-1:-1] = ["-H", f"{name}: {value}"]
            _, wrk_cpu_s, _ = _run_measured(wrk_cmd, duration_s + 30)
            short = run_locust(running.url, ex.path, ex.request_headers,
                               max(2, duration_s // 3), workdir)
            long = run_locust(running.url, ex.path, ex.request_headers, duration_s, workdir)
        finally:
            stop(running)
    wrk_us = 1e6 / wrk["rps"] if wrk["rps"] else float("nan")
    locust_us = 1e6 / long["rps"] if long["rps"] else float("nan")
    extra = long["requests"] - short["requests"]
    locust_cpu_us = ((long["cpu_s"] - short["cpu_s"]) / extra * 1e6) if extra > 0 else None
    wrk_requests = wrk["rps"] * duration_s  # the CPU run had the same settings
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "server": "ceiling (bench.apps: Starlette + uvicorn, fixed bytes), CPU 0",
        "wrk": {**wrk, "per_request_us": round(wrk_us, 1),
                "cpu_per_request_us": round(wrk_cpu_s / wrk_requests * 1e6, 1)
                if wrk_requests else None},
        "locust": {**long, "per_request_us": round(locust_us, 1),
                   "cpu_per_request_us": round(locust_cpu_us, 1) if locust_cpu_us else None,
                   "short_run": short},
        "locust_overhead_per_request_us": round(locust_us - wrk_us, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.locust_overhead", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    problem = wrk_available()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    result = measure(args.duration)
    out = args.out or ROOT / "reports" / "bench" / (
        "locust-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    w, lo = result["wrk"], result["locust"]
    print(f"one request in flight against the ceiling app (load average "
          f"{result['load_average'][0]}):")
    print(f"  wrk -c1:           {w['rps']:>8,.0f} req/s = {w['per_request_us']:>7.1f} us/request,"
          f" mean latency {w['mean_ms']:.3f} ms, client CPU {w['cpu_per_request_us']} us/request")
    print(f"  Locust (1 user):   {lo['rps']:>8,.0f} req/s = {lo['per_request_us']:>7.1f} "
          f"us/request, reported mean {lo['mean_ms']:.2f} ms, client CPU "
          f"{lo['cpu_per_request_us']} us/request, {lo['failures']} failures")
    print(f"  Locust adds {result['locust_overhead_per_request_us']:.1f} us per request "
          f"over wrk; written: {out}/result.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
