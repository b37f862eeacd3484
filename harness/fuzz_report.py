"""Reports of a fuzz run in ``reports/<run-id>/fuzz/``: ``junit.xml`` (one test case per
operation and phase), ``findings.json`` and ``findings.md`` (each finding with the curl
command that reproduces it)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from .canonical.redact import redact, redact_text, redact_xml

if TYPE_CHECKING:
    from .fuzz import FuzzRunResult

FINDINGS_SCHEMA_VERSION = 1


def summary(run: FuzzRunResult) -> dict[str, Any]:
    return {
        "schema_version": FINDINGS_SCHEMA_VERSION,
        "run_id": run.run_id,
        "passed": run.passed,
        "max_examples": run.max_examples,
        "seed": run.seed,
        "duration_s": round(run.duration_s, 3),
        "cases": run.cases,
        "targets": [{
            "target": t.target, "url": t.url, "status": t.status, "cases": t.cases,
            "operations": len(t.operations), "duration_s": round(t.duration_s, 3),
            "findings": len(t.findings), "errors": t.errors, "skip_reason": t.skip_reason,
        } for t in run.targets],
        "findings": [asdict(f) for f in run.findings],
    }


def _junit(run: FuzzRunResult) -> ET.ElementTree:
    results = [r for t in run.targets for r in t.results]
    skipped_targets = [t for t in run.targets if t.status == "skipped"]
    errored = [t for t in run.targets if t.errors]
    failures = sum(r.status == "failed" for r in results)
    suites = ET.Element("testsuites", name="harness fuzz",
                        tests=str(len(results) + len(skipped_targets) + len(errored)),
                        failures=str(failures), errors=str(len(errored)),
                        time=f"{run.duration_s:.3f}")
    for target in run.targets:
        suite = ET.SubElement(suites, "testsuite", name=f"fuzz.{target.target}",
                              tests=str(len(target.results) or 1),
                              failures=str(sum(r.status == "failed" for r in target.results)),
                              errors=str(int(bool(target.errors))),
                              skipped=str(int(target.status == "skipped")),
                              time=f"{target.duration_s:.3f}")
        if target.status == "skipped":
            tc = ET.SubElement(suite, "testcase", classname=f"fuzz.{target.target}",
                               name=target.target, time="0.000")
            ET.SubElement(tc, "skipped", message=target.skip_reason)
            continue
        if target.errors:
            tc = ET.SubElement(suite, "testcase", classname=f"fuzz.{target.target}",
                               name="run", time="0.000")
            ET.SubElement(tc, "error", message=target.errors[0][:500]).text = \
                "\n".join(target.errors)
        for r in target.results:
            tc = ET.SubElement(suite, "testcase", classname=f"fuzz.{target.target}.{r.phase}",
                               name=r.operation, time=f"{r.duration_s:.3f}")
            if r.findings:
                text = "\n\n".join(f"{f.check}: {f.title}\n{f.message}\n{f.curl}"
                                   for f in r.findings)
                ET.SubElement(tc, "failure", message=r.findings[0].title).text = text
            elif r.status == "failed":  # failures deduplicated into another phase's case
                ET.SubElement(tc, "failure", message="see the same finding in another phase")
            elif r.status == "skipped":
                ET.SubElement(tc, "skipped", message=r.message)
    return ET.ElementTree(suites)


def markdown(run: FuzzRunResult) -> str:
    lines = [f"# Fuzz findings — run {run.run_id}", "",
             f"{run.cases} generated cases, max {run.max_examples} examples per operation, "
             f"seed {run.seed}, {run.duration_s:.1f}s. "
             + ("**No findings.**" if run.passed else "**Findings below.**"), "",
             "| target | status | operations | cases | findings | time |",
             "|---|---|---|---|---|---|"]
    for t in run.targets:
        status = t.status + (f" ({t.skip_reason})" if t.skip_reason else "")
        lines.append(f"| {t.target} | {status} | {len(t.operations)} | {t.cases} | "
                     f"{len(t.findings)} | {t.duration_s:.1f}s |")
    for t in run.targets:
        if not t.findings and not t.errors:
            continue
        lines += ["", f"## {t.target}", ""]
        lines += [f"- error: {e}" for e in t.errors]
        for f in t.findings:
            status = f" → HTTP {f.status_code}" if f.status_code is not None else ""
            lines += [f"### {f.operation}: {f.title} ({f.check}, {f.phase}{status})", "",
                      "```", f.message.strip(), "```", "", "Response:", "",
                      "```", f.response.strip(), "```", "", "Reproduce:", "",
                      "```bash", f.curl, "```", ""]
    return "\n".join(lines) + "\n"


def write_reports(run: FuzzRunResult) -> None:
    run.report_dir.mkdir(parents=True, exist_ok=True)
    # generated inputs that look like PII are redacted too (the repro shows the marker)
    (run.report_dir / "findings.json").write_text(json.dumps(redact(summary(run)), indent=2))
    (run.report_dir / "findings.md").write_text(redact_text(markdown(run)))
    ET.ElementTree(redact_xml(_junit(run).getroot())).write(
        run.report_dir / "junit.xml", encoding="utf-8", xml_declaration=True)
