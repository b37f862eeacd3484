"""Optional mutual TLS between the harness and the integration layer.

The layer is served the way the harness serves it (``harness.layer_tls.served`` over the
simulators' kit, uvicorn with ``ssl_cert_reqs=CERT_REQUIRED``); the harness' side is its own
``[integration.tls]`` settings (``harness.layer_tls.client_ssl``). Certificates come from
``trustme`` CAs made per test module, and from the harness' local CA for ``local_ca``.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from harness.config import HarnessSettings
from harness.errors import ConfigError
from harness.layer_tls import client_ssl, resolve, served
from integration import Settings, create_app
from integration.tls_settings import TlsSettings
from simulators._kit import ThreadedServer, bind

# what a refused handshake looks like from the client: an alert, or the connection dropped
REFUSED = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError,
           httpx.WriteError)


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_cert: Path  # a client certificate from another CA
    rogue_key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca, rogue_ca = trustme.CA(), trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("o2c-harness@clients.o2c.test")
    rogue = rogue_ca.issue_cert("o2c-harness@clients.o2c.test")
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    server.private_key_pem.write_to_path(str(d / "server-key.pem"))
    with open(d / "server.pem", "wb") as f:
        for blob in server.cert_chain_pems:
            f.write(blob.bytes())
    client.private_key_pem.write_to_path(str(d / "client-key.pem"))
    client.cert_chain_pems[0].write_to_path(str(d / "client.pem"))
    rogue.private_key_pem.write_to_path(str(d / "rogue-key.pem"))
    rogue.cert_chain_pems[0].write_to_path(str(d / "rogue.pem"))
    return Pki(d / "ca.pem", d / "server.pem", d / "server-key.pem", d / "client.pem",
               d / "client-key.pem", d / "rogue.pem", d / "rogue-key.pem")


def harness_settings(port: int, tmp: Path, **tls: Any) -> HarnessSettings:
    return HarnessSettings(state_dir=tmp / "state", integration={
        "url": f"https://127.0.0.1:{port}", "tls": tls})


def layer_app(tmp: Path) -> Any:
    return create_app(Settings(database_url=f"sqlite:///{tmp / 'layer.db'}",
                               register_webhooks=False, log_level="warning",
                               sweep_interval_s=3600, crm={"poll_interval_s": 0}))


@dataclass
class Layer:
    url: str
    settings: HarnessSettings
    requests: list[str]  # paths of the HTTP requests the layer's app received


def counting(app: Any, seen: list[str]) -> Any:
    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(scope["path"])
        await app(scope, receive, send)

    return asgi


@pytest.fixture(scope="module")
def mtls_layer(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Layer]:
    tmp = tmp_path_factory.mktemp("layer")
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    settings = harness_settings(port, tmp, cert=pki.server_cert, key=pki.server_key,
                                client_ca=pki.ca, client_cert=pki.client_cert,
                                client_key=pki.client_key, ca=pki.ca)
    requests: list[str] = []
    app = counting(layer_app(tmp), requests)
    server = ThreadedServer(app, served=served(settings, "integration", app, sock)).start()
    try:
        yield Layer(server.url, settings, requests)
    finally:
        server.stop()


def context(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


def test_served_over_https_with_client_certificates_required(mtls_layer: Layer) -> None:
    assert mtls_layer.url.startswith("https://127.0.0.1:")


def test_harness_client_with_its_certificate_gets_through(mtls_layer: Layer) -> None:
    verify = client_ssl(mtls_layer.settings)
    assert isinstance(verify, ssl.SSLContext)
    with httpx.Client(verify=verify, timeout=10) as client:
        r = client.get(f"{mtls_layer.url}/health")
    assert r.status_code == 200, r.text


def test_client_without_a_certificate_fails_the_handshake(mtls_layer: Layer,
                                                          pki: Pki) -> None:
    with httpx.Client(verify=context(pki.ca), timeout=10) as client, \
            pytest.raises(REFUSED):
        client.get(f"{mtls_layer.url}/health")


def test_certificate_from_another_ca_fails_the_handshake(mtls_layer: Layer,
                                                         pki: Pki) -> None:
    with httpx.Client(verify=context(pki.ca, pki.rogue_cert, pki.rogue_key),
                      timeout=10) as client, pytest.raises(REFUSED):
        client.get(f"{mtls_layer.url}/health")


def _raw_get(port: int, ctx: ssl.SSLContext) -> bytes:
    """One request over a raw TLS socket; the handshake's own errors propagate."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        try:
            return tls.recv(1024)
        except (ssl.SSLError, ConnectionResetError):
            return b""


