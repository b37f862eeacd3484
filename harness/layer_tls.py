"""Optional (mutual) TLS between the harness and the integration layer: ``[integration.tls]``.

Server side — a layer the harness serves itself (``harness up``, ``harness integration
serve``): ``cert``/``key`` make it serve HTTPS; ``client_ca`` makes it require a client
certificate issued by that CA (the TLS handshake fails otherwise). Client side — the harness'
own calls to the layer: ``client_cert``/``client_key`` are presented, ``ca`` is trusted for the
layer's certificate. ``local_ca = true`` fills every unset path from the harness' local CA in
``<state_dir>/ca`` (the one ``--tls`` uses for the simulators): a loopback server certificate,
that CA as the client CA, and a client certificate ``o2c-harness`` it issues.

Note: with ``client_ca`` set every caller of the layer needs a certificate, webhook senders
included; the simulators' webhook deliveries carry none, so a landscape whose vendors push
webhooks to a mutual-TLS layer gets them refused (use mutual TLS for the harness↔layer API of
a layer whose webhooks arrive elsewhere, or leave ``client_ca`` unset).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from simulators._kit.server import Served
from simulators._kit.tls import TLSFiles, ensure_client_cert, ensure_server_cert

from .errors import ConfigError

if TYPE_CHECKING:
    import socket

    from .config import HarnessSettings

CLIENT_NAME = "o2c-harness"


class LayerTlsSettings(BaseModel):
    """``[integration.tls]``: paths of PEM files (none is a secret value itself)."""

    model_config = ConfigDict(extra="forbid")
    cert: Path | None = Field(default=None, description="the served layer's certificate")
    key: Path | None = Field(default=None, description="its private key")
    client_ca: Path | None = Field(default=None, description="mutual TLS: the served layer "
                                   "requires client certificates issued by this CA")
    client_cert: Path | None = Field(default=None, description="the certificate the harness "
                                     "presents to the layer")
    client_key: Path | None = Field(default=None, description="its private key")
    ca: Path | None = Field(default=None, description="the CA the harness trusts for the "
                            "layer's certificate (default: the system's)")
    local_ca: bool = Field(default=False, description="fill unset paths from the local CA "
                           "in <state_dir>/ca: server certificate, client CA, client "
                           "certificate")


@dataclass(frozen=True)
class ResolvedTls:
    cert: Path | None = None
    key: Path | None = None
    client_ca: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    ca: Path | None = None

    @property
    def serves_https(self) -> bool:
        return self.cert is not None

    @property
    def mutual(self) -> bool:
        return self.client_ca is not None


def resolve(settings: HarnessSettings) -> ResolvedTls:
    """The effective paths: the configured ones, completed from the local CA when asked."""
    tls: LayerTlsSettings = settings.integration.tls
    values = {name: getattr(tls, name) for name in
              ("cert", "key", "client_ca", "client_cert", "client_key", "ca")}
    if tls.local_ca:
        ca_dir = settings.state_dir / "ca"
        server = ensure_server_cert(ca_dir)
        client_cert, client_key = ensure_client_cert(ca_dir, CLIENT_NAME)
        defaults = {"cert": server.cert, "key": server.key, "client_ca": server.ca_cert,
                    "client_cert": client_cert, "client_key": client_key, "ca": server.ca_cert}
        values = {k: v if v is not None else defaults[k] for k, v in values.items()}
    resolved = ResolvedTls(**values)
    _check(resolved)
    return resolved


def _check(tls: ResolvedTls) -> None:
    pairs = (("cert", "key"), ("client_cert", "client_key"))
    for a, b in pairs:
        if (getattr(tls, a) is None) != (getattr(tls, b) is None):
            raise ConfigError(f"integration.tls.{a} and integration.tls.{b} go together",
                              "set both paths, or neither")
    if tls.client_ca is not None and tls.cert is None:
        raise ConfigError("integration.tls.client_ca (mutual TLS) needs integration.tls.cert "
                          "and .key", "or set integration.tls.local_ca = true")
    for name in ("cert", "key", "client_ca", "client_cert", "client_key", "ca"):
        path = getattr(tls, name)
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"integration.tls.{name}: no such file {path}",
                              "point it at a PEM file, or use integration.tls.local_ca = true")


def client_ssl(settings: HarnessSettings) -> ssl.SSLContext | bool:
    """``verify=`` for an httpx client of the layer: trusts ``ca`` (or the system's CAs) and
    presents the client certificate when one is configured; ``True`` when nothing is."""
    tls = resolve(settings)
    if tls.ca is None and tls.client_cert is None:
        return True
    context = ssl.create_default_context(cafile=str(tls.ca) if tls.ca else None)
    if tls.client_cert is not None:
        context.load_cert_chain(str(tls.client_cert), str(tls.client_key))
    return context


def layer_settings(settings: HarnessSettings) -> dict[str, Any]:
    """The layer's own ``tls`` settings for a layer the harness serves (informational for the
    layer; :func:`served` is what the listener applies)."""
    tls = resolve(settings)
    return {"cert_file": tls.cert, "key_file": tls.key, "client_ca_file": tls.client_ca}


def served(settings: HarnessSettings, name: str, app: Any, sock: socket.socket) -> Served:
    """The layer on its socket with the configured HTTPS / mutual TLS."""
    tls = resolve(settings)
    if not tls.serves_https:
        return Served(name, app, sock)
    if settings.integration.url.scheme != "https":
        raise ConfigError("integration.tls makes the layer serve HTTPS but integration.url is "
                          f"{settings.integration.url}",
                          "use an https:// integration.url")
    assert tls.cert is not None and tls.key is not None
    files = TLSFiles(ca_cert=tls.ca or tls.cert, cert=tls.cert, key=tls.key)
    return Served(name, app, sock, files, client_ca=tls.client_ca)


__all__ = ["LayerTlsSettings", "ResolvedTls", "client_ssl", "layer_settings", "resolve",
           "served"]
