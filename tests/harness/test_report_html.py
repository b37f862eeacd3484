"""``report.html``: self-contained, its plots drawn from the run's data; rendered in headless
Chromium (Debian's ``chromium``), where the SVG plots must have a real size on the page.
The browser test is skipped where no Chromium is installed (``.ci/run`` installs it)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from harness.gate import CaseResult, GateOptions, GateResult, StageFinished
from harness.gate_report import SCHEMA_PATH, write_reports
from harness.gate_stages import histograms, throughput
from harness.report_html import bar_chart, line_chart

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p), None)
# the flags this machine needs (closed network, root, no GPU)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]


def _samples() -> list[dict[str, str]]:
    rows = []
    for i in range(60):
        latency = 80.0 + (i * 37) % 900
        rows.append({"latency": "invoice-posting" if i % 3 else "payment-update",
                     "key": f"in_{i}", "start_wall": f"{1000 + i * 0.3:.3f}",
                     "end_wall": f"{1000 + i * 0.3 + latency / 1000:.3f}",
                     "latency_ms": f"{latency:.1f}", "error": "" if i != 7 else "timeout"})
    return rows


def _result(tmp_path: Path) -> GateResult:
    result = GateResult("20260101T000000Z", tmp_path / "run", GateOptions())
    for stage, status in (("landscape", "passed"), ("contracts", "failed"), ("load", "passed")):
        result.cases.append(CaseResult(stage, stage, status, 1.5,
                                       "x <script>alert(1)</script>" if status == "failed"
                                       else ""))
        result.stages[stage] = StageFinished(stage, status, 1.5)
    samples = _samples()
    result.details.update(
        machine={"cpus": 2, "loadavg_before": [1.0, 1.0, 1.0]},
        contracts={"matrix": [{"consumer": "order-service", "provider": "integration-layer",
                               "passed": 2, "failed": 1, "skipped": 0}], "report": "c"},
        fuzz={"cases": 40, "max_examples": 10, "report": "f", "findings": [
            {"target": "integration", "operation": "POST /customers", "check": "not_a_server_error",
             "title": "Server error", "message": "500", "status_code": 500,
             "curl": "curl -X POST http://127.0.0.1:8100/customers", "known": False}]},
        fault_matrix={"report": "m", "cells": [
            {"scenario": "onboarding", "profile": "flaky", "status": "failed", "duration_s": 3.0,
             "error": None, "breaches": [{"check": "posted.once", "key": "in_7",
                                          "message": "posted twice", "timeline": "u"}]}]},
        load={"scenario": "month-end", "users": 6, "run_time_s": 20.0,
              "business": {"invoice-posting": {"count": 39, "failures": 1, "p50_ms": 300.0,
                                               "p90_ms": 800.0, "p95_ms": 900.0,
                                               "p99_ms": 950.0, "max_ms": 970.0}},
              "slas": [{"sla": "invoice_posting.p95_ms", "threshold": 10000.0,
                        "actual": 900.0, "passed": True, "reason": ""}],
              "histograms": histograms(samples), "throughput": throughput(samples)},
        timelines=[{"key": "in_7", "source": "load", "url": "http://127.0.0.1:1/timeline/in_7",
                    "steps": [{"at": "2026-01-01T00:00:00Z", "system": "billing",
                               "step": "invoice.finalized", "detail": None}]}])
    result.duration_s = 12.0
    return result


def test_report_is_self_contained_and_valid(tmp_path: Path) -> None:
    result = _result(tmp_path)
    doc = write_reports(result)
    jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text())).validate(doc)
    html = (result.report_dir / "report.html").read_text()
    assert "<script" not in html  # the failing case's message is escaped
    assert not re.search(r"""(src|href)=["']?https?:""", html)  # nothing fetched
    assert html.count('class="bar"') == sum(len(b) for b in doc["load"]["histograms"].values())
    assert 'class="series"' in html
    for section in ("stage-table", "contract-matrix", "fault-matrix"):
        assert f'class="{section}"' in html
    assert "curl -X POST http://127.0.0.1:8100/customers" in html
    assert "gate failed at contracts" in html


def test_plots_scale_to_the_data() -> None:
    svg = bar_chart("h", ["a", "b"], [1.0, 4.0], height=220)
    heights = [float(h) for h in re.findall(r'class="bar"[^>]*height="([\d.]+)"', svg)]
    assert heights[1] == pytest.approx(4 * heights[0])
    line = line_chart("t", [0.0, 1.0, 2.0], [0.0, 5.0, 10.0])
    points = re.search(r'points="([^"]+)"', line)
    assert points is not None and len(points.group(1).split()) == 3


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium; "
                                              ".ci/run does it where apt is available)")
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    result = _result(tmp_path)
    write_reports(result)
    page = (result.report_dir / "report.html").read_text()
    # measure the laid-out page: each plot's box, each bar's box, the stage table's rows
    probe = """<script>
      const box = e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
      window.addEventListener('load', () => {
        const out = {plots: [...document.querySelectorAll('svg.plot')].map(box),
                     bars: [...document.querySelectorAll('rect.bar')].map(box),
                     series: [...document.querySelectorAll('polyline.series')].map(box),
                     stageRows: document.querySelectorAll('table.stage-table tbody tr').length,
                     verdict: document.getElementById('verdict').textContent};
        const pre = document.createElement('pre'); pre.id = 'probe';
        pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
      });</script>"""
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", probe + "</body>"))
    assert CHROMIUM is not None
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"no probe in the DOM (exit {done.returncode}): {done.stderr[-2000:]}"
    seen = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert seen["stageRows"] == 3
    assert seen["verdict"].startswith("gate failed")
    assert len(seen["plots"]) == 3  # two latency histograms and the throughput line
    assert all(w > 100 and h > 100 for w, h in seen["plots"])
    assert sum(1 for w, h in seen["bars"] if w > 0 and h > 0) >= 6
    assert all(w > 0 and h > 0 for w, h in seen["series"])
