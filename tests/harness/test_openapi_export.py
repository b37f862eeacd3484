"""``contracts/openapi/`` holds what every simulator and the integration API serve: a wire
change shows up as a diff, and ``harness openapi --check`` fails a build that forgot to
commit it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import simulators
from harness.cli import app, main
from harness.openapi_export import INTEGRATION, export, render, simulator_spec

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "contracts" / "openapi"


@pytest.mark.parametrize("name", simulators.names())
def test_committed_simulator_openapi_matches_what_it_serves(name: str) -> None:
    path = COMMITTED / f"{name}.json"
    assert path.is_file(), f"{path} is missing: run `harness openapi`"
    assert path.read_text(encoding="utf-8") == render(simulator_spec(name)), (
        f"{path.relative_to(ROOT)} drifted from the served spec: run `harness openapi`")


def test_every_document_is_committed() -> None:
    names = {p.stem for p in COMMITTED.glob("*.json")}
    assert names == {*simulators.names(), INTEGRATION}


def test_check_reports_drift_and_export_repairs_it(tmp_path: Path) -> None:
    (tmp_path / "tax.json").write_text(json.dumps({"openapi": "3.1.0"}), encoding="utf-8")
    runner = CliRunner()

    drifted = runner.invoke(app, ["openapi", "--target", "tax", "--dir", str(tmp_path),
                                  "--check"])
    assert drifted.exit_code == 1
    assert "differs from what is served" in drifted.output
    assert "harness openapi" in drifted.output  # the hint

    written = export(tmp_path, ["tax"])
    assert [r.changed for r in written] == [True]
    assert runner.invoke(app, ["openapi", "-t", "tax", "--dir", str(tmp_path),
                               "--check"]).exit_code == 0


def test_an_unknown_target_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["harness", "openapi", "-t", "nope", "--dir", str(tmp_path)])
    with pytest.raises(SystemExit) as exited:
        main()  # the console script's entry point
    assert exited.value.code not in (0, None)
    lines = capfd.readouterr().err.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0] == "error: unknown OpenAPI target 'nope'"
    assert lines[1].startswith("hint: choose from: ")
