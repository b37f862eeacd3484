"""``harness check``: run a scenario on the landscape under a fault profile, let the system
settle, and reconcile the systems of record with the oracle; ``--matrix`` runs every
scenario x profile.

Each cell gets a fresh landscape (simulators in-process on free ports) and a fresh integration
layer (in-process, or as a process for the ``crash`` profile, which SIGKILLs and restarts it
mid-run; its state survives in its database). The engine emits :class:`CellStarted` /
:class:`CellFinished` events; reporters render them (console in the CLI, JSON and JUnit in
``reports/<run-id>/check/``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

import scenarios
from scenarios import Credentials, Endpoints, ScenarioContext, ScenarioRun

from . import landscape as ls
from . import layer_auth
from .canonical.secrets import reveal
from .config import HarnessSettings
from .errors import ConfigError, LandscapeError
from .oracle import Expectations, Reconciliation, StateReader, reconcile

ERPS = ("cloud_erp", "legacy_erp")
# fault profile → the simulators it is applied to (None: every simulator)
PROFILE_TARGETS: dict[str, tuple[str, ...] | None] = {
    "none": (),
    "flaky": None,
    "slow-erp": ERPS,
    "rate-limited": None,
    "outage": (*ERPS, "tax"),
    "webhook-chaos": None,
    "chaos": None,
    "crash": (),  # no simulator faults: the integration layer is killed and restarted
}
PROFILES = tuple(PROFILE_TARGETS)
# where the crash profile kills the layer: mid month end (invoices drafting), or right after
# the deals close when a scenario has no month end
CRASH_AT = ("month-end:clock-advanced", "accounts-won:a")


@dataclass
class CellResult:
    scenario: str
    profile: str
    seed: int
    status: str  # passed | failed | error
    duration_s: float
    reconciliation: Reconciliation | None = None
    run: ScenarioRun | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    # the layer's timeline of each breached business key, fetched before the cell's landscape
    # goes away (its links die with it)
    timelines: dict[str, Any] = field(default_factory=dict)

    @property
    def breach_count(self) -> int:
        return len(self.reconciliation.breaches) if self.reconciliation else 0


@dataclass(frozen=True)
class CellStarted:
    scenario: str
    profile: str


@dataclass(frozen=True)
class CellFinished:
    result: CellResult


Event = CellStarted | CellFinished
Reporter = Callable[[Event], None]


@dataclass
class CheckOptions:
    size: int = 4
    seed: int = 7
    settle_timeout_s: float = 60.0
    final_settle_s: float = 20.0
    layer_as_process: bool = False


# -- the system under test ------------------------------------------------------------------
class Layer(Protocol):
    url: str

    def crash_and_restart(self) -> None: ...


def _layer_config(urls: dict[str, str], public_url: str, db: Path,
                  auth: dict[str, Any] | None = None) -> dict[str, Any]:
    """Wiring only (where each system is, its own URL and database, the harness' API client):
    the layer's behaviour — retries, sweeps, CRM polling — stays at its own defaults. It logs
    errors only, unless the layer's own ``O2C_LOG_LEVEL`` is set (its logs then go to stderr)."""
    return {
        "public_url": public_url, "database_url": f"sqlite:///{db}",
        **({} if "O2C_LOG_LEVEL" in os.environ else {"log_level": "error"}),
        **({"auth": auth} if auth else {}),
        **{name: {"url": urls[name]} for name in
           ("crm", "billing", "tax", "payments", "cloud_erp", "legacy_erp")},
    }


def _wait_layer(url: str, timeout: float = 30.0,
                proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise LandscapeError("the integration layer process exited during start-up")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.05)
    raise LandscapeError(f"the integration layer at {url} did not answer within {timeout:.0f}s")


class InProcessLayer:
    """The reference layer served from a thread of this process (its public app factory)."""

    def __init__(self, urls: dict[str, str], workdir: Path,
                 auth: dict[str, Any] | None = None) -> None:
        from integration import create_app  # the public factory, as `harness up`
        from simulators._kit import Served, ThreadedServer, bind

        sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = create_app(ls.layer_settings(_layer_config(urls, self.url, workdir / "layer.db",
                                                         auth)))
        self._server = ThreadedServer(app, served=Served("integration", app, sock)).start()
        _wait_layer(self.url)

    def crash_and_restart(self) -> None:
        raise ConfigError("the crash profile needs the layer as a process")

    def stop(self) -> None:
        self._server.stop()


def _env(config: dict[str, Any], prefix: str = "O2C_") -> dict[str, str]:
    env: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key.upper()}"
        if isinstance(value, dict):
            env.update(_env(value, f"{name}__"))
        elif isinstance(value, list):
            env[name] = json.dumps(value)  # pydantic-settings parses complex values as JSON
        else:
            env[name] = str(reveal(value))  # a secret goes to the layer's env as itself
    return env


