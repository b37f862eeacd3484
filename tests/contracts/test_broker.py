"""The Pact Broker paths against a tiny broker served in-process (``fake_broker``): publish
with branch and tags; verify a provider from the broker's pacts (consumer version selectors
sent by the Pact verifier, results published back with the provider version and branch);
can-i-deploy from the broker's matrix, before and after a failed verification."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_broker import BrokerState, fake_broker
from pact_support import copy_pacts

import simulators
from harness.contract_states import STATES
from harness.contracts import BrokerOptions, pact_sources, verify_provider
from harness.errors import ContractError
from harness.pact_broker import PactBroker
from simulators._kit import build_app, serve_in_thread


@pytest.fixture
def broker() -> Iterator[tuple[str, BrokerState]]:
    state = BrokerState()
    with serve_in_thread(fake_broker(state), name="broker") as server:
        yield server.url, state


def test_publish_verify_from_broker_and_can_i_deploy(broker: tuple[str, BrokerState],
                                                     tmp_path: Path) -> None:
    url, state = broker
    sources = pact_sources(copy_pacts(tmp_path / "pacts", "avalara-tax"), "avalara-tax")
    with PactBroker(url, token=state.token) as client:
        published = client.publish(sources, "1.4.0+abc", branch="main", tags=["main"])
        assert [(p.consumer, p.provider) for p in published] == [
            ("integration-layer", "avalara-tax")]
        assert state.branches == {("integration-layer", "1.4.0+abc"): "main"}
        assert ("integration-layer", "1.4.0+abc", "main") in state.tags
        never_verified = client.can_i_deploy("integration-layer", "1.4.0+abc")
        assert not never_verified.deployable

        cls = simulators.simulator_class("tax")
        with serve_in_thread(build_app(cls(cls.config_class()))) as tax:
            states = STATES["avalara-tax"](tax.url)
            try:
                result = verify_provider("avalara-tax", base_url=tax.url, states=states,
                                         broker=BrokerOptions(
                                             url=url, token=state.token,
                                             provider_version="2.0.0",
                                             provider_branch="main",
                                             include_deployed=False))
            finally:
                states.close()
        assert result.passed, [i.message for i in result.interactions]
        assert len(result.interactions) == 4
        # the verifier asked for the consumers' main branch and published its results
        assert state.selectors and {"mainBranch": True} in \
            state.selectors[0]["consumerVersionSelectors"]
        assert [(r["success"], r["providerApplicationVersion"]) for r in state.results] == \
            [(True, "2.0.0")]
        assert state.branches.get(("avalara-tax", "2.0.0")) == "main"  # provider branch
        decision = client.can_i_deploy("integration-layer", "1.4.0+abc")
        assert decision.deployable, decision.reason
        assert [c.verdict for c in decision.checks] == ["verified"]

        state.results.append({"provider": "avalara-tax", "consumer": "integration-layer",
                              "consumer_version": "1.4.0+abc", "success": False,
                              "providerApplicationVersion": "2.0.1"})
        broken = client.can_i_deploy("avalara-tax", "2.0.1")
        assert not broken.deployable and broken.checks[0].verdict == "failed"


def test_a_wrong_token_is_a_contract_error_with_a_hint(broker: tuple[str, BrokerState],
                                                      tmp_path: Path) -> None:
    url, _ = broker
    with PactBroker(url, token="wrong") as client, pytest.raises(ContractError) as err:
        client.can_i_deploy("integration-layer", "1")
    assert "refused" in err.value.message and err.value.hint
