"""The integration API's authentication and authorization (issue 15, S1-A): the OAuth2
client-credentials token endpoint (RFC 6749), bearer tokens on every operation (RFC 6750:
401 without or with a bad/expired/foreign token, 403 without the operation's scope), the
OpenAPI's security schemes, an external issuer's JWKS, and schemathesis' ``ignored_auth``.

Every operation is taken from the served OpenAPI, so a new route without a scope fails here.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from integration import Settings, create_app
from integration.auth import Principal, require
from integration.auth_settings import HARNESS_CLIENT_ID, HARNESS_CLIENT_SECRET, SCOPES

KEY = "k" * 40  # a known HS256 key, so the tests can forge tokens the layer must refuse
OPEN = {("get", "/health"), ("get", "/openapi.json"), ("post", "/oauth/token")}
WEBHOOKS = re.compile(r"^/webhooks/")


def _settings(tmp: Path, **auth: Any) -> Settings:
    clients = [
        {"client_id": HARNESS_CLIENT_ID, "client_secret": HARNESS_CLIENT_SECRET},
        {"client_id": "portal", "client_secret": "test-portal-secret",
         "scopes": ["customers:read", "invoices:read", "payments:read"]},
    ]
    return Settings(database_url=f"sqlite:///{tmp / 'auth.db'}", register_webhooks=False,
                    log_level="warning", crm={"poll_interval_s": 0}, sweep_interval_s=60,
                    auth={"signing_key": KEY, "clients": clients, **auth})


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(_settings(tmp_path_factory.mktemp("auth")))
    with TestClient(app) as test_client:
        yield test_client


def _token(client: TestClient, scope: str | None = None, client_id: str = HARNESS_CLIENT_ID,
           secret: str = HARNESS_CLIENT_SECRET) -> str:
    form = {"grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret, **({"scope": scope} if scope is not None else {})}
    r = client.post("/oauth/token", data=form)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _operations(client: TestClient) -> list[tuple[str, str, list[str]]]:
    """(method, path, scopes) of every operation of the served OpenAPI."""
    spec = client.get("/openapi.json").json()
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            scopes = [s for req in op.get("security", []) for s in req.get("OAuth2", [])]
            out.append((method, path, scopes))
    return out


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


# -- the token endpoint ------------------------------------------------------------------------
def test_client_credentials_grant_answers_rfc6749_with_a_jwt(client: TestClient) -> None:
    r = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                          "client_id": HARNESS_CLIENT_ID,
                                          "client_secret": HARNESS_CLIENT_SECRET})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store" and r.headers["pragma"] == "no-cache"
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert set(body["scope"].split()) == set(SCOPES)  # no scope asked: all the client has
    claims = jwt.decode(body["access_token"], KEY, algorithms=["HS256"],
                        audience="o2c-integration-api", issuer="urn:o2c:integration-layer")
    assert claims["sub"] == claims["client_id"] == HARNESS_CLIENT_ID
    assert claims["exp"] - claims["iat"] == 3600 and claims["jti"]
    assert jwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"


def test_http_basic_client_authentication_and_a_scope_subset(client: TestClient) -> None:
    basic = base64.b64encode(f"portal:{'test-portal-secret'}".encode()).decode()
    r = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                          "scope": "invoices:read"},
                    headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "invoices:read"


@pytest.mark.parametrize(("form", "basic", "status", "error"), [
    ({"grant_type": "client_credentials", "client_id": HARNESS_CLIENT_ID,
      "client_secret": "wrong"}, None, 401, "invalid_client"),
    ({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
     None, 401, "invalid_client"),
    ({"grant_type": "client_credentials"}, ("portal", "wrong"), 401, "invalid_client"),
    ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
    ({"grant_type": "password", "client_id": HARNESS_CLIENT_ID,
      "client_secret": HARNESS_CLIENT_SECRET}, None, 400, "unsupported_grant_type"),
    ({"client_id": HARNESS_CLIENT_ID, "client_secret": HARNESS_CLIENT_SECRET}, None, 400,
     "invalid_request"),
    ({"grant_type": "client_credentials", "scope": "routing:admin"},
     ("portal", "test-portal-secret"), 400, "invalid_scope"),  # not allowed to that client
    ({"grant_type": "client_credentials", "client_id": HARNESS_CLIENT_ID,
      "client_secret": HARNESS_CLIENT_SECRET, "scope": "root"}, None, 400, "invalid_scope"),
    ({"grant_type": "client_credentials", "client_id": "portal",
      "client_secret": "test-portal-secret"}, ("portal", "test-portal-secret"), 400,
     "invalid_request"),  # two client authentication methods at once
])
def test_token_errors_are_rfc6749_section_5_2(client: TestClient, form: dict[str, str],
                                              basic: tuple[str, str] | None, status: int,
                                              error: str) -> None:
    r = client.post("/oauth/token", data=form, auth=basic)
    assert r.status_code == status, r.text
    assert r.json()["error"] == error and r.json()["error_description"]
    assert r.headers["cache-control"] == "no-store"
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Basic ")
    assert "access_token" not in r.json()


def test_token_request_must_be_form_encoded(client: TestClient) -> None:
    r = client.post("/oauth/token", json={"grant_type": "client_credentials",
                                          "client_id": HARNESS_CLIENT_ID,
                                          "client_secret": HARNESS_CLIENT_SECRET})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


# -- every operation ---------------------------------------------------------------------------
def test_every_operation_but_health_openapi_token_and_webhooks_needs_one_scope(
        client: TestClient) -> None:
    ops = _operations(client)
    assert len(ops) > 15
    for method, path, scopes in ops:
        if (method, path) in OPEN or WEBHOOKS.match(path):
            assert scopes == [], (method, path)
        else:
            assert len(scopes) == 1 and scopes[0] in SCOPES, (method, path, scopes)
    used = {s for _, _, scopes in ops for s in scopes}
    assert used == set(SCOPES), set(SCOPES) - used  # no scope that guards nothing


def test_without_a_token_every_secured_operation_answers_401(client: TestClient) -> None:
    for method, path, scopes in _operations(client):
        if not scopes:
            continue
        r = client.request(method.upper(), _concrete(path))
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 401 and r.json()["title"] == "Unauthorized"
        # RFC 6750 §3.1: no error code when the request had no credentials
        challenge = r.headers["www-authenticate"]
        assert challenge.startswith('Bearer realm="o2c-integration"'), challenge
        assert "error=" not in challenge and f'scope="{scopes[0]}"' in challenge


def _forged(**over: Any) -> str:
    now = int(time.time())
    claims = {"iss": "urn:o2c:integration-layer", "sub": HARNESS_CLIENT_ID,
              "aud": "o2c-integration-api", "iat": now, "exp": now + 600,
              "client_id": HARNESS_CLIENT_ID, "scope": " ".join(SCOPES)}
    key = over.pop("_key", KEY)
    algorithm = over.pop("_alg", "HS256")
    claims.update(over)
    for name in [k for k, v in claims.items() if v is None]:
        del claims[name]
    return jwt.encode(claims, key, algorithm=algorithm)


@pytest.mark.parametrize(("token", "reason"), [
    ("not-a-jwt", "malformed"),
    (_forged(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200), "expired"),
    (_forged(_key="another-key-another-key-another-key!"), "invalid token"),
    (_forged(aud="someone-else"), "invalid token"),
    (_forged(iss="https://evil.example"), "invalid token"),
    (_forged(exp=None), "invalid token"),
    (jwt.encode({"sub": "x", "scope": "routing:read"}, None, algorithm="none"),
     "not accepted"),
])
def test_a_bad_expired_or_foreign_token_is_401_invalid_token(client: TestClient, token: str,
                                                             reason: str) -> None:
    r = client.get("/routing", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text
    challenge = r.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge, challenge
    assert reason in r.json()["detail"], r.json()
    assert r.json()["error"] == "invalid_token"


def test_a_non_bearer_authorization_is_401(client: TestClient) -> None:
    r = client.get("/routing", auth=(HARNESS_CLIENT_ID, HARNESS_CLIENT_SECRET))
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]


def test_a_token_without_the_operations_scope_is_403_on_every_operation(
        client: TestClient) -> None:
    """The wrong-scope check over the OpenAPI: for each operation, a token holding every
    scope but the one it requires is refused with 403 insufficient_scope."""
    checked = 0
    for method, path, scopes in _operations(client):
        if not scopes:
            continue
        others = " ".join(sorted(set(SCOPES) - set(scopes)))
        token = _token(client, others)
        r = client.request(method.upper(), _concrete(path),
                           headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        challenge = r.headers["www-authenticate"]
        assert 'error="insufficient_scope"' in challenge and f'scope="{scopes[0]}"' in \
            challenge, challenge
        assert r.json()["error"] == "insufficient_scope" and r.json()["scope"] == scopes[0]
        checked += 1
    assert checked > 15


def test_the_right_scope_passes_auth(client: TestClient) -> None:
    token = _token(client, "routing:read audit:read ops:read")
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/routing", headers=auth).status_code == 200
    assert client.get("/exceptions", headers=auth).status_code == 200
    assert client.get("/audit", headers=auth).status_code == 200
    # a read-only client cannot change the wave plan
    assert client.put("/routing", json={"entries": []}, headers=auth).status_code == 403


def test_open_routes_stay_open(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    # webhook receivers answer on the vendor's signature, not on a bearer token
    r = client.post("/webhooks/stripe", content=b"{}", headers={
        "Stripe-Signature": "t=1,v1=00", "content-type": "application/json"})
    assert r.status_code not in (403,) and "Bearer" not in r.headers.get("www-authenticate", "")


def test_openapi_documents_the_oauth2_scheme_and_401_403(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    scheme = spec["components"]["securitySchemes"]["OAuth2"]
    flow = scheme["flows"]["clientCredentials"]
    assert scheme["type"] == "oauth2" and flow["tokenUrl"] == "/oauth/token"
    assert set(flow["scopes"]) == set(SCOPES)
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if op.get("security"):
                for code in ("401", "403"):
                    response = op["responses"][code]
                    assert "WWW-Authenticate" in response["headers"], (method, path, code)
                    assert "application/problem+json" in response["content"]


def test_committed_openapi_has_the_security_schemes() -> None:
    committed = json.loads(Path("contracts/openapi/integration.json").read_text())
    assert "OAuth2" in committed["components"]["securitySchemes"]
    assert "BearerJWT" in committed["components"]["securitySchemes"]
    assert committed["paths"]["/routing"]["put"]["security"] == [
        {"OAuth2": ["routing:admin"]}, {"BearerJWT": ["routing:admin"]}]


def test_auth_not_required_opens_every_route(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, required=False))
    with TestClient(app) as open_client:
        assert open_client.get("/routing").status_code == 200


# -- an external issuer (JWKS) -------------------------------------------------------------------
@pytest.fixture(scope="module")
def jwks() -> Iterator[tuple[str, Any]]:
    """An issuer's JWKS served on 127.0.0.1 (RS256 key ``k1``), and its private key."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json", private
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_tokens_of_a_configured_issuer_are_validated_against_its_jwks(
        tmp_path: Path, jwks: tuple[str, Any]) -> None:
    url, private = jwks
    app = create_app(_settings(tmp_path, jwks_url=url, jwks_issuer="https://idp.example",
                               jwks_audience="o2c-api"))
    now = int(time.time())
    claims = {"iss": "https://idp.example", "sub": "svc-orders", "aud": "o2c-api",
              "iat": now, "exp": now + 300, "scope": "routing:read"}
    good = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k1"})
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other, algorithm="RS256", headers={"kid": "k1"})
    unknown_kid = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k9"})
    wrong_aud = jwt.encode({**claims, "aud": "o2c-integration-api"}, private,
                           algorithm="RS256", headers={"kid": "k1"})
    with TestClient(app) as c:
        def get(token: str, path: str = "/routing") -> Any:
            return c.get(path, headers={"Authorization": f"Bearer {token}"})

        assert get(good).status_code == 200
        assert get(good, "/audit").status_code == 403  # its scope is routing:read only
        for bad in (forged, unknown_kid, wrong_aud):
            r = get(bad)
            assert r.status_code == 401 and 'error="invalid_token"' in \
                r.headers["www-authenticate"], r.text
        # the layer's own tokens keep working next to the external issuer's
        assert get(_token(c, "routing:read")).status_code == 200
        entries = c.get("/audit", params={"client_id": "svc-orders"}, headers={
            "Authorization": f"Bearer {_token(c, 'audit:read')}"}).json()["entries"]
        assert [e["outcome"] for e in entries] == ["denied"]  # its 403 on /audit


