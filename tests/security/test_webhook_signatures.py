"""The layer's webhook receivers refuse forged, missing and stale signatures, per vendor scheme,
and a refused message leaves nothing behind (every table of the layer's database unchanged).

References: Stripe's own ``stripe.WebhookSignature`` and Adyen's ``Adyen.util`` HMAC helpers;
the headers are produced by the simulators' own signers (what the landscape really sends).
Replay decisions are documented in ``integration/api/webhooks.py``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import stripe
from Adyen.util import generate_notification_sig, is_valid_hmac_notification
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, func, select

from integration import Settings, create_app
from integration.adapters.salesforce import ChangeEventSignatureError, verify_change_event
from integration.adapters.stripe import SignatureError, verify_signature
from integration.db.tables import InboxMessage
from simulators.salesforce_crm import SalesforceSimulator
from simulators.stripe_billing import StripeSimulator

STRIPE_SECRET = "whsec_o2c_security_test"
CDC_SECRET = "o2c-cdc-security-secret"
HMAC_KEY = "6F2C9E0D1A7B4C3E8F5A2D9B0C7E6F1A3B8D5C2E9F0A7B4C1D6E3F8A5B2C9D0E"
TOLERANCE = 300


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One layer for the module (start-up runs the migrations): accepted messages use their
    own event ids, refused ones are checked against the whole database before and after."""
    db = tmp_path_factory.mktemp("layer") / "layer.db"
    settings = Settings(database_url=f"sqlite:///{db}",
                        register_webhooks=False, log_level="warning", sweep_interval_s=3600,
                        crm={"poll_interval_s": 0, "change_event_secret": CDC_SECRET,
                             "signature_tolerance_s": TOLERANCE},
                        billing={"webhook_secret": STRIPE_SECRET,
                                 "signature_tolerance_s": TOLERANCE},
                        payments={"hmac_key": HMAC_KEY})
    with TestClient(create_app(settings)) as client:
        yield client


def table_counts(client: TestClient) -> dict[str, int]:
    """Rows per table of the layer's database: the whole of its state."""
    engine = client.app.state.services.db.engine  # type: ignore[attr-defined]
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {name: conn.scalar(select(func.count()).select_from(table)) or 0
                for name, table in meta.tables.items() if name != "alembic_version"}


def inbox(client: TestClient, key: str) -> list[tuple[str, int]]:
    """(id, duplicates) of the inbox messages whose id contains ``key``."""
    services = client.app.state.services  # type: ignore[attr-defined]
    with services.db.session() as session:
        return [(m.id, m.duplicates) for m in session.scalars(select(InboxMessage))
                if key in m.id]


def refused(client: TestClient, path: str, body: bytes, headers: dict[str, str]) -> str:
    """POST and assert a 401 problem that changed no table; returns the problem's detail."""
    before = table_counts(client)
    response = client.post(path, content=body, headers={"Content-Type": "application/json",
                                                         **headers})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert table_counts(client) == before, "a refused webhook left a trace"
    return str(response.json()["detail"])


# -- Stripe: Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256("<ts>." + body)> ----------------------
def stripe_event(event_id: str = "evt_sec_1") -> bytes:
    # a type the layer does not act on: the test is about the receiver, not the flows
    return orjson.dumps({"id": event_id, "object": "event", "type": "customer.updated",
                         "api_version": "2026-10-28.endive", "created": int(time.time()),
                         "data": {"object": {"id": "cus_1", "object": "customer"}}})


def stripe_header(body: bytes, secret: str = STRIPE_SECRET, at: int | None = None) -> str:
    """The header the Stripe simulator's signer sends."""
    t = int(time.time()) if at is None else at
    return StripeSimulator().sign_webhook(body, secret, t)["Stripe-Signature"]


def test_stripe_simulator_signature_is_what_stripes_library_verifies() -> None:
    body = stripe_event()
    header = stripe_header(body)
    stripe.WebhookSignature.verify_header(body, header, STRIPE_SECRET, tolerance=TOLERANCE)
    verify_signature(body, header, STRIPE_SECRET, TOLERANCE)
    ours = stripe.WebhookSignature.generate_signature_header(body.decode(), STRIPE_SECRET)
    verify_signature(body, ours, STRIPE_SECRET, TOLERANCE)


