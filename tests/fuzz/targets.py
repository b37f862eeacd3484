"""Loading a simulator as a fuzz target in-process (ASGI, no sockets), the way ``harness fuzz``
configures it: same checks, same auth, same admin guard; a CI-sized budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import schemathesis
from schemathesis.python.asgi import get_client

import simulators
from harness.fuzz import Credentials, credentials_fetcher, prepare_schema, schemathesis_config
from simulators._kit import build_app

# A few seconds per simulator on 2 cores: fuzzing phase only, a handful of examples per
# operation, deterministic generation with a fixed seed. `harness fuzz` runs every phase.
MAX_EXAMPLES = 3
SEED = 20240601
CI_PHASES = ("examples", "fuzzing")


@dataclass
class Target:
    name: str
    app: Any
    schema: Any


def load_target(name: str, *, app: Any = None, config: Any = None,
                max_examples: int = MAX_EXAMPLES, phases: tuple[str, ...] = CI_PHASES,
                ) -> Target:
    """Build the simulator app (or take ``app``) and load its served OpenAPI over ASGI."""
    if app is None:
        sim_cls = simulators.simulator_class(name)
        app = build_app(sim_cls(config or test_config(name)))
    sim_config = app.state.kit.config
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app,
        config=schemathesis_config(name, max_examples=max_examples, seed=SEED, phases=phases))

    def client() -> Any:
        return get_client(app)

    prepare_schema(schema, Credentials(credentials_fetcher(name, sim_config), client), client)
    return Target(name, app, schema)


def test_config(name: str) -> Any:
    """The simulator's default config, minus what only costs test time."""
    cls = simulators.config_class(name)
    if name == "legacy_erp":  # the default 120 ms latency rule would dominate the budget
        return cls(default_latency_ms=0)
    return cls()
