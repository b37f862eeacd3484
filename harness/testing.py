"""In-process mocks of the vendors' real hosts, the way ``moto`` mocks AWS.

:func:`mock_landscape` starts the simulators inside this process (each app's lifespan runs,
so webhook delivery and the background ticker work) and routes the vendors' **real
hostnames** to them without opening a socket:

- **httpx** callers (sync and async) through a ``respx`` router;
- **requests** callers (``stripe``, ``simple-salesforce``, ``avalara``, ``Adyen``, ``pyodata``,
  ``zeep``) through the ``responses`` library's callback API.

Both bridge synchronously to the simulator's ASGI app, which runs on an event loop in a
background thread owned by the mock. Anything else (another host) passes through untouched.

Use it as a context manager, a decorator or the ``mock_landscape`` pytest fixture of the
``o2c`` plugin::

    from harness.testing import mock_landscape

    with mock_landscape() as landscape:
        client = stripe.StripeClient("sk_test_o2c_harness")       # api.stripe.com
        customer = client.v1.customers.create(params={"email": "ada@example.com"})
        landscape.admin("billing").get("/_sim/journal")            # the simulator's admin API

    @mock_landscape(only=["crm"])
    def test_won_opportunity_creates_account():
        sf = Salesforce(username="o2c@example.com", password="...", security_token="...")

Hosts routed by default (:data:`DEFAULT_HOSTS`): ``api.stripe.com``; ``login.salesforce.com``,
``test.salesforce.com`` and ``*.my.salesforce.com``; ``rest.avatax.com`` and
``sandbox-rest.avatax.com``; ``checkout-test.adyen.com`` and ``management-test.adyen.com``;
``*.s4hana.ondemand.com`` and ``*.s4hana.cloud.sap``; ``legacy-erp.o2c.test`` (the legacy ERP
has no public host). Add or override with ``hosts={"erp.acme.internal": "legacy_erp"}``.

Limits: a simulator cannot call another mocked host from its own background work (that would
block its event loop; it raises :class:`MockLandscapeError`); ``Adyen``'s pycurl/urllib
back ends are not intercepted — the SDK picks ``requests`` whenever it is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import re
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar, cast, overload

import httpx
import responses
import respx

import simulators
from simulators._kit import SimulatorConfig, build_app

from .errors import HarnessError

__all__ = ["DEFAULT_HOSTS", "MockLandscape", "MockLandscapeError", "mock_landscape"]

F = TypeVar("F", bound=Callable[..., Any])

#: host regular expression → simulator name (full-match on the request's host)
DEFAULT_HOSTS: dict[str, str] = {
    r"api\.stripe\.com": "billing",
    r"(login|test)\.salesforce\.com": "crm",
    r"[a-z0-9-]+(\.sandbox|\.develop)?\.my\.salesforce\.com": "crm",
    r"(sandbox-)?rest\.avatax\.com": "tax",
    r"(checkout|management)-test\.adyen\.com": "payments",
    r"[a-z0-9-]+\.s4hana\.ondemand\.com": "cloud_erp",
    r"[a-z0-9-]+\.s4hana\.cloud\.sap": "cloud_erp",
    r"legacy-erp\.o2c\.test": "legacy_erp",
}
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# hop-by-hop or encoding headers that no longer describe the decoded body we hand back
_DROP = {"content-encoding", "content-length", "transfer-encoding", "connection"}
_TIMEOUT_S = 120.0


class MockLandscapeError(HarnessError):
    """The in-process landscape could not start or could not answer a request."""


class _Lifespan:
    """Drives the ASGI lifespan protocol of one app on the mock's event loop."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        await self.app(scope, self._to_app.get, self._from_app.put)

    async def _expect(self, kind: str) -> None:
        message = await self._from_app.get()
        if message["type"] != kind:
            raise MockLandscapeError(f"lifespan: expected {kind}, got {message}")

    async def startup(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._to_app.put({"type": "lifespan.startup"})
        await self._expect("lifespan.startup.complete")

    async def shutdown(self) -> None:
        await self._to_app.put({"type": "lifespan.shutdown"})
        await self._expect("lifespan.shutdown.complete")
        if self._task is not None:
            await self._task


class _LoopThread:
    """An event loop in a daemon thread; coroutines are submitted and awaited from outside."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="o2c-mock-landscape",
                                       daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[Any], timeout: float = _TIMEOUT_S) -> Any:
        if threading.current_thread() is self.thread:
            raise MockLandscapeError(
                "a simulator called another mocked host from its own event loop",
                "serve that simulator on a port (harness up) instead of mocking it")
        future: Future[Any] = asyncio.run_coroutine_threadsafe(
            cast("Any", coro), self.loop)
        return future.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class _BridgeTransport(httpx.BaseTransport):
    """A sync httpx transport that answers from one simulator app (for the admin clients)."""

    def __init__(self, landscape: MockLandscape, name: str) -> None:
        self.landscape = landscape
        self.name = name

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.landscape.dispatch(self.name, request)


class MockLandscape:
    """The simulators of ``only`` (default: all) answering the vendors' real hosts in-process.

    ``configs`` overrides a simulator's settings (name → its ``Config`` or a dict of fields);
    ``hosts`` adds host patterns (regular expressions, full match) → simulator name.
    """

    def __init__(self, only: Sequence[str] | None = None, *,
                 hosts: Mapping[str, str] | None = None,
                 configs: Mapping[str, SimulatorConfig | Mapping[str, Any]] | None = None
                 ) -> None:
        available = [n for n in simulators.names() if simulators.is_available(n)]
        chosen = list(only) if only is not None else available
        unknown = [n for n in chosen if n not in available]
        if unknown:
            raise MockLandscapeError(f"unknown or unavailable simulator(s): {unknown}",
                                     f"choose from {available}")
        self.names = chosen
        self.hosts = {p: n for p, n in {**DEFAULT_HOSTS, **(hosts or {})}.items()
                      if n in chosen}
        self._host_res = [(re.compile(p, re.IGNORECASE), n) for p, n in self.hosts.items()]
        self._configs = dict(configs or {})
        self._apps: dict[str, Any] = {}
        self._lifespans: list[_Lifespan] = []
        self._loop: _LoopThread | None = None
        self._respx: respx.MockRouter | None = None
        self._responses: responses.RequestsMock | None = None
        self._admins: dict[str, httpx.Client] = {}
        self._depth = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def _config(self, name: str) -> SimulatorConfig:
        given = self._configs.get(name)
        cls = simulators.config_class(name)
        if given is None:
            return cls()
        if isinstance(given, SimulatorConfig):
            return given
        return cls.model_validate(dict(given))

    def start(self) -> MockLandscape:
        """Start the apps (lifespans included) and the interception; re-entrant."""
        self._depth += 1
        if self._depth > 1:
            return self
        try:
            self._loop = _LoopThread()
            for name in self.names:
                app = build_app(simulators.simulator_class(name)(self._config(name)))
                lifespan = _Lifespan(app)
                self._loop.run(lifespan.startup(), timeout=60)
                self._apps[name] = app
                self._lifespans.append(lifespan)
            self._start_respx()
            self._start_responses()
        except BaseException:
            self._depth = 1
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop interception, run the apps' shutdown and end the loop thread."""
        self._depth = max(0, self._depth - 1)
        if self._depth:
            return
        for client in self._admins.values():
            client.close()
        self._admins.clear()
        if self._responses is not None:
            self._responses.stop()
            self._responses.reset()
            self._responses = None
        if self._respx is not None:
            self._respx.stop(quiet=True)
            self._respx = None
        if self._loop is not None:
            for lifespan in reversed(self._lifespans):
                # shutting down the rest matters more than one app's error
                with contextlib.suppress(Exception):
                    self._loop.run(lifespan.shutdown(), timeout=30)
            self._loop.close()
            self._loop = None
        self._lifespans.clear()
        self._apps.clear()

    def __enter__(self) -> MockLandscape:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __call__(self, func: F) -> F:
        """Decorate a (sync or async) function: the landscape runs for each call."""
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)
            return cast("F", run_async)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)
        return cast("F", run)

    # -- routing -----------------------------------------------------------------------------
    def simulator_for(self, host: str) -> str | None:
        """The simulator that answers ``host`` (None: not mocked)."""
        for pattern, name in self._host_res:
            if pattern.fullmatch(host):
                return name
        return None

    def _start_respx(self) -> None:
        router = respx.MockRouter(assert_all_called=False, assert_all_mocked=True)
        for pattern, name in self.hosts.items():
            router.route(host__regex=f"^(?:{pattern})$").mock(
                side_effect=functools.partial(self._respx_effect, name))
        router.route().pass_through()
        router.start()
        self._respx = router

    def _respx_effect(self, name: str, request: httpx.Request) -> httpx.Response:
        request.read()
        return self.dispatch(name, request)

    def _start_responses(self) -> None:
        mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        for pattern, name in self.hosts.items():
            url = re.compile(rf"^https?://(?:{pattern})(?::\d+)?(?:[/?].*)?$", re.IGNORECASE)
            for method in _METHODS:
                callback: Any = functools.partial(self._requests_effect, name)
                mock.add_callback(method, url, callback=callback)
        mock.add_passthru(re.compile(r".*"))
        mock.start()
        self._responses = mock

    def _requests_effect(self, name: str, prepared: Any) -> tuple[int, list[tuple[str, str]],
                                                                     bytes]:
        body = prepared.body
        if body is None:
            content = b""
        elif isinstance(body, bytes):
            content = body
        elif isinstance(body, str):
            content = body.encode()
        elif hasattr(body, "read"):
            content = body.read()
        else:
            content = b"".join(c if isinstance(c, bytes) else str(c).encode()
                               for c in cast("Iterable[Any]", body))
        request = httpx.Request(prepared.method, prepared.url,
                                headers=list(prepared.headers.items()), content=content)
        response = self.dispatch(name, request)
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _DROP]
        return response.status_code, headers, response.content

    def dispatch(self, name: str, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` from simulator ``name`` (blocking; decoded body)."""
        if self._loop is None:
            raise MockLandscapeError("the mock landscape is not started",
                                     "use it as `with mock_landscape():` or a decorator")
        app = self._apps[name]
        answer = cast("tuple[int, list[tuple[str, str]], bytes]",
                      self._loop.run(_call_app(app, request)))
        status, headers, content = answer
        return httpx.Response(status, headers=headers, content=content, request=request)

    # -- conveniences ------------------------------------------------------------------------
    def admin(self, name: str) -> httpx.Client:
        """An httpx client on simulator ``name`` (admin API under ``/_sim/``), in-process."""
        if name not in self._apps:
            raise MockLandscapeError(f"simulator {name!r} is not part of this mock",
                                     f"running: {sorted(self._apps)}")
        if name not in self._admins:
            self._admins[name] = httpx.Client(transport=_BridgeTransport(self, name),
                                              base_url=f"http://{name}.o2c.test", timeout=60)
        return self._admins[name]

    def seed(self, seed: int = 42, size: int = 20) -> dict[str, Any]:
        """``POST /_sim/seed`` on every simulator; returns what each created."""
        return {n: self.admin(n).post("/_sim/seed", json={"seed": seed, "size": size})
                .raise_for_status().json() for n in self.names}

    def reset(self) -> None:
        """``POST /_sim/reset`` on every simulator."""
        for name in self.names:
            self.admin(name).post("/_sim/reset").raise_for_status()


async def _call_app(app: Any, request: httpx.Request) -> tuple[int, list[tuple[str, str]],
                                                              bytes]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False,
                                    client=("127.0.0.1", 40000))
    inner = httpx.Request(request.method, request.url, headers=request.headers,
                          content=request.content)
    response = await transport.handle_async_request(inner)
    content = await response.aread()
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _DROP]
    return response.status_code, headers, content


@overload
def mock_landscape(func: F, /) -> F: ...


@overload
def mock_landscape(func: None = None, /, *, only: Sequence[str] | None = None,
                   hosts: Mapping[str, str] | None = None,
                   configs: Mapping[str, SimulatorConfig | Mapping[str, Any]] | None = None
                   ) -> MockLandscape: ...


def mock_landscape(func: F | None = None, /, *, only: Sequence[str] | None = None,
                   hosts: Mapping[str, str] | None = None,
                   configs: Mapping[str, SimulatorConfig | Mapping[str, Any]] | None = None
                   ) -> MockLandscape | F:
    """The in-process landscape on the vendors' real hosts: ``with mock_landscape():``,
    ``@mock_landscape`` / ``@mock_landscape(only=[...])``, or the pytest fixture
    ``mock_landscape`` of the o2c plugin. See the module docstring for the hosts."""
    landscape = MockLandscape(only, hosts=hosts, configs=configs)
    if func is not None:
        return landscape(func)
    return landscape