def test_stripe_valid_signature_is_accepted_once(layer: TestClient) -> None:
    body = stripe_event("evt_sec_ok")
    ok = layer.post("/webhooks/stripe", content=body,
                    headers={"Stripe-Signature": stripe_header(body)})
    assert ok.status_code == 200 and ok.json()["received"] is True
    # the same delivery replayed inside the window: acknowledged, dropped by the inbox
    again = layer.post("/webhooks/stripe", content=body,
                       headers={"Stripe-Signature": stripe_header(body)})
    assert again.status_code == 200
    assert inbox(layer, "evt_sec_ok") == [("billing:evt_sec_ok", 1)]


def test_stripe_any_v1_may_match_secret_rotation(layer: TestClient) -> None:
    body = stripe_event("evt_sec_rotated")
    t = int(time.time())
    good = stripe_header(body, at=t).split("v1=")[1]
    old = stripe_header(body, secret="whsec_previous", at=t).split("v1=")[1]
    header = f"t={t},v1={old},v1={good},v0=deadbeef"
    stripe.WebhookSignature.verify_header(body, header, STRIPE_SECRET, tolerance=TOLERANCE)
    assert layer.post("/webhooks/stripe", content=body,
                      headers={"Stripe-Signature": header}).status_code == 200


def _stripe_cases(body: bytes) -> dict[str, dict[str, str]]:
    now = int(time.time())
    wrong = stripe_header(body, secret="whsec_someone_else")
    stale = stripe_header(body, at=now - TOLERANCE - 60)
    t = now
    sig = stripe_header(body, at=t).split("v1=")[1]
    return {
        "missing header": {},
        "empty header": {"Stripe-Signature": ""},
        "wrong secret": {"Stripe-Signature": wrong},
        "only wrong v1s": {"Stripe-Signature": f"{wrong},v1={'0' * 64}"},
        "stale timestamp": {"Stripe-Signature": stale},
        "future timestamp beyond tolerance": {
            "Stripe-Signature": stripe_header(body, at=now + TOLERANCE + 60)},
        "signature of another timestamp": {"Stripe-Signature": f"t={t + 1},v1={sig}"},
        "no t=": {"Stripe-Signature": f"v1={sig}"},
        "no v1 (only v0)": {"Stripe-Signature": f"t={t},v0={sig}"},
        "t not an integer": {"Stripe-Signature": f"t=now,v1={sig}"},
        "non-ASCII header": {"Stripe-Signature": f"t={t},v1=é{sig}"},
    }


@pytest.mark.parametrize("case", list(_stripe_cases(b"{}")))
def test_stripe_bad_signatures_are_refused_without_trace(layer: TestClient, case: str) -> None:
    body = stripe_event("evt_sec_bad")
    headers = _stripe_cases(body)[case]
    if case == "non-ASCII header":  # httpx sends str headers as ASCII only: send bytes
        headers = {"Stripe-Signature": headers["Stripe-Signature"].encode()}  # type: ignore[dict-item]
    refused(layer, "/webhooks/stripe", body, headers)
    assert inbox(layer, "evt_sec_bad") == []


def test_stripe_tampered_body_is_refused(layer: TestClient) -> None:
    body = stripe_event("evt_sec_tamper")
    header = stripe_header(body)
    tampered = body.replace(b"cus_1", b"cus_2")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(tampered, header, STRIPE_SECRET, TOLERANCE)
    refused(layer, "/webhooks/stripe", tampered, {"Stripe-Signature": header})


