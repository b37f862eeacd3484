"""End to end: invoices posted per second through the reference integration layer.

``python -m bench.e2e`` serves every simulator (threads of this process, free 127.0.0.1
ports, memory stores, as ``harness check`` does) and the reference layer as its own process
(uvicorn, SQLite, the layer's own defaults), then:

1. wins ``--customers`` deals in the CRM and waits until the layer has onboarded each one
   (billing customer, ERP customer), subscribes each through the layer's domain API (a
   monthly plan and a metered add-on, with usage) — the set-up, timed but not the figure;
2. advances billing's clock past the subscriptions' period end (month end) and waits until
   every cycle invoice is posted in its ERP (or parked in the layer's DLQ), at most
   ``--time-cap`` seconds;
3. reads the simulators' own facts — billing ``invoice.finalized``, ERP ``invoice.posted``
   (keyed by the invoice number), their ``wall_at`` — never the layer's: invoices posted
   per second and the posting latency percentiles.

Rates: ``posted / (last posting - clock advance)`` is the month-end throughput (drafting,
tax, finalizing and posting all inside); ``finalized → posted`` is the issue's posting
latency. ``--profile [pyinstrument|cprofile|sql|py-spy]`` profiles the layer during the month
end only and writes the profile (text) next to ``result.json`` (``reports/bench/e2e-<run-id>/``);
``py-spy`` samples the unmodified layer process from outside (on-CPU time, least distorted).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from .profiled_layer import PySpy

ROOT = Path(__file__).resolve().parent.parent
POLL_S = 0.25
START_S = 180.0  # the layer's start-up (imports, migrations) on a busy machine
ERPS = ("cloud_erp", "legacy_erp")


@dataclass
class Options:
    customers: int = 200
    time_cap_s: float = 120.0
    setup_cap_s: float = 120.0
    profile: str | None = None  # "pyinstrument", "cprofile", "sql" or "py-spy"
    seed: int = 7
    out: Path | None = None


@dataclass
class Phase:
    name: str
    seconds: float
    detail: dict[str, Any] = field(default_factory=dict)


def _percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (the value below which ``pct``% of the samples fall)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil
    return ordered[int(rank) - 1]


# -- the layer as a process --------------------------------------------------------------------
class LayerProcess:
    """``uvicorn integration:create_app`` wired to the landscape (as ``harness check`` runs it
    as a process), optionally under pyinstrument."""

    def __init__(self, urls: dict[str, str], workdir: Path, auth: dict[str, Any] | None,
                 profile: tuple[Path, str] | None, log_to: Path) -> None:
        from harness.check import _env, _layer_config

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, **_env(_layer_config(urls, self.url, workdir / "layer.db", auth))}
        self.spy: PySpy | None = None
        # py-spy samples this process from outside: the layer runs as it always does
        self.spy_to = profile[0] if profile is not None and profile[1] == "py-spy" else None
        if self.spy_to is not None:
            PySpy.command()  # installed? (else one line, before anything starts)
            profile = None
        if profile is not None:
            cmd = [sys.executable, "-m", "bench.profiled_layer", str(port), str(profile[0]),
                   profile[1]]
        else:
            cmd = [sys.executable, "-m", "uvicorn", "integration:create_app", "--factory",
                   "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        self.log = log_to
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=ROOT)
        deadline = time.monotonic() + START_S
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"the layer exited during start-up; see {self.log}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the layer did not answer /health in {START_S:.0f} s; "
                                 f"see {self.log}")
            time.sleep(0.1)

    def profile(self, on: bool) -> None:
        """Start (stop and write) the profile window: py-spy from outside, or
        ``bench.profiled_layer``'s own (signals)."""
        if self.spy_to is not None:
            if on:
                self.spy = PySpy(self.proc.pid, self.spy_to)
                self.spy.start()
            elif self.spy is not None:
                self.spy.stop()
            return
        self.proc.send_signal(signal.SIGUSR1 if on else signal.SIGUSR2)

    def cpu_s(self) -> float:
        import psutil

        try:
            t = psutil.Process(self.proc.pid).cpu_times()
            kids = sum(c.cpu_times().user + c.cpu_times().system
                       for c in psutil.Process(self.proc.pid).children(recursive=True))
        except psutil.Error:
            return float("nan")
        return float(t.user + t.system + kids)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn (and pyinstrument) end cleanly
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@contextmanager
def landscape(workdir: Path, out: Path,
              profile: str | None) -> Iterator[tuple[Any, LayerProcess]]:
    """Every simulator in this process, the layer in its own; the scenario endpoints."""
    from harness import landscape as ls
    from harness import layer_auth
    from harness.check import credentials
    from harness.config import load_settings
    from scenarios.actors import Endpoints

    settings = load_settings()
    names = ls.select(settings, None)
    overrides = {n: settings.simulator(n).model_copy(update={
        "port": 0, "faults": None, "store": "memory",
        "tick_interval_s": min(settings.simulator(n).tick_interval_s, 0.1)}) for n in names}
    current: Any = settings.simulators
    local = settings.model_copy(update={"simulators": current.model_copy(update=overrides),
                                        "tls": False})
    with ExitStack() as stack:
        scape = stack.enter_context(ls.start_in_process(local, names))
        urls = dict(scape.urls)
        layer = LayerProcess(urls, workdir, layer_auth.served_layer_auth(settings),
                             (out / "layer-profile.txt", profile) if profile else None,
                             out / "layer.log")
        stack.callback(layer.stop)
        yield Endpoints(urls, layer.url, credentials(settings),
                        layer_client=layer_auth.credentials(settings, layer.url)), layer


