"""Our billing simulator side by side with WireMock, Mountebank, Prism and the Python ceiling.

``python -m bench.peers`` (or ``nox -s bench``) serves the same Stripe-like
``GET /v1/customers/{id}`` and ``POST /v1/customers`` (form body) answers from every server,
one server at a time on CPU 0, drives each with the same wrk settings on CPU 1, and prints
requests/s, p50/p99 and the ratios of ours to each peer and to the ceiling. The full result
(settings, versions, machine load, logs) goes to ``reports/bench/<run-id>/``.

Before a server is measured, one request per exchange checks that it gives the reference
answer; a server that does not is skipped, so the table never compares different work.
Loopback only; every run is bounded by its durations.

Then ``--pairs N`` paired rounds (default 3): ours and the ceiling served side by side, GET
cells alternating (ours, ceiling, then ceiling, ours, ...). On a shared virtual machine the
speed of the host drifts by tens of percent within minutes; one cell each, minutes apart, can
move the ratio by that much. Adjacent cells see the same machine, so each pair's ratio is
sound, and the median of the pairs is the figure the ceiling target is judged by.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from . import apps
from .load import LoadSettings, run_wrk, wrk_available
from .reference import Reference, capture, capture_asgi, fixture_reference, same_answer
from .servers import (
    ROOT,
    Running,
    Skip,
    Target,
    ensure_node_packages,
    free_port,
    mountebank_command,
    pinning_possible,
    prism_command,
    python_command,
    start,
    stop,
    versions,
    wiremock_command,
)

OURS = "billing"
PEERS = ("wiremock", "mountebank", "prism")
ORDER = ("billing", "billing-bare", "kit-hello", "ceiling", "mountebank", "prism", "wiremock")
# Issue 14's targets for GET throughput, as ratios ours / other (reported, never asserted).
GET_TARGETS = {"prism": 2.0, "mountebank": 1.5, "wiremock": 0.8, "ceiling": 0.7}


def targets(warmup_s: float, jvm_warmup_s: float) -> dict[str, Target]:
    py = "1 uvicorn worker, uvloop, httptools, access log off"
    return {
        "billing": Target("billing", "ours", f"kit app factory + kit serving; {py}; memory "
                          "store; stateful (each POST creates a customer)", warmup_s,
                          stateful=True, setup_s=30),
        "billing-bare": Target("billing-bare", "overhead", "same handlers and backend, kit "
                               f"pipeline removed (auth kept); {py}", warmup_s, stateful=True,
                               setup_s=30),
        "kit-hello": Target("kit-hello", "overhead", "kit pipeline around pre-serialized "
                            f"reference bytes; {py}", warmup_s, setup_s=30),
        "ceiling": Target("ceiling", "ceiling", f"bare Starlette, pre-serialized bytes; {py}",
                          warmup_s, setup_s=30),
        "wiremock": Target("wiremock", "peer", "standalone jar on Java 17, --no-request-journal,"
                           " stubs match method+url+Authorization", jvm_warmup_s, setup_s=90),
        "mountebank": Target("mountebank", "peer", "--loglevel warn --nologfile, stub sends "
                             "Connection: keep-alive, predicates method+path+Authorization",
                             warmup_s, setup_s=60),
        "prism": Target("prism", "peer", "mock -v silent, static examples = reference bodies, "
                        "spec = our served /openapi.json (fixture spec while ours is absent)",
                        warmup_s, setup_s=90),
    }


def cpu_busy(seconds: float = 0.5) -> dict[str, float]:
    """Per-CPU busy % over ``seconds`` (from /proc/stat): what else competes for the CPUs."""
    def read() -> dict[str, tuple[int, int]]:
        out = {}
        try:
            with open("/proc/stat") as stat:
                for line in stat:
                    if line.startswith("cpu") and line[3].isdigit():
                        name, *values = line.split()
                        ticks = [int(v) for v in values]
                        out[name] = (sum(ticks), ticks[3] + ticks[4])  # total, idle+iowait
        except OSError:
            pass
        return out

    first = read()
    time.sleep(seconds)
    second = read()
    busy = {}
    for name, (total, idle) in second.items():
        t0, i0 = first.get(name, (total, idle))
        if total > t0:
            busy[name] = round(100 * (1 - (idle - i0) / (total - t0)), 1)
    return busy


def machine_state() -> dict[str, Any]:
    def run(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10,
                                  check=False).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    return {
        "uptime": run(["uptime"]),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "cpu_busy_pct": cpu_busy(1.0),
    }


def ensure_wrk() -> str | None:
    """Install Debian's wrk when it is absent and we may; the problem if it stays absent."""
    if wrk_available() is None:
        return None
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("  installing wrk from Debian's packages ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True, timeout=300,
                       check=False)
    return wrk_available()


