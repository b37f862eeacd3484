"""The SOAP 1.1 wire: WSDL, authentication, envelopes, dispatch and protocol faults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.transports import Transport

from simulators._kit import ThreadedServer, build_app, ensure_server_cert, serve_in_thread
from simulators.legacy_erp import Config, LegacyErpSimulator

from .conftest import ERP_NS, basic_auth_client, fault_code, make_client

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def envelope(body: str, header: str = "") -> bytes:
    return (f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:erp="{ERP_NS}">'
            f"<soap:Header>{header}</soap:Header><soap:Body>{body}</soap:Body>"
            "</soap:Envelope>").encode()


BASIC = ("O2C_RFC", "Legacy#2004")
GET_CUSTOMER = "<erp:GetCustomer><erp:CustomerNumber>1</erp:CustomerNumber></erp:GetCustomer>"


def raw_fault(response: httpx.Response) -> tuple[str, str]:
    """(faultcode, ErpError/Code) of a raw SOAP fault response."""
    assert response.headers["content-type"].startswith("text/xml")
    doc = etree.fromstring(response.content)
    fault = doc.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None, response.text
    return (fault.findtext("faultcode") or "",
            fault.findtext(f"detail/{{{ERP_NS}}}ErpError/{{{ERP_NS}}}Code") or "")


def test_wsdl_is_served_with_this_server_as_address(admin: httpx.Client,
                                                    erp_server: ThreadedServer) -> None:
    for path in ("/soap/LegacyErp?wsdl", "/soap/LegacyErp.wsdl"):
        response = admin.get(path)
        assert response.status_code == 200
        doc = etree.fromstring(response.content)
        address = doc.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
        assert address is not None
        assert address.get("location") == f"{erp_server.url}/soap/LegacyErp"
    assert doc.find(".//{http://www.w3.org/2001/XMLSchema}schema") is not None
    forwarded = admin.get("/soap/LegacyErp?wsdl", headers={"X-Forwarded-Proto": "https"})
    assert b'location="https://' in forwarded.content


def test_zeep_sees_every_operation(erp: zeep.Client) -> None:
    ops = set(erp.service._binding._operations)
    assert ops == {"CreateCustomer", "GetCustomer", "PostInvoice", "ApplyPayment",
                   "GetOpenItems"}


def test_password_digest_token_is_accepted(erp_server: ThreadedServer,
                                           admin: httpx.Client) -> None:
    client = make_client(erp_server, digest=True)
    assert client.service.CreateCustomer(Name="Digest Co", Country="US", Currency="USD",
                                         CompanyCode="1000")


@pytest.mark.parametrize("digest", [False, True])
def test_bad_wsse_password_is_an_auth_fault(erp_server: ThreadedServer, admin: httpx.Client,
                                            digest: bool) -> None:
    client = make_client(erp_server, password="wrong", digest=digest)
    with pytest.raises(zeep.exceptions.Fault) as err:
        client.service.GetCustomer(CustomerNumber="1")
    assert fault_code(err.value) == "AUTH"
    assert err.value.code == "soap:Client"


def test_http_basic_auth_works_and_bad_basic_faults(erp_server: ThreadedServer,
                                                    admin: httpx.Client) -> None:
    client = basic_auth_client(erp_server)
    number = client.service.CreateCustomer(Name="Basic Co", Country="US", Currency="USD",
                                           CompanyCode="1000")
    assert client.service.GetCustomer(CustomerNumber=number).Name == "Basic Co"
    bad = basic_auth_client(erp_server, password="nope")
    with pytest.raises(zeep.exceptions.Fault) as err:
        bad.service.GetCustomer(CustomerNumber=number)
    assert fault_code(err.value) == "AUTH"


def test_no_credentials_is_an_auth_fault(admin: httpx.Client) -> None:
    response = admin.post("/soap/LegacyErp", content=envelope(GET_CUSTOMER),
                          headers={"SOAPAction": f'"{ERP_NS}/GetCustomer"',
                                   "Content-Type": "text/xml"})
    assert response.status_code == 500
    assert raw_fault(response) == ("soap:Client", "AUTH")


@pytest.mark.parametrize(("body", "action", "status", "expected"), [
    (b"this is not xml", '""', 400, ("soap:Client", "MALFORMED_XML")),
    (b"", '""', 400, ("soap:Client", "MALFORMED_XML")),
    (b"<hello/>", '""', 400, ("soap:Client", "MALFORMED_XML")),
    (b'<!DOCTYPE x [<!ENTITY e "boom">]><soap:Envelope xmlns:soap="' + SOAP.encode()
     + b'"><soap:Body/></soap:Envelope>', '""', 400, ("soap:Client", "MALFORMED_XML")),
    (b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>',
     '""', 500, ("soap:VersionMismatch", "VERSION_MISMATCH")),
    (envelope("<erp:DeleteEverything/>"), '""', 500, ("soap:Client", "UNKNOWN_OPERATION")),
    (envelope(GET_CUSTOMER), f'"{ERP_NS}/PostInvoice"', 500,
     ("soap:Client", "UNKNOWN_OPERATION")),
    (envelope(GET_CUSTOMER), None, 500, ("soap:Client", "UNKNOWN_OPERATION")),
    (envelope("<erp:GetCustomer><erp:Nope>1</erp:Nope></erp:GetCustomer>"), '""', 500,
     ("soap:Client", "INVALID_REQUEST")),
    (envelope(""), '""', 500, ("soap:Client", "INVALID_REQUEST")),
])
def test_protocol_faults(admin: httpx.Client, body: bytes, action: str | None, status: int,
                         expected: tuple[str, str]) -> None:
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if action is not None:
        headers["SOAPAction"] = action
    response = admin.post("/soap/LegacyErp", content=body, headers=headers, auth=BASIC)
    assert response.status_code == status
    assert raw_fault(response) == expected


def test_raw_envelope_with_empty_soapaction_dispatches_on_the_body(admin: httpx.Client) -> None:
    response = admin.post("/soap/LegacyErp", content=envelope(GET_CUSTOMER),
                          headers={"SOAPAction": '""'}, auth=BASIC)
    assert raw_fault(response) == ("soap:Client", "CustomerNotFound")


def test_unknown_path_and_method_answer_with_faults(admin: httpx.Client) -> None:
    missing = admin.post("/soap/Nothing", content=envelope(GET_CUSTOMER))
    assert missing.status_code == 404
    assert raw_fault(missing)[1] == "NO_SUCH_ENDPOINT"
    wrong = admin.put("/soap/LegacyErp", content=b"x")
    assert wrong.status_code == 405
    assert raw_fault(wrong)[1] == "METHOD_NOT_ALLOWED"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ThreadedServer, Path]]:
    tls = ensure_server_cert(tmp_path_factory.mktemp("ca"))
    app = build_app(LegacyErpSimulator(Config(default_latency_ms=0)))
    with serve_in_thread(app, tls=tls) as server:
        yield server, tls.ca_cert


def test_https_wsdl_points_zeep_back_over_https(tls_server: tuple[ThreadedServer, Path]) -> None:
    server, ca_cert = tls_server
    assert server.url.startswith("https://")
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment beats .verify
    session.verify = str(ca_cert)
    session.auth = BASIC
    client = zeep.Client(f"{server.url}/soap/LegacyErp?wsdl",
                         transport=Transport(session=session))
    assert client.service._binding_options["address"].startswith("https://")
    number = client.service.CreateCustomer(Name="TLS Co", Country="GB", Currency="GBP",
                                           CompanyCode="4000")
    assert client.service.GetCustomer(CustomerNumber=number).Country == "GB"
    session.close()  # an idle keep-alive connection would hold up the server's shutdown
