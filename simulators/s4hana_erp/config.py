"""Settings of the S/4HANA simulator: logon users, company codes, number ranges, periods."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.canonical.secrets import Secret, builtin_secret
from simulators._kit import SimulatorConfig

# ISO 4217 minor units where they are not 2 (SAP table TCURX)
CURRENCY_DECIMALS = {"JPY": 0, "KRW": 0, "HUF": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3,
                     "OMR": 3, "TND": 3}
CURRENCIES = {"EUR", "USD", "GBP", "JPY", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "CZK",
              "HUF", "CNY", "INR", "BRL", "MXN", "SGD", "HKD", "NZD", "ZAR", "KRW", "TRY", "AED"}


class CompanyCode(BaseModel):
    """One legal entity's company code with the accounts the simulator posts to (chart YCOA)."""

    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, Field(pattern=r"^[A-Z0-9]{4}$")]
    name: str
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    city: str = ""
    reconciliation_account: str = "12100000"
    revenue_account: str = "41000000"
    output_tax_account: str = "22000000"
    bank_account: str = "11001000"
    tax_rate: Annotated[float, Field(ge=0, le=1)] = 0.0  # used by seed() only


DEFAULT_COMPANY_CODES = [
    CompanyCode(code="1010", name="O2C Deutschland GmbH", country="DE", currency="EUR",
                city="Walldorf", tax_rate=0.19),
    CompanyCode(code="1110", name="O2C UK Ltd", country="GB", currency="GBP", city="London",
                tax_rate=0.20),
    CompanyCode(code="1210", name="O2C France SAS", country="FR", currency="EUR", city="Paris",
                tax_rate=0.20),
    CompanyCode(code="1510", name="O2C Japan K.K.", country="JP", currency="JPY", city="Tokyo",
                tax_rate=0.10),
    CompanyCode(code="1710", name="O2C Inc.", country="US", currency="USD", city="Palo Alto",
                tax_rate=0.0725),
]
_PERIOD = r"^(\*|[A-Z0-9]{4})/\d{4}/(\*|0(0[1-9]|1[0-6]))$"


class Config(SimulatorConfig):
    """Logon users, company codes, the BP number range and posting-period control."""

    users: dict[str, Secret] = Field(
        default_factory=lambda: {"O2C_COMM_USER": builtin_secret("o2c-password")},
        description="communication users for Basic auth")
    sap_client: str = "100"
    csrf_protection: bool = Field(default=True, description="require x-csrf-token on writes")
    company_codes: list[CompanyCode] = Field(
        default_factory=lambda: [c.model_copy() for c in DEFAULT_COMPANY_CODES])
    bp_number_from: Annotated[int, Field(ge=1, le=9_999_999_999)] = 1000001
    bp_number_to: Annotated[int, Field(ge=1, le=9_999_999_999)] = 1999999
    bp_grouping: str = Field(default="BP02", max_length=4)
    customer_account_group: str = Field(default="CUST", max_length=4)
    payment_terms: dict[str, int] = Field(
        default_factory=lambda: {"0001": 0, "NT14": 14, "NT30": 30, "NT60": 60},
        description="terms of payment key → days until net due")
    closed_periods: list[str] = Field(
        default_factory=list,
        description="posting periods closed at start/reset: 'CCCC/YYYY/PPP', '*' for every "
                    "company code or period (e.g. '*/2023/*')")
    duplicate_reference_check: bool = Field(
        default=True, description="reject a second invoice with the same DocumentReferenceID "
                                  "in a company code (SAP's duplicate invoice check)")

    @field_validator("closed_periods")
    @classmethod
    def _periods(cls, value: list[str]) -> list[str]:
        bad = [p for p in value if not re.match(_PERIOD, p)]
        if bad:
            raise ValueError(f"closed_periods entries must look like '1010/2024/003': {bad}")
        return value

    @model_validator(mode="after")
    def _ranges(self) -> Config:
        if self.bp_number_to < self.bp_number_from:
            raise ValueError("bp_number_to must not be below bp_number_from")
        codes = [c.code for c in self.company_codes]
        if len(set(codes)) != len(codes):
            raise ValueError("company codes must be unique")
        return self

    def company(self, code: str) -> CompanyCode | None:
        return next((c for c in self.company_codes if c.code == code), None)
