"""The Adyen backend: payments, their modifications, standard notifications and the
Management API webhooks. No HTTP in here.

Payment states and the transitions a payment may take::

    Received   → Authorised | Refused          (SEPA / PENDING: decided on a later tick)
    Authorised → Captured | Cancelled          (cancel only while nothing is captured)
    Captured   → Captured | Refunded           (partial captures up to the authorised
                                                amount, partial refunds up to the captured)
    Refused, Error, Cancelled, Refunded: final

Capture, refund and cancel requests are *accepted* synchronously (``status: received``) and
decided asynchronously on a tick: the outcome arrives as a CAPTURE / REFUND / CANCELLATION
notification with ``success`` true or false, as on Adyen. With
``Config.reject_invalid_modifications`` an impossible modification is refused at once with a
422 instead (code 167 for the payment's state, 137 for the amount).
"""

from __future__ import annotations

import binascii
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from harness.canonical.secrets import Secret, builtin_secret, reveal
from simulators._kit import Backend, SeedRequest, SimulatorConfig, make_faker, rng

from . import catalog, notifications, validation
from .errors import ManagementError, ValidationError

_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

FINAL = {"Refused", "Error", "Cancelled", "Refunded"}
TRANSITIONS: dict[str, set[str]] = {
    "Received": {"Authorised", "Refused"},
    "Authorised": {"Captured", "Cancelled"},
    "Captured": {"Captured", "Refunded"},
    "Refused": set(), "Error": set(), "Cancelled": set(), "Refunded": set(),
}
# bounds fan-out: every notification is delivered once per webhook
MAX_WEBHOOKS_PER_MERCHANT = 10
MODIFICATION_EVENT = {"capture": "CAPTURE", "refund": "REFUND", "cancel": "CANCELLATION"}
MODIFICATION_FACT = {"capture": "payment.captured", "refund": "payment.refunded",
                     "cancel": "payment.cancelled"}


def _major(amount: dict[str, Any]) -> str:
    """``amount`` in major units as text, with the currency's own number of decimals."""
    exp = catalog.CURRENCY_EXPONENT[amount["currency"]]
    whole, minor = divmod(amount["value"], 10**exp)
    return f"{whole}.{minor:0{exp}d}" if exp else str(whole)


class Config(SimulatorConfig):
    """Settings of the Adyen simulator (credentials, merchant accounts, webhook delivery)."""

    api_keys: list[Secret] = Field(default_factory=lambda: [builtin_secret("AQE_o2c_test_key")],
                                description="accepted X-API-Key values")
    company_account: str = "O2CHarnessCompany"
    merchant_accounts: list[str] = Field(
        default_factory=lambda: ["O2CHarnessECOM", "O2CHarnessEU"], min_length=1)
    hmac_key: Secret = Field(
        default=builtin_secret(
            "6F2C9E0D1A7B4C3E8F5A2D9B0C7E6F1A3B8D5C2E9F0A7B4C1D6E3F8A5B2C9D0E"),
        description="hex HMAC key signing notifications to webhook_urls")
    webhook_urls: list[str] = Field(default_factory=list,
                                    description="standard-notification endpoints (all accounts)")
    webhook_username: str | None = Field(default=None, description="basic auth for webhooks")
    webhook_password: Secret | None = None
    notification_batch_size: Annotated[int, Field(ge=1, le=100)] = 10
    modification_delay_s: Annotated[float, Field(ge=0, le=86_400)] = 0.0
    pending_delay_s: Annotated[float, Field(ge=0, le=86_400)] = 2.0
    capture_mode: Literal["manual", "immediate"] = "manual"
    reject_invalid_modifications: bool = False

    @field_validator("hmac_key")
    @classmethod
    def _hex(cls, value: Any) -> Any:
        try:
            binascii.a2b_hex(str(reveal(value)))
        except (binascii.Error, ValueError):
            raise ValueError("hmac_key must be an even-length hex string") from None
        return value