def _probe(running: Running, ref: Reference, fresh: bool) -> dict[str, str]:
    """Method → why this server's answer is not the reference one (empty: all good)."""
    problems = {}
    for method, ex in ref.exchanges().items():
        r = httpx.request(ex.method, running.url + ex.path, headers=ex.request_headers,
                          content=ex.request_body or None, timeout=5.0)
        problem = same_answer(ex, r.status_code, r.content, fresh_object=fresh)
        if problem:
            problems[method] = problem
    return problems


def measure(running: Running, ref: Reference, settings: LoadSettings) -> dict[str, Any]:
    target = running.target
    problems = _probe(running, ref, fresh=target.stateful)
    cells: dict[str, Any] = {}
    for method, ex in ref.exchanges().items():
        if method in problems:
            cells[method] = {"skipped": f"not the reference answer: {problems[method]}"}
            print(f"    {method}: skipped, {cells[method]['skipped']}", flush=True)
            continue
        if target.warmup_s > 0:
            run_wrk(running.url, ex, settings, duration_s=target.warmup_s)
        load = [round(x, 2) for x in os.getloadavg()]
        cell = run_wrk(running.url, ex, settings)
        cell["loadavg_before"] = load
        cells[method] = cell
        print(f"    {method}: {cell['rps']:>9,.0f} req/s  p50 {cell['p50_ms']:.2f} ms  "
              f"p99 {cell['p99_ms']:.2f} ms  errors {cell['errors']}  (load {load[0]})",
              flush=True)
    return cells


def _start_target(name: str, target: Target, workdir: Path, ref: Reference, ref_path: Path,
                  spec: dict[str, Any] | None, node_problems: dict[str, str]) -> Running:
    port = free_port()
    commands: dict[str, Callable[[], list[str]]] = {
        "wiremock": lambda: wiremock_command(workdir, port, ref),
        "mountebank": lambda: mountebank_command(workdir, port, ref),
        "prism": lambda: prism_command(workdir, port, ref, spec),
    }
    package = {"wiremock": "wiremock", "mountebank": "mountebank",
               "prism": "@stoplight/prism-cli"}.get(name)
    if package in node_problems:
        raise Skip(node_problems[package])
    cmd = commands[name]() if name in commands else python_command(name, port, ref_path)
    running = start(target, cmd, workdir, port, ref)
    if target.stateful and name != OURS:
        # a fresh process: create the reference customer (ids are seeded, so it gets the
        # same id the reference GET asks for)
        ex = ref.post
        httpx.post(running.url + ex.path, content=ex.request_body,
                   headers=ex.request_headers, timeout=5.0)
    return running


