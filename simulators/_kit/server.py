"""Serving simulator apps with uvicorn: on pre-bound sockets (so a busy port is reported before
anything starts), in the foreground for ``harness up`` or in a thread for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from .gcpolicy import freeze_survivors
from .tls import TLSFiles

T = TypeVar("T")


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when installed (uvicorn's fast loop), else asyncio's."""
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is in uvicorn[standard]
        factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


class PortInUseError(OSError):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"{host}:{port} is already in use")
        self.host = host
        self.port = port


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(host, port) from exc
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@dataclass
class Served:
    """One app on its bound socket; HTTPS with ``tls``; with ``client_ca`` too, mutual TLS:
    the TLS handshake fails for a client without a certificate issued by that CA."""

    name: str
    app: Any
    sock: socket.socket
    tls: TLSFiles | None = None
    client_ca: Path | None = None

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        host = self.sock.getsockname()[0]
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"


class _Server(uvicorn.Server):
    """uvicorn server without its own signal handling: ``serve_all`` stops all together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(served: Served, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(
        served.app,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=3,
        ssl_certfile=str(served.tls.cert) if served.tls else None,
        ssl_keyfile=str(served.tls.key) if served.tls else None,
        **_mutual_tls(served),
    )
    return _Server(config)


def _mutual_tls(served: Served) -> dict[str, Any]:
    """uvicorn's options for client certificates: required, and verified against the CA."""
    if served.client_ca is None:
        return {}
    if served.tls is None:
        raise ValueError(f"{served.name}: client certificates need TLS (a server certificate)")
    return {"ssl_ca_certs": str(served.client_ca), "ssl_cert_reqs": ssl.CERT_REQUIRED}


async def serve_all(services: Sequence[Served], log_level: str = "warning",
                    started: threading.Event | None = None, gc_freeze: bool = True) -> None:
    """Serve every service on its socket until SIGINT/SIGTERM stops them all, cleanly. On
    the main thread (a process that serves until stopped), ``gc_freeze`` keeps full garbage
    collections short (:mod:`.gcpolicy`)."""
    servers = [_server(s, log_level) for s in services]

    def stop_all() -> None:
        for srv in servers:
            srv.should_exit = True

    loop = asyncio.get_running_loop()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop_all)
        if gc_freeze:
            freeze_survivors()
    tasks = [asyncio.create_task(srv.serve(sockets=[s.sock]))
             for srv, s in zip(servers, services, strict=True)]
    if started is not None:
        while not all(srv.started for srv in servers):
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.01)
        started.set()
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for srv in servers:  # one stopping (signal or failure) stops them all
        srv.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        exc = task.exception()
        if exc is not None:
            raise exc


class ThreadedServer:
    """One app served by uvicorn in a background thread (tests, in-process landscapes)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0,
                 tls: TLSFiles | None = None, name: str = "app",
                 served: Served | None = None) -> None:
        """Bind ``host:port`` for ``app``, or take an already bound ``served``."""
        self.served = served or Served(name, app, bind(host, port), tls)
        self._server = _server(self.served, "warning")
        self._thread = threading.Thread(target=self._run, name=f"uvicorn-{self.served.name}",
                                        daemon=True)

    def _run(self) -> None:
        run_async(self._server.serve(sockets=[self.served.sock]))

    @property
    def url(self) -> str:
        return self.served.url

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.served.name} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.served.sock.close()


@contextlib.contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0,
                    tls: TLSFiles | None = None, name: str = "app") -> Iterator[ThreadedServer]:
    server = ThreadedServer(app, host, port, tls, name).start()
    try:
        yield server
    finally:
        server.stop()
