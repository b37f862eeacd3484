"""Reports of ``harness check``: ``matrix.json`` (every cell, check and breach),
``junit.xml`` (a test case per cell, a failure listing its breaches) and ``matrix.md``
(scenario x profile table) in ``reports/<run-id>/check/``."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .canonical.redact import redact_text, redact_xml
from .check import CheckResult, dumps

MARK = {"passed": "PASS", "failed": "FAIL", "error": "ERROR"}


def write_reports(result: CheckResult) -> None:
    out = result.report_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "matrix.json").write_text(redact_text(dumps(result)))  # markers keep JSON valid
    failures = sum(c.status == "failed" for c in result.cells)
    errors = sum(c.status == "error" for c in result.cells)
    suites = ET.Element("testsuites", name="harness check", tests=str(len(result.cells)),
                        failures=str(failures), errors=str(errors),
                        time=f"{result.duration_s:.3f}")
    by_scenario: dict[str, list[int]] = {}
    for i, cell in enumerate(result.cells):
        by_scenario.setdefault(cell.scenario, []).append(i)
    for scenario, indexes in by_scenario.items():
        cells = [result.cells[i] for i in indexes]
        suite = ET.SubElement(suites, "testsuite", name=f"check.{scenario}",
                              tests=str(len(cells)),
                              failures=str(sum(c.status == "failed" for c in cells)),
                              errors=str(sum(c.status == "error" for c in cells)))
        for cell in cells:
            tc = ET.SubElement(suite, "testcase", classname=f"check.{scenario}",
                               name=cell.profile, time=f"{cell.duration_s:.3f}")
            if cell.status == "error":
                ET.SubElement(tc, "error", message=(cell.error or "")[:500]).text = cell.error
            elif cell.status == "failed" and cell.reconciliation:
                lines = [f"[{b.check}] {b.key}: {b.message}"
                         + (f" ({b.timeline})" if b.timeline else "")
                         for b in cell.reconciliation.breaches]
                ET.SubElement(tc, "failure", message=f"{len(lines)} breach(es): "
                              + lines[0][:400]).text = "\n".join(lines + cell.notes)
    ET.ElementTree(redact_xml(suites)).write(out / "junit.xml", encoding="utf-8",
                                            xml_declaration=True)
    (out / "matrix.md").write_text(redact_text(matrix_markdown(result)))


def matrix_markdown(result: CheckResult) -> str:
    scenarios = list(dict.fromkeys(c.scenario for c in result.cells))
    profiles = list(dict.fromkeys(c.profile for c in result.cells))
    cell = {(c.scenario, c.profile): c for c in result.cells}
    lines = ["| scenario | " + " | ".join(profiles) + " |",
             "|---|" + "---|" * len(profiles)]
    for s in scenarios:
        row = []
        for p in profiles:
            c = cell.get((s, p))
            row.append("-" if c is None else f"{MARK[c.status]}"
                       + (f" ({c.breach_count})" if c.breach_count else "")
                       + f" {c.duration_s:.0f}s")
        lines.append(f"| {s} | " + " | ".join(row) + " |")
    lines.append("")
    lines.append(f"run {result.run_id}: {len(result.cells)} cells in {result.duration_s:.0f}s")
    return "\n".join(lines) + "\n"