# -- the measurement ---------------------------------------------------------------------------
def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _facts(client: httpx.Client, url: str, kind: str,
           since: float = 0.0) -> list[dict[str, Any]]:
    """A simulator's facts of one kind recorded at or after ``since`` (its own clock)."""
    r = client.get(f"{url}/_sim/facts", params={"kind": kind, "limit": 100_000,
                                                 "since": since})
    r.raise_for_status()
    return r.json()["data"]  # type: ignore[no-any-return]


def _open_exceptions(client: httpx.Client, layer: str) -> set[str]:
    try:
        r = client.get(f"{layer}/exceptions", params={"limit": 1000})
    except httpx.HTTPError:
        return set()
    return {e["business_key"] for e in r.json()} if r.status_code == 200 else set()


def _layer_metrics(client: httpx.Client, layer: str) -> list[Any]:
    """The layer's ``GET /metrics``, parsed into metric families."""
    from prometheus_client.parser import text_string_to_metric_families

    r = client.get(f"{layer}/metrics")
    r.raise_for_status()
    return list(text_string_to_metric_families(r.text))


def layer_calls(client: httpx.Client, layer: str) -> dict[str, float]:
    """The layer's own counters (``GET /metrics``): webhooks received and calls made, by
    source/system and outcome, so a run tells how many of each one invoice costs."""
    counts: dict[str, float] = {}
    for family in _layer_metrics(client, layer):
        if family.name not in ("o2c_webhooks", "o2c_outbound_requests"):
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                labels = ",".join(f"{v}" for v in sample.labels.values())
                counts[f"{family.name.removeprefix('o2c_')}[{labels}]"] = sample.value
    return counts


def _jobs_in_flight(client: httpx.Client, layer: str) -> float:
    return float(sum(sample.value for family in _layer_metrics(client, layer)
                     if family.name in ("o2c_jobs_running", "o2c_jobs_waiting")
                     for sample in family.samples))


def wait_idle(client: httpx.Client, layer: str, cap_s: float) -> float:
    """Wait until the layer's job pool is empty (the set-up's webhook work done), so the
    month end is measured alone; returns the seconds waited (bounded by ``cap_s``)."""
    started = time.monotonic()
    quiet = 0
    while time.monotonic() - started < cap_s and quiet < 3:
        quiet = quiet + 1 if _jobs_in_flight(client, layer) == 0 else 0
        time.sleep(POLL_S)
    return time.monotonic() - started


def per_invoice(before: dict[str, float], after: dict[str, float],
                invoices: int) -> dict[str, float]:
    """Counter increase per posted invoice, the counters that moved only."""
    return {k: round((v - before.get(k, 0.0)) / invoices, 2) for k, v in sorted(after.items())
            if v - before.get(k, 0.0) > 0 and invoices}


