"""Secrets: every credential of the harness, the simulators and the reference layer is a
``SecretStr`` (``**********`` in reprs, ``harness config``, dumps), given as ``env:VAR``,
``file:/path`` or a value marked ``test:``; ``harness.toml`` refuses any other inline secret
with one line and a hint; the environment may carry values; and no configured secret shows up
in what a whole gate run logs or reports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

import integration
import simulators
from harness.canonical.secrets import Secret, inline_secrets
from harness.config import HarnessSettings, load_settings
from harness.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
REAL_LOOKING = "sk_live_51Hx9QkLd0NotATestValue"


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("HARNESS_", "O2C_")):
            monkeypatch.delenv(name)
    return tmp_path


def _secret_fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Dotted names of the credential fields of a settings model, by their type."""
    from harness.canonical.secrets import _unwrap, is_secret_type

    found: set[str] = set()
    for name, field in model.model_fields.items():
        annotation = _unwrap(field.annotation)
        args = getattr(annotation, "__args__", ())
        if is_secret_type(annotation) or any(is_secret_type(_unwrap(a)) for a in args):
            found.add(prefix + name)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found |= _secret_fields(annotation, f"{prefix}{name}.")
    return found


# -- every credential is a secret ------------------------------------------------------------
def test_every_credential_of_the_layer_is_a_secret() -> None:
    fields = _secret_fields(integration.Settings)
    assert {"crm.client_secret", "crm.password", "crm.security_token",
            "crm.change_event_secret", "billing.api_key", "billing.webhook_secret",
            "tax.license_key", "payments.api_key", "payments.hmac_key", "cloud_erp.password",
            "legacy_erp.password"} <= fields
    text = repr(integration.Settings()) + integration.Settings().model_dump_json()
    for value in ("o2c-client-secret", "o2c-password", "sk_test_o2c_harness", "Legacy#2004",
                  "o2c-test-license", "AQE_o2c_test_key", "o2c-cdc-secret"):
        assert value not in text


@pytest.mark.parametrize(("name", "expected"), [
    ("billing", {"api_keys"}),
    ("tax", {"accounts", "bearer_tokens"}),
    ("payments", {"api_keys", "hmac_key", "webhook_password"}),
    ("crm", {"client_secret", "password", "security_token", "change_event_secret"}),
    ("cloud_erp", {"users"}),
    ("legacy_erp", {"users"}),
])
def test_every_credential_of_each_simulator_is_a_secret(name: str, expected: set[str]) -> None:
    config = simulators.config_class(name)
    assert expected <= _secret_fields(config)
    assert "**********" in config().model_dump_json()


# -- harness.toml: references and test values only --------------------------------------------
def test_an_inline_secret_in_harness_toml_is_refused_with_one_line(isolated: Path) -> None:
    (isolated / "harness.toml").write_text(
        f'[simulators.billing]\napi_keys = ["{REAL_LOOKING}"]\n')
    with pytest.raises(ConfigError) as info:
        load_settings(environ={})
    assert info.value.message == \
        "inline secret at simulators.billing.api_keys.0 in harness.toml"
    assert "env:" in info.value.hint and "file:" in info.value.hint and "test:" in info.value.hint
    assert REAL_LOOKING not in info.value.message + info.value.hint


@pytest.mark.parametrize("toml", [
    '[simulators.crm]\npassword = "hunter2"\n',
    '[simulators.cloud_erp]\nusers = { O2C_COMM_USER = "hunter2" }\n',
    '[simulators.tax]\nbearer_tokens = { "hunter2" = "2000000001" }\n',
    '[simulators.payments]\nwebhook_password = "hunter2"\n',
    '[integration]\nclient_secret = "hunter2"\n',
])
def test_inline_secrets_are_refused_wherever_they_are(isolated: Path, toml: str) -> None:
    (isolated / "harness.toml").write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings(environ={})
    assert info.value.message.startswith("inline secret at ")
    assert "hunter2" not in info.value.message


def test_pyproject_table_refuses_inline_secrets_too(isolated: Path) -> None:
    (isolated / "pyproject.toml").write_text(
        '[tool.o2c-harness.simulators.payments]\napi_keys = ["AQE_real"]\n')
    with pytest.raises(ConfigError) as info:
        load_settings(environ={})
    assert info.value.message == "inline secret at simulators.payments.api_keys.0 in " \
                                 "pyproject.toml [tool.o2c-harness]"


