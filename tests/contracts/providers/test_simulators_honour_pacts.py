"""Provider verification: each simulator honours the pacts its consumers wrote, with the
provider states set up through its admin and vendor API (``harness.contract_states``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pact_support import copy_pacts

import simulators
from harness.contract_states import STATES
from harness.contracts import PROVIDERS, interactions_of, pact_sources, verify_provider
from simulators._kit import build_app, serve_in_thread

SIMULATOR_PROVIDERS = sorted(STATES)


@pytest.mark.parametrize("provider", SIMULATOR_PROVIDERS)
def test_simulator_honours_its_pacts(provider: str, tmp_path: Path) -> None:
    sources = pact_sources(copy_pacts(tmp_path / "pacts", provider), provider)
    assert sources, f"no pact for {provider} in contracts/pacts (run the consumer tests)"
    cls = simulators.simulator_class(PROVIDERS[provider])
    with serve_in_thread(build_app(cls(cls.config_class()))) as server:
        states = STATES[provider](server.url)
        try:
            result = verify_provider(provider, base_url=server.url, sources=sources,
                                     states=states)
        finally:
            states.close()
    failed = [f"{i.consumer} → {i.description}:\n{i.message}" for i in result.interactions
              if i.status != "passed"]
    assert result.passed and not failed, "\n\n".join(failed) or result.error
    assert len(result.interactions) == sum(len(interactions_of(s)) for s in sources)
