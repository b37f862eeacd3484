"""An HTTPS Salesforce simulator per test module, reset before each test, and the SDK."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

from simulators._kit import TLSFiles, build_app, ensure_server_cert, serve_in_thread
from simulators._kit.testing import WebhookRecorder
from simulators.salesforce_crm import Config, SalesforceSimulator

CLIENT_ID = Config().client_id
CLIENT_SECRET = Config().client_secret.get_secret_value()
USERNAME = Config().username
PASSWORD = Config().password.get_secret_value()
SECURITY_TOKEN = Config().security_token.get_secret_value()


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


@pytest.fixture
def receiver() -> Iterator[WebhookRecorder]:
    """A change-event receiver served over HTTP; remembers every POST."""
    with WebhookRecorder().serve("/cdc") as rec:
        yield rec
