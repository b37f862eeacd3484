from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import simulators
from harness.config import load_settings
from harness.gate import NOT_YET_BUILT, run_gate


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    names = [n for n in simulators.names() if simulators.is_available(n)]
    if not names:
        pytest.skip("no simulator in this build")
    # free ports: a developer's own landscape may hold the defaults
    return load_settings(environ={}, report_dir=str(tmp_path / "reports"),
                         simulators={n: {"port": 0} for n in simulators.names()})


def test_gate_runs_every_available_simulator_and_writes_reports(settings) -> None:  # type: ignore[no-untyped-def]
    result = run_gate(settings)
    failed = [c for c in result.cases if c.status == "failed"]
    assert failed == []
    assert result.passed
    available = {n for n in simulators.names() if simulators.is_available(n)}
    assert {c.name for c in result.cases if c.stage == "smoke"} == available
    summary = json.loads((result.report_dir / "summary.json").read_text())
    assert summary["schema_version"] == 1
    assert summary["passed"] is True
    assert summary["counts"]["skipped"] == len(NOT_YET_BUILT)
    junit = ET.parse(result.report_dir / "junit.xml").getroot()
    assert junit.tag == "testsuites"
    assert int(junit.get("tests", "0")) == len(result.cases)
    skipped = {s.get("name") for s in junit.iter("testsuite") if s.get("skipped") != "0"}
    assert skipped == set(NOT_YET_BUILT)
