"""``harness load``: Locust scenarios against the landscape, business latencies, SLAs.

The engine starts (or finds) the landscape — the simulators and the integration layer, served
from threads of *this* process — then runs Locust in a **subprocess** (Locust patches the
interpreter with gevent; it is never imported here) on a locustfile of
``scenarios/locustfiles/``. The locustfile's probe turns the simulators' own fact timestamps
into Locust request events named ``invoice-posting`` and ``payment-update``, so they appear in
Locust's tables, CSV, HTML report and web UI beside the HTTP calls; it also writes every
sample, exact, to ``samples/business-<pid>.csv``.

Afterwards the engine writes ``reports/<run-id>/load/load.json`` (p50/p90/p95/p99/max,
throughput and error counts per business latency and per endpoint) and checks the SLAs of
``[sla]`` in harness.toml. It emits events; it never prints.

Scale-out is Locust's own: ``workers`` > 1 runs ``--processes N`` (master + N workers on
this machine); ``expect_workers`` makes the master wait for workers started elsewhere with
the command :func:`remote_worker_command` returns.
"""

from __future__ import annotations

import csv
import json
import math
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

import simulators
from scenarios.layer_auth import ClientCredentials

from . import landscape as ls
from . import layer_auth
from .canonical.redact import redact, redact_file
from .config import HarnessSettings, LatencySla
from .errors import LandscapeError, LoadError

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILES = ROOT / "scenarios" / "locustfiles"
INVOICE_POSTING = "invoice-posting"
PAYMENT_UPDATE = "payment-update"
BUSINESS_TYPE = "business"
PERCENTILES = (50, 90, 95, 99)


@dataclass(frozen=True)
class LoadScenario:
    name: str
    locustfile: str
    latencies: tuple[str, ...]  # the business latencies the scenario produces
    description: str


SCENARIOS: dict[str, LoadScenario] = {s.name: s for s in (
    LoadScenario("onboarding", "onboarding.py", (INVOICE_POSTING,),
                 "deals close; each customer onboarded, subscribed, first invoice posted"),
    LoadScenario("month-end", "month_end.py", (INVOICE_POSTING, PAYMENT_UPDATE),
                 "billing closes a month every few seconds: invoice bursts posted, half paid"),
    LoadScenario("payment-storm", "payment_storm.py", (INVOICE_POSTING, PAYMENT_UPDATE),
                 "every posted invoice paid by card at once"),
    LoadScenario("mixed", "mixed.py", (INVOICE_POSTING, PAYMENT_UPDATE),
                 "onboarding, month ends, usage and half of the invoices paid"),
    LoadScenario("migration-wave", "migration_wave.py", (INVOICE_POSTING, PAYMENT_UPDATE),
                 "France moves from the legacy to the cloud ERP half-way, under load"),
)}
SLA_NAMES = {INVOICE_POSTING: "invoice_posting", PAYMENT_UPDATE: "payment_update"}


@dataclass(frozen=True)
class LoadOptions:
    """One ``harness load`` run; durations in seconds."""

    scenario: str = "month-end"
    users: int = 10
    spawn_rate: float = 5.0
    run_time_s: float = 60.0
    workers: int = 1  # > 1: Locust --processes on this machine
    expect_workers: int = 0  # > 0: a master waiting for workers on other machines
    master_bind_host: str = "127.0.0.1"
    master_port: int = 5557
    web: bool = False
    web_port: int = 8089
    running: bool = False  # use the landscape of `harness up` and integration.url
    layer_process: bool = False  # the reference layer in its own process (not a thread)
    seed: int = 7
    business_timeout_s: float = 30.0
    close_every_s: float = 0.0  # 0: the scenario's default
    wave_at_s: float = 0.0  # 0: half the run time
    entities: tuple[str, ...] = ()
    run_id: str | None = None


# -- events (reporters render them; the engine never prints) --------------------------------
@dataclass(frozen=True)
class LandscapeReady:
    urls: dict[str, str]
    started_here: bool


@dataclass(frozen=True)
class LocustStarted:
    command: list[str]
    log: Path


@dataclass(frozen=True)
class LocustFinished:
    returncode: int
    duration_s: float