@pytest.mark.parametrize("who", ["no certificate", "certificate from another CA"])
def test_refused_in_the_handshake_before_any_http(mtls_layer: Layer, pki: Pki, who: str
                                                  ) -> None:
    """TLS 1.2: the server's refusal ends the handshake itself. TLS 1.3 finishes the
    handshake on the client's side first (the client's certificate comes last), then the
    server drops the connection: no HTTP answer. Either way the app sees no request."""
    port = int(mtls_layer.url.rsplit(":", 1)[1])
    seen = len(mtls_layer.requests)
    cert = (None, None) if who == "no certificate" else (pki.rogue_cert, pki.rogue_key)
    tls12 = context(pki.ca, *cert)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError):
        _raw_get(port, tls12)
    tls13 = context(pki.ca, *cert)
    tls13.minimum_version = ssl.TLSVersion.TLSv1_3
    assert _raw_get(port, tls13) == b""
    assert len(mtls_layer.requests) == seen
    good = context(pki.ca, pki.client_cert, pki.client_key)
    assert _raw_get(port, good).startswith(b"HTTP/1.1 200")
    assert mtls_layer.requests[seen:] == ["/health"]


def test_plain_http_is_not_served_on_the_tls_port(mtls_layer: Layer) -> None:
    plain = mtls_layer.url.replace("https://", "http://")
    with httpx.Client(timeout=10) as client:
        try:
            r = client.get(f"{plain}/health")
        except REFUSED:
            return
    assert r.status_code == 400  # uvicorn answers a plaintext request on a TLS port with 400


def test_local_ca_issues_server_and_client_certificates(tmp_path: Path) -> None:
    sock = bind("127.0.0.1", 0)
    settings = harness_settings(sock.getsockname()[1], tmp_path, local_ca=True)
    tls = resolve(settings)
    assert tls.mutual and tls.client_cert is not None
    assert tls.client_ca == tls.ca == tmp_path / "state" / "ca" / "ca.pem"
    app = layer_app(tmp_path)
    server = ThreadedServer(app, served=served(settings, "integration", app, sock)).start()
    try:
        with httpx.Client(verify=client_ssl(settings), timeout=10) as client:
            assert client.get(f"{server.url}/health").status_code == 200
        with httpx.Client(verify=context(tls.ca), timeout=10) as client, \
                pytest.raises(REFUSED):
            client.get(f"{server.url}/health")
    finally:
        server.stop()


@pytest.mark.parametrize(("tls", "message"), [
    ({"cert": "CERT"}, "go together"),
    ({"client_ca": "CA"}, "needs integration.tls.cert"),
    ({"client_cert": "CERT", "client_key": "KEY"}, "no such file"),
])
def test_harness_tls_settings_errors_are_one_line(tmp_path: Path, pki: Pki,
                                                  tls: dict[str, str], message: str) -> None:
    files = {"CERT": str(pki.server_cert), "CA": str(pki.ca), "KEY": str(tmp_path / "nope")}
    settings = harness_settings(8443, tmp_path, **{k: files[v] for k, v in tls.items()})
    with pytest.raises(ConfigError) as err:
        resolve(settings)
    assert message in err.value.message and "\n" not in err.value.message
    assert err.value.hint


def test_https_settings_need_an_https_url(tmp_path: Path, pki: Pki) -> None:
    settings = HarnessSettings(state_dir=tmp_path, integration={
        "url": "http://127.0.0.1:8100", "tls": {"cert": pki.server_cert,
                                                "key": pki.server_key}})
    sock = bind("127.0.0.1", 0)
    try:
        with pytest.raises(ConfigError, match="https"):
            served(settings, "integration", object(), sock)
    finally:
        sock.close()


def test_layer_tls_settings(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    assert TlsSettings().uvicorn_options() == {}
    mutual = TlsSettings(cert_file=pki.server_cert, key_file=pki.server_key,
                         client_ca_file=pki.ca)
    assert mutual.uvicorn_options() == {
        "ssl_certfile": str(pki.server_cert), "ssl_keyfile": str(pki.server_key),
        "ssl_ca_certs": str(pki.ca), "ssl_cert_reqs": ssl.CERT_REQUIRED}
    with pytest.raises(ValueError, match=r"needs tls\.cert_file"):
        TlsSettings(client_ca_file=pki.ca)
    monkeypatch.setenv("O2C_TLS__CERT_FILE", str(pki.server_cert))
    monkeypatch.setenv("O2C_TLS__KEY_FILE", str(pki.server_key))
    from_env = Settings()
    assert from_env.tls.enabled and not from_env.tls.mutual
