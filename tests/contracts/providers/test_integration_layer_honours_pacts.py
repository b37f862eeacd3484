"""Provider verification of the integration layer: its domain API against the pacts of
``order-service`` and ``customer-portal``, and its event producers against
``revenue-reporting``'s message pacts — on an in-process landscape (six simulators + the
layer, each on a free 127.0.0.1 port), with the provider states built through the layer's API
and the simulators' vendor APIs (``harness.contract_states.IntegrationStates``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from pact_support import copy_pacts

import simulators
from harness.contract_states import IntegrationStates
from harness.contracts import interactions_of, pact_sources, verify_provider
from integration import Settings, create_app
from integration.auth_settings import HARNESS_CLIENT_ID, HARNESS_CLIENT_SECRET
from scenarios.layer_auth import ClientCredentials, LayerAuth
from simulators._kit import Served, ThreadedServer, bind, build_app, serve_in_thread

SIMS = ("crm", "billing", "tax", "payments", "cloud_erp", "legacy_erp")


def _settings(urls: dict[str, str], public: str, db: Path) -> Settings:
    return Settings(
        public_url=public, database_url=f"sqlite:///{db}", log_level="warning",
        sweep_interval_s=0.2,
        crm={"url": urls["crm"], "poll_interval_s": 0}, billing={"url": urls["billing"]},
        tax={"url": urls["tax"]}, payments={"url": urls["payments"]},
        cloud_erp={"url": urls["cloud_erp"]}, legacy_erp={"url": urls["legacy_erp"]},
        retry={"wait_initial_s": 0.02, "wait_max_s": 0.5, "wait_jitter_s": 0.02,
               "timeout_s": 15})


@pytest.fixture(scope="module")
def landscape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("layer")
    with ExitStack() as stack:
        urls: dict[str, str] = {}
        for name in SIMS:
            cls = simulators.simulator_class(name)
            extra: dict[str, Any] = {"default_latency_ms": 0} if name == "legacy_erp" else {}
            app = build_app(cls(cls.config_class(tick_interval_s=0.1, **extra)))
            urls[name] = stack.enter_context(serve_in_thread(app, name=name)).url
        sock = bind("127.0.0.1", 0)
        public = f"http://127.0.0.1:{sock.getsockname()[1]}"
        layer_app = create_app(_settings(urls, public, tmp / "layer.db"))
        layer = ThreadedServer(layer_app, served=Served("layer", layer_app, sock)).start()
        stack.callback(layer.stop)
        urls["layer"] = public
        yield urls


def layer_auth(url: str) -> LayerAuth:
    return LayerAuth(ClientCredentials(HARNESS_CLIENT_ID, HARNESS_CLIENT_SECRET,
                                       f"{url}/oauth/token"), url)


def _verify(landscape: dict[str, str], tmp_path: Path, consumers: set[str]) -> None:
    pacts = [s for s in pact_sources(copy_pacts(tmp_path / "pacts", "integration-layer"),
                                     "integration-layer") if s.consumer in consumers]
    assert {s.consumer for s in pacts} == consumers, "pacts missing: run the consumer tests"
    auth = layer_auth(landscape["layer"])  # the harness' OAuth2 client of the layer
    states = IntegrationStates(landscape["layer"], {k: v for k, v in landscape.items()
                                                    if k != "layer"}, auth=auth)

    def messages(description: str, values: Any) -> tuple[bytes, dict[str, Any]]:
        event_type = description.split()[1]  # "an invoice.posted event"
        return json.dumps(states.event(event_type)).encode(), {
            "contentType": "application/json"}

    try:
        result = verify_provider("integration-layer", base_url=landscape["layer"],
                                 sources=pacts, states=states, messages=messages,
                                 headers=auth.headers())
    finally:
        states.close()
    failed = [f"{i.consumer} → {i.description}:\n{i.message}" for i in result.interactions
              if i.status != "passed"]
    assert result.passed and not failed, "\n\n".join(failed) or result.error
    assert len(result.interactions) == sum(len(interactions_of(s)) for s in pacts)


def test_domain_api_and_event_producers_honour_their_consumers(
        landscape: dict[str, str], tmp_path: Path) -> None:
    _verify(landscape, tmp_path, {"order-service", "customer-portal", "revenue-reporting"})
