"""The people and systems around the integration layer in the acceptance tests: a sales rep
closing a deal in the CRM, the billing admin's catalog, a customer paying through the
gateway — each speaking the vendor's own API, as in production."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import httpx
import stripe
from o2c_landscape import Landscape

SF_VERSION = "v59.0"


class Crm:
    def __init__(self, scape: Landscape) -> None:
        token = scape.sim("crm").post("/services/oauth2/token", data={
            "grant_type": "password", "client_id": "3MVG9o2cHarnessSimulatorConsumerKey",
            "client_secret": "o2c-client-secret", "username": "integration@o2c.test",
            "password": "o2c-passwordo2cSecurityToken"}).json()
        self.http = httpx.Client(base_url=token["instance_url"], timeout=30, headers={
            "Authorization": f"Bearer {token['access_token']}"})

    def create(self, sobject: str, fields: dict[str, Any]) -> str:
        r = self.http.post(f"/services/data/{SF_VERSION}/sobjects/{sobject}", json=fields)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        r = self.http.patch(f"/services/data/{SF_VERSION}/sobjects/{sobject}/{record_id}",
                            json=fields)
        assert r.status_code == 204, r.text

    def close_won(self, *, name: str, country: str, legal_entity: str, city: str,
                  street: str, postal_code: str, vat: str | None, currency: str) -> \
            tuple[str, str]:
        account = self.create("Account", {
            "Name": name, "BillingStreet": street, "BillingCity": city,
            "BillingPostalCode": postal_code, "BillingCountry": country,
            "VAT_Number__c": vat, "Legal_Entity__c": legal_entity,
            "CurrencyIsoCode": currency})
        opp = self.create("Opportunity", {"Name": f"{name} — subscription",
                                          "AccountId": account, "StageName": "Prospecting",
                                          "CloseDate": "2026-11-30", "Amount": 588,
                                          "CurrencyIsoCode": currency})
        self.update("Opportunity", opp, {"StageName": "Closed Won"})
        return account, opp


def billing_client(scape: Landscape) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_o2c_harness",
                               base_addresses={"api": scape.urls["billing"]})


def billing_catalog(scape: Landscape, currency: str) -> dict[str, str]:
    """A monthly plan and a metered add-on in ``currency``; returns their lookup keys."""
    client = billing_client(scape)
    cur = currency.lower()
    try:
        meter = client.v1.billing.meters.create(params={
            "display_name": "API calls", "event_name": "api_calls",
            "default_aggregation": {"formula": "sum"},
            "customer_mapping": {"event_payload_key": "stripe_customer_id", "type": "by_id"},
            "value_settings": {"event_payload_key": "value"}})
        meter_id = meter.id
    except stripe.InvalidRequestError:  # another test of this module created it
        meter_id = next(m.id for m in client.v1.billing.meters.list().data
                        if m.event_name == "api_calls")
    product = client.v1.products.create(params={"name": f"O2C Growth {currency}"})
    client.v1.prices.create(params={
        "product": product.id, "currency": cur, "unit_amount": 4900,
        "recurring": {"interval": "month"}, "lookup_key": f"growth-{cur}"})
    client.v1.prices.create(params={
        "product": product.id, "currency": cur, "unit_amount": 2,
        "recurring": {"interval": "month", "usage_type": "metered", "meter": meter_id},
        "lookup_key": f"api-calls-{cur}"})
    return {"plan": f"growth-{cur}", "usage": f"api-calls-{cur}"}


def pay_by_card(scape: Landscape, *, invoice_id: str, amount: int, currency: str) -> str:
    r = scape.sim("payments").post("/v71/payments", headers={
        "X-API-Key": "AQE_o2c_test_key", "Idempotency-Key": f"pay-{invoice_id}"}, json={
        "merchantAccount": "O2CHarnessECOM", "reference": invoice_id,
        "returnUrl": "https://shop.example.com/checkout/return",
        "amount": {"currency": currency, "value": amount},
        "paymentMethod": {"type": "scheme", "number": "4111111111111111",
                          "expiryMonth": "03", "expiryYear": "2030", "cvc": "737",
                          "holderName": "Ada Lovelace"}})
    assert r.status_code == 200, r.text
    assert r.json()["resultCode"] == "Authorised", r.text
    return str(r.json()["pspReference"])


def stripe_signature(body: bytes, secret: str) -> str:
    ts = int(time.time())
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={sig}"
