"""``harness gate``: stages, reports (summary.json against its schema, JUnit, report.html),
engines missing from a build reported skipped, and an injected regression caught at the
right stage."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import integration
import simulators
from harness.config import load_settings
from harness.gate import GateOptions, run_gate
from harness.gate_report import SCHEMA_PATH

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("contracts", "fuzz", "fault-matrix", "load")


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    # the pacts and locustfiles are found relative to a checkout, as on a fresh clone
    monkeypatch.chdir(ROOT)
    # free ports: a developer's own landscape may hold the defaults
    return load_settings(environ={}, report_dir=str(tmp_path / "reports"),
                         state_dir=str(tmp_path / "state"),
                         simulators={n: {"port": 0} for n in simulators.names()})


def _validate(summary: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()
                                    ).validate(summary)


def test_early_stages_pass_and_reports_are_written(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # an engine missing from a build is skipped with the reason, never passed
    monkeypatch.setitem(sys.modules, "harness.load", None)
    result = run_gate(settings, options=GateOptions(budget="quick",
                                                    skip=("contracts", "fuzz",
                                                          "fault-matrix")))
    assert [c for c in result.cases if c.status == "failed"] == []
    assert result.passed
    available = {n for n in simulators.names() if simulators.is_available(n)}
    assert {c.name for c in result.cases if c.stage == "smoke"} == available
    assert result.stages["sut"].status == "passed"
    load = [c for c in result.cases if c.stage == "load"]
    assert [c.status for c in load] == ["skipped"]
    assert "not part of this build" in load[0].message
    assert {s: result.stages[s].status for s in ("contracts", "fuzz", "fault-matrix")} == \
        dict.fromkeys(("contracts", "fuzz", "fault-matrix"), "skipped")

    summary = json.loads((result.report_dir / "summary.json").read_text())
    _validate(summary)
    assert summary["passed"] is True
    assert summary["counts"]["skipped"] == 4
    junit = ET.parse(result.report_dir / "junit.xml").getroot()
    assert junit.tag == "testsuites"
    assert int(junit.get("tests", "0")) == len(result.cases)
    skipped = {s.get("name") for s in junit.iter("testsuite") if s.get("skipped") != "0"}
    assert skipped == set(HEAVY)
    html = (result.report_dir / "report.html").read_text()
    assert 'class="stage-table"' in html and "gate passed" in html
    assert "<script" not in html and "http://" not in html.split("<body>")[0]


def test_schema_rejects_a_summary_that_breaks_it(settings) -> None:  # type: ignore[no-untyped-def]
    result = run_gate(settings, options=GateOptions(budget="quick", skip=HEAVY))
    summary = json.loads((result.report_dir / "summary.json").read_text())
    summary["cases"][0]["status"] = "green"
    with pytest.raises(jsonschema.ValidationError):
        _validate(summary)


def _rename_field(app: Any, old: bytes, new: bytes) -> Any:
    """An ASGI wrapper that renames a JSON field in every response (a contract break)."""

    async def renamed(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_renamed(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [
                    (k, v) for k, v in message["headers"] if k.lower() != b"content-length"]}
            elif message["type"] == "http.response.body":
                message = {**message, "body": message.get("body", b"").replace(old, new)}
            await send(message)

        await app(scope, receive, send_renamed)

    return renamed


@pytest.mark.slow
def test_a_contract_breaking_rename_fails_the_gate_at_contracts(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real = integration.create_app

    def broken(*args: Any, **kwargs: Any) -> Any:
        return _rename_field(real(*args, **kwargs), b'"crm_account_id"', b'"crmAccountId"')

    monkeypatch.setattr(integration, "create_app", broken)
    result = run_gate(settings, options=GateOptions(budget="quick",
                                                    skip=("fuzz", "fault-matrix", "load")))
    assert not result.passed
    assert result.failed_stages() == ["contracts"]
    failed = [c for c in result.cases if c.status == "failed"]
    assert [c.name for c in failed] == ["integration-layer"]
    assert "crm_account_id" in failed[0].message
    summary = json.loads((result.report_dir / "summary.json").read_text())
    _validate(summary)
    assert summary["failed_stages"] == ["contracts"]
    broken_cells = [m for m in summary["contracts"]["matrix"] if m["failed"]]
    assert {m["provider"] for m in broken_cells} == {"integration-layer"}
