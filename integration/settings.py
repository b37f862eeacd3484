"""Settings of the integration layer: where each system is, its credentials, the database, the
wave plan. Defaults match ``harness up`` and each simulator's default credentials, so the layer
runs against the local landscape with no configuration. Environment: ``O2C_*`` (nested ``__``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AnyUrl,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    UrlConstraints,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from harness.canonical.secrets import Secret, builtin_secret

from .auth_settings import AuthSettings, ResidencySettings
from .tls_settings import TlsSettings

ErpName = Literal["cloud_erp", "legacy_erp"]
#: where an endpoint is hosted (data residency); the local landscape counts as "eu"
Region = Annotated[str, Field(min_length=2, max_length=20, pattern=r"^[a-z0-9-]+$")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CrmSettings(_Section):
    url: str = "http://127.0.0.1:8101"
    region: Region = "eu"
    api_version: str = "59.0"
    client_id: str = "3MVG9o2cHarnessSimulatorConsumerKey"
    client_secret: Secret = builtin_secret("o2c-client-secret")
    username: str = "integration@o2c.test"
    password: Secret = builtin_secret("o2c-password")
    security_token: Secret = builtin_secret("o2cSecurityToken")
    change_event_secret: Secret = Field(
        default=builtin_secret("o2c-cdc-secret"),
        description="HMAC key of X-Sfdc-Signature on change events")
    signature_tolerance_s: Annotated[int, Field(ge=0)] = Field(
        default=300, description="replay window of change events: X-Sfdc-Timestamp further "
                                 "than this from now (past or future) is refused; 0 disables")
    subscribe_change_events: bool = Field(
        default=True, description="register the change-event receiver with the CRM at start-up")
    poll_interval_s: Annotated[float, Field(ge=0)] = Field(
        default=5.0, description="SOQL polling for Closed Won opportunities; 0 disables")


class BillingSettings(_Section):
    url: str = "http://127.0.0.1:8102"
    region: Region = "eu"
    api_key: Secret = builtin_secret("sk_test_o2c_harness")
    register_webhook: bool = True
    webhook_secret: Secret | None = Field(
        default=None, description="Stripe-Signature secret when the endpoint is registered "
                                  "outside the layer (whsec_...)")
    days_until_due: Annotated[int, Field(ge=0, le=365)] = 30
    signature_tolerance_s: Annotated[int, Field(ge=0)] = 300


class TaxSettings(_Section):
    url: str = "http://127.0.0.1:8103"
    region: Region = "eu"
    account_id: str = "2000000001"
    license_key: Secret = builtin_secret("o2c-test-license")
    company_by_country: dict[str, str] = Field(default_factory=lambda: {
        "US": "O2C-US", "CA": "O2C-CA", "DE": "O2C-DE", "FR": "O2C-FR", "GB": "O2C-GB",
        "JP": "O2C-JP"})
    default_company: str = "O2C"
    tax_code: str = "SW054000"  # SaaS


class PaymentsSettings(_Section):
    url: str = "http://127.0.0.1:8104"
    region: Region = "eu"
    api_key: Secret = builtin_secret("AQE_o2c_test_key")
    merchant_accounts: list[str] = Field(default_factory=lambda: ["O2CHarnessECOM"])
    register_webhook: bool = True
    hmac_key: Secret = Field(
        default=builtin_secret(
            "6F2C9E0D1A7B4C3E8F5A2D9B0C7E6F1A3B8D5C2E9F0A7B4C1D6E3F8A5B2C9D0E"),
        description="hex HMAC key of notifications (replaced by a generated one when the layer "
                    "registers its webhook through the Management API)")


class CloudErpSettings(_Section):
    url: str = "http://127.0.0.1:8105"
    region: Region = "eu"
    username: str = "O2C_COMM_USER"
    password: Secret = builtin_secret("o2c-password")
    sap_client: str = "100"
    payment_terms: str = "NT30"


class LegacyErpSettings(_Section):
    url: str = "http://127.0.0.1:8106"
    region: Region = "eu"
    username: str = "O2C_RFC"
    password: Secret = builtin_secret("Legacy#2004")
    in_doubt_after_s: Annotated[float, Field(ge=0)] = Field(
        default=60.0, description="how long a posting whose answer was lost waits before "
                                  "the layer looks it up (and re-posts only if not booked)")


class WavePlanEntry(_Section):
    """From ``effective_at`` on, ``legal_entity`` posts to ``erp`` in ``company_code``."""

    legal_entity: str = Field(min_length=2, max_length=40)
    erp: ErpName
    company_code: Annotated[str, Field(pattern=r"^[A-Z0-9]{4}$")]
    effective_at: datetime = datetime(2000, 1, 1, tzinfo=UTC)


def _default_wave_plan() -> list[WavePlanEntry]:
    # legal entities still on the legacy ERP, and those already migrated to S/4HANA
    return [
        WavePlanEntry(legal_entity="US01", erp="legacy_erp", company_code="1000"),
        WavePlanEntry(legal_entity="DE01", erp="cloud_erp", company_code="1010"),
        WavePlanEntry(legal_entity="FR01", erp="legacy_erp", company_code="3000"),
        WavePlanEntry(legal_entity="GB01", erp="cloud_erp", company_code="1110"),
        WavePlanEntry(legal_entity="JP01", erp="legacy_erp", company_code="5000"),
    ]


class RetrySettings(_Section):
    """The one retry policy of every adapter (exponential backoff + jitter, Retry-After)."""

    attempts: Annotated[int, Field(ge=1, le=50)] = 6
    timeout_s: Annotated[float, Field(gt=0)] = 30.0
    wait_initial_s: Annotated[float, Field(ge=0)] = 0.1
    wait_max_s: Annotated[float, Field(ge=0)] = 5.0
    wait_jitter_s: Annotated[float, Field(ge=0)] = 0.2
    max_retry_after_s: Annotated[float, Field(ge=0)] = 30.0
    request_timeout_s: Annotated[float, Field(gt=0)] = 15.0


class ReliabilitySettings(_Section):
    """Outbox relay, dead-letter queue and compensation (issue 8)."""

    outbox_interval_s: Annotated[float, Field(gt=0)] = Field(
        default=1.0, description="how often the relay retries events it could not publish")
    compensation: Literal["none", "void", "credit_note"] = Field(
        default="void", description="what billing does with an invoice the ERP rejected for "
                                    "good once its dead letter is older than compensate_after_s")
    compensate_after_s: Annotated[float, Field(ge=0)] = Field(
        default=86400.0, description="time to fix the data and replay before compensating")
    replay_parked_after_s: Annotated[float, Field(ge=0)] = Field(
        default=30.0, description="a parked transient failure (retries exhausted) is retried "
                                  "by the sweep after this long")


_AMQP_URL: TypeAdapter[AnyUrl] = TypeAdapter(Annotated[AnyUrl, UrlConstraints(
    allowed_schemes=["amqp", "amqps"], host_required=True)])


HttpTransport = Literal["aiohttp", "httpx"]  # what carries the adapters' httpx clients


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="O2C_", env_nested_delimiter="__",
                                      extra="forbid")
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8100
    public_url: str = Field(default="http://127.0.0.1:8100",
                            description="where vendors reach this layer's webhook receivers")
    database_url: str = "sqlite:///.harness/integration.db"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    sweep_interval_s: Annotated[float, Field(gt=0)] = Field(
        default=1.0, description="how often held invoices and buffered payments are retried")
    job_concurrency: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=4, description="background jobs (webhook work) run at once; the rest wait "
                               "in arrival order, so a month end's burst of invoices is "
                               "posted a few at a time instead of all interleaved. More "
                               "covers slower vendors (time spent waiting on them) at the "
                               "cost of posting latency under a burst (bench/RESULTS.md)")
    http_transport: HttpTransport = Field(
        default="aiohttp", description="what carries the adapters' httpx clients: aiohttp's "
                                       "connections (about half the client CPU per call, "
                                       "bench/RESULTS.md) or httpx's own transport")
    register_webhooks: bool = Field(default=True,
                                    description="register receivers with vendors at start-up")
    crm: CrmSettings = Field(default_factory=CrmSettings)
    billing: BillingSettings = Field(default_factory=BillingSettings)
    tax: TaxSettings = Field(default_factory=TaxSettings)
    payments: PaymentsSettings = Field(default_factory=PaymentsSettings)
    cloud_erp: CloudErpSettings = Field(default_factory=CloudErpSettings)
    legacy_erp: LegacyErpSettings = Field(default_factory=LegacyErpSettings)
    wave_plan: list[WavePlanEntry] = Field(default_factory=_default_wave_plan)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    bus_url: str | None = Field(default=None, description="amqp://... publishes events to "
                                "RabbitMQ; none: in-process subscribers")
    bus_exchange: str = Field(default="o2c.events", min_length=1, max_length=200)

    @field_validator("bus_url")
    @classmethod
    def _amqp_url(cls, value: str | None) -> str | None:
        """An AMQP URL with a host (``amqp://user:pass@host:5672/vhost``), or none."""
        if not value:
            return None
        _AMQP_URL.validate_python(value)
        return value
    reliability: ReliabilitySettings = Field(default_factory=ReliabilitySettings)
    tls: TlsSettings = Field(default_factory=TlsSettings,
                             description="HTTPS and optional mutual TLS of the layer's listener")
    auth: AuthSettings = Field(default_factory=AuthSettings)
    residency: ResidencySettings = Field(default_factory=ResidencySettings)