def test_stripe_window_matches_stripes_library_except_the_future() -> None:
    """The layer refuses exactly what Stripe's library refuses, and additionally a timestamp
    from beyond the tolerance in the future (Stripe's library only checks the past)."""
    body = stripe_event()
    now = 1_800_000_000
    for offset, layer_ok in ((0, True), (-TOLERANCE, True), (-TOLERANCE - 1, False),
                             (TOLERANCE, True), (TOLERANCE + 1, False)):
        header = stripe_header(body, at=now + offset)
        try:
            verify_signature(body, header, STRIPE_SECRET, TOLERANCE, now=now)
            ours = True
        except SignatureError:
            ours = False
        assert ours is layer_ok, offset
        if offset <= 0:  # the library reads the wall clock: compare where it is meaningful
            lib_header = stripe_header(body, at=int(time.time()) + offset)
            try:
                stripe.WebhookSignature.verify_header(body, lib_header, STRIPE_SECRET,
                                                      tolerance=TOLERANCE)
                lib = True
            except stripe.SignatureVerificationError:
                lib = False
            if offset != -TOLERANCE:  # the boundary second may tick between the two reads
                assert lib is layer_ok, offset


def test_stripe_without_a_configured_secret_everything_is_refused(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'nosecret.db'}",
                        register_webhooks=False, log_level="warning", sweep_interval_s=3600,
                        crm={"poll_interval_s": 0})
    with TestClient(create_app(settings)) as client:
        body = stripe_event()
        detail = refused(client, "/webhooks/stripe", body,
                         {"Stripe-Signature": stripe_header(body, secret="")})
        assert "no webhook secret" in detail


# -- Adyen: additionalData.hmacSignature per NotificationRequestItem ------------------------------
def adyen_item(psp: str = "PSP0000000000001", event: str = "REPORT_AVAILABLE",
               key: str = HMAC_KEY, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pspReference": psp, "originalReference": "", "merchantAccountCode": "O2CHarnessECOM",
        "merchantReference": "in_sec_1", "amount": {"value": 12000, "currency": "EUR"},
        "eventCode": event, "success": "true", "eventDate": "2026-11-25T12:00:00+01:00",
        "paymentMethod": "visa", "reason": "",
    }
    item["additionalData"] = {"hmacSignature": generate_notification_sig(item, key).decode()}
    item.update(changes)
    return item


def adyen_body(*items: dict[str, Any]) -> bytes:
    return orjson.dumps({"live": "false", "notificationItems": [
        {"NotificationRequestItem": item} for item in items]})


def test_adyen_valid_notification_is_accepted_and_a_replay_dropped(layer: TestClient) -> None:
    item = adyen_item()
    assert is_valid_hmac_notification(item, HMAC_KEY)
    first = layer.post("/webhooks/adyen", content=adyen_body(item))
    assert first.status_code == 200 and first.text == "[accepted]"
    # Adyen re-sends (and an attacker may replay) the same item: acknowledged, dropped
    replay = layer.post("/webhooks/adyen", content=adyen_body(item))
    assert replay.status_code == 200 and replay.text == "[accepted]"
    assert inbox(layer, "PSP0000000000001") == [
        ("payments:REPORT_AVAILABLE:PSP0000000000001:true", 1)]


def _adyen_cases() -> dict[str, list[dict[str, Any]]]:
    good = adyen_item("PSP0000000000002")
    no_data = adyen_item("PSP0000000000003")
    del no_data["additionalData"]
    return {
        "missing hmacSignature": [adyen_item(additionalData={})],
        "no additionalData": [no_data],
        "empty hmacSignature": [adyen_item(additionalData={"hmacSignature": ""})],
        "other key": [adyen_item(key="00" * 32)],
        "amount changed": [adyen_item(amount={"value": 1, "currency": "EUR"})],
        "success flipped": [adyen_item(success="false")],
        "event code changed": [adyen_item(eventCode="REFUND")],
        "one bad item in a batch": [good, adyen_item("PSP0000000000004", key="11" * 32)],
        "signature not base64": [adyen_item(additionalData={"hmacSignature": "%%%"})],
    }


@pytest.mark.parametrize("case", list(_adyen_cases()))
def test_adyen_bad_signatures_are_refused_without_trace(layer: TestClient, case: str) -> None:
    items = _adyen_cases()[case]
    if case not in ("missing hmacSignature", "no additionalData", "empty hmacSignature"):
        checked = copy.deepcopy(items[-1])
        assert not is_valid_hmac_notification(checked, HMAC_KEY)  # Adyen's library agrees
    refused(layer, "/webhooks/adyen", adyen_body(*items), {})
    assert [m for m in inbox(layer, "payments:") if "PSP0000000000001" not in m[0]] == []


