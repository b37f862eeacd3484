"""``harness gate``: the pre-deployment run, as stages that emit events to reporters.

Stages, in order: ``landscape`` (every simulator, in-process), ``health``, ``seed`` and
``smoke`` per simulator, ``sut`` (the reference integration layer wired to the landscape, or
the system under test at ``--sut-url``), ``contracts`` (Pact verification of every provider,
the system under test included), ``fuzz`` (schemathesis on the system under test's API;
``--full`` adds every simulator), ``fault-matrix`` (scenario x fault-profile cells judged by the
reconciliation oracle), ``load`` (a short Locust run with the ``[sla]`` thresholds), then the
report. A stage whose engine is not part of the build is reported ``skipped`` with the
reason — never ``passed``.

The engine never prints: it emits :class:`StageStarted`, :class:`CaseResult` and
:class:`StageFinished`; reporters (``harness.gate_console``, ``harness.gate_report``) render
them. The run's details (contract matrix, fuzz findings, fault-matrix cells, load statistics,
timelines) are collected in :attr:`GateResult.details` for the report.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
from rich.console import Console

from . import landscape as ls
from .canonical.redact import redact_text
from .config import HarnessSettings
from .errors import HarnessError
from .layer_auth import served_layer_auth

SUMMARY_SCHEMA_VERSION = 2
STAGES = ("landscape", "health", "seed", "smoke", "sut", "contracts", "fuzz", "fault-matrix",
          "load")
Budget = Literal["quick", "default", "full"]


@dataclass(frozen=True)
class BudgetPlan:
    """How much each stage does for one budget."""

    fuzz_examples: int
    fuzz_simulators: bool  # also fuzz every simulator (not only the system under test)
    cell_scenarios: tuple[str, ...]  # fault-matrix cells: every scenario x every profile
    cell_profiles: tuple[str, ...]
    cell_size: int
    load_scenario: str
    load_users: int
    load_run_time_s: float


BUDGETS: dict[str, BudgetPlan] = {
    "quick": BudgetPlan(5, False, ("onboarding",), ("none",), 2, "month-end", 4, 8.0),
    "default": BudgetPlan(10, False, ("onboarding",), ("flaky",), 3, "month-end", 6, 20.0),
    "full": BudgetPlan(50, True, ("onboarding", "month-end", "payment-run", "migration-wave"),
                       ("none", "flaky", "outage", "chaos"), 4, "mixed", 10, 60.0),
}


@dataclass(frozen=True)
class GateOptions:
    budget: Budget = "default"
    targets: tuple[str, ...] | None = None  # simulators (aliases allowed); None: all
    sut_url: str | None = None  # None: the reference layer, started for the run
    seed: int = 42
    run_id: str | None = None
    skip: tuple[str, ...] = ()  # engine stages not to run (reported skipped: not selected)
    # known fuzz findings of the system under test (reported; only new ones fail the gate)
    fuzz_baseline: Path | None = Path("fuzz-baseline.json")

    @property
    def plan(self) -> BudgetPlan:
        return BUDGETS[self.budget]


@dataclass
class CaseResult:
    stage: str
    name: str
    status: str  # passed | failed | skipped
    duration_s: float = 0.0
    message: str = ""

    def __post_init__(self) -> None:
        # console, summary, JUnit and report.html all show this message: no PII in it
        self.message = redact_text(self.message)


@dataclass(frozen=True)
class StageStarted:
    stage: str
    detail: str = ""


@dataclass(frozen=True)
class StageFinished:
    stage: str
    status: str  # passed | failed | skipped
    duration_s: float


GateEvent = StageStarted | CaseResult | StageFinished
Reporter = Callable[[GateEvent], None]


@dataclass
class GateResult:
    run_id: str
    report_dir: Path
    options: GateOptions = field(default_factory=GateOptions)
    cases: list[CaseResult] = field(default_factory=list)
    stages: dict[str, StageFinished] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return not any(c.status == "failed" for c in self.cases)

    def failed_stages(self) -> list[str]:
        return [s for s, f in self.stages.items() if f.status == "failed"]


class _Run:
    def __init__(self, result: GateResult, reporters: Sequence[Reporter]) -> None:
        self.result = result
        self.reporters = reporters

    def _send(self, event: GateEvent) -> None:
        for reporter in self.reporters:
            reporter(event)

    def emit(self, case: CaseResult) -> None:
        self.result.cases.append(case)
        self._send(case)

    def check(self, stage: str, name: str, fn: Callable[[], str | None]) -> bool:
        started = time.perf_counter()
        try:
            message = fn() or ""
            status = "passed"
        except Exception as exc:  # a failing check is a result, not a crash
            message, status = f"{type(exc).__name__}: {exc}", "failed"
        self.emit(CaseResult(stage, name, status, time.perf_counter() - started, message))
        return status == "passed"

    @contextlib.contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[None]:
        """Group the cases emitted inside into one stage; an engine error fails the stage."""
        self._send(StageStarted(name, detail))
        first = len(self.result.cases)
        started = time.perf_counter()
        try:
            yield
        except HarnessError as exc:
            hint = f" — hint: {exc.hint}" if exc.hint else ""
            self.emit(CaseResult(name, name, "failed", time.perf_counter() - started,
                                 f"{exc.message}{hint}"))
        except Exception as exc:  # an engine crash fails its stage, the gate goes on
            self.emit(CaseResult(name, name, "failed", time.perf_counter() - started,
                                 f"{type(exc).__name__}: {exc}"))
        cases = self.result.cases[first:]
        status = "failed" if any(c.status == "failed" for c in cases) else \
            "passed" if any(c.status == "passed" for c in cases) else "skipped"
        finished = StageFinished(name, status, time.perf_counter() - started)
        self.result.stages[name] = finished
        self._send(finished)

    def skip(self, stage: str, reason: str) -> None:
        with self.stage(stage):
            self.emit(CaseResult(stage, stage, "skipped", message=reason))


# -- the checks of the early stages ------------------------------------------------------------
def _smoke(client: httpx.Client) -> str:
    spec = client.get("/openapi.json").raise_for_status().json()
    if not str(spec.get("openapi", "")).startswith("3."):
        raise AssertionError("openapi.json is not an OpenAPI 3 document")
    vendor_paths = [p for p in spec["paths"] if not p.startswith("/_sim/")]
    if not vendor_paths:
        raise AssertionError("no vendor paths documented")
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if not op.get("responses"):
                raise AssertionError(f"{method.upper()} {path} documents no responses")
    snapshot = client.get("/_sim/snapshot").raise_for_status().json()
    client.post("/_sim/reset").raise_for_status()
    client.put("/_sim/snapshot", json=snapshot).raise_for_status()
    again = client.get("/_sim/snapshot").raise_for_status().json()
    if again["state"] != snapshot["state"]:
        raise AssertionError("snapshot → reset → restore did not give the same state")
    return f"{len(vendor_paths)} vendor paths documented; snapshot round trip ok"


def _simulator_checks(run: _Run, urls: dict[str, str], verify: str | bool, seed: int) -> None:
    healthy: list[str] = []
    with run.stage("health"):
        for name, url in urls.items():
            with httpx.Client(base_url=url, timeout=60, verify=verify) as c:
                def health_of(c: httpx.Client = c) -> str:
                    return str(c.get("/_sim/health").raise_for_status().json()["status"])
                if run.check("health", name, health_of):
                    healthy.append(name)
    with run.stage("seed"):
        for name in healthy:
            with httpx.Client(base_url=urls[name], timeout=60, verify=verify) as c:
                def seed_one(c: httpx.Client = c) -> str:
                    created = c.post("/_sim/seed", json={"seed": seed, "size": 20}
                                     ).raise_for_status().json()["created"]
                    return ", ".join(f"{v} {k}" for k, v in created.items())
                run.check("seed", name, seed_one)
    with run.stage("smoke"):
        for name in healthy:
            with httpx.Client(base_url=urls[name], timeout=60, verify=verify) as c:
                def smoke_of(c: httpx.Client = c) -> str:
                    return _smoke(c)
                run.check("smoke", name, smoke_of)


# -- the system under test -------------------------------------------------------------------
def _wait_health(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{url.rstrip('/')}/health", timeout=3)
            if answer.status_code == 200:
                return
            last = f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc) or type(exc).__name__
        time.sleep(0.2)
    raise AssertionError(f"the system under test at {url} does not answer /health ({last})")


@dataclass
class Sut:
    """The system under test: its URL and, for the reference layer, how to restart it."""

    url: str
    restart: Callable[[], str] | None = None


def _start_sut(run: _Run, stack: ExitStack, urls: dict[str, str], options: GateOptions,
               workdir: Path, auth: dict[str, Any] | None = None) -> Sut | None:
    """The system under test, or None (stage failed or skipped)."""
    sut: list[Sut] = []
    with run.stage("sut"):
        if options.sut_url:
            url = options.sut_url.rstrip("/")

            def answers() -> str:
                _wait_health(url, 10)
                return "answers /health"

            if run.check("sut", url, answers):
                sut.append(Sut(url))
            return sut[0] if sut else None
        try:
            from .check import InProcessLayer
        except ImportError as exc:
            run.emit(CaseResult("sut", "reference layer", "skipped",
                                message=f"the reference integration layer is not part of "
                                        f"this build ({exc}); pass --sut-url"))
            return None
        layers: list[Any] = []

        def start_layer() -> str:
            # a fresh database per start: it registers its webhook endpoints again
            layer = InProcessLayer(dict(urls), Path(tempfile.mkdtemp(dir=workdir)), auth)
            if layers:
                layers.pop().stop()
            layers.append(layer)
            return str(layer.url)

        def start() -> str:
            url = start_layer()
            stack.callback(lambda: layers and layers.pop().stop())
            sut.append(Sut(url, start_layer))
            return f"reference integration layer at {url}"

        run.check("sut", "reference layer", start)
    return sut[0] if sut else None


# -- the run ---------------------------------------------------------------------------------
def run_gate(settings: HarnessSettings, only: Sequence[str] | None = None,
             console: Console | None = None, *, options: GateOptions | None = None,
             reporters: Sequence[Reporter] = ()) -> GateResult:
    """Run every stage; write ``reports/<run-id>/`` (summary.json, junit.xml, report.html)."""
    from . import gate_stages as stages
    from .gate_report import write_reports

    options = options or GateOptions(targets=tuple(only) if only else None)
    run_id = options.run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result = GateResult(run_id, settings.report_dir / run_id, options)
    all_reporters = list(reporters)
    if console is not None:
        from .gate_console import plain_reporter

        all_reporters.append(plain_reporter(console))
    run = _Run(result, all_reporters)
    started = time.monotonic()
    result.details["machine"] = {"cpus": os.cpu_count(),
                                 "loadavg_before": [round(x, 2) for x in os.getloadavg()]}
    names = ls.select(settings, list(options.targets) if options.targets else None)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="o2c-gate-")))
        scape: ls.Landscape | None = None
        with run.stage("landscape"):
            scape = stack.enter_context(ls.start_in_process(settings, names))
            run.emit(CaseResult("landscape", "start", "passed", message=", ".join(
                f"{n} {u}" for n, u in scape.urls.items())))
        if scape is None:
            for stage in STAGES[1:]:
                run.skip(stage, "the landscape did not start")
        else:
            urls = dict(scape.urls)
            verify: str | bool = scape.ca_cert or True
            # seed and smoke first: seeding replaces a simulator's state, which would drop
            # what the system under test registers at start (its webhook endpoints)
            _simulator_checks(run, urls, verify, options.seed)
            sut = _start_sut(run, stack, urls, options, workdir,
                             served_layer_auth(settings))
            # the engines find this landscape and the SUT as `harness up --detach` would
            # leave them, through a private state dir
            sut_url = sut.url if sut else None
            engine = stages.engine_settings(settings, workdir, scape, sut_url)
            stages.contracts(run, engine, names, sut_url)
            stages.fuzz(run, engine, names, sut_url, options, run_id)
            stages.fault_matrix(run, settings, options, run_id)
            stages.load(run, engine, urls, sut, options, run_id)
    result.details["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    result.duration_s = time.monotonic() - started
    write_reports(result)
    if console is not None:
        from .gate_console import verdict

        verdict(console, result)
    return result


__all__ = ["BUDGETS", "STAGES", "SUMMARY_SCHEMA_VERSION", "BudgetPlan", "CaseResult",
           "GateEvent", "GateOptions", "GateResult", "Reporter", "StageFinished",
           "StageStarted", "run_gate"]