@dataclass(frozen=True)
class SlaCheck:
    sla: str  # e.g. invoice_posting.p95_ms, error_rate
    threshold: float
    actual: float | None
    passed: bool
    reason: str  # one line, for breaches and for checks that could not be made

    def as_json(self) -> dict[str, Any]:
        return {"sla": self.sla, "threshold": self.threshold, "actual": self.actual,
                "passed": self.passed, "reason": self.reason}


@dataclass
class LoadResult:
    run_id: str
    out_dir: Path
    summary: dict[str, Any] = field(default_factory=dict)
    checks: list[SlaCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def breaches(self) -> list[SlaCheck]:
        return [c for c in self.checks if not c.passed]


Reporter = Callable[[object], None]


# -- the landscape ---------------------------------------------------------------------------
@contextmanager
def serve_landscape(settings: HarnessSettings, workdir: Path,
                    layer_process: bool = False) -> Iterator[dict[str, str]]:
    """Every simulator and the reference integration layer on free 127.0.0.1 ports, served
    from threads of this process for the duration of the block; ``layer_process`` runs the
    layer as its own process instead (it then has a core to itself, not this one's GIL)."""
    try:
        from integration import create_app
    except ImportError:
        raise LoadError("the reference integration layer is not part of this build",
                        "start your integration layer, `harness up --detach`, and run "
                        "`harness load --running`") from None
    from simulators._kit import Served, ThreadedServer, bind

    names = [n for n in simulators.names() if simulators.is_available(n)]
    free = {n: settings.simulator(n).model_copy(update={"port": 0}) for n in names}
    current: Any = settings.simulators  # a model built at import time, one field per name
    sims = current.model_copy(update=free)
    local = settings.model_copy(update={"simulators": sims, "tls": False})
    with ExitStack() as stack:
        scape = stack.enter_context(ls.start_in_process(local, names))
        urls = dict(scape.urls)
        if layer_process:
            from .check import ProcessLayer  # the one way the harness runs the layer apart

            process = ProcessLayer(dict(urls), workdir, layer_auth.served_layer_auth(settings))
            stack.callback(process.stop)
            yield {**urls, "integration": process.url}
            return
        sock = bind("127.0.0.1", 0)
        public = f"http://127.0.0.1:{sock.getsockname()[1]}"
        layer_settings = ls.layer_settings({
            "public_url": public, "database_url": f"sqlite:///{workdir / 'layer.db'}",
            "log_level": "error", "sweep_interval_s": 0.25,
            "auth": layer_auth.served_layer_auth(settings),
            "crm": {"url": urls["crm"], "poll_interval_s": 0},
            **{name: {"url": urls[name]} for name in ("billing", "tax", "payments",
                                                      "cloud_erp", "legacy_erp")}})
        app = create_app(layer_settings)
        server = ThreadedServer(app, served=Served("integration", app, sock)).start()
        stack.callback(server.stop)
        _wait_layer(public)
        urls["integration"] = public
        yield urls


def _wait_layer(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise LandscapeError(f"the integration layer at {url} did not answer /health "
                                 f"within {timeout_s:.0f}s")
        time.sleep(0.1)


def _running_landscape(settings: HarnessSettings) -> dict[str, str]:
    scape = ls.read_state(settings)
    if scape is None:
        raise LandscapeError("no landscape is running",
                             "start one with `harness up --detach`, or drop --running")
    layer = str(settings.integration.url).rstrip("/")
    _wait_layer(layer, timeout_s=3.0)
    return {**scape.urls, "integration": layer}


# -- locust ----------------------------------------------------------------------------------
def locust_command(options: LoadOptions, urls: Mapping[str, str], out: Path,
                   run_tag: str) -> list[str]:
    """The Locust command line of a run (``python -m locust ...``)."""
    out = out.resolve()  # Locust runs in the checkout, not in the caller's directory
    scenario = SCENARIOS[options.scenario]
    sims = ",".join(f"{k}={v}" for k, v in urls.items() if k != "integration")
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILES / scenario.locustfile),
           "--host", urls["integration"], "-u", str(options.users),
           "-r", f"{options.spawn_rate:g}", "-t", f"{max(1, round(options.run_time_s))}s",
           "--csv", str(out / "locust"), "--html", str(out / "locust.html"),
           "--json-file", str(out / "locust"), "--only-summary", "--stop-timeout", "5",
           "--loglevel", "WARNING",
           "--o2c-urls", sims, "--o2c-samples", str(out / "samples"),
           "--o2c-timeout", f"{options.business_timeout_s:g}",
           "--o2c-seed", str(options.seed), "--o2c-run", run_tag]
    if options.close_every_s:
        cmd += ["--o2c-close-every", f"{options.close_every_s:g}"]
    if options.wave_at_s:
        cmd += ["--o2c-wave-at", f"{options.wave_at_s:g}"]
    if options.entities:
        cmd += ["--o2c-entities", ",".join(options.entities)]
    if options.web:
        cmd += ["--autostart", "--autoquit", "30", "--web-host", "127.0.0.1",
                "--web-port", str(options.web_port)]
    else:
        cmd += ["--headless"]
    if options.expect_workers:
        cmd += ["--master", "--expect-workers", str(options.expect_workers),
                "--master-bind-host", options.master_bind_host,
                "--master-bind-port", str(options.master_port)]
    elif options.workers > 1:
        cmd += ["--processes", str(options.workers)]
    return cmd


