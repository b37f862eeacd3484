"""The harness as an OAuth2 client of the layer's API: credentials from ``[integration]``
(``client_id``, ``client_secret``, ``token_url``, ``scope``), the ``httpx.Auth`` every harness
client of the layer uses (:class:`scenarios.layer_auth.LayerAuth`), a token for tools that
take a static header (the Pact verifier, schemathesis), and the client a layer the harness
serves itself is configured with (so ``harness up``/``check``/``load`` and the harness always
agree on credentials)."""

from __future__ import annotations

from typing import Any

from scenarios.layer_auth import ClientCredentials, LayerAuth, fetch_token

from .config import HarnessSettings


def credentials(settings: HarnessSettings, url: str | None = None) -> ClientCredentials | None:
    """The harness' client of the layer at ``url`` (default ``integration.url``); None when
    ``integration.client_id`` is unset (a layer without authentication)."""
    integration = settings.integration
    if not integration.client_id:
        return None
    base = (url or str(integration.url)).rstrip("/")
    token_url = str(integration.token_url) if integration.token_url else f"{base}/oauth/token"
    return ClientCredentials(integration.client_id,
                             integration.client_secret.get_secret_value(), token_url,
                             integration.scope)


def auth(settings: HarnessSettings, url: str | None = None) -> LayerAuth | None:
    """An ``httpx.Auth`` adding the harness' bearer token to requests under ``url`` only."""
    creds = credentials(settings, url)
    base = (url or str(settings.integration.url)).rstrip("/")
    return LayerAuth(creds, base) if creds else None


def bearer_headers(settings: HarnessSettings, url: str | None = None,
                   verify: Any = None) -> dict[str, str]:
    """``{"Authorization": "Bearer ..."}`` with a token fetched now (empty without a client).
    Raises ``scenarios.layer_auth.TokenError`` when the layer refuses the client. ``verify``
    defaults to the ``[integration.tls]`` client context (mutual TLS, ``harness.layer_tls``)."""
    creds = credentials(settings, url)
    if creds is None:
        return {}
    token, _ = fetch_token(creds, verify=verify if verify is not None else verify_of(settings))
    return {"Authorization": f"Bearer {token}"}


def verify_of(settings: HarnessSettings) -> Any:
    """``verify=`` for an httpx client of the layer (S1-B's ``[integration.tls]``: the CA to
    trust and the harness' client certificate; ``True`` when nothing is configured)."""
    from .layer_tls import client_ssl

    return client_ssl(settings)


def served_layer_auth(settings: HarnessSettings) -> dict[str, Any]:
    """The ``auth`` settings of a layer the harness serves: the harness' own client (all
    scopes) is the client it accepts."""
    integration = settings.integration
    if not integration.client_id:
        return {"required": False}
    return {"clients": [{"client_id": integration.client_id,
                         "client_secret": integration.client_secret.get_secret_value(),
                         "description": "the o2c harness"}]}


__all__ = ["auth", "bearer_headers", "credentials", "served_layer_auth", "verify_of"]