class AdyenBackend(Backend):
    name = "payments"

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self._outbox: list[dict[str, Any]] = []
        self._importing = False

    # -- plumbing --------------------------------------------------------------------------
    @property
    def payments(self) -> Any:
        return self.ctx.store.collection("payments")

    @property
    def modifications(self) -> Any:
        return self.ctx.store.collection("modifications")

    @property
    def webhooks(self) -> Any:
        return self.ctx.store.collection("webhooks")

    def reset(self) -> None:
        self._outbox.clear()

    def new_psp(self) -> str:
        """A 16-character pspReference, deterministic per seed and issue order."""
        n = self.ctx.ids.sequence("psp")
        num = int.from_bytes(hashlib.blake2b(f"{self.ctx.config.seed}:psp:{n}".encode(),
                                             digest_size=12).digest(), "big")
        chars = []
        for _ in range(16):
            num, rem = divmod(num, 36)
            chars.append(_B36[rem])
        return "".join(chars)

    def _now_date(self) -> str:
        return notifications.event_date(self.clock.now())

    def _set_status(self, payment: dict[str, Any], status: str) -> None:
        current = payment["status"]
        if status not in TRANSITIONS[current]:
            raise AssertionError(f"illegal payment transition {current} → {status}")
        payment["status"] = status

    def _fact(self, kind: str, payment: dict[str, Any], amount: dict[str, Any],
              **extra: Any) -> None:
        data = {"pspReference": payment["pspReference"],
                "merchantReference": payment["merchantReference"],
                "merchantAccount": payment["merchantAccount"],
                "amount": amount["value"], "currency": amount["currency"],
                "amountMajor": _major(amount),
                "eventDate": self._now_date(), "at": self.clock.now(), **extra}
        self.ctx.facts.record(kind, payment["merchantReference"], **data)
        self.ctx.facts.record(kind, payment["pspReference"], **data)

    # -- payments --------------------------------------------------------------------------
    def make_payment(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /payments``: validate, decide the test outcome, notify, answer."""
        req = validation.payment_request(body, self.config.merchant_accounts, self.new_psp)
        psp = self.new_psp()
        now = self.clock.now()
        payment: dict[str, Any] = {
            "pspReference": psp, "merchantAccount": req.merchant_account,
            "merchantReference": req.reference, "amount": req.amount,
            "methodType": req.method_type, "status": "Received", "created": now,
            "shopperReference": req.shopper_reference, "metadata": req.metadata,
            "captured": 0, "refunded": 0, "capturePending": 0, "refundPending": 0,
            "cancelPending": False, "authCode": self._auth_code(psp),
        }
        if req.card is not None:
            payment["paymentMethod"] = req.card.brand
            payment["cardSummary"] = req.card.number[-4:]
            payment["expiryDate"] = f"{req.card.expiry_month}/{req.card.expiry_year}"
            result, reason, code = self._card_outcome(req)
        else:
            assert req.sepa is not None
            payment["paymentMethod"] = "sepadirectdebit"
            payment["iban"] = req.sepa.iban
            payment["ownerName"] = req.sepa.owner_name
            result, reason, code = "Received", None, None
        payment["resultCode"] = result
        if reason is not None:
            payment["refusalReason"] = reason
            payment["refusalReasonCode"] = str(code)
        immediate = self.config.capture_mode == "immediate" or req.capture_delay_hours == 0
        payment["autoCapture"] = immediate
        if result == "Received":
            payment["pendingUntil"] = now + self.config.pending_delay_s
        elif result in ("Refused", "Error", "Cancelled"):
            payment["status"] = "Refused" if result != "Error" else "Error"
        self.payments.put(psp, payment)
        if result == "Authorised":
            self._authorise(payment)
        elif result != "Received":
            self._notify_authorisation(payment, success=False)
            self._fact("payment.refused", payment, payment["amount"], resultCode=result,
                       refusalReason=reason)
        self.payments.put(psp, payment)
        self.flush_notifications()
        return self._payment_response(payment)

    def _auth_code(self, psp: str) -> str:
        return str(int(hashlib.sha256(psp.encode()).hexdigest(), 16) % 900000 + 100000)

    def _card_outcome(self, req: validation.PaymentInput) -> tuple[str, str | None, int | None]:
        assert req.card is not None
        row = None
        if req.acquirer_response_code is not None:
            row = catalog.TEST_RESPONSE_CODES.get(req.acquirer_response_code)
        if row is None and req.card.holder_name:
            row = catalog.TEST_RESPONSES.get(req.card.holder_name.strip().upper())
        if row is not None:
            return row.result_code, row.refusal_reason, (row.code if row.refusal_reason else None)
        today = datetime.fromtimestamp(self.clock.now(), UTC)
        if (req.card.expiry_year, req.card.expiry_month) < (today.year, today.month):
            return "Refused", "Expired Card", 6
        if req.card.number not in catalog.TEST_CARDS:
            return "Refused", "Refused", 2
        return "Authorised", None, None

    def _authorise(self, payment: dict[str, Any]) -> None:
        if payment["status"] == "Received":
            self._set_status(payment, "Authorised")
        payment["resultCode"] = "Authorised"
        payment["authorisedAt"] = self.clock.now()
        self._notify_authorisation(payment, success=True)
        self._fact("payment.authorised", payment, payment["amount"],
                   paymentMethod=payment["paymentMethod"])
        if payment.get("autoCapture"):
            # immediate capture: no CAPTURE notification unless the merchant asks for it
            self._set_status(payment, "Captured")
            payment["captured"] = payment["amount"]["value"]
            self._fact("payment.captured", payment, payment["amount"], auto=True)

    def _notify_authorisation(self, payment: dict[str, Any], *, success: bool) -> None:
        if success:
            reason = (f"{payment['authCode']}:{payment['cardSummary']}:{payment['expiryDate']}"
                      if "cardSummary" in payment else "")
            operations = ["CANCEL", "CAPTURE", "REFUND"]
        else:
            reason = payment.get("refusalReason", "")
            operations = None
        extra = {"authCode": payment["authCode"]} if success else {}
        self._emit(notifications.notification_item(
            event_code="AUTHORISATION", psp_reference=payment["pspReference"],
            merchant_account=payment["merchantAccount"],
            merchant_reference=payment["merchantReference"], amount=payment["amount"],
            success=success, event_date=self._now_date(),
            payment_method=payment["paymentMethod"], reason=reason, operations=operations,
            additional_data={**extra, **self._metadata_data(payment)}))

    @staticmethod
    def _metadata_data(payment: dict[str, Any]) -> dict[str, str]:
        out = {f"metadata.{k}": v for k, v in (payment.get("metadata") or {}).items()}
        if payment.get("shopperReference"):
            out["shopperReference"] = payment["shopperReference"]
        return out

    def _payment_response(self, payment: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "additionalData": {}, "pspReference": payment["pspReference"],
            "resultCode": payment["resultCode"],
            "merchantReference": payment["merchantReference"], "amount": payment["amount"],
            "paymentMethod": {"type": payment["methodType"]},
        }
        if payment["methodType"] == "scheme":
            out["paymentMethod"]["brand"] = payment["paymentMethod"]
            out["additionalData"].update({
                "cardSummary": payment["cardSummary"], "expiryDate": payment["expiryDate"],
                "paymentMethod": payment["paymentMethod"],
                "refusalReasonRaw": (payment.get("refusalReason") or "AUTHORISED").upper(),
            })
            if payment["resultCode"] == "Authorised":
                out["additionalData"]["authCode"] = payment["authCode"]
        else:
            out["additionalData"].update({
                "sepadirectdebit.mandateId": payment["pspReference"],
                "sepadirectdebit.dateOfSignature": datetime.fromtimestamp(
                    payment["created"], UTC).strftime("%Y-%m-%d"),
                "sepadirectdebit.sequenceType": "OneOff",
            })
        if "refusalReason" in payment:
            out["refusalReason"] = payment["refusalReason"]
            out["refusalReasonCode"] = payment["refusalReasonCode"]
        return out

    def payment_methods(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /paymentMethods`` for a merchant account, country and amount."""
        validation.merchant_account(body, self.config.merchant_accounts, self.new_psp)
        money = validation.amount(body, self.new_psp, required=False, allow_zero=True)
        country = body.get("countryCode")
        if country is not None and (not isinstance(country, str) or len(country) != 2):
            raise validation.unexpected_input("countryCode must be a 2-letter ISO code")
        return {"paymentMethods": catalog.payment_methods(
            country.upper() if country else None, money["currency"] if money else None)}

    # -- modifications ---------------------------------------------------------------------
    def request_modification(self, kind: str, payment_psp: str | None,
                             body: dict[str, Any]) -> dict[str, Any]:
        """Accept a capture/refund/cancel (``status: received``); decided on a later tick.

        ``payment_psp`` is None for ``POST /cancels``, which names the payment by its
        merchant reference (``paymentReference``).
        """
        account = validation.merchant_account(body, self.config.merchant_accounts, self.new_psp)
        money = None
        if kind != "cancel":
            money = validation.amount(body, self.new_psp)
        ref = validation.reference(body, self.new_psp, required=False)
        payment_reference = None
        if payment_psp is None:
            payment_reference = body.get("paymentReference")
            if not isinstance(payment_reference, str) or not payment_reference:
                raise ValidationError("000", "Required field 'paymentReference' is not "
                                      "provided.", self.new_psp())
            payment = self._by_merchant_reference(account, payment_reference)
        else:
            payment = self.payments.get(payment_psp)
            if payment is not None and payment["merchantAccount"] != account:
                payment = None
            if payment is None:
                raise ValidationError("167", "Original pspReference required for this "
                                      "operation", self.new_psp())
        failure = self._modification_failure(kind, payment, money)
        if failure is not None and self.config.reject_invalid_modifications:
            code = "137" if failure.startswith("Insufficient") or "currency" in failure else "167"
            message = ("Invalid amount specified" if code == "137" else
                       "Original pspReference required for this operation")
            raise ValidationError(code, message, self.new_psp())
        psp = self.new_psp()
        mod: dict[str, Any] = {
            "pspReference": psp, "kind": kind, "merchantAccount": account, "reference": ref,
            "paymentPspReference": payment["pspReference"] if payment else None,
            "paymentReference": payment_reference,
            "amount": money or (payment["amount"] if payment else None),
            "failure": failure, "created": self.clock.now(),
            "dueAt": self.clock.now() + self.config.modification_delay_s, "status": "received",
        }
        if payment is not None and failure is None:
            # reserve now so that concurrent requests are judged against what is in flight
            if kind == "capture":
                payment["capturePending"] += money["value"]  # type: ignore[index]
            elif kind == "refund":
                payment["refundPending"] += money["value"]  # type: ignore[index]
            else:
                payment["cancelPending"] = True
            self.payments.put(payment["pspReference"], payment)
        self.modifications.put(psp, mod)
        response: dict[str, Any] = {"merchantAccount": account, "pspReference": psp,
                                    "status": "received"}
        if payment_psp is not None:
            response["paymentPspReference"] = payment_psp
        else:
            response["paymentReference"] = payment_reference
        if ref is not None:
            response["reference"] = ref
        if money is not None:
            response["amount"] = money
        return response

    def _by_merchant_reference(self, account: str, reference: str) -> dict[str, Any] | None:
        found = [p for p in self.payments.values()
                 if p["merchantAccount"] == account and p["merchantReference"] == reference]
        return max(found, key=lambda p: p["created"]) if found else None

    @staticmethod
    def _modification_failure(kind: str, payment: dict[str, Any] | None,
                              money: dict[str, Any] | None) -> str | None:
        """Why Adyen would refuse this modification, or None when it can succeed."""
        if payment is None:
            return "Original payment not found"
        status = payment["status"]
        if money is not None and money["currency"] != payment["amount"]["currency"]:
            return "Modification in different currency than authorisation"
        if kind == "cancel":
            if status != "Authorised" or payment["capturePending"] or payment["cancelPending"]:
                return f"Payment cannot be cancelled in state {status}"
            return None
        assert money is not None
        if kind == "capture":
            if status not in ("Authorised", "Captured") or payment["cancelPending"]:
                return f"Payment cannot be captured in state {status}"
            left = payment["amount"]["value"] - payment["captured"] - payment["capturePending"]
            if money["value"] > left:
                return "Insufficient balance on payment"
            return None
        if status not in ("Captured",):
            return f"Payment cannot be refunded in state {status}"
        left = payment["captured"] - payment["refunded"] - payment["refundPending"]
        if money["value"] > left:
            return "Insufficient in-process funds on account to perform Refund"
        return None

    def _process_modification(self, mod: dict[str, Any]) -> None:
        kind = mod["kind"]
        payment = (self.payments.get(mod["paymentPspReference"])
                   if mod["paymentPspReference"] else None)
        success = mod["failure"] is None and payment is not None
        amount = mod["amount"] or {"currency": "EUR", "value": 0}
        if success:
            assert payment is not None
            value = amount["value"]
            if kind == "capture":
                payment["capturePending"] -= value
                payment["captured"] += value
                self._set_status(payment, "Captured")
            elif kind == "refund":
                payment["refundPending"] -= value
                payment["refunded"] += value
                if payment["refunded"] >= payment["captured"] and not payment["capturePending"]:
                    self._set_status(payment, "Refunded")
            else:
                payment["cancelPending"] = False
                self._set_status(payment, "Cancelled")
            self.payments.put(payment["pspReference"], payment)
            self._fact(MODIFICATION_FACT[kind], payment, amount,
                       modificationPspReference=mod["pspReference"], reference=mod["reference"])
        mod["status"] = "processed"
        mod["success"] = success
        mod["processedAt"] = self.clock.now()
        self.modifications.put(mod["pspReference"], mod)
        self._emit(notifications.notification_item(
            event_code=MODIFICATION_EVENT[kind], psp_reference=mod["pspReference"],
            original_reference=mod["paymentPspReference"],
            merchant_account=mod["merchantAccount"],
            merchant_reference=(payment["merchantReference"] if payment
                                else mod["paymentReference"] or ""),
            amount=amount, success=success, event_date=self._now_date(),
            payment_method=payment["paymentMethod"] if payment else None,
            reason="" if success else mod["failure"]))

    # -- time ------------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        for payment in self.payments.values():
            if payment["status"] == "Received" and payment.get("pendingUntil", now + 1) <= now:
                self._authorise(payment)
                self.payments.put(payment["pspReference"], payment)
        due = sorted((m for m in self.modifications.values()
                      if m["status"] == "received" and m["dueAt"] <= now),
                     key=lambda m: (m["created"], m["pspReference"]))
        for mod in due:
            self._process_modification(mod)
        self.flush_notifications()

    # -- notifications ---------------------------------------------------------------------
    def _emit(self, item: dict[str, Any]) -> None:
        self._outbox.append(item)

    def endpoints(self) -> list[dict[str, Any]]:
        """Where notifications go: the configured URLs, then webhooks set up via Management."""
        out: list[dict[str, Any]] = []
        auth = ""
        if self.config.webhook_username:
            auth = f"{self.config.webhook_username}:{reveal(self.config.webhook_password) or ''}"
        for url in self.config.webhook_urls:
            out.append({"url": url, "hmacKey": reveal(self.config.hmac_key), "auth": auth,
                        "merchantId": None})
        for hook in sorted(self.webhooks.values(), key=lambda h: h["created"]):
            if not hook["active"]:
                continue
            hook_auth = f"{hook['username']}:{hook.get('password') or ''}" \
                if hook.get("username") else ""
            out.append({"url": hook["url"], "hmacKey": hook.get("hmacKey"), "auth": hook_auth,
                        "merchantId": hook["merchantId"]})
        return out

    def flush_notifications(self) -> None:
        """Drain the outbox: per endpoint, signed items in batches (see ``notifications``)."""
        if not self._outbox:
            return
        if self._importing:  # imported history was notified back then, not now
            self._outbox.clear()
            return
        items, self._outbox = self._outbox, []
        for endpoint in self.endpoints():
            mine = [i for i in items if endpoint["merchantId"] in (None,
                                                                   i["merchantAccountCode"])]
            signed = [notifications.signed(i, endpoint["hmacKey"]) for i in mine]
            for batch in notifications.batches(signed, self.config.notification_batch_size):
                self.ctx.webhooks.enqueue(
                    url=endpoint["url"], body=notifications.notification_body(batch),
                    event_id=notifications.batch_event_id(batch),
                    event_type=",".join(sorted({i["eventCode"] for i in batch})),
                    secret=endpoint["auth"])

    # -- import ----------------------------------------------------------------------------
    import_kinds = ("payments",)

    def import_records(self, kind: str, records: list[dict[str, Any]]) -> dict[str, int]:
        """``payments``: Checkout ``/payments`` request bodies made at ``_at``, decided and
        stored by :meth:`make_payment` (no notifications: history is not traffic)."""
        if kind != "payments":
            return super().import_records(kind, records)
        self._importing = True
        try:
            return {"payments": self.import_each(kind, records, self.make_payment)}
        finally:
            self._importing = False

    # -- seeding ---------------------------------------------------------------------------
    def seed(self, request: SeedRequest) -> dict[str, int]:
        """A few settled historic payments per merchant account (no notifications sent)."""
        fake = make_faker(request.seed, request.locales)
        per_account = max(1, min(request.size, 1000) // len(self.config.merchant_accounts))
        midnight = datetime.fromtimestamp(self.clock.now(), UTC).replace(
            hour=0, minute=0, second=0, microsecond=0)
        count = 0
        cards = sorted(catalog.TEST_CARDS)
        for account in self.config.merchant_accounts:
            r = rng(request.seed, account)
            for i in range(per_account):
                currency = r.choice(["EUR", "EUR", "USD", "GBP", "JPY"])
                value = r.randint(5, 2000) * (1 if currency == "JPY" else 100)
                number = r.choice(cards)
                created = midnight - timedelta(days=r.randint(1, 90), seconds=r.randint(0, 86399))
                state = r.choices(["Authorised", "Captured", "Refunded", "Refused"],
                                  [2, 5, 1, 1])[0]
                psp = self.new_psp()
                payment = {
                    "pspReference": psp, "merchantAccount": account,
                    "merchantReference": f"SEED-{account[-4:].upper()}-{i + 1:04d}",
                    "amount": {"currency": currency, "value": value}, "methodType": "scheme",
                    "paymentMethod": catalog.TEST_CARDS[number], "cardSummary": number[-4:],
                    "expiryDate": "3/2030", "created": created.timestamp(),
                    "shopperReference": f"shopper-{fake.user_name()}",
                    "metadata": {"shopperName": fake.name()},
                    "status": state, "resultCode": "Refused" if state == "Refused"
                    else "Authorised",
                    "captured": value if state in ("Captured", "Refunded") else 0,
                    "refunded": value if state == "Refunded" else 0,
                    "capturePending": 0, "refundPending": 0, "cancelPending": False,
                    "authCode": self._auth_code(psp), "autoCapture": False, "seeded": True,
                }
                if state == "Refused":
                    payment["refusalReason"], payment["refusalReasonCode"] = "Refused", "2"
                self.payments.put(psp, payment)
                count += 1
        return {"payments": count}

    # -- Management API: webhooks ----------------------------------------------------------
    def set_up_webhook(self, merchant_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if merchant_id not in self.config.merchant_accounts:
            raise ManagementError(403, f"Merchant account {merchant_id} is not accessible")
        for required in ("url", "type", "active", "communicationFormat"):
            if required not in body:
                raise ManagementError(422, f"Required field '{required}' is missing")
        if body["communicationFormat"] != "json":
            raise ManagementError(422, "Only communicationFormat 'json' is supported")
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ManagementError(422, "url must be an http(s) URL")
        hook_type = body.get("type", "standard")
        if hook_type != "standard":
            raise ManagementError(422, f"Webhook type {hook_type!r} is not supported")
        active = body.get("active", True)
        if not isinstance(active, bool):
            raise ManagementError(400, "active must be a boolean")
        username = body.get("username")
        password = body.get("password")
        if username is not None and not isinstance(username, str):
            raise ManagementError(400, "username must be a string")
        if password is not None and not isinstance(password, str):
            raise ManagementError(400, "password must be a string")
        mine = [h for h in self.webhooks.values() if h["merchantId"] == merchant_id]
        if len(mine) >= MAX_WEBHOOKS_PER_MERCHANT:
            raise ManagementError(422, f"A merchant account can have at most "
                                  f"{MAX_WEBHOOKS_PER_MERCHANT} webhooks")
        hook_id = "S2-" + self.new_psp()[:12]
        hook = {"id": hook_id, "merchantId": merchant_id, "type": hook_type, "url": url,
                "active": active, "communicationFormat": body.get("communicationFormat",
                                                                  "json"),
                "username": username, "password": password, "hmacKey": None,
                "created": self.clock.now()}
        self.webhooks.put(hook_id, hook)
        return self.webhook_view(hook)

    def generate_hmac(self, merchant_id: str, webhook_id: str) -> dict[str, str]:
        hook = self.webhooks.get(webhook_id)
        if hook is None or hook["merchantId"] != merchant_id:
            raise ManagementError(404, f"Webhook {webhook_id} not found")
        n = self.ctx.ids.sequence("hmac")
        hook["hmacKey"] = hashlib.sha256(
            f"{self.ctx.config.seed}:hmac:{n}".encode()).hexdigest().upper()
        self.webhooks.put(webhook_id, hook)
        return {"hmacKey": hook["hmacKey"]}

    @staticmethod
    def webhook_view(hook: dict[str, Any]) -> dict[str, Any]:
        out = {k: hook[k] for k in ("id", "type", "url", "active", "communicationFormat")}
        if hook.get("username"):
            out["username"] = hook["username"]
        out["hasPassword"] = bool(hook.get("password"))
        out["hasError"] = False
        out["_links"] = {"self": {"href": f"/v3/merchants/{hook['merchantId']}/webhooks/"
                                          f"{hook['id']}"}}
        return out
