"""Fixtures of the oracle tests: a landscape of the six simulators (no integration layer)
and the hand-written integration of ``oracle_hand_layer``, reset for each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from oracle_hand_layer import HandLayer, Sims

from harness import landscape as ls
from harness.config import load_settings
from scenarios import Credentials, Endpoints


@pytest.fixture(scope="module")
def sims() -> Iterator[Sims]:
    settings = load_settings(environ={})
    overrides = {n: settings.simulator(n).model_copy(update={"port": 0, "faults": None})
                 for n in ls.select(settings, None)}
    overrides["legacy_erp"] = overrides["legacy_erp"].model_copy(
        update={"default_latency_ms": 0})
    current: Any = settings.simulators
    settings = settings.model_copy(update={"simulators": current.model_copy(update=overrides)})
    with ls.start_in_process(settings, list(overrides)) as scape, \
            httpx.Client(timeout=30) as http:
        yield Sims(Endpoints(dict(scape.urls), "http://127.0.0.1:9/layer", Credentials()),
                   http)


@pytest.fixture
def layer(sims: Sims) -> Iterator[HandLayer]:
    for url in sims.endpoints.simulators.values():
        sims.http.post(f"{url}/_sim/reset").raise_for_status()
    hand = HandLayer(sims)
    yield hand
    hand.s4.close()