def test_adyen_event_date_is_not_signed_so_it_is_no_replay_window() -> None:
    """Why the receiver has no eventDate window: eventDate is outside Adyen's signing string,
    so editing it keeps the signature valid (a window on it would protect nothing)."""
    item = adyen_item()
    item["eventDate"] = "2001-01-01T00:00:00+00:00"
    assert is_valid_hmac_notification(copy.deepcopy(item), HMAC_KEY)


# -- Salesforce change events: X-Sfdc-Timestamp + X-Sfdc-Signature ---------------------------------
def change_event(replay_id: int = 7) -> bytes:
    return orjson.dumps({
        "schema": "o2c", "event": {"replayId": replay_id},
        "payload": {"ChangeEventHeader": {
            "entityName": "Account", "changeType": "UPDATE", "recordIds": ["001SEC"],
            "transactionKey": "tx-sec", "commitTimestamp": 1_800_000_000_000,
            "changedFields": ["Name"]}, "Name": "Renamed"}})


def sfdc_headers(body: bytes, secret: str = CDC_SECRET, at: int | None = None
                 ) -> dict[str, str]:
    """What the Salesforce simulator's signer sends."""
    t = int(time.time()) if at is None else at
    return SalesforceSimulator().sign_webhook(body, secret, t)


def test_salesforce_valid_change_event_is_accepted_once(layer: TestClient) -> None:
    body = change_event(11)
    for _ in range(2):
        r = layer.post("/webhooks/salesforce", content=body, headers=sfdc_headers(body))
        assert r.status_code == 200, r.text
    assert inbox(layer, "crm:tx-sec:11") == [("crm:tx-sec:11", 1)]


def _sfdc_cases(body: bytes) -> dict[str, dict[str, str]]:
    now = int(time.time())
    good = sfdc_headers(body, at=now)
    return {
        "missing both headers": {},
        "missing signature": {"X-Sfdc-Timestamp": good["X-Sfdc-Timestamp"]},
        "missing timestamp": {"X-Sfdc-Signature": good["X-Sfdc-Signature"]},
        "wrong secret": sfdc_headers(body, secret="someone-else", at=now),
        "stale timestamp": sfdc_headers(body, at=now - TOLERANCE - 60),
        "future timestamp": sfdc_headers(body, at=now + TOLERANCE + 60),
        "timestamp swapped for a fresh one": {
            "X-Sfdc-Timestamp": str(now + 1), "X-Sfdc-Signature": good["X-Sfdc-Signature"]},
        "body-only signature (old scheme)": {
            "X-Sfdc-Timestamp": str(now), "X-Sfdc-Signature": base64.b64encode(hmac.new(
                CDC_SECRET.encode(), body, hashlib.sha256).digest()).decode()},
        "timestamp not an integer": {"X-Sfdc-Timestamp": "soon",
                                     "X-Sfdc-Signature": good["X-Sfdc-Signature"]},
    }


@pytest.mark.parametrize("case", list(_sfdc_cases(b"{}")))
def test_salesforce_bad_signatures_are_refused_without_trace(layer: TestClient,
                                                             case: str) -> None:
    body = change_event(12)
    refused(layer, "/webhooks/salesforce", body, _sfdc_cases(body)[case])
    assert inbox(layer, "crm:tx-sec:12") == []


def test_salesforce_tampered_body_is_refused(layer: TestClient) -> None:
    body = change_event(13)
    headers = sfdc_headers(body)
    refused(layer, "/webhooks/salesforce", body.replace(b"Renamed", b"Hijacked"), headers)


def test_salesforce_window_boundaries() -> None:
    body = change_event()
    now = 1_800_000_000
    for offset, ok in ((0, True), (-TOLERANCE, True), (-TOLERANCE - 1, False),
                       (TOLERANCE, True), (TOLERANCE + 1, False)):
        h = sfdc_headers(body, at=now + offset)
        try:
            verify_change_event(body, h["X-Sfdc-Signature"], h["X-Sfdc-Timestamp"], CDC_SECRET,
                                TOLERANCE, now=now)
            accepted = True
        except ChangeEventSignatureError:
            accepted = False
        assert accepted is ok, offset