def cpu_bound(layer_cpu_s: float, simulators_cpu_s: float, invoices: int,
              cpus: int) -> dict[str, float] | None:
    """What the month end's CPU per invoice allows at most: the layer is one process (one
    core at most), and the layer and the simulators together share ``cpus`` cores. None when
    nothing was posted."""
    if invoices <= 0 or layer_cpu_s <= 0:
        return None
    layer_ms = 1000 * layer_cpu_s / invoices
    sims_ms = 1000 * simulators_cpu_s / invoices
    return {"layer_ms": round(layer_ms, 2), "simulators_ms": round(sims_ms, 2),
            "layer_on_one_core_per_s": round(1000 / layer_ms, 1),
            "all_cores_per_s": round(cpus * 1000 / (layer_ms + sims_ms), 1)}


def month_end(ctx: Any, subscriptions: set[str], cap_s: float) -> dict[str, Any]:
    """Advance billing past the period end; wait for every cycle invoice to be posted."""
    billing_url = ctx.sim("billing")
    client: httpx.Client = ctx.client
    ends = [ctx.billing.subscription(s)["items"]["data"][0]["current_period_end"]
            for s in subscriptions]
    # each simulator's clock now: the polls below ask for newer facts only, so polling costs
    # the simulators (on the same cores as the layer) little
    since = {name: float(client.get(f"{ctx.sim(name)}/_sim/clock").json()["now"])
             for name in ("billing", *ERPS)}
    before = {f["key"] for f in _facts(client, billing_url, "invoice.finalized",
                                       since["billing"])}
    advanced_wall = time.time()
    ctx.billing.advance_clock_to(max(ends) + 60)
    deadline = time.monotonic() + cap_s
    cycle: dict[str, dict[str, Any]] = {}
    posted: dict[str, tuple[str, dict[str, Any]]] = {}
    parked: set[str] = set()
    while True:
        for f in _facts(client, billing_url, "invoice.finalized", since["billing"]):
            data = f["data"]
            if (f["key"] not in before and data.get("subscription") in subscriptions
                    and data.get("billing_reason") == "subscription_cycle"
                    and data.get("total")):
                cycle[f["key"]] = f
        by_ref: dict[str, tuple[str, dict[str, Any]]] = {}
        for erp in ERPS:
            for f in _facts(client, ctx.sim(erp), "invoice.posted", since[erp]):
                by_ref[f["key"]] = (erp, f)
        for key, f in cycle.items():
            hit = by_ref.get(f["data"].get("number") or "") or by_ref.get(key)
            if hit is not None:
                posted[key] = hit
        parked = _open_exceptions(client, ctx.endpoints.integration) & set(cycle)
        done = len(cycle) >= len(subscriptions) and set(cycle) <= set(posted) | parked
        if done or time.monotonic() > deadline:
            break
        time.sleep(POLL_S)
    return {"subscriptions": len(subscriptions), "parked_in_dlq": len(parked),
            "timed_out": not done, **posting_stats(cycle, posted, advanced_wall)}


def posting_stats(cycle: dict[str, dict[str, Any]],
                  posted: dict[str, tuple[str, dict[str, Any]]],
                  advanced_wall: float) -> dict[str, Any]:
    """Throughput and latency of a month end from the facts: ``cycle`` billing's
    ``invoice.finalized`` facts by invoice id, ``posted`` (ERP, ``invoice.posted`` fact) by
    invoice id, ``advanced_wall`` when billing's clock was advanced (wall time)."""
    latencies = [posted[k][1]["wall_at"] - cycle[k]["wall_at"] for k in posted]
    per_erp = {erp: [posted[k][1]["wall_at"] - cycle[k]["wall_at"] for k in posted
                     if posted[k][0] == erp] for erp in ERPS}
    ends_wall = [posted[k][1]["wall_at"] for k in posted]
    starts_wall = [cycle[k]["wall_at"] for k in cycle]
    window = (max(ends_wall) - advanced_wall) if ends_wall else float("nan")
    post_window = (max(ends_wall) - min(starts_wall)) if ends_wall else float("nan")
    return {
        "cycle_invoices_finalized": len(cycle), "posted": len(posted),
        "by_erp": {erp: sum(1 for e, _ in posted.values() if e == erp) for erp in ERPS},
        "window_s": round(window, 3),
        "invoices_per_s": round(len(posted) / window, 1) if ends_wall and window > 0 else 0.0,
        "finalize_to_last_post_s": round(post_window, 3),
        "invoices_per_s_from_first_finalized":
            round(len(posted) / post_window, 1) if ends_wall and post_window > 0 else 0.0,
        "posting_latency_ms": {
            "p50": round(_percentile(latencies, 50) * 1000, 1),
            "p95": round(_percentile(latencies, 95) * 1000, 1),
            "p99": round(_percentile(latencies, 99) * 1000, 1),
            "max": round(max(latencies) * 1000, 1) if latencies else None,
            "mean": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
        },
        "posting_latency_ms_by_erp": {
            erp: {"p50": round(_percentile(v, 50) * 1000, 1),
                  "p95": round(_percentile(v, 95) * 1000, 1)} for erp, v in per_erp.items() if v},
        "samples": sorted(({"invoice": k, "erp": posted[k][0] if k in posted else None,
                            "finalized_wall": cycle[k]["wall_at"],
                            "posted_wall": posted[k][1]["wall_at"] if k in posted else None}
                           for k in cycle), key=lambda s: s["finalized_wall"]),
    }


