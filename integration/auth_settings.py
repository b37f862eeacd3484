"""Settings of the layer's API security (issue 15): OAuth2 clients and their scopes, token
signing and validation (the layer's own issuer, optionally an external issuer's JWKS), and the
data-residency policy. Part of :class:`integration.settings.Settings` (``O2C_AUTH__...``,
``O2C_RESIDENCY__...``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from harness.canonical.secrets import Secret, builtin_secret

#: every scope of the layer's API → what it allows (the OpenAPI's OAuth2 scopes)
SCOPES: dict[str, str] = {
    "customers:write": "onboard customers (POST /customers)",
    "customers:read": "read customers",
    "subscriptions:write": "subscribe customers (POST /subscriptions)",
    "usage:write": "report metered usage (POST /usage)",
    "invoices:read": "read invoices",
    "payments:read": "read payments",
    "routing:read": "read the wave plan",
    "routing:admin": "replace the wave plan (PUT /routing)",
    "ops:read": "timelines, business exceptions, events and metrics",
    "dlq:read": "list dead letters",
    "dlq:replay": "replay or compensate dead letters",
    "audit:read": "read the audit trail",
}

#: the harness' client of the local landscape (``harness.toml`` [integration] has the same)
HARNESS_CLIENT_ID = "o2c-harness"
#: a marked test value (``test-`` prefix): the local landscape's client, never a real secret
HARNESS_CLIENT_SECRET = "test-o2c-harness-client-secret"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiClient(_Section):
    """One OAuth2 client (client-credentials grant) and the scopes it may be granted."""

    client_id: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]
    client_secret: Secret
    scopes: list[str] = Field(default_factory=lambda: sorted(SCOPES))
    description: str = ""

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SCOPES))
        if unknown:
            raise ValueError(f"unknown scope(s) {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(SCOPES))}")
        return value


def _default_clients() -> list[ApiClient]:
    return [ApiClient(client_id=HARNESS_CLIENT_ID,
                      client_secret=builtin_secret(HARNESS_CLIENT_SECRET),
                      description="the o2c harness (gate, oracle, load, contracts, fuzz)")]


class AuthSettings(_Section):
    """Who may call the layer's API. Tokens are JWTs the layer signs itself (HS256; the key is
    random per process unless configured, so a restart invalidates old tokens and clients
    fetch new ones), or, with ``jwks_url``, also those of an external issuer (RS256/ES256
    validated against its JWKS)."""

    required: bool = Field(default=True, description="false: every route is open (only for "
                                                     "a layer behind an authenticating proxy)")
    issuer: str = Field(default="urn:o2c:integration-layer", min_length=1)
    audience: str = Field(default="o2c-integration-api", min_length=1)
    token_ttl_s: Annotated[int, Field(ge=30, le=86400)] = 3600
    leeway_s: Annotated[int, Field(ge=0, le=300)] = 30
    signing_key: Secret | None = Field(
        default=None, description="HS256 key of the tokens this layer issues (>= 32 bytes); "
                                  "none: a random one per process")
    clients: list[ApiClient] = Field(default_factory=_default_clients)
    jwks_url: str | None = Field(default=None, description="also accept tokens of an "
                                 "external issuer, validated against this JWKS")
    jwks_issuer: str | None = None
    jwks_audience: str | None = None
    jwks_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    audit_reads: bool = Field(default=False, description="audit reads too (default: "
                                                         "commands and refusals only)")

    @field_validator("signing_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("an HS256 signing key needs at least 32 bytes")
        return value

    @model_validator(mode="after")
    def _jwks_complete(self) -> AuthSettings:
        if self.jwks_url and not self.jwks_issuer:
            raise ValueError("jwks_url needs jwks_issuer (the iss of that issuer's tokens)")
        ids = [c.client_id for c in self.clients]
        if len(ids) != len(set(ids)):
            raise ValueError("client ids must be unique")
        return self


def _default_country_regions() -> dict[str, str]:
    eu = ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
          "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS",
          "LI", "NO"]  # EU + EEA
    return {**dict.fromkeys(eu, "eu"), "GB": "uk", "CH": "ch", "US": "us", "CA": "ca",
            "JP": "jp"}


class ResidencySettings(_Section):
    """Data residency: a customer's region (by country; a legal entity by its country prefix)
    decides which endpoint regions may receive its data. A region without a rule may go
    anywhere. The local landscape's endpoints are declared ``eu``."""

    enforce: bool = True
    country_regions: dict[str, str] = Field(default_factory=_default_country_regions)
    allowed: dict[str, list[str]] = Field(
        default_factory=lambda: {"eu": ["eu"]},
        description="customer region → endpoint regions allowed to receive its data")
    legal_entity_regions: dict[str, str] = Field(
        default_factory=dict, description="a legal entity's region when its first two "
                                          "letters are not its country")

    def region_of_country(self, country: str) -> str | None:
        return self.country_regions.get(country.upper())

    def region_of_legal_entity(self, legal_entity: str) -> str | None:
        return self.legal_entity_regions.get(legal_entity) or \
            self.region_of_country(legal_entity[:2])

    def allows(self, customer_region: str | None, endpoint_region: str) -> bool:
        if not self.enforce or customer_region is None:
            return True
        allowed = self.allowed.get(customer_region)
        return allowed is None or endpoint_region in allowed
