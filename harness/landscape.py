"""Starting, finding and stopping the simulated landscape.

``start_in_process`` serves the simulators from this process (foreground ``harness up``, the
gate, tests); ``detach`` runs ``harness up`` as a background process and records it in
``<state_dir>/landscape.json`` so ``harness status``/``down``/``seed`` find it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import psutil

import simulators
from simulators._kit import PortInUseError as _KitPortInUse
from simulators._kit import Served, ThreadedServer, bind, build_app, ensure_server_cert

from . import layer_tls
from .config import HarnessSettings
from .errors import ConfigError, LandscapeError, PortInUseError
from .layer_auth import served_layer_auth

if TYPE_CHECKING:  # the layer is imported where it is served (it may be absent)
    from integration import Settings as LayerSettings

STATE_FILE = "landscape.json"
ALIASES = {"cloud-erp": "cloud_erp", "legacy-erp": "legacy_erp", "erp": "cloud_erp",
           "stripe": "billing", "salesforce": "crm", "avalara": "tax", "adyen": "payments",
           "s4hana": "cloud_erp", "sap": "cloud_erp", "soap": "legacy_erp"}


def select(settings: HarnessSettings, only: Sequence[str] | None) -> list[str]:
    """Names of the simulators to run: ``only`` (aliases allowed) or every enabled one."""
    known = simulators.names()
    if only:
        chosen = []
        for raw in only:
            name = ALIASES.get(raw.strip().lower(), raw.strip().lower())
            if name not in known:
                raise LandscapeError(f"unknown simulator {raw!r}",
                                     f"choose from: {', '.join(known)}")
            chosen.append(name)
    else:
        chosen = [n for n in known if settings.simulator(n).enabled]
    missing = [n for n in chosen if not simulators.is_available(n)]
    if missing and only:
        raise LandscapeError(f"simulator(s) {', '.join(missing)} are not part of this build",
                             "run `harness status` to see what is available")
    return [n for n in chosen if n not in missing]


def _port_owner(port: int) -> str:
    try:
        for conn in psutil.net_connections(kind="inet"):
            listening = conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN
            if listening and conn.pid:
                proc = psutil.Process(conn.pid)
                return f"pid {conn.pid} ({' '.join(proc.cmdline()[:3]) or proc.name()})"
    except (psutil.Error, OSError):
        pass
    return "another process"


def bind_all(settings: HarnessSettings, names: Sequence[str]) -> list[Served]:
    """Create each simulator app and bind its port, failing before anything serves."""
    tls = ensure_server_cert(settings.ca_dir) if settings.tls else None
    served: list[Served] = []
    try:
        for name in names:
            config = settings.simulator(name)
            try:
                sock = bind(settings.host, config.port)
            except _KitPortInUse:
                env = f"HARNESS_SIMULATORS__{name.upper()}__PORT"
                raise PortInUseError(
                    f"port {config.port} ({name}) on {settings.host} is in use by "
                    f"{_port_owner(config.port)}",
                    f"stop it (`harness down` if it is a landscape) or pick another port: "
                    f"--port {name}={config.port + 10} or {env}={config.port + 10}",
                ) from None
            faults = settings.resolved_faults(name)
            if faults is not config.faults:
                config = config.model_copy(update={"faults": faults})
            sim = simulators.simulator_class(name)(config)
            try:
                app = build_app(sim)
            except ValueError as exc:  # e.g. a bad store URL
                sock.close()
                raise LandscapeError(f"{name}: {exc}", "check its settings") from None
            served.append(Served(name, app, sock, tls))
    except BaseException:
        for s in served:
            s.sock.close()
        raise
    return served


@dataclass
class Landscape:
    """Running simulators: name → base URL."""

    urls: dict[str, str]
    pid: int | None = None
    ca_cert: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "urls": self.urls, "ca_cert": self.ca_cert,
                "started": time.time()}


def state_path(settings: HarnessSettings) -> Path:
    return settings.state_dir / STATE_FILE


def write_state(settings: HarnessSettings, landscape: Landscape) -> None:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    state_path(settings).write_text(json.dumps(landscape.to_json(), indent=2))


def read_state(settings: HarnessSettings) -> Landscape | None:
    path = state_path(settings)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    pid = data.get("pid")
    if pid is not None and not psutil.pid_exists(pid):
        path.unlink(missing_ok=True)  # stale: the process is gone
        return None
    return Landscape(urls=data["urls"], pid=pid, ca_cert=data.get("ca_cert"))


def health(url: str, verify: str | bool = True, timeout: float = 2.0) -> dict[str, Any] | None:
    try:
        r = httpx.get(f"{url}/_sim/health", timeout=timeout, verify=verify)
        return r.json() if r.status_code == 200 else None  # type: ignore[no-any-return]
    except (httpx.HTTPError, ValueError):
        return None


def wait_healthy(landscape: Landscape, timeout: float = 30.0,
                 proc: subprocess.Popen[bytes] | None = None) -> None:
    verify: str | bool = landscape.ca_cert or True
    deadline = time.monotonic() + timeout
    pending = dict(landscape.urls)
    while pending:
        for name, url in list(pending.items()):
            if health(url, verify, timeout=1.0) is not None:
                pending.pop(name)
        if not pending:
            return
        if proc is not None and proc.poll() is not None:
            raise LandscapeError("the landscape process exited during start-up",
                                 "see the log named above")
        if time.monotonic() > deadline:
            raise LandscapeError(f"simulator(s) {', '.join(pending)} did not become healthy "
                                 f"within {timeout:.0f}s")
        time.sleep(0.1)


@contextmanager
def start_in_process(settings: HarnessSettings, names: Sequence[str]) -> Iterator[Landscape]:
    """Serve the simulators from threads of this process for the duration of the block."""
    served = bind_all(settings, names)
    servers: list[ThreadedServer] = []
    try:
        for s in served:
            servers.append(ThreadedServer(s.app, served=s).start())
        yield Landscape(urls={s.name: s.url for s in served},
                        ca_cert=str(served[0].tls.ca_cert) if served and served[0].tls else None)
    finally:
        for server in servers:
            server.stop()
        for s in served:
            s.sock.close()


def detach(settings: HarnessSettings, argv: list[str], names: Sequence[str]) -> Landscape:
    """Run ``harness up`` (without --detach) in the background and wait until it is healthy."""
    existing = read_state(settings)
    if existing is not None:
        raise LandscapeError(f"a landscape is already running (pid {existing.pid})",
                             "stop it with `harness down` first")
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.state_dir / "landscape.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness", *argv],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        landscape = read_state(settings)
        if landscape is not None and landscape.pid == proc.pid:
            try:
                wait_healthy(landscape, timeout=max(1.0, deadline - time.monotonic()), proc=proc)
            except LandscapeError as exc:
                proc.terminate()
                raise LandscapeError(exc.message, f"see {log_path}") from None
            return landscape
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise LandscapeError("the landscape did not start: " + " / ".join(tail),
                                 f"full log in {log_path}")
        time.sleep(0.1)
    proc.terminate()
    raise LandscapeError("the landscape did not start within 30s", f"see {log_path}")


def stop(settings: HarnessSettings, timeout: float = 15.0) -> Landscape | None:
    landscape = read_state(settings)
    if landscape is None or landscape.pid is None:
        return None
    try:
        os.kill(landscape.pid, signal.SIGTERM)
        proc = psutil.Process(landscape.pid)
        proc.wait(timeout)
    except psutil.TimeoutExpired:
        os.kill(landscape.pid, signal.SIGKILL)
    except (ProcessLookupError, psutil.NoSuchProcess):
        pass
    state_path(settings).unlink(missing_ok=True)
    return landscape


# -- the reference integration layer ---------------------------------------------------------
def integration_settings(settings: HarnessSettings, urls: dict[str, str]) -> dict[str, Any]:
    """The reference layer's settings for a landscape at ``urls``: the simulators' URLs and
    the credentials of their configs, the layer's public URL (where vendors send webhooks;
    the layer registers itself through each vendor's API at start-up) and its database."""
    crm: Any = settings.simulator("crm")
    billing: Any = settings.simulator("billing")
    tax: Any = settings.simulator("tax")
    payments: Any = settings.simulator("payments")
    cloud: Any = settings.simulator("cloud_erp")
    legacy: Any = settings.simulator("legacy_erp")
    account, license_key = next(iter(tax.accounts.items()))
    cloud_user, cloud_password = next(iter(cloud.users.items()))
    legacy_user, legacy_password = next(iter(legacy.users.items()))
    db = settings.integration.database_url or f"sqlite:///{_layer_db(settings).resolve()}"
    return {
        "host": settings.host, "public_url": str(settings.integration.url).rstrip("/"),
        "database_url": db, "log_level": settings.log_level,
        "bus_url": str(settings.integration.bus_url) if settings.integration.bus_url else None,
        "bus_exchange": settings.integration.bus_exchange,
        **({"job_concurrency": settings.integration.job_concurrency}
           if settings.integration.job_concurrency is not None else {}),
        "auth": served_layer_auth(settings),  # the harness' own client is the one it accepts
        "crm": {"url": urls["crm"], "client_id": crm.client_id,
                "client_secret": crm.client_secret, "username": crm.username,
                "password": crm.password, "security_token": crm.security_token,
                "change_event_secret": crm.change_event_secret},
        "billing": {"url": urls["billing"], "api_key": billing.api_keys[0]},
        "tax": {"url": urls["tax"], "account_id": account, "license_key": license_key},
        "payments": {"url": urls["payments"], "api_key": payments.api_keys[0],
                     "hmac_key": payments.hmac_key,
                     "merchant_accounts": payments.merchant_accounts[:1]},
        "cloud_erp": {"url": urls["cloud_erp"], "username": cloud_user,
                      "password": cloud_password, "sap_client": cloud.sap_client},
        "legacy_erp": {"url": urls["legacy_erp"], "username": legacy_user,
                       "password": legacy_password},
    }