SETUP_THREADS = 8


def onboarded(ctx: Any, accounts: list[Any], cap_s: float) -> None:
    """Wait until the layer reports every account onboarded (a round of lookups every
    half second, so the waiting does not load the layer it waits for)."""
    deadline = time.monotonic() + cap_s
    pending = list(accounts)
    while pending:
        with ThreadPoolExecutor(SETUP_THREADS) as pool:
            found = list(pool.map(lambda a: ctx.layer.customer(a.crm_id), pending))
        for acc, customer in zip(pending, found, strict=True):
            if customer and customer.get("status") == "onboarded":
                acc.customer_id = str(customer["id"])
        pending = [a for a in pending if a.customer_id is None]
        if pending and time.monotonic() > deadline:
            raise SystemExit(f"{len(pending)} of {len(accounts)} customers not onboarded "
                             f"within {cap_s:.0f} s (--setup-cap)")
        if pending:
            time.sleep(0.5)


def subscribe_all(ctx: Any, accounts: list[Any]) -> list[str]:
    """Each customer subscribes through the layer (plan + metered add-on) and reports usage
    once, ``SETUP_THREADS`` customers at a time; the refusals, one line each."""
    keys = {c: ctx.billing.catalog(c, ctx.run_id) for c in {a.account.currency
                                                              for a in accounts}}

    from scenarios.actors import ActorError

    def one(acc: Any) -> str | None:
        plan = keys[acc.account.currency]
        try:
            sub = ctx.layer.subscribe(acc.customer_id, [{"plan": plan["plan"], "quantity": 1},
                                                        {"plan": plan["usage"]}],
                                      f"sub-{acc.external_id}")
            acc.subscription_id = str(sub["billing_subscription_id"])
            ctx.layer.report_usage(acc.customer_id, 100 + len(acc.external_id),
                                   f"{acc.external_id}-u0")
        except ActorError as err:  # reported, and that customer is left out of the month end
            return f"{acc.external_id}: {str(err)[:300]}"
        return None

    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        return [e for e in pool.map(one, accounts) if e is not None]


