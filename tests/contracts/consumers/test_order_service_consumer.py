"""order-service → integration-layer: onboarding a customer (idempotency key), reading it
back, and what a subscription for an unknown customer answers (problem+json)."""

from __future__ import annotations

import pytest
from domain_clients import DomainApiError, OrderServiceClient
from pact import Pact, match
from pact_support import from_state, write_pact

JSON = "application/json"
ID = r"^cus_[0-9a-f]{32}$"
ACCOUNT = {"crm_account_id": "001ORDERSVC0000001", "name": "Globex Corporation",
           "legal_entity": "US01", "country": "US", "currency": "USD",
           "email": "ap@globex.example",
           "address": {"line1": "410 Terry Ave N", "city": "Seattle", "region": "WA",
                       "postal_code": "98109", "country": "US"}}


def _customer_view(customer_id: object) -> dict[str, object]:
    return {"id": customer_id,
            "crm_account_id": match.str("001ORDERSVC0000001"),
            "status": "onboarded",
            "erp": match.regex("legacy_erp", regex=r"^(legacy_erp|cloud_erp)$"),
            "company_code": match.regex("1000", regex=r"^[A-Z0-9]{4}$"),
            "references": {"billing": match.regex("cus_Contract000000", regex=r"^cus_\w+$")}}


def declare(pact: Pact) -> None:
    (pact.upon_receiving("a request to onboard the customer of a won order")
     .with_request("POST", "/customers")
     .with_header("Idempotency-Key", match.regex("order-SO-1001", regex=r"^order-.+$"))
     .with_body({**ACCOUNT, "crm_account_id": match.str("001ORDERSVC0000001"),
                 "name": match.str("Globex Corporation"),
                 "legal_entity": match.regex("US01", regex=r"^[A-Z]{2}\d{2}$"),
                 "country": match.regex("US", regex=r"^[A-Z]{2}$"),
                 "currency": match.regex("USD", regex=r"^[A-Z]{3}$")}, content_type=JSON)
     .will_respond_with(201)
     .with_body(_customer_view(match.regex("cus_0123456789abcdef0123456789abcdef",
                                           regex=ID)), content_type=JSON))

    (pact.upon_receiving("a request for an onboarded customer")
     .given("customer 001CONTRACT0000001 is onboarded")
     .with_request("GET", from_state("/customers/cus_0123456789abcdef0123456789abcdef",
                                     "/customers/${customerId}", r"^/customers/cus_[0-9a-f]{32}$"))
     .will_respond_with(200)
     .with_body({**_customer_view(from_state("cus_0123456789abcdef0123456789abcdef",
                                             "${customerId}", ID)),
                 "crm_account_id": match.str("001CONTRACT0000001")}, content_type=JSON))

    (pact.upon_receiving("a request to subscribe a customer the layer does not know")
     .with_request("POST", "/subscriptions")
     .with_header("Idempotency-Key", match.regex("order-SO-1002-sub", regex=r"^order-.+$"))
     .with_body({"customer_id": "cust_unknown",
                 "items": match.each_like({"plan": match.str("growth-usd"),
                                           "quantity": match.int(1)})}, content_type=JSON)
     .will_respond_with(404)
     .with_body({"title": match.str("Unknown customer"), "status": 404,
                 "detail": match.str("no customer cust_unknown")},
                content_type="application/problem+json"))


def test_order_service_contract() -> None:
    pact = Pact("order-service", "integration-layer").with_specification("V4")
    declare(pact)
    with pact.serve(addr="127.0.0.1") as server:
        orders = OrderServiceClient(str(server.url))
        created = orders.onboard("SO-1001", ACCOUNT)
        assert created["status"] == "onboarded" and created["references"]["billing"]
        again = orders.customer("cus_0123456789abcdef0123456789abcdef")
        assert again["id"] == "cus_0123456789abcdef0123456789abcdef"
        with pytest.raises(DomainApiError) as unknown:
            orders.subscribe("SO-1002", "cust_unknown", "growth-usd")
        assert unknown.value.status == 404
    write_pact(pact)
