"""How every client of the integration layer authenticates: OAuth2 client credentials
(RFC 6749 §4.4) against the layer's token endpoint, the token sent as a bearer token.

:class:`LayerAuth` is an ``httpx.Auth``: it adds ``Authorization: Bearer`` to requests under
the layer's base URL only (a client shared with the simulators never sends the token to a
vendor), fetches a token through the same client when it has none or it is about to expire,
and fetches a new one once when the layer answers 401 ``invalid_token`` (a restarted layer
signs with a new key). A refused token request is answered to the caller as is (its 401
``invalid_client`` or 5xx), so callers' error handling and retries see the real answer.

Plain ``httpx`` (no harness imports): the harness, the scenarios, the Locust files and tests
share it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import httpx

#: refresh a token this long before it expires
EARLY_S = 30.0


@dataclass(frozen=True)
class ClientCredentials:
    """An OAuth2 client of the layer and where to get its tokens."""

    client_id: str
    client_secret: str
    token_url: str
    scope: str | None = None

    def form(self) -> dict[str, str]:
        form = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self.client_secret}
        if self.scope:
            form["scope"] = self.scope
        return form


class TokenError(httpx.HTTPError):
    """The token endpoint answered something that is not a token."""


def parse_token(response: httpx.Response) -> tuple[str, float]:
    """(access token, monotonic expiry) of an RFC 6749 §5.1 answer."""
    try:
        body = response.json()
        token = str(body["access_token"])
        expires_in = float(body.get("expires_in", 300))
    except (ValueError, KeyError, TypeError):
        raise TokenError(f"the token endpoint answered {response.status_code} without a "
                         f"token: {response.text[:200]}") from None
    return token, time.monotonic() + expires_in


def fetch_token(credentials: ClientCredentials, *, timeout: float = 30.0,
                verify: Any = True) -> tuple[str, float]:
    """One token, fetched with a throw-away client; raises :class:`TokenError` if refused."""
    response = httpx.post(credentials.token_url, data=credentials.form(), timeout=timeout,
                          verify=verify)
    if response.status_code != 200:
        raise TokenError(f"token request for {credentials.client_id} refused: "
                         f"{response.status_code} {response.text[:200]}")
    return parse_token(response)


class LayerAuth(httpx.Auth):
    """Bearer tokens of one OAuth2 client for requests under ``base_url`` (all requests when
    it is None)."""

    requires_response_body = True

    def __init__(self, credentials: ClientCredentials, base_url: str | None = None) -> None:
        self.credentials = credentials
        self.base_url = base_url.rstrip("/") if base_url else None
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0

    def _applies(self, request: httpx.Request) -> bool:
        if self.base_url is None:
            return True
        url = str(request.url)
        return url == self.base_url or url.startswith(self.base_url + "/") or \
            url.startswith(self.base_url + "?")

    def _current(self) -> str | None:
        with self._lock:
            if self._token and time.monotonic() < self._expires - EARLY_S:
                return self._token
            return None

    def _store(self, token: str, expires: float) -> None:
        with self._lock:
            self._token, self._expires = token, expires

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def headers(self, *, verify: Any = True) -> dict[str, str]:
        """The ``Authorization`` header with a current token (fetched now if needed), for
        clients that are not ``httpx`` (Locust's FastHttpUser, the Pact verifier)."""
        token = self._current()
        if token is None:
            token, expires = fetch_token(self.credentials, verify=verify)
            self._store(token, expires)
        return {"Authorization": f"Bearer {token}"}

    @classmethod
    def from_env(cls, base_url: str, environ: Any = None) -> LayerAuth | None:
        """The client named by ``O2C_LAYER_CLIENT_ID``/``_SECRET`` (and ``_TOKEN_URL``,
        default ``<base_url>/oauth/token``; ``_SCOPE``): how ``harness load`` hands its
        credentials to the Locust processes (never on their command line). None if unset."""
        import os

        env = os.environ if environ is None else environ
        client_id = env.get("O2C_LAYER_CLIENT_ID")
        if not client_id:
            return None
        base = base_url.rstrip("/")
        return cls(ClientCredentials(client_id, env.get("O2C_LAYER_CLIENT_SECRET", ""),
                                     env.get("O2C_LAYER_TOKEN_URL") or f"{base}/oauth/token",
                                     env.get("O2C_LAYER_SCOPE") or None), base)

    def _token_request(self) -> httpx.Request:
        return httpx.Request("POST", self.credentials.token_url, data=self.credentials.form(),
                             headers={"Accept": "application/json"})

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response,
                                                               None]:
        if not self._applies(request) or request.url.path.endswith("/oauth/token"):
            yield request
            return
        token = self._current()
        fetched = token is None
        if token is None:
            answer = yield self._token_request()
            if answer.status_code != 200:
                return  # the caller gets the token endpoint's refusal (401, 5xx) as it is
            token, expires = parse_token(answer)
            self._store(token, expires)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and not fetched and \
                "invalid_token" in response.headers.get("www-authenticate", ""):
            self.invalidate()  # the layer no longer knows this token (restarted): once more
            answer = yield self._token_request()
            if answer.status_code != 200:
                return
            token, expires = parse_token(answer)
            self._store(token, expires)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


__all__ = ["ClientCredentials", "LayerAuth", "TokenError", "fetch_token", "parse_token"]
