"""OAuth2 for the layer's API (issue 15): the client-credentials grant (RFC 6749 §4.4) at
``POST /oauth/token``, bearer tokens (RFC 6750) that are JWTs (RFC 9068 claims: iss, sub,
aud, exp, iat, jti, client_id, scope), and one scope per route.

- :class:`TokenIssuer` checks client credentials (form or HTTP Basic, RFC 6749 §2.3.1),
  grants a subset of the client's scopes and signs the token (HS256 with the layer's key).
- :class:`TokenValidator` validates a token: signature, ``exp``/``iat``/``iss``/``aud``;
  with ``auth.jwks_url`` also tokens of an external issuer against its JWKS (PyJWKClient).
- :func:`require` is the FastAPI security dependency of a route:
  ``Security(require, scopes=["customers:write"])``. Without a token: 401 with
  ``WWW-Authenticate: Bearer realm=...`` (RFC 6750 §3.1: no error code when the request has
  no credentials); with a bad, expired or foreign token: 401 ``error="invalid_token"``;
  with a valid token lacking the scope: 403 ``error="insufficient_scope"``. Every refusal is
  an RFC 9457 problem and is written to the audit trail.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote

import jwt
from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2, SecurityScopes

from .audit import action_of
from .auth_settings import SCOPES, ApiClient, AuthSettings

REALM = "o2c-integration"
TOKEN_PATH = "/oauth/token"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the client id and the scopes its token grants."""

    client_id: str
    scopes: frozenset[str]
    token_id: str = ""
    issuer: str = ""


class AuthError(Exception):
    """A refused request: rendered as a problem with the RFC 6750 ``WWW-Authenticate``."""

    def __init__(self, status: int, error: str | None, description: str, *,
                 scope: str | None = None, client_id: str | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.scope = scope
        self.client_id = client_id

    def challenge(self) -> str:
        parts = [f'realm="{REALM}"']
        if self.error:
            parts.append(f'error="{self.error}"')
            parts.append(f'error_description="{_quoted(self.description)}"')
        if self.scope:
            parts.append(f'scope="{self.scope}"')
        return "Bearer " + ", ".join(parts)


class TokenError(Exception):
    """An RFC 6749 §5.2 error answer of the token endpoint."""

    def __init__(self, error: str, description: str, status: int = 400, *,
                 basic: bool = False, client_id: str | None = None) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.basic = basic  # the client authenticated with HTTP Basic: challenge with Basic
        self.client_id = client_id


def _quoted(text: str) -> str:
    # RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E
    return "".join(c for c in text if 0x20 <= ord(c) <= 0x7E and c not in '"\\')


@dataclass(frozen=True)
class Grant:
    access_token: str
    expires_in: int
    scope: str

    def body(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "token_type": "Bearer",
                "expires_in": self.expires_in, "scope": self.scope}


class TokenIssuer:
    """The client-credentials grant: authenticate the client, grant scopes, sign a JWT."""

    def __init__(self, settings: AuthSettings, key: bytes) -> None:
        self.settings = settings
        self.key = key
        self._clients = {c.client_id: c for c in settings.clients}

    def authenticate(self, authorization: str | None, form: dict[str, str]) -> ApiClient:
        """The client of a token request: HTTP Basic or ``client_id``/``client_secret`` in
        the form (RFC 6749 §2.3.1), never both."""
        basic = authorization is not None and authorization[:6].lower() == "basic "
        if basic and ("client_secret" in form):
            raise TokenError("invalid_request", "use one client authentication method "
                             "(HTTP Basic or the form), not both")
        if basic:
            assert authorization is not None
            try:
                raw = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise TokenError("invalid_client", "malformed HTTP Basic credentials", 401,
                                 basic=True) from None
            client_id, sep, secret = raw.partition(":")
            if not sep:
                raise TokenError("invalid_client", "malformed HTTP Basic credentials", 401,
                                 basic=True)
            # §2.3.1: both are form-urlencoded before Basic encoding
            client_id, secret = unquote(client_id.replace("+", " ")), \
                unquote(secret.replace("+", " "))
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            if not client_id:
                raise TokenError("invalid_client", "no client authentication (HTTP Basic or "
                                 "client_id and client_secret in the form)", 401)
        client = self._clients.get(client_id)
        expected = client.client_secret.get_secret_value() if client else secrets.token_hex(16)
        if client is None or not hmac.compare_digest(secret.encode(), expected.encode()):
            raise TokenError("invalid_client", "unknown client or wrong secret", 401,
                             basic=basic, client_id=client_id[:200] or None)
        return client

    def grant(self, client: ApiClient, requested: str | None) -> Grant:
        allowed = set(client.scopes)
        if requested is None or not requested.strip():
            scopes = allowed
        else:
            scopes = set(requested.split())
            unknown = sorted(scopes - set(SCOPES))
            if unknown:
                raise TokenError("invalid_scope", f"unknown scope {unknown[0]!r}",
                                 client_id=client.client_id)
            refused = sorted(scopes - allowed)
            if refused:
                raise TokenError("invalid_scope", f"client {client.client_id} may not be "
                                 f"granted {refused[0]!r}", client_id=client.client_id)
        scope = " ".join(sorted(scopes))
        now = int(time.time())
        ttl = self.settings.token_ttl_s
        claims = {"iss": self.settings.issuer, "sub": client.client_id,
                  "aud": self.settings.audience, "iat": now, "nbf": now, "exp": now + ttl,
                  "jti": uuid.uuid4().hex, "client_id": client.client_id, "scope": scope}
        token = jwt.encode(claims, self.key, algorithm=ALGORITHM,
                           headers={"typ": "at+jwt"})
        return Grant(token, ttl, scope)


class TokenValidator:
    """Validates bearer tokens: the layer's own (HS256), or an external issuer's (JWKS)."""

    def __init__(self, settings: AuthSettings, key: bytes) -> None:
        self.settings = settings
        self.key = key
        self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=300,
                                     timeout=5) if settings.jwks_url else None

    def validate(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise AuthError(401, "invalid_token", f"malformed token ({exc})") from None
        issuer = unverified.get("iss")
        if self._jwks is not None and issuer == self.settings.jwks_issuer:
            algorithm = header.get("alg")
            if algorithm not in self.settings.jwks_algorithms:
                raise AuthError(401, "invalid_token", f"algorithm {algorithm!r} not accepted")
            try:
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientError as exc:
                raise AuthError(401, "invalid_token", f"no signing key ({exc})") from None
            return self._decode(token, key, self.settings.jwks_algorithms,
                                self.settings.jwks_audience or self.settings.audience,
                                self.settings.jwks_issuer or "")
        if header.get("alg") != ALGORITHM:
            raise AuthError(401, "invalid_token", f"algorithm {header.get('alg')!r} not "
                                                  "accepted")
        return self._decode(token, self.key, [ALGORITHM], self.settings.audience,
                            self.settings.issuer)

    def _decode(self, token: str, key: Any, algorithms: list[str], audience: str,
                issuer: str) -> Principal:
        try:
            claims = jwt.decode(token, key, algorithms=algorithms, audience=audience,
                                issuer=issuer, leeway=self.settings.leeway_s,
                                options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "invalid_token", "the token has expired") from None
        except jwt.PyJWTError as exc:
            raise AuthError(401, "invalid_token", f"invalid token ({exc})") from None
        scope = claims.get("scope", claims.get("scp", ""))
        scopes = scope.split() if isinstance(scope, str) else \
            [str(s) for s in scope] if isinstance(scope, list) else []
        client_id = str(claims.get("client_id") or claims.get("azp") or claims["sub"])
        return Principal(client_id=client_id, scopes=frozenset(scopes),
                         token_id=str(claims.get("jti", "")), issuer=issuer)


class Authority:
    """The layer's issuer and validator, sharing one signing key (per process unless
    configured)."""

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        key = settings.signing_key.get_secret_value().encode() if settings.signing_key \
            else secrets.token_bytes(32)
        self.issuer = TokenIssuer(settings, key)
        self.validator = TokenValidator(settings, key)


#: the OpenAPI security scheme (FastAPI documents it and each route's scopes)
scheme = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(
        tokenUrl=TOKEN_PATH, scopes=SCOPES)),
    scheme_name="OAuth2", auto_error=False,
    description="OAuth2 client credentials: POST /oauth/token, then "
                "`Authorization: Bearer <access_token>`")


