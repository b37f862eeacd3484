"""The integration API fuzzes clean: ``harness fuzz --target integration`` with a CI budget,
through the same engine (the layer served in-process against a landscape the run starts,
with the harness' OAuth2 token and schemathesis' ``ignored_auth`` check)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

import simulators
from harness.config import load_settings
from harness.fuzz import INTEGRATION, run_fuzz

from .targets import MAX_EXAMPLES, SEED

pytestmark = pytest.mark.fuzz
ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    """A port nothing listens on: no layer of a developer's own answers there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_integration_api_fuzzes_clean(tmp_path: Path) -> None:
    settings = load_settings(
        environ={}, report_dir=str(tmp_path / "reports"), state_dir=str(tmp_path / "state"),
        simulators={n: {"port": 0} for n in simulators.names()},
        integration={"url": f"http://127.0.0.1:{_closed_port()}"})
    run = run_fuzz(settings, targets=[INTEGRATION], max_examples=MAX_EXAMPLES, seed=SEED)

    (target,) = run.targets
    findings = [f"{f.operation} {f.check}: {f.message[:300]}" for f in target.findings]
    assert target.status == "passed", (target.skip_reason, target.errors, findings)
    # every operation of the layer's OpenAPI was generated for, not just reached
    spec = json.loads((ROOT / "contracts" / "openapi" / "integration.json").read_text())
    served = {f"{m.upper()} {p}" for p, item in spec["paths"].items() for m in item}
    assert served and target.operations >= served, served - target.operations
    assert target.cases >= 10 * len(served), target.cases
    assert (run.report_dir / "junit.xml").is_file()
