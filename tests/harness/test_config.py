from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import load_settings
from harness.errors import ConfigError


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith("HARNESS_"):
            monkeypatch.delenv(name)
    return tmp_path


def test_defaults_are_the_documented_ports() -> None:
    s = load_settings(environ={})
    assert {n: s.simulator(n).port for n in ("crm", "billing", "tax", "payments", "cloud_erp",
                                             "legacy_erp")} == {
        "crm": 8101, "billing": 8102, "tax": 8103, "payments": 8104, "cloud_erp": 8105,
        "legacy_erp": 8106}
    assert s.host == "127.0.0.1"
    assert str(s.integration.url) == "http://127.0.0.1:8100/"


def test_layers_file_then_env_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "harness.toml").write_text(
        "[simulators.billing]\nport = 9001\nseed = 5\n[simulators.crm]\nport = 9101\n")
    s = load_settings(environ={})
    assert (s.simulator("billing").port, s.simulator("billing").seed) == (9001, 5)
    monkeypatch.setenv("HARNESS_SIMULATORS__BILLING__PORT", "9002")
    s = load_settings()
    assert s.simulator("billing").port == 9002
    assert s.simulator("billing").seed == 5  # the file still supplies what env does not
    assert s.simulator("crm").port == 9101
    s = load_settings(simulators={"billing": {"port": 9003}})
    assert s.simulator("billing").port == 9003


def test_pyproject_table_is_read_when_there_is_no_harness_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.o2c-harness]\nreport_dir = "out"\n')
    assert load_settings(environ={}).report_dir == Path("out")


@pytest.mark.parametrize(("toml", "fragment"), [
    ("[simulators.billing]\nprot = 5\n", "unknown setting 'simulators.billing.prot'"),
    ("[simulators.billing]\nport = 70000\n", "simulators.billing.port = 70000"),
    ("[integration]\nurl = 'not a url'\n", "integration.url"),
    ("bogus = 1\n", "unknown setting 'bogus'"),
    ("[simulators\n", "is not valid TOML"),
])
def test_bad_files_give_one_clear_line(tmp_path: Path, toml: str, fragment: str) -> None:
    (tmp_path / "harness.toml").write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings(environ={})
    assert fragment in info.value.message
    assert "\n" not in info.value.message
    assert info.value.hint


def test_unknown_environment_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="HARNESS_PORTT"):
        load_settings(environ={"HARNESS_PORTT": "1"})


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_fault_profiles_of_the_file_expand_into_rules(tmp_path: Path) -> None:
    (tmp_path / "harness.toml").write_text(
        "[[fault_profiles.erp-brownout]]\nkind = 'error'\nstatus = 503\nprobability = 0.5\n"
        "[simulators.billing.faults]\nprofile = 'erp-brownout'\nseed = 3\n"
        "[simulators.crm.faults]\nprofile = 'flaky'\n")
    s = load_settings(environ={})
    billing = s.resolved_faults("billing")
    assert billing is not None and billing.profile is None and billing.seed == 3
    assert [(r.kind, r.status, r.probability) for r in billing.rules] == [("error", 503, 0.5)]
    crm = s.resolved_faults("crm")
    assert crm is not None and crm.profile == "flaky"  # built-in: the simulator expands it


def test_unknown_fault_profile_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "harness.toml").write_text("[simulators.billing.faults]\nprofile = 'nope'\n")
    with pytest.raises(ConfigError, match="unknown fault profile 'nope'"):
        load_settings(environ={})
