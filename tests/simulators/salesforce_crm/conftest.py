"""An HTTPS Salesforce simulator per test module, reset before each test, and the SDK."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

from simulators._kit import TLSFiles, build_app, ensure_server_cert, serve_in_thread
from simulators.salesforce_crm import Config, SalesforceSimulator

CLIENT_ID = Config().client_id
CLIENT_SECRET = Config().client_secret
USERNAME = Config().username
PASSWORD = Config().password
SECURITY_TOKEN = Config().security_token


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return ensure_server_cert(tmp_path_factory.mktemp("ca"))


@dataclass
class Org:
    """A running simulator: its URL, an admin client, and a way to log in."""

    url: str
    ca: str
    admin: httpx.Client
    sessions: list[requests.Session] = field(default_factory=list)

    def http(self) -> requests.Session:
        session = requests.Session()
        self.sessions.append(session)
        # REQUESTS_CA_BUNDLE in the environment would override session.verify otherwise
        session.trust_env = False
        session.verify = self.ca
        # one connection per request: an idle TLS keep-alive connection left behind by a test
        # would hold up the server's graceful shutdown for its full timeout
        session.headers["Connection"] = "close"
        return session

    def token(self) -> dict[str, Any]:
        resp = self.http().post(f"{self.url}/services/oauth2/token", data={
            "grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "username": USERNAME, "password": PASSWORD + SECURITY_TOKEN})
        resp.raise_for_status()
        return resp.json()  # type: ignore[no-any-return]

    def sdk(self, version: str | None = None) -> Salesforce:
        token = self.token()
        kwargs: dict[str, Any] = {"version": version} if version else {}
        return Salesforce(instance_url=token["instance_url"], session_id=token["access_token"],
                          session=self.http(), **kwargs)


def serve_org(tls: TLSFiles, config: Config | None = None) -> Any:
    return serve_in_thread(build_app(SalesforceSimulator(config)), tls=tls, name="crm")


def trust(tls: TLSFiles) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls.ca_cert))


@pytest.fixture(scope="module")
def served(tls: TLSFiles) -> Iterator[Org]:
    with serve_org(tls) as server, httpx.Client(base_url=server.url, verify=trust(tls),
                                                timeout=10) as admin:
        yield Org(server.url, str(tls.ca_cert), admin)


@pytest.fixture
def org(served: Org) -> Iterator[Org]:
    served.admin.post("/_sim/reset").raise_for_status()
    yield served
    while served.sessions:
        served.sessions.pop().close()


@pytest.fixture
def sf(org: Org) -> Salesforce:
    return org.sdk()


class LoginRedirect(HTTPAdapter):
    """Sends the SDK's hard-wired https://login.salesforce.com calls to the simulator."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        assert request.url is not None
        request.url = request.url.replace("https://login.salesforce.com", self.target, 1)
        return super().send(request, **kwargs)


@dataclass
class Receiver:
    """A webhook receiver served over HTTP; remembers (headers, body) of each POST."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[bytes]:
        with self.lock:
            return [b for _, b in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        with rec.lock:
            rec.received.append(({k.decode(): v.decode() for k, v in scope["headers"]}, body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with serve_in_thread(app, name="receiver") as server:
        rec.url = f"{server.url}/cdc"
        yield rec
