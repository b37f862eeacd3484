"""The gate's report folder: ``summary.json`` (schema ``harness/schemas/summary.schema.json``),
``junit.xml`` (a suite per stage, a case per check) and ``report.html`` (self-contained)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import __version__
from .canonical.redact import redact, redact_file, redact_xml
from .gate import STAGES, SUMMARY_SCHEMA_VERSION, CaseResult, GateResult

SCHEMA_PATH = Path(__file__).parent / "schemas" / "summary.schema.json"


def summary(result: GateResult) -> dict[str, Any]:
    """The ``summary.json`` document (stable: see the JSON Schema)."""
    counts = {s: sum(c.status == s for c in result.cases) for s in ("passed", "failed", "skipped")}
    order = [s for s in STAGES if s in result.stages] + \
        [s for s in result.stages if s not in STAGES]
    details = result.details
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "run_id": result.run_id,
        "harness_version": __version__,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "passed": result.passed,
        "failed_stages": result.failed_stages(),
        "duration_s": round(result.duration_s, 3),
        "options": {"budget": result.options.budget,
                    "targets": list(result.options.targets) if result.options.targets else None,
                    "sut_url": result.options.sut_url, "seed": result.options.seed,
                    "skip": list(result.options.skip)},
        "machine": details.get("machine", {}),
        "counts": counts,
        "stages": [{"name": s, "status": result.stages[s].status,
                    "duration_s": round(result.stages[s].duration_s, 3)} for s in order],
        "cases": [_case_json(c) for c in result.cases],
        "contracts": details.get("contracts"),
        "fuzz": details.get("fuzz"),
        "fault_matrix": details.get("fault_matrix"),
        "load": details.get("load"),
        "timelines": details.get("timelines", []),
    }


def _case_json(case: CaseResult) -> dict[str, Any]:
    data = asdict(case)
    data["duration_s"] = round(case.duration_s, 3)
    return data


def junit(result: GateResult) -> ET.ElementTree:
    counts = {s: sum(c.status == s for c in result.cases) for s in ("failed", "skipped")}
    suites = ET.Element("testsuites", name="harness gate", tests=str(len(result.cases)),
                        failures=str(counts["failed"]), skipped=str(counts["skipped"]),
                        time=f"{result.duration_s:.3f}")
    by_stage: dict[str, list[CaseResult]] = {}
    for case in result.cases:
        by_stage.setdefault(case.stage, []).append(case)
    for stage, cases in by_stage.items():
        suite = ET.SubElement(suites, "testsuite", name=stage, tests=str(len(cases)),
                              failures=str(sum(c.status == "failed" for c in cases)),
                              skipped=str(sum(c.status == "skipped" for c in cases)),
                              time=f"{sum(c.duration_s for c in cases):.3f}")
        for case in cases:
            tc = ET.SubElement(suite, "testcase", classname=f"gate.{stage}", name=case.name,
                               time=f"{case.duration_s:.3f}")
            if case.status == "failed":
                ET.SubElement(tc, "failure", message=case.message[:500]).text = case.message
            elif case.status == "skipped":
                ET.SubElement(tc, "skipped", message=case.message)
    return ET.ElementTree(redact_xml(suites))


def write_reports(result: GateResult) -> dict[str, Any]:
    from .report_html import render

    result.report_dir.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = redact(summary(result))  # fuzz repros, timelines, messages: no PII
    redact_file(result.report_dir / "engines.log")  # the engines' own output, captured
    (result.report_dir / "summary.json").write_text(json.dumps(doc, indent=2, default=str))
    junit(result).write(result.report_dir / "junit.xml", encoding="utf-8",
                        xml_declaration=True)
    (result.report_dir / "report.html").write_text(render(doc), encoding="utf-8")
    return doc


__all__ = ["SCHEMA_PATH", "junit", "summary", "write_reports"]