def test_test_values_env_and_file_references_are_accepted(isolated: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    (isolated / "key").write_text("sk_from_file\n")
    monkeypatch.setenv("BILLING_KEY", "sk_from_env")
    (isolated / "harness.toml").write_text(
        '[simulators.billing]\n'
        f'api_keys = ["test:sk_test_inline", "env:BILLING_KEY", "file:{isolated / "key"}"]\n'
        '[simulators.legacy_erp]\nusers = { O2C_RFC = "env:BILLING_KEY" }\n')
    settings = load_settings(environ={})
    keys = [k.get_secret_value() for k in settings.simulator("billing").api_keys]  # type: ignore[attr-defined]
    assert keys == ["sk_test_inline", "sk_from_env", "sk_from_file"]
    users: Any = settings.simulator("legacy_erp")
    assert users.users["O2C_RFC"].get_secret_value() == "sk_from_env"


def test_the_environment_may_carry_a_secret_value(isolated: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_SIMULATORS__CRM__PASSWORD", "from-the-vault")
    crm: Any = load_settings().simulator("crm")
    assert crm.password.get_secret_value() == "from-the-vault"


@pytest.mark.parametrize(("value", "fragment"), [
    ("env:O2C_TEST_UNSET_VARIABLE", "environment variable 'O2C_TEST_UNSET_VARIABLE'"),
    ("file:/nonexistent/o2c/secret", "cannot read secret file '/nonexistent/o2c/secret'"),
])
def test_a_reference_that_does_not_resolve_is_one_clear_line(isolated: Path, value: str,
                                                             fragment: str) -> None:
    (isolated / "harness.toml").write_text(f'[simulators.crm]\npassword = "{value}"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(environ={})
    assert fragment in info.value.message
    assert "simulators.crm.password" in info.value.message


def test_a_bad_secret_value_is_not_echoed(isolated: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.setenv("HARNESS_SIMULATORS__PAYMENTS__HMAC_KEY", "not-hex-SUPERSECRET")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "hmac_key" in info.value.message
    assert "SUPERSECRET" not in info.value.message + info.value.hint


def test_the_built_in_defaults_and_the_shipped_harness_toml_load(monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    # the simulators' test credentials count as test values: `harness gate` works unchanged
    monkeypatch.chdir(ROOT)
    settings = load_settings(environ={})
    assert settings.simulator("billing").api_keys[0].get_secret_value() == \
        "sk_test_o2c_harness"  # type: ignore[attr-defined]
    assert list(inline_secrets({}, HarnessSettings)) == []


def test_the_layer_reads_references_from_its_environment(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    (tmp_path / "hmac").write_text("AB12\n")
    monkeypatch.setenv("O2C_PAYMENTS__HMAC_KEY", f"file:{tmp_path / 'hmac'}")
    monkeypatch.setenv("O2C_BILLING__API_KEY", "sk_from_env_value")
    s = integration.Settings()
    assert s.payments.hmac_key.get_secret_value() == "AB12"
    assert s.billing.api_key.get_secret_value() == "sk_from_env_value"


def test_a_secret_type_keeps_its_value_out_of_errors_and_reprs() -> None:
    class M(BaseModel):
        key: Secret

    m = M(key="test:abc")
    assert m.key == SecretStr("abc")
    assert "abc" not in repr(m) and "abc" not in m.model_dump_json()


# -- `harness config` and logs ----------------------------------------------------------------
def test_harness_config_prints_stars_for_every_secret(isolated: Path) -> None:
    (isolated / "secret").write_text("file-secret-value-1\n")
    (isolated / "harness.toml").write_text(
        f'[simulators.crm]\nclient_secret = "file:{isolated / "secret"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "O2C_"))}
    env["HARNESS_SIMULATORS__BILLING__API_KEYS"] = '["env-secret-value-2"]'
    out = subprocess.run([sys.executable, "-m", "harness", "config"], cwd=isolated, env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    assert "file-secret-value-1" not in out.stdout + out.stderr
    assert "env-secret-value-2" not in out.stdout + out.stderr
    for default in ("o2c-client-secret", "sk_test_o2c_harness", "Legacy#2004",
                    "o2c-test-license", "o2c-password"):
        assert default not in out.stdout
    assert out.stdout.count('"**********"') >= 12


def _configured_secrets() -> set[str]:
    """Every secret value the gate run is configured with: the simulators' and the layer's
    built-in test credentials and the harness' own client of the layer."""
    values: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, SecretStr):
            values.add(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                collect(getattr(value, name))
        elif isinstance(value, dict):
            for k, v in value.items():
                collect(k)
                collect(v)
        elif isinstance(value, list | tuple):
            for v in value:
                collect(v)

    collect(load_settings(environ={}))
    collect(integration.Settings())
    return {v for v in values if len(v) >= 6}


@pytest.mark.slow
def test_no_configured_secret_in_what_a_gate_run_logs_or_reports(gate_run: Path) -> None:
    secrets = _configured_secrets()
    assert {"sk_test_o2c_harness", "o2c-client-secret", "Legacy#2004"} <= secrets
    found = []
    for file in sorted(p for p in gate_run.rglob("*") if p.is_file()):
        if file.name.endswith((".db", ".db-wal", ".db-shm", ".pem", ".key")):
            continue  # data and keys, not logs or reports
        text = file.read_bytes().decode("utf-8", errors="replace")
        found += [(str(file.relative_to(gate_run)), s) for s in secrets if s in text]
        # nor a token the harness was handed (a fuzz repro's curl command carries one)
        found += [(str(file.relative_to(gate_run)), m.group(0)[:40]) for m in re.finditer(
            r"(?i)authorization:\s*(?:bearer|basic)\s+(?!\[redacted\])\S+", text)]
    assert found == []
