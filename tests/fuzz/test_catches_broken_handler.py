"""The fuzz tests can fail: a copy of the billing simulator with two deliberately broken
handlers is fuzzed with the same configuration, and both faults are reported."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from starlette.responses import Response

from harness.fuzz import TargetResult, run_schema
from simulators._kit import build_app, json_response
from simulators.stripe_billing import StripeSimulator

from .targets import load_target

pytestmark = pytest.mark.fuzz
CRASHING = ("GET", "/v1/tax_rates")
MALFORMED = ("GET", "/v1/products")


class BrokenStripe(StripeSimulator):
    """Stripe with a handler that crashes on some inputs and one that breaks its schema."""

    def endpoints(self) -> list[Any]:
        out = []
        for ep in super().endpoints():
            if (ep.method, ep.path) == CRASHING:
                ep = dataclasses.replace(ep, handler=_crash_on_odd_limit(ep.handler))
            elif (ep.method, ep.path) == MALFORMED:
                ep = dataclasses.replace(ep, handler=_malformed_list)
            out.append(ep)
        return out


def _crash_on_odd_limit(handler: Any) -> Any:
    def run(call: Any) -> Response:
        limit = call.query.get("limit", "")
        if limit.isdigit() and int(limit) % 2:
            raise RuntimeError("deliberate bug: odd page sizes crash")
        return handler(call)  # type: ignore[no-any-return]

    return run


def _malformed_list(call: Any) -> Response:
    return json_response({"object": "list", "data": "not-a-list", "has_more": "no"})


def test_fuzzing_catches_a_crashing_and_a_malformed_handler() -> None:
    target = load_target("billing", app=build_app(BrokenStripe()), max_examples=10)
    # exclude, not include: a loaded schema already carries an include filter (schemathesis'
    # priority filter) that matches every operation, and includes are OR-ed
    wanted = {f"{m} {p}" for m, p in (CRASHING, MALFORMED)}
    only = target.schema.exclude(func=lambda ctx: ctx.operation.label not in wanted)
    result = run_schema("billing", only, TargetResult("billing", "asgi"), emit=lambda e: None)

    assert result.operations == wanted, result.operations
    found = {(f.operation, f.check) for f in result.findings}
    assert result.status == "failed"
    assert ("GET /v1/tax_rates", "not_a_server_error") in found, found
    assert ("GET /v1/products", "response_schema_conformance") in found, found
    crash = next(f for f in result.findings if f.check == "not_a_server_error")
    assert crash.status_code == 500 and crash.curl.startswith("curl ")
