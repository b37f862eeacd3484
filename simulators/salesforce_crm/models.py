"""The org: sObject records, sessions, API usage, query cursors and change events. No HTTP.

Records live in one store collection per object type (``Account``, ``Contact``,
``Opportunity``), keyed by 18-character id, as flat dicts of field → JSON value (dates as
``YYYY-MM-DD``, dateTimes in Salesforce's ``2024-01-01T00:00:00.000+0000`` form).
Deletes are soft (``IsDeleted``), as in the recycle bin, so ``queryAll`` still sees them.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Iterator
from typing import Annotated, Any

import orjson
from pydantic import Field as PydanticField

from harness.canonical.secrets import Secret, builtin_secret, reveal
from simulators._kit import Backend, SeedRequest, SimContext, SimulatorConfig, is_digits

from . import query as soql_query
from .errors import SalesforceError, not_found, request_limit_exceeded
from .schema import (
    BY_PREFIX,
    NUMBER_TYPES,
    ORG_ID,
    STAGES,
    TEXT_TYPES,
    USER_ID,
    Field,
    SObjectType,
    id18,
    normalize_id,
    record_id,
    sobject,
)
from .soql import SoqlError, parse

DEFAULT_VERSION = "59.0"  # simple-salesforce's DEFAULT_API_VERSION
SUPPORTED_VERSIONS = [f"{v}.0" for v in range(31, 63)]
DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
MAX_CURSORS = 200
CDC_SCHEMA_ID = "o2cSimOpportunityChangeEvent-v1"


class Config(SimulatorConfig):
    """Settings of the Salesforce simulator (credentials are the connected app's and user's)."""

    client_id: str = PydanticField(default="3MVG9o2cHarnessSimulatorConsumerKey",
                                   description="connected app consumer key")
    client_secret: Secret = PydanticField(default=builtin_secret("o2c-client-secret"),
                                          description="connected app consumer secret")
    username: str = "integration@o2c.test"
    password: Secret = builtin_secret("o2c-password")
    security_token: Secret = PydanticField(
        default=builtin_secret("o2cSecurityToken"),
        description="appended to the password by password-grant and SOAP logins; "
                    "empty means the password alone is accepted")
    session_lifetime_s: Annotated[int, PydanticField(ge=60, le=86_400 * 30)] = 7200
    daily_api_limit: Annotated[int, PydanticField(ge=1)] = 100_000
    default_currency: str = "USD"
    change_event_urls: list[str] = PydanticField(
        default_factory=list, description="receivers of Opportunity change events")
    change_event_secret: Secret = PydanticField(
        default=builtin_secret("o2c-cdc-secret"),
        description="HMAC key for X-Sfdc-Signature on events sent to change_event_urls")


def version_label(version: str) -> str:
    """The release name of an API version (59.0 is Winter '24)."""
    idx = int(float(version)) - 59
    return f"{['Winter', 'Spring', 'Summer'][idx % 3]} '{24 + idx // 3}"


def _b62(n: int, width: int) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(width):
        n, rem = divmod(n, 62)
        out = alphabet[rem] + out
    return out


class SalesforceBackend(Backend):
    """State and behaviour of one simulated Salesforce org."""

    name = "crm"

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        # query cursors are ephemeral, like Salesforce's (they expire); kept out of the store
        self._cursors: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._tx_depth = 0
        self._effects: list[Any] = []

    # -- helpers -----------------------------------------------------------------------------
    def records(self, type_name: str) -> Any:
        return self.ctx.store.collection(type_name)

    def now_iso(self) -> str:
        return soql_query.format_datetime(self.clock.now())

    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.clock.now(), dt.UTC).date()

    def lookup(self, raw_id: str | None) -> dict[str, Any] | None:
        """Any record by id (15 or 18 chars), deleted or not."""
        full = normalize_id(raw_id) if isinstance(raw_id, str) else None
        t = BY_PREFIX.get(full[:3]) if full else None
        return self.records(t.name).get(full) if t and full else None

    def reset(self) -> None:
        self._cursors.clear()
        self._effects.clear()
        self._tx_depth = 0

    def seed(self, request: SeedRequest) -> dict[str, int]:
        from .seed import seed_org

        return seed_org(self, request)

    import_kinds = ("Account", "Contact", "Opportunity")

    def import_records(self, kind: str, records: list[dict[str, Any]]) -> dict[str, int]:
        from .imports import import_records

        return import_records(self, kind, records)

    # -- sessions and OAuth --------------------------------------------------------------------
    def check_password(self, username: str, password: str) -> bool:
        cfg = self.config
        expected = f"{reveal(cfg.password)}{reveal(cfg.security_token)}"
        return hmac.compare_digest(username, cfg.username) and \
            hmac.compare_digest(password.encode(), expected.encode())

    def issue_session(self, base_url: str) -> dict[str, Any]:
        """A new access token for the integration user, with the token response fields."""
        token = f"{ORG_ID[:15]}!AQ" + "".join(self.ctx.ids.new("", 21) for _ in range(5))
        issued_ms = int(self.clock.now() * 1000)
        self.ctx.store.collection("sessions").put(token, {
            "issued_at": self.clock.now(),
            "expires_at": self.clock.now() + self.config.session_lifetime_s,
            "user_id": USER_ID,
        })
        identity = f"{base_url}/id/{ORG_ID}/{USER_ID}"
        key = str(reveal(self.config.client_secret)).encode()
        mac = hmac.new(key, f"{identity}{issued_ms}".encode(), hashlib.sha256).digest()
        return {"access_token": token, "instance_url": base_url, "id": identity,
                "token_type": "Bearer", "issued_at": str(issued_ms),
                "signature": base64.b64encode(mac).decode(), "scope": "api"}

    def session_valid(self, token: str) -> bool:
        doc = self.ctx.store.collection("sessions").get(token)
        return doc is not None and doc["expires_at"] > self.clock.now()

    def expire_sessions(self) -> int:
        """End every live session now (as an admin revoking them, or a password change):
        the next call with one of their tokens answers 401 ``INVALID_SESSION_ID``."""
        sessions = self.ctx.store.collection("sessions")
        now = self.clock.now()
        ended = 0
        for token, doc in list(sessions.items()):
            if doc["expires_at"] > now:
                sessions.put(token, {**doc, "expires_at": now})
                ended += 1
        return ended

    # -- API usage --------------------------------------------------------------------------
    def _usage(self) -> dict[str, Any]:
        day = self.today().isoformat()
        doc = self.ctx.store.collection("api_usage").get("org")
        if doc is None or doc["day"] != day:  # the daily allowance, by simulator-clock UTC day
            doc = {"day": day, "used": 0}
        return doc

    def count_api_call(self) -> None:
        """Count one API request; refuse it with REQUEST_LIMIT_EXCEEDED past the daily limit."""
        doc = self._usage()
        if doc["used"] >= self.config.daily_api_limit:
            err = request_limit_exceeded()
            err.headers["Sforce-Limit-Info"] = self.limit_info()
            raise err
        doc["used"] += 1
        self.ctx.store.collection("api_usage").put("org", doc)

    def limit_info(self) -> str:
        return f"api-usage={self._usage()['used']}/{self.config.daily_api_limit}"

    def limits(self) -> dict[str, Any]:
        used = self._usage()["used"]
        limit = self.config.daily_api_limit
        return {
            "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
            "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DataStorageMB": {"Max": 1024, "Remaining": 1024},
            "HourlyPublishedStandardVolumePlatformEvents": {"Max": 100000,
                                                             "Remaining": 100000},
            "MonthlyPlatformEventsUsageEntitlement": {"Max": 0, "Remaining": 0},
            "SingleEmail": {"Max": 15, "Remaining": 15},
        }

    # -- transactions ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-none scope: on an exception the records are restored and events dropped."""
        before = {t: dict(self.records(t).items()) for t in ("Account", "Contact",
                                                              "Opportunity")}
        self._tx_depth += 1
        mark = len(self._effects)
        try:
            yield
        except BaseException:
            self._tx_depth -= 1
            del self._effects[mark:]
            for type_name, docs in before.items():
                coll = self.records(type_name)
                for doc_id in coll.ids():
                    if doc_id not in docs:
                        coll.delete(doc_id)
                for doc_id, doc in docs.items():
                    coll.put(doc_id, doc)
            raise
        self._tx_depth -= 1
        if self._tx_depth == 0:
            effects, self._effects = self._effects, []
            for effect in effects:
                effect()

    def _after_commit(self, effect: Any) -> None:
        if self._tx_depth:
            self._effects.append(effect)
        else:
            effect()

    # -- record access ----------------------------------------------------------------------
    def sobject_type(self, name: str) -> SObjectType:
        t = sobject(name)
        if t is None:
            raise not_found()
        return t

    def _live(self, t: SObjectType, raw_id: str) -> dict[str, Any]:
        full = normalize_id(raw_id)
        doc = self.records(t.name).get(full) if full else None
        if doc is None:
            raise not_found()
        if doc.get("IsDeleted"):
            raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return doc

    def render(self, t: SObjectType, doc: dict[str, Any], version: str,
               fields: list[str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": soql_query.attributes(t.name, doc["Id"], version)}
        if fields is None:
            out.update({f.name: doc.get(f.name) for f in t.fields})
            return out
        for name in fields:
            f = t.field(name)
            if f is None:
                raise SalesforceError(400, "INVALID_FIELD",
                                      f"No such column '{name}' on sobject of type {t.name}")
            out[f.name] = doc.get(f.name)
        return out

    def get(self, type_name: str, raw_id: str, version: str,
            fields: list[str] | None = None) -> dict[str, Any]:
        t = self.sobject_type(type_name)
        return self.render(t, self._live(t, raw_id), version, fields)

    def find_by_external_id(self, t: SObjectType, field_name: str,
                            value: str) -> tuple[Field, dict[str, Any] | None]:
        f = t.field(field_name)
        if f is None or not (f.external_id or f.name == "Id"):
            raise not_found(f"Provided external ID field does not exist or is not accessible: "
                            f"{field_name}")
        if f.name == "Id":
            return f, self._live(t, value)
        key = value.casefold()
        for doc in self.records(t.name).values():
            if not doc.get("IsDeleted") and isinstance(doc.get(f.name), str) \
                    and doc[f.name].casefold() == key:
                return f, doc
        return f, None

    # -- validation -----------------------------------------------------------------------------
    def _coerce(self, t: SObjectType, f: Field, value: Any) -> Any:
        if value is None:
            if not f.nillable:
                raise SalesforceError(400, "REQUIRED_FIELD_MISSING",
                                      f"Required fields are missing: [{f.name}]", [f.name])
            return None
        kind = f.type
        if kind in ("reference",):
            full = normalize_id(value) if isinstance(value, str) else None
            target = f.reference_to[0]
            if full is None or (target != "User" and full[:3] != sobject(target).key_prefix):  # type: ignore[union-attr]
                raise SalesforceError(400, "MALFORMED_ID",
                                      f"{f.label}: id value of incorrect type: {value}", [f.name])
            exists = full == USER_ID if target == "User" else \
                (self.lookup(full) or {}).get("IsDeleted") is False
            if not exists:
                raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY",
                                      f"invalid cross reference id: {value}", [f.name])
            return full
        if kind in TEXT_TYPES:
            if isinstance(value, bool | int | float):
                value = str(value).lower() if isinstance(value, bool) else str(value)
            if not isinstance(value, str):
                raise _deserialize_error(f, value)
            if f.length and len(value) > f.length:
                raise SalesforceError(400, "STRING_TOO_LONG",
                                      f"{f.label}: data value too large: {value[:80]} "
                                      f"(max length={f.length})", [f.name])
            if kind == "email" and value and ("@" not in value or " " in value.strip()):
                raise SalesforceError(400, "INVALID_EMAIL_ADDRESS",
                                      f"{f.label}: invalid email address: {value}", [f.name])
            if f.restricted and value not in f.picklist:
                raise SalesforceError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                      f"{f.label}: bad value for restricted picklist field: "
                                      f"{value}", [f.name])
            return value
        if kind in NUMBER_TYPES:
            if isinstance(value, str):
                try:
                    value = float(value)
                except ValueError:
                    raise _deserialize_error(f, value) from None
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or value != value or value in (float("inf"), float("-inf")):
                raise _deserialize_error(f, value)
            if abs(value) >= 10 ** (f.precision - f.scale if f.precision else 18):
                raise SalesforceError(400, "NUMBER_OUTSIDE_VALID_RANGE",
                                      f"{f.label}: value outside of valid range on numeric "
                                      f"field: {value}", [f.name])
            return round(float(value), f.scale) if f.scale else value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise _deserialize_error(f, value)
            return value
        if kind == "date" and isinstance(value, str) \
                and (len(value) == 10 or (len(value) > 10 and value[10] == "T")):
            with contextlib.suppress(ValueError):
                return dt.date.fromisoformat(value[:10]).isoformat()
        raise _deserialize_error(f, value)

    def validate(self, t: SObjectType, body: Any, creating: bool) -> dict[str, Any]:
        """The writable values in ``body``, coerced, or the error Salesforce would give."""
        if not isinstance(body, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR",
                                  f"Cannot deserialize instance of {t.name} from "
                                  f"{_json_kind(body)} value or request may be missing a "
                                  "required field at [line:1, column:1]")
        values: dict[str, Any] = {}
        for key, value in body.items():
            if key == "attributes":
                continue
            f = t.field(key)
            if f is None:
                raise SalesforceError(400, "INVALID_FIELD",
                                      f"No such column '{key}' on sobject of type {t.name}")
            if not (f.createable if creating else f.updateable):
                raise SalesforceError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                                      f"Unable to create/update fields: {f.name}. Please check "
                                      "the security settings of this field and verify that it "
                                      "is read/write for your user or profile.", [f.name])
            values[f.name] = self._coerce(t, f, value)
        if creating:
            missing = [f.name for f in t.fields if f.required and values.get(f.name) is None]
            if missing:
                raise SalesforceError(400, "REQUIRED_FIELD_MISSING",
                                      f"Required fields are missing: [{', '.join(missing)}]",
                                      missing)
        return values

    def _check_unique(self, t: SObjectType, values: dict[str, Any], own_id: str | None) -> None:
        for f in t.fields:
            value = values.get(f.name)
            if not f.unique or not isinstance(value, str):
                continue
            for doc in self.records(t.name).values():
                if doc["Id"] != own_id and not doc.get("IsDeleted") \
                        and isinstance(doc.get(f.name), str) \
                        and doc[f.name].casefold() == value.casefold():
                    raise SalesforceError(400, "DUPLICATE_VALUE",
                                          f"duplicate value found: {f.name} duplicates value on "
                                          f"record with id: {doc['Id']}", [f.name])

    # -- writes ------------------------------------------------------------------------------------
    def insert(self, t: SObjectType, values: dict[str, Any], *, at: float | None = None,
               modified_at: float | None = None, version: str = DEFAULT_VERSION,
               events: bool = True) -> dict[str, Any]:
        """Store a new record from validated values (``at`` backdates seeded history)."""
        created = soql_query.format_datetime(at if at is not None else self.clock.now())
        modified = soql_query.format_datetime(modified_at) if modified_at is not None \
            else created
        doc: dict[str, Any] = {f.name: None for f in t.fields}
        doc.update(values)
        doc.update({
            "Id": record_id(t.key_prefix, self.ctx.ids.sequence(f"sobject:{t.key_prefix}")),
            "IsDeleted": False, "CreatedDate": created, "LastModifiedDate": modified,
            "SystemModstamp": modified, "CreatedById": USER_ID, "LastModifiedById": USER_ID,
        })
        doc["OwnerId"] = doc.get("OwnerId") or USER_ID
        doc["CurrencyIsoCode"] = doc.get("CurrencyIsoCode") or self.config.default_currency
        if t.name == "Contact":
            doc["Name"] = " ".join(p for p in (doc.get("FirstName"), doc["LastName"]) if p)
        if t.name == "Opportunity":
            _derive_stage(doc, probability_given="Probability" in values)
        self.records(t.name).put(doc["Id"], doc)
        if events and t.name == "Opportunity" and doc["IsWon"]:
            self._closed_won(doc, "CREATE", [k for k, v in doc.items() if v is not None],
                             version)
        return doc

    def create(self, type_name: str, body: Any, version: str = DEFAULT_VERSION) -> str:
        t = self.sobject_type(type_name)
        values = self.validate(t, body, creating=True)
        self._check_unique(t, values, None)
        return str(self.insert(t, values, version=version)["Id"])

    def update(self, type_name: str, raw_id: str, body: Any,
               version: str = DEFAULT_VERSION) -> dict[str, Any]:
        t = self.sobject_type(type_name)
        doc = self._live(t, raw_id)
        return self._apply_update(t, doc, self.validate(t, body, creating=False), version)

    def _apply_update(self, t: SObjectType, doc: dict[str, Any], values: dict[str, Any],
                      version: str) -> dict[str, Any]:
        self._check_unique(t, values, doc["Id"])
        before = dict(doc)
        # Simulator policy (not a platform rule): a closed opportunity is terminal. Real orgs
        # enforce this with a validation rule; an integration must open a new deal instead.
        if t.name == "Opportunity" and "StageName" in values \
                and before["IsClosed"] and values["StageName"] != before["StageName"]:
            raise SalesforceError(400, "FIELD_INTEGRITY_EXCEPTION",
                                  f"Stage: a closed opportunity cannot move from "
                                  f"'{before['StageName']}' to '{values['StageName']}'",
                                  ["StageName"])
        updated = {**doc, **values}
        if t.name == "Contact":
            updated["Name"] = " ".join(p for p in (updated.get("FirstName"),
                                                   updated["LastName"]) if p)
        if t.name == "Opportunity":
            _derive_stage(updated, probability_given="Probability" in values,
                          stage_changed=values.get("StageName", before["StageName"])
                          != before["StageName"])
        stamp = self.now_iso()
        updated["LastModifiedDate"] = updated["SystemModstamp"] = stamp
        updated["LastModifiedById"] = USER_ID
        self.records(t.name).put(doc["Id"], updated)
        if t.name == "Opportunity" and updated["IsWon"] and not before["IsWon"]:
            changed = [k for k in updated if updated[k] != before.get(k)
                       and k != "SystemModstamp"]
            self._closed_won(updated, "UPDATE", changed, version)
        return updated

    def upsert(self, type_name: str, field_name: str, value: str, body: Any,
               version: str = DEFAULT_VERSION) -> tuple[bool, str]:
        """Create or update by external id; returns (created, id)."""
        t = self.sobject_type(type_name)
        f, doc = self.find_by_external_id(t, field_name, value)
        if f.name == "Id":
            raise SalesforceError(400, "METHOD_NOT_ALLOWED",
                                  "HTTP Method 'PATCH' not allowed. Allowed are GET,HEAD,DELETE")
        if isinstance(body, dict) and any(k.casefold() == f.name.casefold() for k in body) \
                and str(next(v for k, v in body.items()
                             if k.casefold() == f.name.casefold())) != value:
            raise SalesforceError(400, "INVALID_FIELD",
                                  f"The value of {f.name} in the request body does not match "
                                  "the external ID in the URL", [f.name])
        if doc is None:
            values = self.validate(t, {**body, f.name: value} if isinstance(body, dict)
                                   else body, creating=True)
            self._check_unique(t, values, None)
            return True, str(self.insert(t, values, version=version)["Id"])
        values = self.validate(t, body, creating=False)
        self._apply_update(t, doc, values, version)
        return False, str(doc["Id"])

    def delete(self, type_name: str, raw_id: str) -> None:
        t = self.sobject_type(type_name)
        doc = self._live(t, raw_id)
        stamp = self.now_iso()
        doomed = [(t, doc)]
        if t.name == "Account":  # contacts and opportunities go to the recycle bin with it
            for child in ("Contact", "Opportunity"):
                doomed.extend((sobject(child), d) for d in self.records(child).values()  # type: ignore[misc]
                              if d.get("AccountId") == doc["Id"] and not d.get("IsDeleted"))
        for owner, d in doomed:
            self.records(owner.name).put(d["Id"], {**d, "IsDeleted": True,
                                                   "LastModifiedDate": stamp,
                                                   "SystemModstamp": stamp})

    # -- Closed Won: fact and change event ----------------------------------------------------
    def _closed_won(self, doc: dict[str, Any], change_type: str, changed: list[str],
                    version: str) -> None:
        snapshot = dict(doc)

        def effect() -> None:
            self.ctx.facts.record(
                "opportunity.closed_won", snapshot["Id"], AccountId=snapshot["AccountId"],
                Amount=snapshot["Amount"], CurrencyIsoCode=snapshot["CurrencyIsoCode"],
                CloseDate=snapshot["CloseDate"], LastModifiedDate=snapshot["LastModifiedDate"])
            self._emit_change_event(snapshot, change_type, changed, version)

        self._after_commit(effect)

    def change_event(self, doc: dict[str, Any], change_type: str, changed: list[str],
                     version: str) -> dict[str, Any]:
        """A Change Data Capture ``OpportunityChangeEvent`` in the streaming API's shape."""
        replay = self.ctx.ids.sequence("cdc_replay")
        header = {
            "entityName": "Opportunity", "recordIds": [doc["Id"]], "changeType": change_type,
            "changeOrigin": f"com/salesforce/api/rest/{version}",
            "transactionKey": self.ctx.ids.new("", 8) + "-" + self.ctx.ids.new("", 12),
            "sequenceNumber": 1,
            "commitTimestamp": int(soql_query.parse_datetime(doc["LastModifiedDate"]) * 1000),
            "commitNumber": 10_000_000 + replay, "commitUser": USER_ID,
            "nulledFields": [], "diffFields": [], "changedFields": sorted(changed),
        }
        fields = {k: doc[k] for k in sorted(set(changed) | {"LastModifiedDate"})
                  if k in doc and k != "Id"}
        return {"schema": CDC_SCHEMA_ID,
                "payload": {"ChangeEventHeader": header, **fields},
                "event": {"replayId": replay}}

    def _emit_change_event(self, doc: dict[str, Any], change_type: str, changed: list[str],
                           version: str) -> None:
        secret = str(reveal(self.config.change_event_secret))
        targets = [(url, secret) for url in self.config.change_event_urls]
        targets += [(s["url"], s["secret"]) for s in self.subscriptions()]
        if not targets:
            return
        event = self.change_event(doc, change_type, changed, version)
        body = orjson.dumps(event)
        for url, secret in targets:
            self.ctx.webhooks.enqueue(url=url, body=body, event_id=str(event["event"]["replayId"]),
                                      event_type="OpportunityChangeEvent", secret=secret)

    # -- change event subscriptions (simulator admin API) -----------------------------------------
    def subscriptions(self) -> list[dict[str, Any]]:
        return list(self.ctx.store.collection("subscriptions").values())

    def subscribe(self, url: str, secret: str) -> dict[str, Any]:
        sub = {"id": self.ctx.ids.new("sub", 14), "url": url, "secret": secret,
               "created": self.clock.now()}
        self.ctx.store.collection("subscriptions").put(sub["id"], sub)
        return sub

    def unsubscribe(self, sub_id: str) -> bool:
        return self.ctx.store.collection("subscriptions").delete(sub_id) is not None

    # -- SOQL ---------------------------------------------------------------------------------
    def query(self, text: str, *, include_deleted: bool, batch_size: int,
              version: str) -> dict[str, Any]:
        try:
            parsed = parse(text)
            t = sobject(parsed.sobject)
            result = soql_query.run(parsed, records=self.records(t.name).values() if t else [],
                                    lookup=self.lookup, include_deleted=include_deleted,
                                    now=self.clock.now(), version=version)
        except SoqlError as exc:
            raise SalesforceError(400, exc.code, exc.message) from None
        batch = max(MIN_BATCH_SIZE, min(DEFAULT_BATCH_SIZE, batch_size))
        if len(result.records) <= batch:
            return {"totalSize": result.total_size, "done": True, "records": result.records}
        n = self.ctx.ids.sequence("query_cursor")
        cursor_id = id18(f"01g5g0000{_b62(n, 6)}")
        self._cursors[cursor_id] = {"records": result.records, "batch": batch,
                                    "endpoint": "queryAll" if include_deleted else "query"}
        while len(self._cursors) > MAX_CURSORS:
            self._cursors.popitem(last=False)
        return self._page(cursor_id, 0, version)

    def query_more(self, locator: str, version: str) -> dict[str, Any]:
        cursor_id, _, offset = locator.rpartition("-")
        cursor = self._cursors.get(cursor_id)
        if cursor is None or not is_digits(offset) or int(offset) > len(cursor["records"]):
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(cursor_id, int(offset), version)

    def _page(self, cursor_id: str, offset: int, version: str) -> dict[str, Any]:
        cursor = self._cursors[cursor_id]
        records, batch = cursor["records"], cursor["batch"]
        end = offset + batch
        page: dict[str, Any] = {"totalSize": len(records), "done": end >= len(records),
                                "records": records[offset:end]}
        if not page["done"]:
            page["nextRecordsUrl"] = (f"/services/data/v{version}/{cursor['endpoint']}/"
                                      f"{cursor_id}-{end}")
        return page


