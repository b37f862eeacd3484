"""The base every canonical model shares: strict, closed, and explicit about time and money."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Canonical(BaseModel):
    """A canonical record: strict types, no unknown fields, validated on assignment."""

    model_config = ConfigDict(strict=True, extra="forbid", validate_assignment=True,
                              populate_by_name=True)


class System(StrEnum):
    """The systems of record the integration layer connects (and itself)."""

    CRM = "crm"
    BILLING = "billing"
    TAX = "tax"
    PAYMENTS = "payments"
    CLOUD_ERP = "cloud_erp"
    LEGACY_ERP = "legacy_erp"
    INTEGRATION = "integration"


class Erp(StrEnum):
    """The two ERPs a legal entity can be routed to by the wave plan."""

    CLOUD_ERP = "cloud_erp"
    LEGACY_ERP = "legacy_erp"


CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=255)]
MinorUnits = Annotated[int, Field(description="amount in the currency's minor unit (cents)")]
CorrelationId = Annotated[str, StringConstraints(min_length=1, max_length=128)]

# ISO 4217 exponents that are not 2 (the currencies the landscape uses, and common others)
_EXPONENT = {"JPY": 0, "KRW": 0, "CLP": 0, "VND": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3,
             "JOD": 3, "TND": 3}


def currency_exponent(currency: str) -> int:
    """Number of decimal places of ``currency`` (2 unless ISO 4217 says otherwise)."""
    return _EXPONENT.get(currency.upper(), 2)
