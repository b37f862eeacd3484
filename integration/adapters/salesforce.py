"""CRM adapter in Salesforce REST's dialect: OAuth2 token endpoint (password grant of a
connected app; ``instance_url`` from the token response), SOQL on ``/query`` with
``nextRecordsUrl`` paging, errors as a JSON array of ``{message, errorCode, fields}``;
``REQUEST_LIMIT_EXCEEDED`` is treated as transient; ``INVALID_SESSION_ID`` (401) logs in once
more and retries. Change events are verified with the CRM's signed delivery timestamp:
``X-Sfdc-Timestamp: <unix s>``, ``X-Sfdc-Signature: base64(HMAC-SHA256(secret, "<ts>." +
body))``, refused outside the tolerance window (stale or from the future)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from ..observability import get_logger
from ..settings import CrmSettings
from .http import Adapter, RetryPolicy, TransientError, VendorError, parse_retry_after

log = get_logger("integration.adapters.salesforce")

OPPORTUNITY_FIELDS = ("Id", "Name", "StageName", "IsWon", "Amount", "CurrencyIsoCode",
                      "CloseDate", "LastModifiedDate", "AccountId", "Account.Name",
                      "Account.BillingStreet", "Account.BillingCity",
                      "Account.BillingPostalCode", "Account.BillingState",
                      "Account.BillingCountry", "Account.VAT_Number__c",
                      "Account.Legal_Entity__c", "Account.CurrencyIsoCode")
ACCOUNT_FIELDS = ("Id", "Name", "BillingStreet", "BillingCity", "BillingPostalCode",
                  "BillingState", "BillingCountry", "VAT_Number__c", "Legal_Entity__c",
                  "CurrencyIsoCode", "LastModifiedDate")


class ChangeEventSignatureError(ValueError):
    """A change event whose signature does not verify, or whose timestamp is out of window."""


def verify_change_event(body: bytes, signature: str | None, timestamp: str | None,
                        secret: str, tolerance_s: int = 300, now: float | None = None) -> None:
    """Check ``X-Sfdc-Signature`` over ``"<X-Sfdc-Timestamp>." + body``, then the window.

    The signature is checked first, so an attacker learns nothing about the window from a
    forged message; ``tolerance_s`` 0 disables the window (not recommended)."""
    if not signature:
        raise ChangeEventSignatureError("missing X-Sfdc-Signature header")
    if not timestamp:
        raise ChangeEventSignatureError("missing X-Sfdc-Timestamp header")
    try:
        ts = int(timestamp.strip())
    except ValueError:
        raise ChangeEventSignatureError("X-Sfdc-Timestamp is not an integer") from None
    expected = base64.b64encode(hmac.new(secret.encode(), f"{ts}.".encode() + body,
                                         hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace")):
        raise ChangeEventSignatureError("X-Sfdc-Signature does not verify")
    if tolerance_s and abs((now if now is not None else time.time()) - ts) > tolerance_s:
        raise ChangeEventSignatureError("X-Sfdc-Timestamp outside the tolerance window")


def soql_datetime(value: str) -> str:
    """A SOQL dateTime literal (UTC, ``Z``) from the API's ``2026-11-25T14:50:55.184+0000``."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{parsed.microsecond // 1000:03d}Z"


def soql_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Salesforce(Adapter):
    system = "crm"

    def __init__(self, client: httpx.AsyncClient, policy: RetryPolicy,
                 settings: CrmSettings) -> None:
        super().__init__(client, policy)
        self.settings = settings
        self._token: str | None = None
        self._instance_url: str | None = None
        self._login = asyncio.Lock()

    def vendor_error(self, response: httpx.Response) -> VendorError:
        try:
            body = response.json()
        except ValueError:
            body = None
        first = body[0] if isinstance(body, list) and body else (body or {})
        code = first.get("errorCode") or first.get("error") or str(response.status_code)
        message = first.get("message") or first.get("error_description") or response.text[:300]
        return VendorError(self.system, response.status_code, code, message, body)

    def check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code == 403 and b"REQUEST_LIMIT_EXCEEDED" in response.content:
            raise TransientError(self.system, "REQUEST_LIMIT_EXCEEDED", status=403,
                                 retry_after=parse_retry_after(
                                     response.headers.get("retry-after")))
        return super().check(response)

    async def login(self) -> None:
        s = self.settings
        response = await self.send("POST", "/services/oauth2/token", data={
            "grant_type": "password", "client_id": s.client_id,
            "client_secret": s.client_secret.get_secret_value(), "username": s.username,
            "password": s.password.get_secret_value() + s.security_token.get_secret_value()})
        token = response.json()
        self._token = token["access_token"]
        self._instance_url = token.get("instance_url") or str(self.client.base_url)

    async def _authed(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call with the session; on ``INVALID_SESSION_ID`` (expired or revoked) log in
        once more and retry once. A second 401 is the vendor's error, raised as is."""
        for attempt in range(2):
            if self._token is None:
                async with self._login:
                    if self._token is None:
                        await self.login()
            token = self._token
            url = path if path.startswith("http") else f"{self._instance_url}{path}"
            headers = {"Authorization": f"Bearer {token}"}
            try:
                return await self.send(method, url, headers=headers, **kwargs)
            except VendorError as err:
                if err.status != 401 or attempt:
                    raise
                log.info("crm session expired or invalid; logging in again", code=err.code)
                if self._token == token:  # concurrent callers: only the first one drops it
                    self._token = None
        raise AssertionError("unreachable")  # pragma: no cover

    async def query(self, soql: str) -> list[dict[str, Any]]:
        """Every record of a SOQL query, following ``nextRecordsUrl``."""
        v = self.settings.api_version
        page = (await self._authed("GET", f"/services/data/v{v}/query",
                                   params={"q": soql})).json()
        records = list(page.get("records", []))
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            page = (await self._authed("GET", page["nextRecordsUrl"])).json()
            records.extend(page.get("records", []))
        return records

    async def closed_won_since(self, watermark: str | None) -> list[dict[str, Any]]:
        """Closed Won opportunities modified after ``watermark`` (ISO datetime), oldest first."""
        where = "StageName = 'Closed Won'"
        if watermark:
            where += f" AND LastModifiedDate > {soql_datetime(watermark)}"
        return await self.query(f"SELECT {', '.join(OPPORTUNITY_FIELDS)} FROM Opportunity "
                                f"WHERE {where} ORDER BY LastModifiedDate ASC LIMIT 200")

    async def opportunity(self, opportunity_id: str) -> dict[str, Any] | None:
        found = await self.query(f"SELECT {', '.join(OPPORTUNITY_FIELDS)} FROM Opportunity "
                                 f"WHERE Id = {soql_quote(opportunity_id)}")
        return found[0] if found else None

    async def subscribe_change_events(self, url: str) -> dict[str, Any]:
        """Register the change-event receiver (the simulator's stand-in for the streaming
        API subscription; a real org is configured with CDC + a Pub/Sub client)."""
        response = await self.send("POST", "/_sim/crm/subscriptions",
                                   json={"url": url, "secret":
                                         self.settings.change_event_secret.get_secret_value()})
        return response.json()  # type: ignore[no-any-return]

    async def change_event_subscriptions(self) -> list[dict[str, Any]]:
        response = await self.send("GET", "/_sim/crm/subscriptions")
        return list(response.json().get("data", []))
