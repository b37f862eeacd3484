"""The layer's outbound transport (aiohttp under httpx's client): the same request on the
wire and the same answer as httpx's own transport, and errors that say how far a request
got — the in-doubt rules of the adapters depend on it (a reset after a legacy posting:
``test_layer_adapters.py``)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from integration import correlation
from integration.adapters.http import InDoubt, RetryPolicy, TransientError, make_client
from integration.adapters.legacy_erp import LegacyErp
from integration.adapters.transport import AiohttpTransport
from integration.settings import RetrySettings
from simulators._kit import serve_in_thread

FAST = RetrySettings(attempts=2, timeout_s=10, wait_initial_s=0.01, wait_max_s=0.05,
                     wait_jitter_s=0.01, request_timeout_s=5)
TRANSPORTS = ["aiohttp", "httpx"]


async def _echo(request: Request) -> Response:
    """What arrived (every header as a pair, so a duplicate shows), gzip-encoded, with a
    cookie the client must send back."""
    body = await request.body()
    seen = {"method": request.method, "path": request.url.path,
            "query": request.url.query, "headers": [[k.decode(), v.decode()] for k, v in
                                                    request.scope["headers"]],
            "body": body.decode()}
    return Response(gzip.compress(json.dumps(seen).encode()), status_code=201,
                    media_type="application/json",
                    headers={"content-encoding": "gzip", "set-cookie": "sid=abc; Path=/",
                             "x-vendor": "kept"})


async def _slow(request: Request) -> Response:
    await asyncio.sleep(float(request.query_params.get("s", "1")))
    return Response("late")


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    app = Starlette(routes=[Route("/echo", _echo, methods=["GET", "POST", "DELETE"]),
                            Route("/slow", _slow)])
    with serve_in_thread(app, name="echo") as server:
        yield server.url


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def _client(url: str, kind: str, **kw: Any) -> httpx.AsyncClient:
    return make_client("billing", url, settings=FAST, http_transport=kind,  # type: ignore[arg-type]
                       headers={"Authorization": "Bearer sk_test"}, **kw)


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_the_wire_is_the_same_with_either_transport(echo: str, kind: str) -> None:
    async def scenario() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        async with _client(echo, kind) as client:
            assert isinstance(client._transport, AiohttpTransport) == (kind == "aiohttp")
            posted = await client.post("/echo", params={"expand[]": "x"},
                                       data={"name": "Ada", "metadata[k]": "v"})
            again = await client.get("/echo")
            empty = await client.delete("/echo")

            async def chunks() -> AsyncIterator[bytes]:
                yield b"part one, "
                yield b"part two"

            streamed = await client.post("/echo", content=chunks())
            streamed_seen = streamed.json()
            assert streamed_seen["body"] == "part one, part two"
            return posted, again, empty

    posted, again, empty = run(scenario())
    assert posted.status_code == 201 and posted.headers["x-vendor"] == "kept"
    seen = posted.json()  # gzip decoded by httpx, once
    headers = [(k, v) for k, v in seen["headers"]]
    names = [k for k, _ in headers]
    assert len(names) == len(set(names)), f"a header sent twice: {headers}"
    assert dict(headers)["content-type"] == "application/x-www-form-urlencoded"
    assert dict(headers)["authorization"] == "Bearer sk_test"
    assert correlation.HEADER.lower() in dict(headers) and "traceparent" in dict(headers)
    assert seen["method"] == "POST" and seen["query"] == "expand%5B%5D=x"
    assert seen["body"] == "name=Ada&metadata%5Bk%5D=v"
    again_headers = dict(tuple(h) for h in again.json()["headers"])
    assert again_headers.get("cookie") == "sid=abc"  # httpx's jar, sent once
    empty_seen = empty.json()
    assert empty_seen["body"] == ""
    assert "content-type" not in dict(tuple(h) for h in empty_seen["headers"])


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_credentials_in_the_url_are_sent_once_as_basic_auth(echo: str, kind: str) -> None:
    async def scenario() -> httpx.Response:
        url = echo.replace("http://", "http://O2C_RFC:Legacy%232004@")
        async with make_client("legacy_erp", url, settings=FAST,
                               http_transport=kind) as client:  # type: ignore[arg-type]
            return await client.get("/echo")

    headers = [tuple(h) for h in run(scenario()).json()["headers"]]
    assert [v for k, v in headers if k == "authorization"] == [
        "Basic " + base64.b64encode(b"O2C_RFC:Legacy#2004").decode()]


def test_a_refused_connection_is_a_connect_error_safe_to_retry(
        free_port: Callable[[], int]) -> None:
    async def scenario() -> None:
        async with _client(f"http://127.0.0.1:{free_port()}", "aiohttp") as client:
            await client.get("/nothing")

    with pytest.raises(httpx.ConnectError):
        run(scenario())


def test_a_slow_answer_is_a_read_timeout(echo: str) -> None:
    async def scenario() -> None:
        async with _client(echo, "aiohttp", ) as client:
            await client.get("/slow", params={"s": "2"}, timeout=0.2)

    with pytest.raises(httpx.ReadTimeout):
        run(scenario())


def test_waiting_for_a_pooled_connection_is_a_connect_timeout_never_sent(echo: str) -> None:
    """One connection, busy: the second request gives up before it was ever written."""
    async def scenario() -> None:
        transport = AiohttpTransport(limits=httpx.Limits(max_connections=1))
        async with make_client("billing", echo, settings=FAST, transport=transport) as client:
            busy = asyncio.create_task(client.get("/slow", params={"s": "1"}))
            await asyncio.sleep(0.1)
            try:
                await client.get("/echo", timeout=httpx.Timeout(5, pool=0.2))
            finally:
                await busy

    with pytest.raises(httpx.ConnectTimeout):
        run(scenario())


def test_a_refused_posting_is_retried_then_transient_not_in_doubt(
        free_port: Callable[[], int]) -> None:
    async def scenario() -> None:
        erp = LegacyErp(make_client("legacy_erp", f"http://127.0.0.1:{free_port()}",
                                    settings=FAST), RetryPolicy(FAST))
        try:
            await erp.post_invoice(
                company_code="4000", customer="C1", reference="NEVER-SENT",
                invoice_date=date(2026, 11, 1), due_date=date(2026, 12, 1), currency="GBP",
                net="1.00", tax="0.00", gross="1.00")
        finally:
            await erp.aclose()

    with pytest.raises(TransientError) as caught:
        run(scenario())
    assert not isinstance(caught.value, InDoubt)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_the_environment_names_the_proxy_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,billing.internal")
    for name in ("http_proxy", "no_proxy", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    transport = AiohttpTransport()
    assert transport._proxy(httpx.URL("http://erp.example/x")) == "http://proxy.example:3128"
    assert transport._proxy(httpx.URL("http://billing.internal/v1")) is None
    assert transport._proxy(httpx.URL("http://127.0.0.1:8000/")) is None
    monkeypatch.delenv("HTTP_PROXY")
    assert transport._proxy(httpx.URL("http://erp.example/y")) == "http://proxy.example:3128"