# -- schemathesis ------------------------------------------------------------------------------
def _ignored_auth_findings(app: Any) -> tuple[list[Any], int]:
    import schemathesis
    from schemathesis.python.asgi import get_client

    from harness.fuzz import (
        INTEGRATION,
        Credentials,
        TargetResult,
        credentials_fetcher,
        prepare_schema,
        run_schema,
        schemathesis_config,
    )
    from scenarios.layer_auth import ClientCredentials

    config = schemathesis_config(INTEGRATION, max_examples=2, seed=1, phases=("examples",
                                                                              "fuzzing"))
    config.projects.default.checks.update(included_check_names=["ignored_auth"])
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)

    def session() -> Any:
        return get_client(app)

    creds = ClientCredentials(HARNESS_CLIENT_ID, HARNESS_CLIENT_SECRET, "/oauth/token")
    prepare_schema(schema, Credentials(credentials_fetcher(INTEGRATION, creds), session),
                   session)
    # exclude, not include: the loaded schema's own include filter matches every operation
    reads = schema.exclude(func=lambda ctx: ctx.operation.method.upper() != "GET")
    result = run_schema(INTEGRATION, reads, TargetResult(INTEGRATION, "asgi"),
                        emit=lambda e: None)
    return [f for f in result.findings if f.check == "ignored_auth"], result.cases


@pytest.mark.fuzz
def test_schemathesis_ignored_auth_finds_nothing(client: TestClient) -> None:
    findings, cases = _ignored_auth_findings(client.app)
    assert cases > 0
    assert findings == [], [(f.operation, f.message) for f in findings]


@pytest.mark.fuzz
def test_schemathesis_ignored_auth_catches_a_route_that_ignores_its_token(
        tmp_path: Path) -> None:
    """The check can fail: with authentication bypassed, it reports the operations."""
    app = create_app(_settings(tmp_path))
    app.dependency_overrides[require] = lambda: Principal("bypass", frozenset(SCOPES))
    with TestClient(app):
        findings, _ = _ignored_auth_findings(app)
    assert {f.operation for f in findings} >= {"GET /routing", "GET /audit"}, findings