#: the same token as an HTTP bearer scheme: tools that do not speak OAuth2 flows (schemathesis'
#: ignored_auth check, API gateways) see that every secured operation wants a bearer token
bearer_scheme = HTTPBearer(scheme_name="BearerJWT", bearerFormat="JWT", auto_error=False,
                           description="an access token of POST /oauth/token (or of the "
                                       "configured external issuer)")


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    kind, _, token = authorization.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise AuthError(401, "invalid_token", "expected `Authorization: Bearer <token>`")
    return token.strip()


def require(security_scopes: SecurityScopes, request: Request,
            authorization: Annotated[str | None, Depends(scheme)] = None,
            _documented: Annotated[HTTPAuthorizationCredentials | None,
                                   Depends(bearer_scheme)] = None) -> Principal:
    """FastAPI security dependency: the caller's principal, holding every scope the route
    declares (``Security(require, scopes=[...])``)."""
    authority: Authority = request.app.state.authority
    needed = security_scopes.scope_str
    if not authority.settings.required:
        principal = Principal("anonymous", frozenset(SCOPES))
    else:
        token = _bearer(authorization)
        if token is None:
            raise AuthError(401, None, "this operation needs a bearer token "
                            f"(POST {TOKEN_PATH}, scope {needed})", scope=needed or None)
        principal = authority.validator.validate(token)
        missing = [s for s in security_scopes.scopes if s not in principal.scopes]
        if missing:
            raise AuthError(403, "insufficient_scope", f"the token of {principal.client_id} "
                            f"lacks the scope {missing[0]}", scope=needed,
                            client_id=principal.client_id)
    request.state.principal = principal
    request.state.audit_action = action_of(request.scope)
    return principal


__all__ = ["ALGORITHM", "REALM", "TOKEN_PATH", "AuthError", "Authority", "Grant",
           "Principal", "TokenError", "TokenIssuer", "TokenValidator", "bearer_scheme", "require",
           "scheme"]