def layer_settings(data: dict[str, Any]) -> LayerSettings:
    """The reference layer's settings from ``data`` and its ``O2C_*`` environment; a bad
    value is one line with a hint (:class:`ConfigError`), never pydantic's report."""
    from pydantic import ValidationError

    from integration import Settings

    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        env = "O2C_" + "__".join(str(p).upper() for p in first["loc"])
        raise ConfigError(f"invalid integration layer setting {where}: {first['msg']}",
                          f"check {env} in the environment (or integration.* in harness.toml)"
                          ) from None


def bind_integration(settings: HarnessSettings, served: Sequence[Served]) -> list[Served]:
    """The reference integration layer bound on ``integration.url``'s port, when
    ``integration.serve`` is set and every simulator it talks to is in ``served``."""
    urls = {s.name: s.url for s in served}
    if not settings.integration.serve or not all(n in urls for n in simulators.names()):
        return []
    from integration import create_app

    port = settings.integration.url.port or 8100
    try:
        sock = bind(settings.host, port)
    except _KitPortInUse:
        raise PortInUseError(
            f"port {port} (integration layer) on {settings.host} is in use by "
            f"{_port_owner(port)}",
            "stop it, or move the layer: HARNESS_INTEGRATION__URL=http://127.0.0.1:8110 "
            "(or integration.serve = false to run your own layer there)") from None
    if settings.integration.database_url is None and not _persistent(settings):
        # in-memory simulators start empty: so does the layer's memory of them (webhook
        # registrations, cross-references)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{_layer_db(settings)}{suffix}").unlink(missing_ok=True)
    layer = layer_settings(integration_settings(settings, urls))
    return [layer_tls.served(settings, "integration", create_app(layer), sock)]


def _persistent(settings: HarnessSettings) -> bool:
    return all(settings.simulator(n).store != "memory" for n in simulators.names())


def _layer_db(settings: HarnessSettings) -> Path:
    """The reference layer's default database: next to the simulators' state files when
    they persist (``--persist``), else a scratch file recreated with the landscape."""
    if _persistent(settings):
        return settings.state_dir / "state" / "integration.db"
    return settings.state_dir / "integration.db"