class ProcessLayer:
    """The reference layer as its own process (uvicorn), so it can be SIGKILLed. ``env`` adds
    ``O2C_*`` settings over the wiring (a test's short sweeps and retries, a bus URL)."""

    def __init__(self, urls: dict[str, str], workdir: Path,
                 auth: dict[str, Any] | None = None, env: dict[str, str] | None = None,
                 start_timeout_s: float = 30.0) -> None:
        with socket.socket() as probe:  # a free port; uvicorn binds it again below
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.database_url = f"sqlite:///{workdir / 'layer.db'}"
        self.start_timeout_s = start_timeout_s
        self.env = {**os.environ,
                    **_env(_layer_config(urls, self.url, workdir / "layer.db", auth)),
                    **(env or {})}
        self.restarts = 0
        self.proc = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"layer-{self.restarts}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "integration:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            _wait_layer(self.url, self.start_timeout_s, proc=proc)
        except BaseException:
            proc.kill()  # never leave a layer behind that nobody will stop
            proc.wait(10)
            raise
        finally:
            log.close()
        return proc

    def kill(self) -> int:
        """SIGKILL, as a crash: no shutdown handlers run. Returns the exit status."""
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(10)

    def restart(self) -> None:
        """Start again on the same port and database."""
        self.restarts += 1
        self.proc = self._spawn()

    def crash_and_restart(self) -> None:
        self.kill()
        self.restart()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# -- one cell -------------------------------------------------------------------------------
def credentials(settings: HarnessSettings) -> Credentials:
    crm: Any = settings.simulator("crm")
    billing: Any = settings.simulator("billing")
    payments: Any = settings.simulator("payments")
    cloud: Any = settings.simulator("cloud_erp")
    user, password = next(iter(cloud.users.items()))
    return Credentials(
        crm_client_id=crm.client_id, crm_client_secret=reveal(crm.client_secret),
        crm_username=crm.username, crm_password=reveal(crm.password),
        crm_security_token=reveal(crm.security_token), billing_api_key=reveal(billing.api_keys[0]),
        payments_api_key=reveal(payments.api_keys[0]),
        merchant_account=payments.merchant_accounts[0],
        cloud_erp_user=user, cloud_erp_password=reveal(password))


def apply_profile(client: httpx.Client, endpoints: Endpoints, profile: str, seed: int) -> None:
    targets = PROFILE_TARGETS[profile]
    for i, (name, url) in enumerate(sorted(endpoints.simulators.items())):
        if targets is not None and name not in targets:
            continue
        r = client.put(f"{url}/_sim/faults", json={"seed": seed * 100 + i, "profile": profile})
        if r.status_code != 200:
            raise ConfigError(f"{name} refused fault profile {profile!r}: {r.text[:200]}")


def clear_faults(client: httpx.Client, endpoints: Endpoints) -> None:
    for url in endpoints.simulators.values():
        client.delete(f"{url}/_sim/faults").raise_for_status()


def clocks(client: httpx.Client, endpoints: Endpoints) -> dict[str, float]:
    return {name: float(client.get(f"{url}/_sim/clock").json()["now"])
            for name, url in endpoints.simulators.items()}