def remote_worker_command(options: LoadOptions, urls: Mapping[str, str],
                          master_host: str) -> str:
    """What to run on another machine to add a worker to a ``--expect-workers`` run (it
    needs this checkout and network access to the landscape's URLs)."""
    scenario = SCENARIOS[options.scenario]
    sims = ",".join(f"{k}={v}" for k, v in urls.items() if k != "integration")
    return (f"python -m locust -f scenarios/locustfiles/{scenario.locustfile} --worker "
            f"--master-host {master_host} --master-port {options.master_port} "
            f"--host {urls['integration']} --o2c-urls {sims} --o2c-samples reports/worker")


def locust_env(client: ClientCredentials | None) -> dict[str, str]:
    """The harness' client of the layer for the Locust processes (environment, never their
    command line: ``scenarios.layer_auth.LayerAuth.from_env``)."""
    if client is None:
        return {}
    env = {"O2C_LAYER_CLIENT_ID": client.client_id,
           "O2C_LAYER_CLIENT_SECRET": client.client_secret,
           "O2C_LAYER_TOKEN_URL": client.token_url}
    if client.scope:
        env["O2C_LAYER_SCOPE"] = client.scope
    return env


def _run_locust(cmd: list[str], out: Path, limit_s: float, report: Reporter,
                extra_env: Mapping[str, str] | None = None) -> int:
    log = out / "locust.log"
    env = {**os.environ, **(extra_env or {}), "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    report(LocustStarted(cmd, log))
    started = time.monotonic()
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=ROOT, env=env,
                                start_new_session=True)
        try:
            code = proc.wait(timeout=limit_s)
        except (subprocess.TimeoutExpired, KeyboardInterrupt) as exc:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: Locust and its workers
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise LoadError(f"Locust did not finish within {limit_s:.0f}s",
                            f"see {log}") from None
    report(LocustFinished(code, time.monotonic() - started))
    return code


# -- results ---------------------------------------------------------------------------------
def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    rank = max(1, math.ceil(pct / 100.0 * len(values)))
    return values[min(rank, len(values)) - 1]


def _histogram_percentile(histogram: Mapping[str, int], total: int, pct: float) -> float:
    """Locust keeps response times rounded into buckets; the nearest-rank bucket."""
    rank = max(1, math.ceil(pct / 100.0 * total))
    seen = 0
    for bucket in sorted(histogram, key=float):
        seen += histogram[bucket]
        if seen >= rank:
            return float(bucket)
    return float(max(histogram, key=float)) if histogram else 0.0


