"""The operations whose spec documents refusals of schema-valid input are exactly those on
which harness.fuzz swaps `positive_data_acceptance` for its documented variant, and every
documented refusal is a well-formed, compilable pattern with a reason."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

import simulators
from harness.fuzz import (
    INTEGRATION,
    REJECTIONS_EXTENSION,
    documented_rejection_operations,
    documented_rejections,
    schemathesis_config,
)
from simulators._kit import build_app

from . import targets

NAMES = [n for n in simulators.names() if simulators.is_available(n)]


def _spec(name: str) -> dict[str, Any]:
    if name == INTEGRATION:  # the layer's document, as committed (drift-tested elsewhere)
        from integration.openapi import spec

        return spec()
    app = build_app(simulators.simulator_class(name)(targets.test_config(name)))
    with TestClient(app) as client:
        return client.get("/openapi.json").json()  # type: ignore[no-any-return]


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in spec["paths"].items()
            for method, op in item.items() if isinstance(op, dict) and "responses" in op]


@pytest.mark.parametrize("name", [*NAMES, INTEGRATION])
def test_registry_matches_the_served_spec(name: str) -> None:
    registry = documented_rejection_operations(name)
    documented, listed = set(), set()
    for method, path, op in _operations(_spec(name)):
        if documented_rejections(op):
            documented.add(f"{method} {path}")
        if any(m == method and re.search(regex, path) for m, regex in registry):
            listed.add(f"{method} {path}")
    assert documented == listed, {"documented, not listed": documented - listed,
                                  "listed, not documented": listed - documented}


@pytest.mark.parametrize("name", [*NAMES, INTEGRATION])
def test_each_refusal_has_a_pattern_and_a_reason(name: str) -> None:
    for _method, _path, op in _operations(_spec(name)):
        for code, items in documented_rejections(op).items():
            assert code.startswith("4") or code == "default", code
            for item in items:
                assert item.get("why"), item
                assert ("match" in item) != ("header" in item), item
                if "match" in item:
                    re.compile(item["match"])


def test_the_builtin_check_is_off_only_where_refusals_are_documented() -> None:
    config = schemathesis_config("tax", max_examples=1, seed=0)
    entries = [op for op in config.projects.default.operations.operations
               if not op.checks.positive_data_acceptance.enabled]
    assert len(entries) == len(documented_rejection_operations("tax"))
    assert REJECTIONS_EXTENSION == "x-o2c-valid-input-rejections"
