"""The AvaTax REST v2 simulator: endpoints, authentication and AvaTax-shaped fault errors."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from pydantic import Field, model_validator
from starlette.requests import Request

from harness.canonical.secrets import Secret, builtin_secret, reveal
from simulators._kit import (
    Endpoint,
    FaultDecision,
    Simulator,
    SimulatorConfig,
    SimulatorError,
    is_digits,
)

from . import openapi, routes
from .errors import (
    AvaTaxError,
    authentication_failed,
    rate_limited,
    route_not_found,
    server_error,
)
from .models import AvaTaxBackend
from .rates import ISO_COUNTRIES


class Config(SimulatorConfig):
    """AvaTax simulator settings: credentials and the companies (one per legal entity)."""

    accounts: dict[str, Secret] = Field(
        default_factory=lambda: {"2000000001": builtin_secret("o2c-test-license")},
        description="account id → license key (HTTP Basic accountId:licenseKey)")
    bearer_tokens: dict[Secret, str] = Field(
        default_factory=lambda: {builtin_secret("o2c-test-bearer-token"): "2000000001"},
        description="bearer token → account id")
    companies: dict[str, str] = Field(
        default_factory=lambda: {"O2C": "US", "O2C-US": "US", "O2C-CA": "CA", "O2C-DE": "DE",
                                 "O2C-FR": "FR", "O2C-GB": "GB", "O2C-JP": "JP"},
        description="company code → ISO country of the legal entity")
    default_company: str = Field(default="O2C", description="used when companyCode is absent")

    @model_validator(mode="after")
    def _check(self) -> Config:
        if self.default_company not in self.companies:
            raise ValueError("default_company must be one of companies")
        unknown = sorted(c for c in self.companies.values() if c not in ISO_COUNTRIES)
        if unknown:
            raise ValueError(f"unknown company countries: {unknown}")
        if not all(is_digits(account) for account in self.accounts):
            raise ValueError("AvaTax account ids are numeric")
        return self


class AvalaraSimulator(Simulator):
    """AvaTax REST v2: transactions (create, adjust, commit, void), address resolution, ping."""

    name = "tax"
    title = "AvaTax REST v2 (simulated)"
    description = ("Avalara AvaTax REST v2 subset: transactions with jurisdiction-level tax "
                   "from a bundled rate table, address resolution, companies, ping.")
    api_version = "2.25.6"
    backend_class = AvaTaxBackend
    config_class = Config
    config: Config

    def endpoints(self) -> list[Endpoint]:
        ops = openapi.OPERATIONS
        tx = "/api/v2/companies/{companyCode}/transactions"
        return [
            Endpoint("GET", "/api/v2/utilities/ping", routes.ping, ops["ping"], auth=False),
            Endpoint("POST", "/api/v2/transactions/create", routes.create_transaction,
                     ops["create"]),
            Endpoint("POST", "/api/v2/transactions/createoradjust", routes.create_or_adjust,
                     ops["createoradjust"]),
            Endpoint("GET", "/api/v2/companies", routes.list_companies, ops["companies"]),
            Endpoint("GET", tx, routes.list_transactions, ops["list"]),
            Endpoint("GET", tx + "/{transactionCode}", routes.get_transaction, ops["get"]),
            Endpoint("POST", tx + "/{transactionCode}/commit", routes.commit_transaction,
                     ops["commit"]),
            Endpoint("POST", tx + "/{transactionCode}/void", routes.void_transaction,
                     ops["void"]),
            Endpoint("GET", "/api/v2/addresses/resolve", routes.resolve_address_get,
                     ops["resolve_get"]),
            Endpoint("POST", "/api/v2/addresses/resolve", routes.resolve_address_post,
                     ops["resolve_post"]),
        ]

    def try_authenticate(self, request: Request) -> tuple[str, str] | None:
        """``(scheme, account id)`` for valid credentials, else None."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            account, _, key = decoded.partition(":")
            expected = self.config.accounts.get(account)
            if expected is not None and hmac.compare_digest(str(reveal(expected)).encode(),
                                                            key.encode()):
                return ("basic", account)
            return None
        if scheme.lower() == "bearer":
            for token, account in self.config.bearer_tokens.items():
                if hmac.compare_digest(str(reveal(token)).encode(), value.strip().encode()):
                    return ("bearer", account)
        return None

    def authenticate(self, request: Request) -> str | None:
        found = self.try_authenticate(request)
        if found is None:
            raise authentication_failed()
        return found[1]

    def fault_error(self, decision: FaultDecision) -> SimulatorError:
        if decision.action == "rate_limit":
            return rate_limited(decision.retry_after_s)
        if decision.status >= 500:
            return server_error(decision.status)
        if decision.status == 401:
            return authentication_failed()
        return AvaTaxError("GetTaxError", "The request could not be processed.",
                           "Injected fault.", status=decision.status, target="Unknown")

    def not_found(self, request: Request) -> SimulatorError:
        return route_not_found(request.url.path)

    def method_not_allowed(self, request: Request) -> SimulatorError:
        return AvaTaxError("IncorrectPathError", "The HTTP method is not allowed.",
                           f"{request.method} is not supported on {request.url.path}.",
                           status=405, target="HttpRequest")

    def internal_error(self) -> SimulatorError:
        return server_error(500)

    def idempotency_mismatch(self, key: str) -> SimulatorError:
        return AvaTaxError("GetTaxError", "Idempotency key reused with a different request.",
                           key, target="HttpRequestHeaders")

    def idempotency_in_flight(self, key: str) -> SimulatorError:
        return AvaTaxError("GetTaxError", "A request with this idempotency key is in flight.",
                           key, status=409, target="HttpRequestHeaders")

    def openapi_components(self) -> dict[str, Any]:
        return openapi.components()

    def openapi_error_content(self) -> dict[str, Any]:
        return {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResult"}}}

    def openapi_security(self) -> list[dict[str, list[str]]]:
        return [{"basicAuth": []}, {"bearerAuth": []}]