def run(options: Options) -> dict[str, Any]:
    from scenarios import definitions as d

    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = options.out or ROOT / "reports" / "bench" / f"e2e-{run_id}"
    out.mkdir(parents=True, exist_ok=True)
    phases: list[Phase] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="o2c-bench-e2e-") as tmp, \
            landscape(Path(tmp), out, options.profile) as (endpoints, layer), \
            httpx.Client(timeout=30) as client:
        ctx = d.ScenarioContext(endpoints, f"e2e{run_id[-7:-1]}", size=options.customers,
                                seed=options.seed, settle_timeout_s=options.setup_cap_s,
                                client=client)
        if endpoints.layer_auth is not None:
            client.auth = endpoints.layer_auth
        ctx.layer.set_wave_plan([e.as_json() for e in d.WAVE_PLAN])
        scenario = d.ScenarioRun("bench-e2e", ctx.run_id, list(d.WAVE_PLAN))
        started = time.monotonic()
        won = d.win_accounts(ctx, scenario, options.customers, "e")
        phases.append(Phase("crm: deals won", time.monotonic() - started))
        started = time.monotonic()
        onboarded(ctx, won, options.setup_cap_s)
        phases.append(Phase("layer: customers onboarded", time.monotonic() - started))
        started = time.monotonic()
        refused = subscribe_all(ctx, won)
        phases.append(Phase("layer: subscribed (with usage)", time.monotonic() - started,
                            {"refused": refused}))
        for line in refused:
            print(f"  subscription refused: {line}", flush=True)
        subs = {a.subscription_id for a in won if a.subscription_id}
        print(f"set-up: {options.customers} customers, {len(subs)} subscriptions "
              f"({', '.join(f'{p.name} {p.seconds:.1f} s' for p in phases)})", flush=True)
        started = time.monotonic()
        wait_idle(client, endpoints.integration, options.setup_cap_s)
        phases.append(Phase("layer: set-up work drained", time.monotonic() - started))
        cpu_before, own_before = layer.cpu_s(), _own_cpu_s()
        calls_before = layer_calls(client, endpoints.integration)
        if options.profile:
            layer.profile(True)
        started = time.monotonic()
        result = month_end(ctx, subs, options.time_cap_s)
        if options.profile:
            layer.profile(False)
        result["layer_calls_per_invoice"] = per_invoice(
            calls_before, layer_calls(client, endpoints.integration), result["posted"])
        phases.append(Phase("month end: clock advanced → all posted", time.monotonic() - started))
        result["layer_cpu_s"] = round(layer.cpu_s() - cpu_before, 2)
        # this process: the six simulators (threads) and the measuring client
        result["simulators_cpu_s"] = round(_own_cpu_s() - own_before, 2)
        result["cpu_bound"] = cpu_bound(result["layer_cpu_s"], result["simulators_cpu_s"],
                                        result["posted"], len(os.sched_getaffinity(0)))
    report = {
        "run_id": run_id, "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in os.getloadavg()]},
        "options": {"customers": options.customers, "time_cap_s": options.time_cap_s,
                    "profile": options.profile},
        "phases": [{"name": p.name, "seconds": round(p.seconds, 2), **p.detail}
                   for p in phases],
        "month_end": result,
    }
    (out / "result.json").write_text(json.dumps(report, indent=2) + "\n")
    report["out"] = str(out)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=Options.customers,
                        help="customers (one subscription, one cycle invoice each)")
    parser.add_argument("--time-cap", type=float, default=Options.time_cap_s,
                        help="seconds to wait for the month-end postings (bound)")
    parser.add_argument("--setup-cap", type=float, default=Options.setup_cap_s,
                        help="seconds to wait for the onboarding (bound)")
    parser.add_argument("--profile", nargs="?", const="pyinstrument", default=None,
                        choices=("pyinstrument", "cprofile", "sql", "py-spy"),
                        help="profile the layer during the month end (pyinstrument: a call "
                             "tree; cprofile: call counts; sql: statements by text; py-spy: "
                             "on-CPU samples from outside, shares by package); slower, "
                             "for finding where the time goes, not for the figures")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.customers < 1:
        parser.error("--customers must be at least 1")
    report = run(Options(customers=args.customers, time_cap_s=args.time_cap,
                         setup_cap_s=args.setup_cap, profile=args.profile, out=args.out))
    m = report["month_end"]
    lat = m["posting_latency_ms"]
    print(f"month end: {m['posted']}/{m['cycle_invoices_finalized']} cycle invoices posted "
          f"({m['by_erp']}), {m['parked_in_dlq']} in the DLQ"
          f"{', TIMED OUT' if m['timed_out'] else ''}")
    print(f"  {m['invoices_per_s']} invoices/s posted (clock advance → last posting "
          f"{m['window_s']} s); {m['invoices_per_s_from_first_finalized']}/s from the first "
          f"finalized invoice")
    print(f"  posting latency (billing invoice.finalized → ERP invoice.posted): "
          f"p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms, max {lat['max']} ms")
    print(f"  by ERP: {m['posting_latency_ms_by_erp']}")
    print(f"  CPU during month end: layer {m['layer_cpu_s']} s, simulators (+ this client) "
          f"{m['simulators_cpu_s']} s; load average "
          f"{report['machine']['load_average_before'][0]} → "
          f"{report['machine']['load_average_after'][0]}")
    if m["cpu_bound"]:
        b = m["cpu_bound"]
        print(f"  CPU per invoice: layer {b['layer_ms']} ms, simulators (+ this client) "
              f"{b['simulators_ms']} ms: at most {b['layer_on_one_core_per_s']}/s with the "
              f"layer on one core, {b['all_cores_per_s']}/s with every core busy")
    print(f"  layer per invoice: {m['layer_calls_per_invoice']}")
    print(f"  written: {report['out']}/result.json")
    return 0 if not m["timed_out"] else 1


if __name__ == "__main__":
    sys.exit(main())
