"""Customers, auth, errors and list paging — driven through the official ``stripe`` SDK."""

from __future__ import annotations

import base64

import httpx
import pytest
import stripe

from .conftest import API_KEY


def test_create_retrieve_update_delete(client: stripe.StripeClient) -> None:
    created = client.v1.customers.create(params={
        "email": "ada@example.com", "name": "Ada Ltd", "metadata": {"crm_id": "001"},
        "address": {"line1": "1 Main St", "city": "London", "country": "GB"},
        "preferred_locales": ["en-GB"]})
    assert created.id.startswith("cus_")
    assert created.object == "customer"
    assert created.metadata["crm_id"] == "001"
    assert created.address.city == "London"
    assert created.invoice_prefix and created.next_invoice_sequence == 1

    got = client.v1.customers.retrieve(created.id)
    assert got.email == "ada@example.com"

    updated = client.v1.customers.update(created.id, params={
        "name": "Ada Lovelace Ltd", "metadata": {"crm_id": "", "tier": "gold"},
        "description": ""})
    assert updated.name == "Ada Lovelace Ltd"
    assert updated.metadata.to_dict() == {"tier": "gold"}
    assert updated.description is None

    deleted = client.v1.customers.delete(created.id)
    assert deleted.deleted is True
    assert client.v1.customers.retrieve(created.id).deleted is True


def test_list_paging_with_auto_paging_iter(client: stripe.StripeClient) -> None:
    ids = [client.v1.customers.create(params={"email": f"c{i}@example.com"}).id
           for i in range(7)]
    first = client.v1.customers.list(params={"limit": 3})
    assert first.has_more is True
    assert [c.id for c in first.data] == ids[::-1][:3]  # newest first
    seen = [c.id for c in first.auto_paging_iter()]
    assert seen == ids[::-1]
    second = client.v1.customers.list(params={"limit": 3, "starting_after": first.data[-1].id})
    assert [c.id for c in second.data] == ids[::-1][3:6]
    back = client.v1.customers.list(params={"limit": 2, "ending_before": second.data[0].id})
    assert [c.id for c in back.data] == ids[::-1][1:3]
    only = client.v1.customers.list(params={"email": "c4@example.com"})
    assert [c.id for c in only.data] == [ids[4]]


def test_expand_on_lists(client: stripe.StripeClient) -> None:
    client.v1.customers.create(params={"email": "x@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.list(params={"expand": ["data.nope"]})
    assert err.value.param == "expand"


def test_missing_unknown_and_invalid_params(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.create(params={"colour": "blue"})  # type: ignore[typeddict-unknown-key]
    assert err.value.code == "parameter_unknown"
    assert err.value.param == "colour"
    assert "Received unknown parameter: colour" in str(err.value.user_message)

    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.list(params={"limit": "many"})  # type: ignore[typeddict-item]
    assert err.value.code == "parameter_invalid_integer"
    assert err.value.param == "limit"

    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.create(params={"tax_exempt": "sometimes"})  # type: ignore[typeddict-item]
    assert err.value.param == "tax_exempt"
    assert "must be one of" in str(err.value.user_message)

    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.create(params={"address": {"line1": "x", "planet": "Mars"}})  # type: ignore[typeddict-unknown-key]
    assert err.value.param == "address[planet]"


def test_missing_resource(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.retrieve("cus_nope")
    assert err.value.http_status == 404
    assert err.value.code == "resource_missing"
    assert err.value.param == "id"
    assert str(err.value.user_message) == "No such customer: 'cus_nope'"


def test_authentication(stripe_server, admin: httpx.Client) -> None:
    bad = stripe.StripeClient("sk_test_wrongkey1234", base_addresses={"api": stripe_server.url},
                              max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError) as err:
        bad.v1.customers.list()
    assert err.value.http_status == 401
    assert "Invalid API Key provided: sk_test_********1234" in str(err.value.user_message)

    none = httpx.get(f"{stripe_server.url}/v1/customers")
    assert none.status_code == 401
    body = none.json()["error"]
    assert body["type"] == "invalid_request_error"
    assert body["message"].startswith("You did not provide an API key.")

    basic = base64.b64encode(f"{API_KEY}:".encode()).decode()
    ok = httpx.get(f"{stripe_server.url}/v1/customers",
                   headers={"Authorization": f"Basic {basic}"})
    assert ok.status_code == 200
    assert ok.headers["Request-Id"].startswith("req_")
    assert ok.headers["Stripe-Version"]


def test_unknown_route_is_stripe_shaped(raw: httpx.Client) -> None:
    resp = raw.get("/v1/nothing_here")
    assert resp.status_code == 404
    assert resp.json()["error"]["message"].startswith("Unrecognized request URL (GET: "
                                                      "/v1/nothing_here)")


def test_idempotent_replay_and_mismatch(client: stripe.StripeClient, raw: httpx.Client
                                        ) -> None:
    first = client.v1.customers.create(params={"email": "idem@example.com"},
                                       options={"idempotency_key": "key-1"})
    again = client.v1.customers.create(params={"email": "idem@example.com"},
                                       options={"idempotency_key": "key-1"})
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert len(client.v1.customers.list().data) == 1

    with pytest.raises(stripe.IdempotencyError) as err:
        client.v1.customers.create(params={"email": "other@example.com"},
                                   options={"idempotency_key": "key-1"})
    assert "Keys for idempotent requests can only be used with the same parameters" in \
        str(err.value.user_message)

    replay = raw.post("/v1/customers", data={"email": "idem@example.com"},
                      headers={"Idempotency-Key": "key-1"})
    assert replay.status_code == 200 and replay.json()["id"] == first.id
