"""A served S/4HANA simulator per test session, reset before each test, and pyodata clients
built the way SAP's docs tell integrators to: a requests.Session with Basic auth and a CSRF
token fetched once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pyodata
import pytest
import requests
from starlette.applications import Starlette

from simulators._kit import Served, build_app, serve_in_thread
from simulators.s4hana_erp import Config, S4HanaSimulator

USER, PASSWORD = "O2C_COMM_USER", "o2c-password"
ROOT = "/sap/opu/odata/sap"


@pytest.fixture(scope="session")
def erp_app() -> Starlette:
    return build_app(S4HanaSimulator(Config()))


@pytest.fixture(scope="session")
def erp_server(erp_app: Starlette) -> Iterator[Served]:
    with serve_in_thread(erp_app) as server:
        yield server


@pytest.fixture
def erp(erp_server: Served) -> Served:
    httpx.post(f"{erp_server.url}/_sim/reset").raise_for_status()
    return erp_server


@pytest.fixture
def admin(erp: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=erp.url, timeout=10) as client:
        yield client


def sap_session(base_url: str) -> requests.Session:
    """Basic auth + the CSRF handshake (HEAD with x-csrf-token: Fetch on the service root)."""
    session = requests.Session()
    session.auth = (USER, PASSWORD)
    fetched = session.head(f"{base_url}{ROOT}/API_BUSINESS_PARTNER/",
                           headers={"x-csrf-token": "Fetch"})
    fetched.raise_for_status()
    session.headers["x-csrf-token"] = fetched.headers["x-csrf-token"]
    return session


@pytest.fixture
def session(erp: Served) -> requests.Session:
    return sap_session(erp.url)


def client(server: Served, session: requests.Session, service: str) -> Any:
    return pyodata.Client(f"{server.url}{ROOT}/{service}", session)


@pytest.fixture
def bp_api(erp: Served, session: requests.Session) -> Any:
    return client(erp, session, "API_BUSINESS_PARTNER")


@pytest.fixture
def je_api(erp: Served, session: requests.Session) -> Any:
    return client(erp, session, "API_O2C_JOURNALENTRY_SRV")


@pytest.fixture
def pay_api(erp: Served, session: requests.Session) -> Any:
    return client(erp, session, "API_O2C_INCOMINGPAYMENT_SRV")


def create_customer(bp_api: Any, name: str = "Müller Maschinenbau GmbH",
                    company_codes: tuple[str, ...] = ("1010",), country: str = "DE",
                    search_term: str = "CRM-0001") -> Any:
    """A business partner with address, customer and company-code data in one deep insert."""
    return bp_api.entity_sets.A_BusinessPartner.create_entity().set(
        BusinessPartnerCategory="2",
        OrganizationBPName1=name,
        SearchTerm1=search_term,
        to_BusinessPartnerAddress=[{"StreetName": "Dietmar-Hopp-Allee", "HouseNumber": "16",
                                    "PostalCode": "69190", "CityName": "Walldorf",
                                    "Country": country, "Language": "DE"}],
        to_Customer={"CustomerAccountGroup": "CUST", "to_CustomerCompany": [
            {"CompanyCode": code, "PaymentTerms": "NT30"} for code in company_codes]},
    ).execute()


def post_invoice(je_api: Any, customer: str, reference: str, amount: str = "119.00",
                 tax: str = "19.00", company_code: str = "1010", currency: str = "EUR",
                 **extra: Any) -> Any:
    return je_api.entity_sets.A_JournalEntry.create_entity().set(
        CompanyCode=company_code, AccountingDocumentType="DR", Customer=customer,
        DocumentReferenceID=reference, AccountingDocumentHeaderText="Billing invoice",
        AmountInTransactionCurrency=amount, TaxAmount=tax, TransactionCurrency=currency,
        **extra).execute()


def sap_error(exc: Exception) -> dict[str, Any]:
    """The SAP error body carried by a pyodata HttpError."""
    return exc.response.json()["error"]  # type: ignore[attr-defined,no-any-return]