def _derive_stage(doc: dict[str, Any], probability_given: bool,
                  stage_changed: bool = True) -> None:
    probability, closed, won, forecast = STAGES[doc["StageName"]]
    doc["IsClosed"], doc["IsWon"], doc["ForecastCategoryName"] = closed, won, forecast
    if (stage_changed and not probability_given) or doc.get("Probability") is None:
        doc["Probability"] = probability


def _json_kind(value: Any) -> str:
    return {bool: "VALUE_TRUE" if value else "VALUE_FALSE", int: "VALUE_NUMBER_INT",
            float: "VALUE_NUMBER_FLOAT", str: "VALUE_STRING", list: "START_ARRAY",
            type(None): "VALUE_NULL", dict: "START_OBJECT"}.get(type(value), "VALUE_STRING")


def _deserialize_error(f: Field, value: Any) -> SalesforceError:
    kind = {"currency": "double", "double": "double", "percent": "double", "int": "int",
            "boolean": "boolean", "date": "date"}.get(f.type, "string")
    shown = value if isinstance(value, str | int | float) else ""
    return SalesforceError(400, "JSON_PARSER_ERROR",
                           f"Cannot deserialize instance of {kind} from {_json_kind(value)} "
                           f"value {shown} or request may be missing a required field at "
                           "[line:1, column:1]", [f.name])