async def _capture_in_process() -> tuple[Reference, dict[str, Any]]:
    app = apps.build(OURS, fixture_reference())
    ref = await capture_asgi(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://127.0.0.1") as client:
        spec = (await client.get("/openapi.json")).json()
    return ref, spec


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    if not a or not b or "rps" not in a or "rps" not in b or not b["rps"]:
        return None
    return round(float(a["rps"]) / float(b["rps"]), 3)


def ratios(results: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    def cell(name: str, method: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = results.get(name, {}).get("cells", {}).get(method)
        return found

    out: dict[str, dict[str, float | None]] = {}
    for method in ("GET", "POST"):
        row: dict[str, float | None] = {}
        for other in (*PEERS, "ceiling"):
            row[f"billing/{other}"] = _ratio(cell(OURS, method), cell(other, method))
        row["billing/billing-bare"] = _ratio(cell(OURS, method), cell("billing-bare", method))
        row["kit-hello/ceiling"] = _ratio(cell("kit-hello", method), cell("ceiling", method))
        out[method] = row
    return out


def paired_rounds(rounds: int, workdir: Path, ref: Reference, ref_path: Path,
                  spec: dict[str, Any] | None, settings: LoadSettings,
                  all_targets: dict[str, Target]) -> dict[str, Any]:
    """Ours and the ceiling, both served (on the server CPU; only the one under load
    works), measured in alternating GET cells: ``rounds`` pairs, each pair's ratio, their
    median. ``{"skipped": why}`` when a server cannot start or answers differently."""
    ex = ref.get
    running: list[Running] = []
    try:
        for name in (OURS, "ceiling"):
            running.append(_start_target(name, all_targets[name], workdir, ref, ref_path, spec,
                                         {}))
        ours, ceiling = running
        # a fresh billing: the reference customer (ids are seeded: the id the GET asks for)
        httpx.post(ours.url + ref.post.path, content=ref.post.request_body,
                   headers=ref.post.request_headers, timeout=5.0)
        for server in running:
            r = httpx.get(server.url + ex.path, headers=ex.request_headers, timeout=5.0)
            problem = same_answer(ex, r.status_code, r.content, fresh_object=True)
            if problem:
                return {"skipped": f"{server.target.name}: not the reference answer: {problem}"}
            if server.target.warmup_s > 0:
                run_wrk(server.url, ex, settings, duration_s=server.target.warmup_s)
        pairs: list[dict[str, Any]] = []
        for i in range(rounds):
            order = (ours, ceiling) if i % 2 == 0 else (ceiling, ours)
            cells = {s.target.name: run_wrk(s.url, ex, settings) for s in order}
            ratio = _ratio(cells[OURS], cells["ceiling"])
            pairs.append({"first": order[0].target.name, "billing_rps": cells[OURS]["rps"],
                          "ceiling_rps": cells["ceiling"]["rps"], "ratio": ratio})
            print(f"    pair {i + 1}: billing {cells[OURS]['rps']:>9,.0f}  ceiling "
                  f"{cells['ceiling']['rps']:>9,.0f} GET req/s  ratio {ratio:.2f}", flush=True)
    except (Skip, RuntimeError, httpx.HTTPError, subprocess.TimeoutExpired) as exc:
        return {"skipped": f"{type(exc).__name__}: {exc}"}
    finally:
        for server in running:
            stop(server)
    values = [float(p["ratio"]) for p in pairs if p["ratio"] is not None]
    return {"rounds": rounds, "pairs": pairs,
            "median": round(statistics.median(values), 3) if values else None,
            "min": min(values, default=None), "max": max(values, default=None)}


def print_table(results: dict[str, Any], rat: dict[str, dict[str, float | None]],
                paired: dict[str, Any] | None = None) -> None:
    print()
    print(f"{'server':<13}{'GET req/s':>11}{'p50':>8}{'p99':>8}  "
          f"{'POST req/s':>11}{'p50':>8}{'p99':>8}  notes")
    for name, res in results.items():
        parts = [f"{name:<13}"]
        for method in ("GET", "POST"):
            c = res.get("cells", {}).get(method) or {}
            if "rps" in c:
                parts.append(f"{c['rps']:>11,.0f}{c['p50_ms']:>8.2f}{c['p99_ms']:>8.2f}  ")
            else:
                parts.append(f"{'-':>11}{'-':>8}{'-':>8}  ")
        note = res.get("skipped") or ""
        errors = sum((c or {}).get("errors", 0) for c in res.get("cells", {}).values())
        if errors:
            note += f"{errors} errors"
        parts.append(note)
        print("".join(parts))
    print("(latencies in ms; wrk's percentiles)")
    print()
    print("ratios (requests/s, ours / other)")
    for method, row in rat.items():
        shown = "  ".join(f"{k} {v:.2f}" if v is not None else f"{k} -" for k, v in row.items())
        print(f"  {method}: {shown}")
    if paired and paired.get("median") is not None:
        print(f"  GET billing/ceiling in {paired['rounds']} paired rounds: median "
              f"{paired['median']:.2f} (pairs {paired['min']:.2f}-{paired['max']:.2f})")
    print("issue 14 targets for GET (reported, not asserted):")
    for other, want in GET_TARGETS.items():
        got = rat["GET"].get(f"billing/{other}")
        how = ""
        if other == "ceiling" and paired and paired.get("median") is not None:
            got, how = paired["median"], ", the paired rounds' median"
        verdict = "n/a" if got is None else ("met" if got >= want else "NOT met")
        print(f"  billing/{other} >= {want}: {verdict}" + (f" ({got:.2f}{how})" if got else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measured cell")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of load before each measured cell (Python, Node)")
    parser.add_argument("--jvm-warmup", type=float, default=10.0,
                        help="seconds of load before each WireMock cell (JIT warm-up)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--only", default=",".join(ORDER),
                        help=f"comma-separated subset of {','.join(ORDER)}")
    parser.add_argument("--pairs", type=int, default=3,
                        help="paired rounds of ours and the ceiling, GET cells alternating "
                             "(0: none); their median ratio judges the ceiling target")
    parser.add_argument("--quick", action="store_true",
                        help="2 s cells, 1 s warm-up, 3 s JVM warm-up, one pair (a smoke run)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.jvm_warmup = 2.0, 1.0, 3.0
        args.pairs = min(args.pairs, 1)
    if args.pairs < 0:
        parser.error("--pairs must be 0 or more")
    wanted = [n for n in ORDER if n in set(args.only.split(","))]
    settings = LoadSettings(connections=args.connections, duration_s=args.duration)

    problem = ensure_wrk()
    if problem:
        print(f"cannot benchmark: {problem}", file=sys.stderr)
        return 2
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = args.out / f"peers-{run_id}"
    workdir.mkdir(parents=True, exist_ok=True)
    all_targets = targets(args.warmup, args.jvm_warmup)
    print(f"bench.peers {run_id}: {settings.describe()}, warm-up {args.warmup:g} s "
          f"(WireMock {args.jvm_warmup:g} s) per cell; servers on CPU 0, wrk on CPU 1"
          + ("" if pinning_possible() else " (NOT pinned: taskset or a 2nd CPU missing)"))
    before = machine_state()
    print(f"machine: {before['uptime']}")

    node_problems: dict[str, str] = {}
    if any(n in PEERS for n in wanted):
        node_problems = ensure_node_packages()

    results: dict[str, Any] = {}
    ref = fixture_reference()
    spec: dict[str, Any] | None = None
    ref_path = workdir / "reference.json"
    ref.save(ref_path)
    billing_problem = apps.billing_available()
    if billing_problem is None and OURS not in wanted:
        # ours is not measured this time, but its answers are still the reference
        ref, spec = asyncio.run(_capture_in_process())
        ref.save(ref_path)
    for name in wanted:
        target = all_targets[name]
        entry: dict[str, Any] = {"role": target.role, "settings": target.settings,
                                 "warmup_s": target.warmup_s}
        results[name] = entry
        # what else runs on the CPUs right before this server starts (a shared machine)
        entry["cpu_busy_pct_before"] = cpu_busy()
        print(f"\n== {name}: {target.settings} (CPUs busy before: "
              f"{entry['cpu_busy_pct_before']})", flush=True)
        if target.stateful and billing_problem:
            entry["skipped"] = billing_problem
            print(f"   skipped: {billing_problem}")
            continue
        try:
            running = _start_target(name, target, workdir, ref, ref_path, spec, node_problems)
        except Skip as why:
            entry["skipped"] = str(why)
            print(f"   skipped: {why}")
            continue
        try:
            if name == OURS:
                # our answers become the reference every other server must reproduce
                ref = capture(running.url)
                ref.save(ref_path)
                spec = httpx.get(running.url + "/openapi.json", timeout=10).json()
                print(f"   reference captured from ours: GET {len(ref.get.body_bytes)} B, "
                      f"POST {len(ref.post.body_bytes)} B")
            entry["cells"] = measure(running, ref, settings)
        except (RuntimeError, httpx.HTTPError, subprocess.TimeoutExpired) as exc:
            entry["skipped"] = f"{type(exc).__name__}: {exc}"
            print(f"   failed: {entry['skipped']}")
        finally:
            stop(running)

    paired: dict[str, Any] | None = None
    if args.pairs and {OURS, "ceiling"} <= set(wanted) and not billing_problem:
        print(f"\n== paired rounds: billing and ceiling, {args.pairs} x 2 GET cells, "
              "alternating", flush=True)
        paired = paired_rounds(args.pairs, workdir, ref, ref_path, spec, settings, all_targets)
        if "skipped" in paired:
            print(f"   skipped: {paired['skipped']}")
    rat = ratios(results)
    print_table(results, rat, paired)
    after = machine_state()
    print(f"machine after: {after['uptime']}")
    report = {
        "run_id": run_id,
        "kind": "bench.peers",
        "loopback_only": "127.0.0.1",
        "settings": {**asdict(settings), "wrk": settings.describe(),
                     "warmup_s": args.warmup, "jvm_warmup_s": args.jvm_warmup,
                     "server_cpu": "0" if pinning_possible() else "any",
                     "load_cpu": "1" if pinning_possible() else "any"},
        "machine": {"cpus": os.cpu_count(), "before": before, "after": after},
        "versions": versions(),
        "reference": {"source": ref.source, "get_path": ref.get.path,
                      "get_bytes": len(ref.get.body_bytes),
                      "post_bytes": len(ref.post.body_bytes)},
        "results": results,
        "ratios": rat,
        "paired_rounds": paired,
        "get_targets": GET_TARGETS,
        "elsewhere": {"end_to_end_invoices_per_s": "python -m bench.e2e",
                      "locust_user_overhead": "python -m bench.locust_overhead"},
    }
    out = workdir / "result.json"
    out.write_text(json.dumps(report, indent=2))
    (args.out / "latest.json").write_text(json.dumps(report, indent=2))
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"({time.monotonic() - started:.0f} s)")
    sys.exit(code)
