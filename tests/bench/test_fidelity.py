"""The benchmark compares like with like: every server's stub gives our simulator's answer.

No load is generated here and nothing is timed. Peers run live only when the bench has
installed them (``bench/.cache/node``); otherwise their stub definitions are checked as data.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from bench import apps, peers, servers, stubs
from bench.reference import Exchange, Reference, capture_asgi, fixture_reference, same_answer

pytestmark = pytest.mark.skipif(apps.billing_available() is not None,
                                reason=str(apps.billing_available()))


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def ours() -> tuple[Reference, dict[str, Any]]:
    """The reference captured from our billing app in process, and its served OpenAPI."""
    async def go() -> tuple[Reference, dict[str, Any]]:
        app = apps.build("billing", fixture_reference())
        ref = await capture_asgi(app)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://127.0.0.1") as client:
            spec = (await client.get("/openapi.json")).json()
        return ref, spec

    return _run(go())


async def _ask(app: Any, ex: Exchange) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://127.0.0.1") as client:
        return await client.request(ex.method, ex.path, headers=ex.request_headers,
                                    content=ex.request_body or None)


def test_the_reference_is_a_stripe_customer(ours: tuple[Reference, dict[str, Any]]) -> None:
    ref, _ = ours
    body = json.loads(ref.get.body)
    assert ref.source == "billing simulator"
    assert body["object"] == "customer" and ref.get.path == f"/v1/customers/{body['id']}"
    assert ref.get.status == ref.post.status == 200
    assert json.loads(ref.post.body)["id"] == body["id"]  # the customer GET asks for
    # the form's bracket notation reached the backend: it is not an empty customer
    assert body["address"]["city"] == "San Francisco"
    assert body["metadata"] == {"crm_account_id": "001Dn00000bench", "legal_entity": "US01"}


@pytest.mark.parametrize("name", ["billing", "billing-bare", "kit-hello", "ceiling"])
def test_python_apps_give_the_reference_answer(name: str,
                                               ours: tuple[Reference, dict[str, Any]]) -> None:
    ref, _ = ours

    async def go() -> None:
        app = apps.build(name, ref)
        stateful = name.startswith("billing")
        if stateful:  # a fresh backend: create the reference customer (seeded ids)
            await _ask(app, ref.post)
        for ex in ref.exchanges().values():
            r = await _ask(app, ex)
            assert same_answer(ex, r.status_code, r.content, fresh_object=stateful) is None

    _run(go())


def test_wiremock_mappings_are_the_reference(ours: tuple[Reference, dict[str, Any]]) -> None:
    ref, _ = ours
    mappings = stubs.wiremock_mappings(ref)
    assert len(mappings) == 2
    for mapping, ex in zip(mappings, ref.exchanges().values(), strict=True):
        assert (mapping["request"]["method"], mapping["request"]["url"]) == (ex.method, ex.path)
        assert mapping["response"]["status"] == ex.status
        assert mapping["response"]["body"] == ex.body  # byte for byte, not re-serialized


def test_mountebank_stubs_are_the_reference(ours: tuple[Reference, dict[str, Any]]) -> None:
    ref, _ = ours
    imposter = stubs.mountebank_config(ref, 4545)["imposters"][0]
    for stub, ex in zip(imposter["stubs"], ref.exchanges().values(), strict=True):
        predicate = stub["predicates"][0]["equals"]
        assert (predicate["method"], predicate["path"]) == (ex.method, ex.path)
        answer = stub["responses"][0]["is"]
        assert (answer["statusCode"], answer["body"]) == (ex.status, ex.body)
        assert answer["headers"]["Connection"] == "keep-alive"


def test_prism_examples_are_the_reference(ours: tuple[Reference, dict[str, Any]]) -> None:
    ref, spec = ours
    mocked = stubs.prism_spec(spec, ref)
    get = mocked["paths"]["/v1/customers/{id}"]["get"]["responses"]["200"]
    post = mocked["paths"]["/v1/customers"]["post"]["responses"]["200"]
    assert get["content"]["application/json"]["example"] == json.loads(ref.get.body)
    assert post["content"]["application/json"]["example"] == json.loads(ref.post.body)
    served = spec["paths"]["/v1/customers/{id}"]["get"]["responses"]["200"]
    assert served.get("content", {}).get("application/json", {}).get("example") != \
        json.loads(ref.get.body)  # the served document itself was left alone


def test_post_form_fits_the_served_openapi(ours: tuple[Reference, dict[str, Any]]) -> None:
    """Prism validates requests against our spec: every form key must be declared there
    (``name[]`` for form arrays, the bare name for deepObject hashes)."""
    ref, spec = ours
    body = spec["paths"]["/v1/customers"]["post"]["requestBody"]["content"]
    declared = set(body["application/x-www-form-urlencoded"]["schema"]["properties"])
    for key, _ in parse_qsl(ref.post.request_body, keep_blank_values=True):
        name = key if key.endswith("[]") or "[" not in key else key[:key.index("[")]
        assert name in declared, f"{key} is not in the served OpenAPI's form schema"


def test_the_comparison_catches_different_work() -> None:
    ex = fixture_reference().get
    body = json.loads(ex.body)
    assert same_answer(ex, 200, ex.body) is None
    assert "status" in str(same_answer(ex, 404, ex.body))
    assert "body differs" in str(same_answer(ex, 200, json.dumps({**body, "name": "x"})))
    fresh = json.dumps({**body, "id": "cus_other", "created": 1})
    assert same_answer(ex, 200, fresh) is not None
    assert same_answer(ex, 200, fresh, fresh_object=True) is None


def test_wrk_script_sends_the_exchange(ours: tuple[Reference, dict[str, Any]]) -> None:
    ref, _ = ours
    script = stubs.wrk_script(ref.post)
    assert 'wrk.method = "POST"' in script
    assert json.dumps(ref.post.request_body) in script
    assert '"Authorization"' in script and "BENCH_JSON" in script


def test_ratios_are_ours_over_theirs() -> None:
    def cell(rps: float) -> dict[str, Any]:
        return {"cells": {"GET": {"rps": rps}, "POST": {"rps": rps / 2}}}

    results = {"billing": cell(9000), "prism": cell(1500), "ceiling": cell(18000),
               "mountebank": {"skipped": "not installed"}}
    got = peers.ratios(results)
    assert got["GET"]["billing/prism"] == 6.0
    assert got["GET"]["billing/ceiling"] == 0.5
    assert got["GET"]["billing/mountebank"] is None


# -- a live peer, only where the bench already installed it ---------------------------------
# Mountebank starts in ~1 s; Prism and WireMock take 5-10 s on a loaded machine, too slow for
# the suite: bench.peers checks every peer's live answer itself before measuring it.
def _installed(package: str) -> bool:
    return (servers.NODE_DIR / "node_modules" / package / "package.json").exists()


@pytest.mark.skipif(not (_installed("mountebank") and shutil.which("node")),
                    reason="mountebank not installed in bench/.cache/node (run nox -s bench)")
def test_mountebank_serves_the_reference(ours: tuple[Reference, dict[str, Any]],
                                         tmp_path: Path) -> None:
    ref, _ = ours
    _check_live("mountebank", servers.mountebank_command, ref, tmp_path)


def _check_live(name: str, command: Any, ref: Reference, workdir: Path) -> None:
    target = servers.Target(name, "peer", "fidelity test", 0, setup_s=30)
    port = servers.free_port()
    running = servers.start(target, command(workdir, port, ref), workdir, port, ref)
    try:
        for ex in ref.exchanges().values():
            r = httpx.request(ex.method, running.url + ex.path, headers=ex.request_headers,
                              content=ex.request_body or None, timeout=10)
            assert same_answer(ex, r.status_code, r.content) is None, name
    finally:
        servers.stop(running)