@contextlib.contextmanager
def cell_landscape(settings: HarnessSettings, as_process: bool) -> \
        Iterator[tuple[Endpoints, Layer]]:
    """A fresh landscape on free ports and a fresh integration layer wired to it."""
    overrides = {name: settings.simulator(name).model_copy(update={
        "port": 0, "tick_interval_s": min(settings.simulator(name).tick_interval_s, 0.1),
        "faults": None}) for name in ls.select(settings, None)}
    current: Any = settings.simulators
    cell = settings.model_copy(update={"simulators": current.model_copy(update=overrides)})
    names = list(overrides)
    missing = [n for n in ("crm", "billing", "tax", "payments", *ERPS) if n not in names]
    if missing:
        raise ConfigError(f"harness check needs every simulator; not available: "
                          f"{', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="o2c-check-") as tmp, \
            ls.start_in_process(cell, names) as scape:
        layer: InProcessLayer | ProcessLayer = (ProcessLayer if as_process else InProcessLayer)(
            dict(scape.urls), Path(tmp), layer_auth.served_layer_auth(settings))
        try:
            yield Endpoints(dict(scape.urls), layer.url, credentials(settings),
                            layer_client=layer_auth.credentials(settings, layer.url)), layer
        finally:
            layer.stop()


def run_cell(settings: HarnessSettings, scenario: str, profile: str,
             options: CheckOptions) -> CellResult:
    """Run one scenario under one profile and reconcile; never raises for a business failure."""
    started = time.monotonic()
    definition = scenarios.SCENARIOS[scenario]
    as_process = options.layer_as_process or profile == "crash"
    notes: list[str] = []
    try:
        with cell_landscape(settings, as_process) as (endpoints, layer), \
                httpx.Client(timeout=30, auth=endpoints.layer_auth) as client:
            since = clocks(client, endpoints)
            apply_profile(client, endpoints, profile, options.seed)
            crashed: list[str] = []

            def on_phase(phase: str) -> None:
                if profile == "crash" and not crashed and phase in CRASH_AT:
                    crashed.append(phase)
                    layer.crash_and_restart()
                    notes.append(f"integration layer SIGKILLed and restarted at {phase}")

            ctx = ScenarioContext(endpoints, f"{scenario[:3]}{options.seed}", options.size,
                                  options.seed, options.settle_timeout_s, on_phase, client)
            run: ScenarioRun | None = None
            stopped: str | None = None
            try:
                run = definition.run(ctx)
                notes.extend(run.notes)
            except (scenarios.ActorError, scenarios.SettleTimeout) as exc:
                stopped = f"scenario stopped: {exc}"  # the driver, not the layer, failed
            clear_faults(client, endpoints)
            plan = run.wave_plan if run else list(scenarios.WAVE_PLAN)
            expect = Expectations(plan, endpoints.integration)
            reader = StateReader(endpoints, since, client)
            result = _settled(reader, expect, options.final_settle_s)
            if not scenarios.quiesce(ctx, quiet_s=1.0, timeout_s=options.final_settle_s):
                notes.append("the landscape did not quiesce")
            result = reconcile(reader.read(), expect)
            timelines = _timelines(client, result)
    except (LandscapeError, ConfigError):
        raise
    except Exception as exc:  # a broken cell is reported, the matrix goes on
        return CellResult(scenario, profile, options.seed, "error",
                          time.monotonic() - started, error=f"{type(exc).__name__}: {exc}",
                          notes=notes)
    # a scenario that could not drive the landscape proves nothing: never a pass
    status = "error" if stopped else "passed" if result.passed else "failed"
    return CellResult(scenario, profile, options.seed, status, time.monotonic() - started,
                      result, run, error=stopped, notes=notes, timelines=timelines)


def _timelines(client: httpx.Client, result: Reconciliation, limit: int = 50) -> \
        dict[str, Any]:
    found: dict[str, Any] = {}
    for breach in result.breaches:
        if breach.timeline and breach.key not in found and len(found) < limit:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                r = client.get(breach.timeline)
                if r.status_code == 200:
                    found[breach.key] = r.json()
    return found


def _settled(reader: StateReader, expect: Expectations, timeout_s: float) -> Reconciliation:
    """Reconcile until it passes or ``timeout_s`` runs out (retries still landing)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = reconcile(reader.read(), expect)
        if result.passed or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


# -- many cells -----------------------------------------------------------------------------
@dataclass
class CheckResult:
    run_id: str
    report_dir: Path
    cells: list[CellResult] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return all(c.status == "passed" for c in self.cells)


def run_check(settings: HarnessSettings, scenario_names: Sequence[str],
              profiles: Sequence[str], options: CheckOptions,
              reporters: Sequence[Reporter] = (), run_id: str | None = None) -> CheckResult:
    for name in scenario_names:
        if name not in scenarios.SCENARIOS:
            raise ConfigError(f"unknown scenario {name!r}",
                              f"choose from: {', '.join(scenarios.SCENARIOS)}")
    for name in profiles:
        if name not in PROFILE_TARGETS:
            raise ConfigError(f"unknown fault profile {name!r}",
                              f"choose from: {', '.join(PROFILES)}")
    run_id = run_id or time.strftime("%Y%m%d-%H%M%S")
    result = CheckResult(run_id, settings.report_dir / run_id / "check")
    started = time.monotonic()
    for scenario in scenario_names:
        for profile in profiles:
            for reporter in reporters:
                reporter(CellStarted(scenario, profile))
            cell = run_cell(settings, scenario, profile, options)
            result.cells.append(cell)
            for reporter in reporters:
                reporter(CellFinished(cell))
    result.duration_s = time.monotonic() - started
    from .check_report import write_reports

    write_reports(result)
    return result


def cell_json(cell: CellResult) -> dict[str, Any]:
    rec = cell.reconciliation
    return {
        "scenario": cell.scenario, "profile": cell.profile, "seed": cell.seed,
        "status": cell.status, "duration_s": round(cell.duration_s, 3), "error": cell.error,
        "notes": cell.notes, "settled": cell.run.settled if cell.run else None,
        "checks": [{"check": o.check, "description": o.description, "examined": o.examined,
                    "passed": o.passed,
                    "breaches": [{"key": b.key, "message": b.message, "timeline": b.timeline}
                                 for b in o.breaches]} for o in rec.outcomes] if rec else [],
        "timelines": cell.timelines,
    }


def dumps(result: CheckResult) -> str:
    return json.dumps({"run_id": result.run_id, "passed": result.passed,
                       "duration_s": round(result.duration_s, 3),
                       "cells": [cell_json(c) for c in result.cells]}, indent=2)