def read_samples(directory: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(directory.glob("business-*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def _business(rows: list[dict[str, str]], name: str, duration_s: float) -> dict[str, Any]:
    mine = [r for r in rows if r["latency"] == name]
    ok = sorted(float(r["latency_ms"]) for r in mine if not r["error"])
    errors: dict[str, int] = {}
    for r in mine:
        if r["error"]:
            kind = "timeout" if " within " in r["error"] else \
                "misrouted" if "wave plan" in r["error"] else "other"
            errors[kind] = errors.get(kind, 0) + 1
    stats: dict[str, Any] = {"count": len(ok), "failures": len(mine) - len(ok),
                             "throughput_per_s": round(len(ok) / duration_s, 3)
                             if duration_s > 0 else 0.0, "errors": errors}
    for pct in PERCENTILES:
        stats[f"p{pct}_ms"] = round(percentile(ok, pct), 1) if ok else None
    stats["max_ms"] = round(ok[-1], 1) if ok else None
    stats["mean_ms"] = round(sum(ok) / len(ok), 1) if ok else None
    return stats


def _endpoint(entry: Mapping[str, Any], duration_s: float) -> dict[str, Any]:
    total = int(entry["num_requests"])
    histogram = {str(k): int(v) for k, v in (entry.get("response_times") or {}).items()}
    stats: dict[str, Any] = {
        "type": entry["method"], "name": entry["name"], "count": total,
        "failures": int(entry["num_failures"]),
        "throughput_per_s": round(total / duration_s, 3) if duration_s > 0 else 0.0}
    for pct in PERCENTILES:
        stats[f"p{pct}_ms"] = _histogram_percentile(histogram, total, pct) if total else None
    stats["max_ms"] = round(float(entry.get("max_response_time") or 0.0), 1) if total else None
    return stats


def summarize(out: Path, options: LoadOptions, loads: tuple[Sequence[float], ...],
              wall_s: float) -> dict[str, Any]:
    stats_file = out / "locust.json"
    if not stats_file.is_file():
        raise LoadError("Locust wrote no statistics (locust.json is missing)",
                        f"see {out / 'locust.log'}")
    entries: list[dict[str, Any]] = json.loads(stats_file.read_text(encoding="utf-8"))
    starts = [float(e["start_time"]) for e in entries if e.get("start_time")]
    ends = [float(e["last_request_timestamp"]) for e in entries
            if e.get("last_request_timestamp")]
    duration = (max(ends) - min(starts)) if starts and ends else options.run_time_s
    rows = read_samples(out / "samples")
    business = {name: _business(rows, name, duration) for name in (INVOICE_POSTING,
                                                                   PAYMENT_UPDATE)}
    endpoints = [_endpoint(e, duration) for e in entries]
    requests = sum(e["count"] for e in endpoints)
    failures = sum(e["failures"] for e in endpoints)
    return {
        "run_id": options.run_id, "scenario": options.scenario, "users": options.users,
        "spawn_rate": options.spawn_rate, "run_time_s": options.run_time_s,
        "workers": options.workers, "duration_s": round(duration, 2),
        "wall_s": round(wall_s, 2),
        "machine": {"cpus": os.cpu_count(), "loadavg_before": list(loads[0]),
                    "loadavg_after": list(loads[1])},
        "business": business, "endpoints": endpoints,
        "totals": {"requests": requests, "failures": failures,
                   "error_rate": round(failures / requests, 5) if requests else 0.0},
        "files": {"stats_csv": "locust_stats.csv", "failures_csv": "locust_failures.csv",
                  "html": "locust.html", "locust_json": "locust.json",
                  "samples": "samples/", "log": "locust.log"},
    }


def check_slas(settings: HarnessSettings, summary: Mapping[str, Any],
               scenario: LoadScenario) -> list[SlaCheck]:
    """One check per threshold set in ``[sla]``; a breach carries its one-line reason."""
    checks: list[SlaCheck] = []
    for latency, key in SLA_NAMES.items():
        sla: LatencySla = getattr(settings.sla, key)
        stats = summary["business"][latency]
        for metric, threshold in sla.thresholds().items():
            name = f"{key}.{metric}"
            stat = metric.removesuffix("_ms") + "_ms"
            if latency not in scenario.latencies:
                checks.append(SlaCheck(name, threshold, None, True,
                                       f"{latency} is not measured by {scenario.name}"))
                continue
            actual = stats[stat]
            if actual is None:
                checks.append(SlaCheck(name, threshold, None, False,
                                       f"SLA {name}: no {latency} completed "
                                       f"({stats['failures']} failed), so it cannot hold"))
            elif actual > threshold:
                checks.append(SlaCheck(
                    name, threshold, actual, False,
                    f"SLA {name}: {latency} {metric.removesuffix('_ms')} {actual:,.0f} ms "
                    f"> {threshold:,.0f} ms ({stats['count']} samples)"))
            else:
                checks.append(SlaCheck(name, threshold, actual, True, ""))
    if settings.sla.error_rate is not None:
        totals = summary["totals"]
        rate = float(totals["error_rate"])
        ok = rate <= settings.sla.error_rate
        checks.append(SlaCheck(
            "error_rate", settings.sla.error_rate, rate, ok, "" if ok else
            f"SLA error_rate: {rate:.2%} of requests failed ({totals['failures']} of "
            f"{totals['requests']}) > {settings.sla.error_rate:.2%}"))
    return checks


# -- the run ---------------------------------------------------------------------------------
def run_load(settings: HarnessSettings, options: LoadOptions,
             reporters: Sequence[Reporter] = (),
             landscape: Mapping[str, str] | None = None) -> LoadResult:
    """Run one scenario under Locust; write the report folder; check the SLAs.

    The landscape is, in order: ``landscape`` (name → URL, ``integration`` for the layer),
    the running one with ``options.running``, or one served here for the run."""
    if options.scenario not in SCENARIOS:
        raise LoadError(f"unknown load scenario {options.scenario!r}",
                        f"choose from: {', '.join(SCENARIOS)}")
    scenario = SCENARIOS[options.scenario]
    if options.expect_workers and options.workers > 1:
        raise LoadError("--workers and --expect-workers cannot be combined",
                        "use --workers N on one machine, or --expect-workers N with workers "
                        "started elsewhere")
    if not (LOCUSTFILES / scenario.locustfile).is_file():
        raise LoadError(f"locustfile {scenario.locustfile} is not in {LOCUSTFILES}",
                        "run from a checkout of o2c-harness")
    run_id = options.run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    options = replace(options, run_id=run_id)
    out = settings.report_dir / run_id / "load"
    out.mkdir(parents=True, exist_ok=True)

    def report(event: object) -> None:
        for reporter in reporters:
            reporter(event)

    before = os.getloadavg()
    started = time.monotonic()
    with ExitStack() as stack:
        if landscape is not None:
            urls = dict(landscape)
        elif options.running:
            urls = _running_landscape(settings)
        else:
            urls = stack.enter_context(serve_landscape(settings, out, options.layer_process))
        report(LandscapeReady(dict(urls), landscape is None and not options.running))
        tag = f"{run_id[-7:]}{secrets.token_hex(2)}"
        cmd = locust_command(options, urls, out, tag)
        limit = options.run_time_s + options.business_timeout_s + 120 + \
            (3600 if options.expect_workers or options.web else 0)
        code = _run_locust(cmd, out, limit, report,
                           locust_env(layer_auth.credentials(settings, urls["integration"])))
    if code not in (0, 1):  # 1: some request failed, which the SLAs judge
        raise LoadError(f"Locust exited with code {code}", f"see {out / 'locust.log'}")
    summary = summarize(out, options, (before, os.getloadavg()),
                        time.monotonic() - started)
    result = LoadResult(run_id, out, summary, check_slas(settings, summary, scenario))
    summary["sla"] = {"passed": result.passed, "checks": [c.as_json() for c in result.checks]}
    (out / "load.json").write_text(json.dumps(redact(summary), indent=2), encoding="utf-8")
    for written in out.rglob("*"):  # Locust's own CSVs, log and HTML: its failure messages
        if written.suffix in (".csv", ".log", ".html", ".json") and written.is_file():
            redact_file(written)
    for check in result.checks:
        report(check)
    return result


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``5m``, ``1h30m`` → seconds (Locust's -t syntax)."""
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    for ch in text.strip().lower():
        if ch.isdigit() or ch == ".":
            number += ch
        elif ch in units and number:
            total += float(number) * units[ch]
            number = ""
        else:
            raise ValueError(f"bad duration {text!r}: use e.g. 60s, 5m, 1h30m")
    if number:
        total += float(number)
    if total <= 0:
        raise ValueError(f"bad duration {text!r}: must be more than 0")
    return total


__all__ = ["INVOICE_POSTING", "PAYMENT_UPDATE", "SCENARIOS", "LandscapeReady", "LoadOptions",
           "LoadResult", "LoadScenario", "LocustFinished", "LocustStarted", "SlaCheck",
           "check_slas", "locust_command", "parse_duration", "percentile",
           "remote_worker_command", "run_load", "serve_landscape", "summarize"]
