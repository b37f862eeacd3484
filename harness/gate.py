"""``harness gate``: the pre-deployment run, as stages that emit events to reporters.

Stages today: landscape (start every simulator of this build), health, seed, and a smoke
check per simulator (OpenAPI served and well-formed, snapshot → reset → restore round trip).
Contract verification, fuzzing, the fault-matrix oracle and the SLA load run are stages the
gate will run once they exist; until then they are reported as ``skipped`` with the reason —
never as passed.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from . import __version__
from . import landscape as ls
from .config import HarnessSettings

SUMMARY_SCHEMA_VERSION = 1
NOT_YET_BUILT = {
    "contracts": "Pact contract verification is not part of this build yet",
    "fuzz": "schemathesis fuzzing is not part of this build yet",
    "fault-matrix": "the reconciliation oracle is not part of this build yet",
    "load": "the Locust SLA run is not part of this build yet",
}


@dataclass
class CaseResult:
    stage: str
    name: str
    status: str  # passed | failed | skipped
    duration_s: float = 0.0
    message: str = ""


@dataclass
class GateResult:
    run_id: str
    report_dir: Path
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not any(c.status == "failed" for c in self.cases)


Reporter = Callable[[CaseResult], None]


def _console_reporter(console: Console) -> Reporter:
    marks = {"passed": "[green]PASS[/]", "failed": "[red]FAIL[/]", "skipped": "[yellow]SKIP[/]"}

    def report(case: CaseResult) -> None:
        detail = f" — {case.message}" if case.message else ""
        console.print(f"{marks[case.status]} {case.stage}: {case.name} "
                      f"({case.duration_s:.2f}s){detail}", highlight=False)

    return report


class _Run:
    def __init__(self, result: GateResult, reporters: Sequence[Reporter]) -> None:
        self.result = result
        self.reporters = reporters

    def emit(self, case: CaseResult) -> None:
        self.result.cases.append(case)
        for reporter in self.reporters:
            reporter(case)

    def check(self, stage: str, name: str, fn: Callable[[], str | None]) -> bool:
        started = time.perf_counter()
        try:
            message = fn() or ""
            status = "passed"
        except Exception as exc:  # a failing check is a result, not a crash
            message, status = f"{type(exc).__name__}: {exc}", "failed"
        self.emit(CaseResult(stage, name, status, time.perf_counter() - started, message))
        return status == "passed"


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


def run_gate(settings: HarnessSettings, only: Sequence[str] | None = None,
             console: Console | None = None) -> GateResult:
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir = settings.report_dir / run_id
    result = GateResult(run_id, report_dir)
    reporters: list[Reporter] = [_console_reporter(console)] if console else []
    run = _Run(result, reporters)
    started = time.time()
    names = ls.select(settings, only)
    with ls.start_in_process(settings, names) as landscape:
        run.emit(CaseResult("landscape", "start", "passed",
                            message=", ".join(f"{n} {u}" for n, u in landscape.urls.items())))
        verify: str | bool = landscape.ca_cert or True
        for name, url in landscape.urls.items():
            with httpx.Client(base_url=url, timeout=60, verify=verify) as client:
                def health(c: httpx.Client = client) -> str:
                    return str(c.get("/_sim/health").raise_for_status().json()["status"])

                def seed(c: httpx.Client = client) -> str:
                    created = c.post("/_sim/seed", json={"seed": 42, "size": 20}
                                     ).raise_for_status().json()["created"]
                    return ", ".join(f"{v} {k}" for k, v in created.items())

                def smoke(c: httpx.Client = client) -> str:
                    return _smoke(c)

                if run.check("health", name, health):
                    run.check("seed", name, seed)
                    run.check("smoke", name, smoke)
    for stage, reason in NOT_YET_BUILT.items():
        run.emit(CaseResult(stage, stage, "skipped", message=reason))
    _write_reports(result, settings, time.time() - started)
    if console:
        verdict = "[green]gate passed[/]" if result.passed else "[red]gate failed[/]"
        console.print(f"{verdict} — report in {report_dir}")
    return result


def _write_reports(result: GateResult, settings: HarnessSettings, duration: float) -> None:
    result.report_dir.mkdir(parents=True, exist_ok=True)
    counts = {s: sum(c.status == s for c in result.cases) for s in ("passed", "failed", "skipped")}
    summary: dict[str, Any] = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "run_id": result.run_id,
        "harness_version": __version__,
        "passed": result.passed,
        "duration_s": round(duration, 3),
        "counts": counts,
        "cases": [asdict(c) for c in result.cases],
    }
    (result.report_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    suites = ET.Element("testsuites", name="harness gate", tests=str(len(result.cases)),
                        failures=str(counts["failed"]), skipped=str(counts["skipped"]),
                        time=f"{duration:.3f}")
    by_stage: dict[str, list[CaseResult]] = {}
    for case in result.cases:
        by_stage.setdefault(case.stage, []).append(case)
    for stage, cases in by_stage.items():
        suite = ET.SubElement(suites, "testsuite", name=stage, tests=str(len(cases)),
                              failures=str(sum(c.status == "failed" for c in cases)),
                              skipped=str(sum(c.status == "skipped" for c in cases)))
        for case in cases:
            tc = ET.SubElement(suite, "testcase", classname=f"gate.{stage}", name=case.name,
                               time=f"{case.duration_s:.3f}")
            if case.status == "failed":
                ET.SubElement(tc, "failure", message=case.message[:500]).text = case.message
            elif case.status == "skipped":
                ET.SubElement(tc, "skipped", message=case.message)
    ET.ElementTree(suites).write(result.report_dir / "junit.xml", encoding="utf-8",
                                 xml_declaration=True)
