"""``harness contracts verify`` / ``can-i-deploy`` end to end: simulators started in-process
on free ports, the per-provider table on the console, JUnit + results.json in the run's
report directory, and the local can-i-deploy verdicts that follow from them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from pact_support import copy_pacts
from typer.testing import CliRunner

from harness.cli import app

runner = CliRunner()


def _config(tmp_path: Path) -> Path:
    sims = "\n".join(f"[simulators.{n}]\nport = 0" for n in (
        "crm", "billing", "tax", "payments", "cloud_erp", "legacy_erp"))
    path = tmp_path / "harness.toml"
    path.write_text(f'report_dir = "{tmp_path / "reports"}"\nstate_dir = "{tmp_path / "st"}"\n'
                    f'[integration]\nurl = "http://127.0.0.1:9"\n{sims}\n')
    return path


def test_verify_then_can_i_deploy_locally(tmp_path: Path) -> None:
    pacts = copy_pacts(tmp_path / "pacts")
    config = _config(tmp_path)
    result = runner.invoke(app, ["contracts", "verify", "--config", str(config),
                                 "--pact-dir", str(pacts), "--provider", "adyen-payments"])
    assert result.exit_code == 0, result.output
    assert "adyen-payments" in result.output and "PASS" in result.output
    assert "contracts verified: 3 passed, 0 failed, 0 skipped" in result.output
    [junit] = (tmp_path / "reports").glob("*/contracts/junit.xml")
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "0"

    ok = runner.invoke(app, ["contracts", "can-i-deploy", "adyen-payments", "--config",
                             str(config), "--pact-dir", str(pacts)])
    assert ok.exit_code == 0, ok.output
    assert "yes" in ok.output
    # the layer (consumer of every vendor) was verified against one provider only
    unknown = runner.invoke(app, ["contracts", "can-i-deploy", "integration-layer",
                                  "--config", str(config), "--pact-dir", str(pacts)])
    assert unknown.exit_code == 1 and "never verified" in unknown.output

    # a pact that changed after its verification is not covered by it
    pact = pacts / "integration-layer-adyen-payments.json"
    doc = json.loads(pact.read_text())
    doc["interactions"] = doc["interactions"][:1]
    pact.write_text(json.dumps(doc))
    stale = runner.invoke(app, ["contracts", "can-i-deploy", "adyen-payments", "--config",
                                str(config), "--pact-dir", str(pacts)])
    assert stale.exit_code == 1 and "changed since it was verified" in stale.output


def test_integration_layer_is_skipped_not_passed_when_it_does_not_run(tmp_path: Path) -> None:
    pacts = copy_pacts(tmp_path / "pacts", "integration-layer")
    result = runner.invoke(app, ["contracts", "verify", "--config", str(_config(tmp_path)),
                                 "--pact-dir", str(pacts), "--provider", "integration-layer"])
    assert "0 passed, 0 failed" in result.output and "SKIP" in result.output, result.output
    [results] = (tmp_path / "reports").glob("*/contracts/results.json")
    statuses = {i["status"] for v in json.loads(results.read_text())["verifications"]
                for i in v["interactions"]}
    assert statuses == {"skipped"}


def test_unknown_provider_is_a_one_line_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["contracts", "verify", "--config", str(_config(tmp_path)),
                                 "--provider", "nope"])
    assert result.exit_code != 0
    assert "unknown provider 'nope'" in str(result.exception)
