"""The harness runs the reference layer with the landscape (``harness up``): wired to the
simulators' URLs and credentials, on ``integration.url``, registering its webhooks itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from o2c_landscape import wait_for
from typer.testing import CliRunner

import simulators
from harness import landscape as ls
from harness.cli import app
from harness.config import load_settings
from simulators._kit import ThreadedServer


def test_bind_integration_wires_the_layer_to_the_landscape(tmp_path: Path) -> None:
    settings = load_settings(state_dir=tmp_path, integration={"url": "http://127.0.0.1:0"})
    names = simulators.names()
    free = settings.simulators.model_copy(update={
        n: settings.simulator(n).model_copy(update={"port": 0}) for n in names})
    settings = settings.model_copy(update={"simulators": free})
    served = ls.bind_all(settings, names)
    assert ls.bind_integration(settings.model_copy(update={"integration": settings.integration
                                                           .model_copy(update={"serve": False})}),
                               served) == []
    layer = ls.bind_integration(settings, served)
    assert [s.name for s in layer] == ["integration"]
    config = ls.integration_settings(settings, {s.name: s.url for s in served})
    assert config["billing"]["api_key"].get_secret_value() == "sk_test_o2c_harness"
    assert config["legacy_erp"]["username"] == "O2C_RFC"
    assert config["database_url"].startswith("sqlite:///")
    servers = [ThreadedServer(s.app, served=s).start() for s in served]
    layer_server = ThreadedServer(layer[0].app, served=layer[0]).start()
    try:
        health = wait_for(lambda: httpx.get(f"{layer_server.url}/health").json(),
                          message="the layer's health")
        assert health["status"] == "ok"
        # public_url is integration.url (port 0 here), so check the billing registration by
        # what the simulator holds rather than by a delivery
        billing = next(s.url for s in served if s.name == "billing")
        endpoints = httpx.get(f"{billing}/v1/webhook_endpoints", headers={
            "Authorization": "Bearer sk_test_o2c_harness"}).json()["data"]
        assert [e["url"] for e in endpoints] == ["http://127.0.0.1:0/webhooks/stripe"]
    finally:
        layer_server.stop()
        for server in servers:
            server.stop()


def test_cli_has_the_integration_serve_command() -> None:
    result = CliRunner().invoke(app, ["integration", "serve", "--help"])
    assert result.exit_code == 0
    assert "Serve the layer alone" in result.output


def test_a_restarted_layer_registers_again_with_a_fresh_billing_sandbox(
        tmp_path: Path, free_port: Callable[[], int]) -> None:
    from o2c_landscape import landscape

    def endpoints(scape: Any) -> list[str]:
        return [e["url"] for e in scape.sim("billing").get("/v1/webhook_endpoints", headers={
            "Authorization": "Bearer sk_test_o2c_harness"}).json()["data"]]

    # the layer comes back on its port; a port below the ephemeral range, so that no other
    # test (xdist worker) binding port 0 meanwhile is handed it
    port = free_port()
    with landscape(tmp_path, layer_port=port) as first:  # the database: tmp_path/layer.db
        assert endpoints(first) == [f"{first.layer_url}/webhooks/stripe"]
    # same database and public URL, new (empty) simulators: the stored registration is stale
    with landscape(tmp_path, layer_port=port) as second:
        assert second.layer_url == first.layer_url
        assert endpoints(second) == [f"{second.layer_url}/webhooks/stripe"]
