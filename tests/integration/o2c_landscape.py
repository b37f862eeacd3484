"""An in-process landscape for the integration layer's tests: the six simulators and the
layer itself, each served by uvicorn on a free 127.0.0.1 port (tests may import simulators;
the layer talks to them over HTTP only)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import simulators
from integration import Settings, create_app
from integration.auth_settings import HARNESS_CLIENT_ID, HARNESS_CLIENT_SECRET
from scenarios.layer_auth import ClientCredentials, LayerAuth
from simulators._kit import Served, ThreadedServer, bind, build_app, serve_in_thread

SIM_KEYS = {"crm": "crm", "billing": "billing", "tax": "tax", "payments": "payments",
            "cloud_erp": "cloud_erp", "legacy_erp": "legacy_erp"}


@dataclass
class Landscape:
    urls: dict[str, str]
    layer_url: str
    layer_app: Any
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def sim(self, name: str) -> httpx.Client:
        if name not in self.clients:
            auth = layer_auth(self.layer_url) if name == "layer" else None
            self.clients[name] = httpx.Client(base_url=self.urls[name], timeout=30, auth=auth)
        return self.clients[name]

    @property
    def layer(self) -> httpx.Client:
        return self.sim("layer")

    def await_fact(self, system: str, kind: str, key: str, timeout: float = 20) -> \
            dict[str, Any]:
        r = self.sim(system).get("/_sim/await", params={"kind": kind, "key": key,
                                                        "timeout": timeout},
                                 timeout=timeout + 5)
        r.raise_for_status()
        body = r.json()
        assert body["matched"], f"{system}: no {kind} fact for {key} within {timeout}s"
        return body["fact"]  # type: ignore[no-any-return]


def layer_auth(url: str, scope: str | None = None) -> LayerAuth:
    """Bearer tokens of the layer's default client (the harness' test client)."""
    return LayerAuth(ClientCredentials(HARNESS_CLIENT_ID, HARNESS_CLIENT_SECRET,
                                       f"{url.rstrip('/')}/oauth/token", scope), url)


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05,
             message: str | Callable[[], Any] = "condition") -> Any:
    """Poll ``condition`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for "
                                 f"{message() if callable(message) else message}")
        time.sleep(interval)


def sim_app(name: str, **config: Any) -> Any:
    cls = simulators.simulator_class(name)
    return build_app(cls(cls.config_class(**config)))


def layer_settings(urls: dict[str, str], public_url: str, db: Path | str,
                   **over: Any) -> Settings:
    base: dict[str, Any] = {
        "public_url": public_url, "log_level": "warning",
        "database_url": db if isinstance(db, str) else f"sqlite:///{db}",
        "sweep_interval_s": 0.25,
        "crm": {"url": urls["crm"], "poll_interval_s": 0},
        "billing": {"url": urls["billing"]}, "tax": {"url": urls["tax"]},
        "payments": {"url": urls["payments"]}, "cloud_erp": {"url": urls["cloud_erp"]},
        "legacy_erp": {"url": urls["legacy_erp"]},
        "retry": {"wait_initial_s": 0.02, "wait_max_s": 0.5, "wait_jitter_s": 0.02,
                  "timeout_s": 15},
    }
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return Settings(**base)


@contextmanager
def landscape(tmp: Path, sim_config: dict[str, dict[str, Any]] | None = None,
              layer_port: int = 0, database_url: str | None = None,
              **layer_over: Any) -> Iterator[Landscape]:
    sim_config = sim_config or {}
    with ExitStack() as stack:
        urls: dict[str, str] = {}
        for name in SIM_KEYS:
            cfg = {"tick_interval_s": 0.1, **sim_config.get(name, {})}
            server = stack.enter_context(serve_in_thread(sim_app(name, **cfg), name=name))
            urls[name] = server.url
        sock = bind("127.0.0.1", layer_port)
        public = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = create_app(layer_settings(urls, public, database_url or tmp / "layer.db",
                                        **layer_over))
        layer = ThreadedServer(app, served=Served("layer", app, sock)).start()
        stack.callback(layer.stop)
        urls["layer"] = public
        scape = Landscape(urls=urls, layer_url=public, layer_app=app)
        stack.callback(lambda: [c.close() for c in scape.clients.values()])
        yield scape


BROKER = ("127.0.0.1", 5672)  # the machine's RabbitMQ (guest/guest)


def broker_answers() -> bool:
    """Whether the local RabbitMQ accepts a TCP connection (its tests skip otherwise)."""
    try:
        with socket.create_connection(BROKER, timeout=1):
            return True
    except OSError:
        return False


def postgres_url() -> str | None:
    """A SQLAlchemy URL of the local PostgreSQL (trust auth, database test), or None."""
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        return None
    import psycopg

    for user in ("postgres", "root"):
        try:
            psycopg.connect(f"host=127.0.0.1 port=5432 dbname=test user={user}",
                            connect_timeout=3).close()
            return f"postgresql+psycopg://{user}@127.0.0.1:5432/test"
        except psycopg.Error:
            continue
    return None
