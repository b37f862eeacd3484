"""A served legacy ERP per test module, a zeep client built from its WSDL, a reset per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from simulators._kit import ThreadedServer, build_app, serve_in_thread
from simulators._kit.testing import wait_for as wait_for  # re-exported for the tests
from simulators.legacy_erp import Config, LegacyErpSimulator

ERP_NS = "urn:o2c:legacy-erp:v1"
USER, PASSWORD = "O2C_RFC", "Legacy#2004"


def wsdl_url(server: ThreadedServer) -> str:
    return f"{server.url}/soap/LegacyErp?wsdl"


def make_client(server: ThreadedServer, *, user: str = USER, password: str = PASSWORD,
                digest: bool = False) -> zeep.Client:
    """zeep client with a WS-Security UsernameToken (the primary authentication)."""
    return zeep.Client(wsdl_url(server), wsse=UsernameToken(user, password, use_digest=digest))


def basic_auth_client(server: ThreadedServer, user: str = USER,
                      password: str = PASSWORD) -> zeep.Client:
    """zeep client authenticating with HTTP Basic through a requests Session transport."""
    session = requests.Session()
    session.auth = (user, password)
    return zeep.Client(wsdl_url(server), transport=Transport(session=session))


def fault_code(fault: zeep.exceptions.Fault) -> str:
    """The ``ErpError/Code`` of a SOAP fault's detail."""
    assert fault.detail is not None, fault
    code = fault.detail.findtext(f"{{{ERP_NS}}}ErpError/{{{ERP_NS}}}Code")
    assert code, etree.tostring(fault.detail)
    return code


def serve(config: Config) -> Iterator[ThreadedServer]:
    with serve_in_thread(build_app(LegacyErpSimulator(config)), name="legacy_erp") as server:
        yield server


@pytest.fixture(scope="module")
def erp_server() -> Iterator[ThreadedServer]:
    # no default latency here: these tests are about behaviour, not speed
    yield from serve(Config(default_latency_ms=0))


@pytest.fixture
def admin(erp_server: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=erp_server.url, timeout=10) as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


@pytest.fixture(scope="module")
def module_client(erp_server: ThreadedServer) -> zeep.Client:
    return make_client(erp_server)


@pytest.fixture
def erp(module_client: zeep.Client, admin: httpx.Client) -> zeep.Client:
    """The zeep client against a freshly reset simulator."""
    return module_client


@pytest.fixture
def customer(erp: zeep.Client) -> Callable[..., str]:
    """Create a customer in a company code and return its number."""

    def create(company: str = "1000", currency: str = "USD", **fields: Any) -> str:
        values = {"Name": "Acme Industrial Supply Inc.", "Street": "1 Main St", "City": "Austin",
                  "PostalCode": "78701", "Country": "US", "Currency": currency,
                  "CompanyCode": company, "TaxId": "12-3456789", **fields}
        return str(erp.service.CreateCustomer(**values))

    return create


def invoice(customer: str, reference: str, *, company: str = "1000", currency: str = "USD",
            net: str = "100.00", tax: str = "8.25", gross: str | None = None,
            **extra: Any) -> dict[str, Any]:
    """PostInvoice arguments as an integration layer would send them."""
    gross = gross if gross is not None else f"{float(net) + float(tax):.2f}"
    return {"CompanyCode": company, "CustomerNumber": customer, "ExternalReference": reference,
            "InvoiceDate": "2024-03-01", "DueDate": "2024-03-31", "Currency": currency,
            "NetAmount": net, "TaxAmount": tax, "GrossAmount": gross, **extra}


def advance_to_utc(admin: httpx.Client, hour: int, minute: int = 0) -> datetime:
    """Move the simulator clock forward to the next HH:MM UTC."""
    now = datetime.fromtimestamp(admin.get("/_sim/clock").json()["now"], UTC)
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    admin.post("/_sim/clock/advance", json={"to": target.timestamp()}).raise_for_status()
    return target
