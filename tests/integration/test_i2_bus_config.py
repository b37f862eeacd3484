"""``bus_url`` from harness.toml: the harness config's ``[integration]`` section reaches the
layer it serves (``harness up`` / ``harness integration serve``), and a bad URL is one line
with a hint, never a traceback."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import simulators
from harness import landscape as ls
from harness.cli import main
from harness.config import load_settings
from harness.errors import ConfigError
from integration import Settings as LayerSettings
from integration.bus import LocalPublisher
from integration.bus.rabbitmq import RabbitPublisher
from integration.services import Services


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("HARNESS_", "O2C_")):
            monkeypatch.delenv(name)
    return tmp_path


def _layer(settings_file: Path | None = None) -> LayerSettings:
    settings = load_settings(settings_file, environ={})
    urls = {name: f"http://127.0.0.1:{settings.simulator(name).port}"
            for name in simulators.names()}
    return LayerSettings.model_validate(ls.integration_settings(settings, urls))


def test_bus_url_in_harness_toml_reaches_the_layer(tmp_path: Path) -> None:
    (tmp_path / "harness.toml").write_text(
        '[integration]\nbus_url = "amqp://guest:guest@127.0.0.1:5672/"\n'
        'bus_exchange = "o2c.test-events"\n')
    layer = _layer()
    assert layer.bus_url == "amqp://guest:guest@127.0.0.1:5672/"
    assert layer.bus_exchange == "o2c.test-events"
    services = Services(layer.model_copy(update={
        "database_url": f"sqlite:///{tmp_path / 'layer.db'}"}))
    try:  # the publisher connects lazily: no broker is needed to build it
        assert isinstance(services.publisher, RabbitPublisher)
        assert services.publisher.url == layer.bus_url
        assert services.publisher.exchange_name == "o2c.test-events"
    finally:
        services.db.dispose()


def test_no_bus_url_is_the_in_process_bus(tmp_path: Path) -> None:
    layer = _layer()
    assert layer.bus_url is None
    services = Services(layer.model_copy(update={
        "database_url": f"sqlite:///{tmp_path / 'layer.db'}"}))
    try:
        assert isinstance(services.publisher, LocalPublisher)
    finally:
        services.db.dispose()


def test_env_sets_bus_url_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_INTEGRATION__BUS_URL", "amqps://o2c:pw@broker.local:5671/o2c")
    settings = load_settings()
    assert str(settings.integration.bus_url) == "amqps://o2c:pw@broker.local:5671/o2c"


@pytest.mark.parametrize(("url", "why"), [
    ("http://127.0.0.1:5672/", "scheme should be 'amqp' or 'amqps'"),
    ("amqp://", "empty host"),
    ("not a url", "valid URL"),
])
def test_a_bad_bus_url_is_one_line_with_a_hint(tmp_path: Path, url: str, why: str) -> None:
    (tmp_path / "harness.toml").write_text(f'[integration]\nbus_url = "{url}"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(environ={})
    assert "integration.bus_url" in info.value.message and why in info.value.message
    assert "\n" not in info.value.message
    assert "HARNESS_INTEGRATION__BUS_URL" in (info.value.hint or "")


def test_the_cli_prints_a_bad_bus_url_as_one_line(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capfd: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "harness.toml").write_text('[integration]\nbus_url = "http://127.0.0.1:5672/"\n')
    monkeypatch.setattr(sys, "argv", ["harness", "integration", "serve"])
    with pytest.raises(SystemExit) as exited:
        main()  # the console script's entry point
    assert exited.value.code not in (0, None)
    out, err = capfd.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 2, err
    assert lines[0].startswith("error: invalid setting integration.bus_url"), err
    assert lines[1].startswith("hint: ") and "Traceback" not in err


def test_the_layer_refuses_a_bad_bus_url_itself() -> None:
    with pytest.raises(ValueError, match="amqp"):
        LayerSettings(bus_url="redis://127.0.0.1:6379/")
    assert LayerSettings(bus_url="").bus_url is None


def test_job_concurrency_in_harness_toml_reaches_the_layer(tmp_path: Path) -> None:
    assert _layer().job_concurrency == LayerSettings().job_concurrency  # the layer's default
    (tmp_path / "harness.toml").write_text("[integration]\njob_concurrency = 8\n")
    assert _layer().job_concurrency == 8


def test_a_bad_job_concurrency_is_one_line_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "harness.toml").write_text("[integration]\njob_concurrency = 0\n")
    with pytest.raises(ConfigError) as info:
        load_settings(environ={})
    assert "integration.job_concurrency" in info.value.message
    assert "\n" not in info.value.message and info.value.hint


def test_a_bad_o2c_environment_value_is_one_line_with_a_hint(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    monkeypatch.setenv("O2C_HTTP_TRANSPORT", "bogus")
    with pytest.raises(ConfigError) as caught:
        ls.layer_settings({})
    assert caught.value.message == ("invalid integration layer setting http_transport: "
                                    "Input should be 'aiohttp' or 'httpx'")
    assert "O2C_HTTP_TRANSPORT" in (caught.value.hint or "")
    # through the console script: no traceback, before any port is bound
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["harness", "integration", "serve"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code not in (0, None)
    err = capfd.readouterr().err
    assert err.startswith("error: invalid integration layer setting http_transport"), err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2, err
