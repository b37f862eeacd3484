"""The legacy ERP's books: customers, AR documents, clearing and the nightly batch queue. No HTTP.

Behaviour the integration layer has to live with, on purpose:
- **no idempotency**: posting the same ``ExternalReference`` twice books two documents;
- a **batch window** on the system clock: outside it postings are accepted, refused or queued
  (``Config.batch_window.outside``) and queued ones are booked when the window opens;
- **slow**: a default latency rule on the SOAP endpoint (``Config.default_latency_ms``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.canonical.secrets import Secret, builtin_secret, reveal
from simulators._kit import (
    LEGAL_SUFFIX,
    LOCALE_COUNTRY,
    Backend,
    FaultConfig,
    FaultRule,
    Latency,
    SeedRequest,
    SimulatorConfig,
    make_faker,
    rng,
    vat_id,
)

from .errors import ErpFault, auth_failed, client_fault, customer_not_found, server_fault
from .wsdl import SERVICE_PATH

CENT = Decimal("0.01")
NAME_MAX = 35
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

# company codes of the old system: code → (name, country, currency)
COMPANY_CODES: dict[str, tuple[str, str, str]] = {
    "1000": ("O2C Corp", "US", "USD"),
    "2000": ("O2C Deutschland GmbH", "DE", "EUR"),
    "3000": ("O2C France SAS", "FR", "EUR"),
    "4000": ("O2C UK Ltd", "GB", "GBP"),
    "5000": ("O2C Japan K.K.", "JP", "JPY"),
}
# where seeded customers of countries without their own company code are booked
_COUNTRY_COMPANY = {"US": "1000", "CA": "1000", "AU": "1000", "DE": "2000", "AT": "2000",
                    "NL": "2000", "ES": "2000", "IT": "2000", "SE": "2000", "FR": "3000",
                    "GB": "4000", "JP": "5000"}

ITEM_TRANSITIONS: dict[str, set[str]] = {
    "OPEN": {"PARTIALLY_CLEARED", "CLEARED"},
    "PARTIALLY_CLEARED": {"PARTIALLY_CLEARED", "CLEARED"},
    "CLEARED": set(),
}
QUEUE_TRANSITIONS: dict[str, set[str]] = {"QUEUED": {"BOOKED", "FAILED"}, "BOOKED": set(),
                                          "FAILED": set()}


class BatchWindow(BaseModel):
    """When the nightly posting run accepts postings, in the system's time zone.

    ``start``/``end`` are ``HH:MM``; a window may span midnight (22:00-06:00); equal start
    and end mean always open. ``outside`` says what a posting outside the window gets:
    ``accept`` (booked anyway), ``refuse`` (fault ``BATCH_WINDOW_CLOSED``) or ``queue``
    (Status ``QUEUED`` with a ticket; booked when the window opens).
    """

    model_config = ConfigDict(extra="forbid")
    start: str = "22:00"
    end: str = "06:00"
    tz: str = "UTC"
    outside: Literal["accept", "queue", "refuse"] = "accept"

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("expected HH:MM (24h)")
        return value

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def is_open(self, instant: float) -> bool:
        local = datetime.fromtimestamp(instant, ZoneInfo(self.tz)).time()
        start, end = time.fromisoformat(self.start), time.fromisoformat(self.end)
        if start == end:
            return True
        if start < end:
            return start <= local < end
        return local >= start or local < end


class Config(SimulatorConfig):
    """Settings of the legacy ERP simulator."""

    users: dict[str, Secret] = Field(
        default_factory=lambda: {"O2C_RFC": builtin_secret("Legacy#2004")},
        description="user → password, for the WS-Security UsernameToken or HTTP Basic")
    default_latency_ms: Annotated[float, Field(ge=0, le=60_000)] = Field(
        default=120.0, description="mean latency of every SOAP call (normal distribution); "
        "0 disables. Installed as a fault rule at reset; PUT /_sim/faults replaces it")
    default_latency_sigma_ms: Annotated[float, Field(ge=0, le=30_000)] = 40.0
    batch_window: BatchWindow = Field(default_factory=BatchWindow)
    wsse_max_age_s: Annotated[int, Field(ge=0, le=86_400)] = Field(
        default=300, description="a PasswordDigest UsernameToken whose wsu:Created is older "
        "than this (wall clock) is refused, and its nonce is remembered this long to refuse a "
        "replay (WSS4J's timeToLive); 0 disables both checks")
    wsse_future_skew_s: Annotated[int, Field(ge=0, le=3600)] = Field(
        default=60, description="how far in the future wsu:Created may be (clock skew; WSS4J's "
        "futureTimeToLive)")


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def _s(value: Decimal) -> str:
    return str(value.quantize(CENT))


class LegacyErpBackend(Backend):
    """Customers, AR documents and their clearing, per company code."""

    name = "legacy_erp"
    config: Config

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self._nonces: dict[str, float] = {}  # WS-Security nonce → wall time it may be forgotten
        # a store restored from SQLite skips reset(): install the slow profile here too
        self._install_default_latency()

    # -- collections -----------------------------------------------------------------------
    @property
    def _customers(self) -> Any:
        return self.ctx.store.collection("customers")

    @property
    def _documents(self) -> Any:
        return self.ctx.store.collection("documents")

    @property
    def _clearings(self) -> Any:
        return self.ctx.store.collection("clearings")

    @property
    def _queue(self) -> Any:
        return self.ctx.store.collection("queue")

    # -- lifecycle -------------------------------------------------------------------------
    def reset(self) -> None:
        codes = self.ctx.store.collection("company_codes")
        for code, (name, country, currency) in COMPANY_CODES.items():
            codes.put(code, {"CompanyCode": code, "Name": name, "Country": country,
                             "Currency": currency})
        self._install_default_latency()

    def _install_default_latency(self) -> None:
        cfg = self.config
        if not cfg.default_latency_ms:
            return
        rule = FaultRule(kind="latency", route=SERVICE_PATH, methods=["POST"],
                         latency=Latency(distribution="normal", ms=cfg.default_latency_ms,
                                         sigma_ms=cfg.default_latency_sigma_ms))
        self.ctx.faults.configure(FaultConfig(seed=cfg.seed, rules=[rule]), self.clock.now())

    def tick(self, now: float) -> None:
        if self.config.batch_window.is_open(now):
            self.run_queue()

    # -- time ------------------------------------------------------------------------------
    def _today(self) -> date:
        zone = ZoneInfo(self.config.batch_window.tz)
        return datetime.fromtimestamp(self.clock.now(), zone).date()

    def _iso_now(self) -> str:
        return datetime.fromtimestamp(self.clock.now(), UTC).isoformat(timespec="seconds")

    # -- auth ------------------------------------------------------------------------------
    def check_password(self, user: str, password: str) -> bool:
        expected = reveal(self.config.users.get(user))
        return expected is not None and _same(expected, password)

    def accept_digest_token(self, nonce_b64: str, created: str, wall_now: float) -> None:
        """Freshness and one-time use of a verified PasswordDigest token (as WSS4J checks
        them): ``wsu:Created`` within ``wsse_max_age_s`` (past) / ``wsse_future_skew_s``
        (future) of the wall clock — the client's clock, not the simulated business clock —
        and a nonce never seen within that window. Nonces live in memory (a restart forgets
        them, like a server's replay cache)."""
        max_age = self.config.wsse_max_age_s
        if not max_age:
            return
        if not nonce_b64 or not created:
            raise auth_failed("A PasswordDigest UsernameToken needs wsse:Nonce and wsu:Created")
        try:
            at = datetime.fromisoformat(created.strip())
        except ValueError:
            raise auth_failed("wsu:Created is not an xsd:dateTime") from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        age = wall_now - at.timestamp()
        if age > max_age:
            raise auth_failed("The message has expired: wsu:Created is older than "
                              f"{max_age} s")
        if -age > self.config.wsse_future_skew_s:
            raise auth_failed("The message has expired: wsu:Created is in the future")
        seen = self._nonces
        for old, until in list(seen.items()):
            if until < wall_now:
                del seen[old]
        if nonce_b64 in seen:
            raise auth_failed("The UsernameToken nonce was already used (replayed message)")
        seen[nonce_b64] = wall_now + max_age + self.config.wsse_future_skew_s

    def check_digest(self, user: str, digest: str, nonce_b64: str, created: str) -> bool:
        """WS-Security PasswordDigest: Base64(SHA-1(nonce + created + password))."""
        expected = reveal(self.config.users.get(user))
        if expected is None:
            return False
        try:
            nonce = base64.b64decode(nonce_b64, validate=True)
        except ValueError:
            return False
        calc = base64.b64encode(hashlib.sha1(nonce + created.encode() + expected.encode())
                                .digest()).decode()
        return _same(calc, digest)

    # -- reference data --------------------------------------------------------------------
    def company_code(self, code: str) -> dict[str, Any]:
        found = self.ctx.store.collection("company_codes").get(code)
        if found is None:
            raise client_fault("COMPANY_CODE_UNKNOWN", f"Company code {code} is not defined",
                               "CompanyCode")
        return found

    # -- customers -------------------------------------------------------------------------
    def create_customer(self, req: dict[str, Any]) -> dict[str, Any]:
        self.company_code(req["CompanyCode"])
        if len(req["Name"]) > NAME_MAX:  # the XSD rejects it first; kept for seed/direct use
            raise client_fault("FIELD_TOO_LONG", f"Name exceeds {NAME_MAX} characters", "Name")
        number = req.get("CustomerNumber")
        if number:
            if number in self._customers:
                raise client_fault("DUPLICATE_CUSTOMER", f"Customer {number} already exists",
                                   "CustomerNumber")
        else:
            number = self._next_customer_number()
        customer = {
            "CustomerNumber": number,
            **{k: req.get(k) for k in ("Name", "Street", "City", "PostalCode", "Country",
                                       "Currency", "CompanyCode", "TaxId")},
            "CreatedAt": self._iso_now(),
        }
        self._customers.put(number, customer)
        self.ctx.facts.record("customer.created", number, CustomerNumber=number,
                              Name=customer["Name"], CompanyCode=customer["CompanyCode"],
                              Country=customer["Country"], created_at=self.clock.now())
        return customer

    def _next_customer_number(self) -> str:
        while True:  # skip numbers a caller chose explicitly
            number = str(self.ctx.ids.sequence("customer", start=100001))
            if number not in self._customers:
                return number

    def get_customer(self, number: str) -> dict[str, Any]:
        customer = self._customers.get(number)
        if customer is None:
            raise customer_not_found(number)
        return customer

    def _customer_in(self, number: str, company: str) -> dict[str, Any]:
        customer = self.get_customer(number)
        if customer["CompanyCode"] != company:
            raise client_fault("CUSTOMER_NOT_IN_COMPANY_CODE",
                               f"Customer {number} is not extended to company code {company}",
                               "CustomerNumber")
        return customer

    # -- batch window ----------------------------------------------------------------------
    def _admit(self, kind: str, req: dict[str, Any]) -> dict[str, Any] | None:
        """Apply the batch window: None to book now, a queue entry when queued; may refuse."""
        window = self.config.batch_window
        if window.is_open(self.clock.now()):
            self.run_queue()  # earlier queued postings go first
            return None
        if window.outside == "refuse":
            raise server_fault("BATCH_WINDOW_CLOSED",
                               f"Postings are accepted between {window.start} and {window.end} "
                               f"({window.tz}) only", status=500)
        if window.outside == "accept":
            return None
        ticket = f"Q{self.ctx.ids.sequence('queue'):09d}"
        entry = {"QueueTicket": ticket, "kind": kind, "request": req, "Status": "QUEUED",
                 "queued_at": self.clock.now(), "booked_at": None, "result": None,
                 "error": None}
        self._queue.put(ticket, entry)
        return entry

    def run_queue(self) -> int:
        """Book every queued posting in arrival order; return how many were processed."""
        done = 0
        for entry in self._queue.values():
            if entry["Status"] != "QUEUED":
                continue
            try:
                if entry["kind"] == "invoice":
                    result = self._book_invoice(entry["request"], entry["QueueTicket"])
                else:
                    result = self._book_payment(entry["request"])
                self._move_queue(entry, "BOOKED")
                entry["result"] = result
            except ErpFault as fault:
                self._move_queue(entry, "FAILED")
                entry["error"] = {"Code": fault.code, "Message": fault.message}
            entry["booked_at"] = self.clock.now()
            self._queue.put(entry["QueueTicket"], entry)
            done += 1
        return done

    @staticmethod
    def _move_queue(entry: dict[str, Any], to: str) -> None:
        if to not in QUEUE_TRANSITIONS[entry["Status"]]:
            raise ValueError(f"queue entry {entry['QueueTicket']}: {entry['Status']} → {to}")
        entry["Status"] = to

    # -- invoices --------------------------------------------------------------------------
    def post_invoice(self, req: dict[str, Any]) -> dict[str, Any]:
        """Validate and book (or queue) an AR invoice. Deliberately NOT idempotent."""
        self.check_invoice(req)
        queued = self._admit("invoice", req)
        if queued is not None:
            return {"Status": "QUEUED", "QueueTicket": queued["QueueTicket"]}
        return self._book_invoice(req)

    def check_invoice(self, req: dict[str, Any]) -> None:
        """The checks PostInvoice makes before booking or queueing."""
        self.company_code(req["CompanyCode"])
        self._customer_in(req["CustomerNumber"], req["CompanyCode"])
        net, tax = money(req["NetAmount"]), money(req["TaxAmount"])
        gross = money(req["GrossAmount"])
        if net + tax != gross:
            raise client_fault("AMOUNT_MISMATCH", f"GrossAmount {gross} is not NetAmount {net} "
                               f"+ TaxAmount {tax}", "GrossAmount")
        lines = req.get("Lines") or []
        if lines:
            line_net = sum((money(li["NetAmount"]) for li in lines), Decimal(0))
            if line_net != net:
                raise client_fault("AMOUNT_MISMATCH", f"Lines add up to {line_net}, NetAmount is "
                                   f"{net}", "Lines")
        if req["DueDate"] < req["InvoiceDate"]:
            raise client_fault("INVALID_REQUEST", "DueDate is before InvoiceDate", "DueDate")

    def _book_invoice(self, req: dict[str, Any], ticket: str | None = None, *,
                      record: bool = True) -> dict[str, Any]:
        company = req["CompanyCode"]
        number = f"{self.ctx.ids.sequence(f'invoice:{company}', start=9000000001):010d}"
        posting_date = self._today()
        gross = money(req["GrossAmount"])
        doc = {
            "DocumentNumber": number,
            "FiscalYear": posting_date.year,
            "CompanyCode": company,
            "CustomerNumber": req["CustomerNumber"],
            "ExternalReference": req["ExternalReference"],
            "InvoiceDate": req["InvoiceDate"],
            "DueDate": req["DueDate"],
            "PostingDate": posting_date.isoformat(),
            "Currency": req["Currency"],
            "NetAmount": _s(money(req["NetAmount"])),
            "TaxAmount": _s(money(req["TaxAmount"])),
            "GrossAmount": _s(gross),
            "OpenAmount": _s(gross),
            "Status": "OPEN",
            "Lines": req.get("Lines") or [],
            "QueueTicket": ticket,
            "posted_at": self.clock.now(),
            "clearings": [],
        }
        self._documents.put(f"{company}:{number}", doc)
        if record:
            self.ctx.facts.record(
                "invoice.posted", req["ExternalReference"], DocumentNumber=number,
                CompanyCode=company, CustomerNumber=req["CustomerNumber"],
                GrossAmount=doc["GrossAmount"], Currency=req["Currency"],
                FiscalYear=doc["FiscalYear"], posted_at=doc["posted_at"],
                queue_ticket=ticket)
        return {"Status": "POSTED", "DocumentNumber": number, "FiscalYear": doc["FiscalYear"],
                "PostingDate": doc["PostingDate"]}

    # -- payments --------------------------------------------------------------------------
    def apply_payment(self, req: dict[str, Any]) -> dict[str, Any]:
        """Clear (fully or partly) one open item; unknown or ambiguous references fault."""
        self.check_payment(req)
        queued = self._admit("payment", req)
        if queued is not None:
            return {"Status": "QUEUED", "QueueTicket": queued["QueueTicket"]}
        return self._book_payment(req)

    def check_payment(self, req: dict[str, Any]) -> None:
        """The checks ApplyPayment makes before booking or queueing."""
        self.company_code(req["CompanyCode"])
        self._customer_in(req["CustomerNumber"], req["CompanyCode"])
        if not req.get("DocumentNumber") and not req.get("ExternalReference"):
            raise client_fault("INVALID_REQUEST", "Give DocumentNumber or ExternalReference",
                               "DocumentNumber")

    def _resolve_item(self, req: dict[str, Any]) -> dict[str, Any]:
        company, customer = req["CompanyCode"], req["CustomerNumber"]
        number, ref = req.get("DocumentNumber"), req.get("ExternalReference")
        if number:
            doc = self._documents.get(f"{company}:{number}")
            if doc is None or doc["CustomerNumber"] != customer or (
                    ref and doc["ExternalReference"] != ref):
                raise client_fault("DOCUMENT_NOT_FOUND", f"No document {number} for customer "
                                   f"{customer} in company code {company}", "DocumentNumber")
            return doc
        matches = [d for d in self._documents.values()
                   if d["CompanyCode"] == company and d["CustomerNumber"] == customer
                   and d["ExternalReference"] == ref]
        if not matches:
            raise client_fault("DOCUMENT_NOT_FOUND", f"No document with reference {ref} for "
                               f"customer {customer} in company code {company}",
                               "ExternalReference")
        open_ = [d for d in matches if d["Status"] != "CLEARED"]
        if len(open_) > 1:
            raise client_fault("AMBIGUOUS_REFERENCE", f"{len(open_)} open documents carry "
                               f"reference {ref}: "
                               + ", ".join(d["DocumentNumber"] for d in open_)
                               + "; give DocumentNumber", "ExternalReference")
        return open_[0] if open_ else matches[0]

    def _book_payment(self, req: dict[str, Any], *, record: bool = True) -> dict[str, Any]:
        doc = self._resolve_item(req)
        if doc["Status"] == "CLEARED":
            raise client_fault("ITEM_ALREADY_CLEARED", f"Document {doc['DocumentNumber']} is "
                               "already cleared", "DocumentNumber")
        if req["Currency"] != doc["Currency"]:
            raise client_fault("CURRENCY_MISMATCH", f"Document {doc['DocumentNumber']} is in "
                               f"{doc['Currency']}, payment in {req['Currency']}", "Currency")
        amount, open_amount = money(req["Amount"]), money(doc["OpenAmount"])
        if amount > open_amount:
            raise client_fault("OVERPAYMENT", f"Amount {amount} exceeds the open amount "
                               f"{open_amount} of document {doc['DocumentNumber']}", "Amount")
        company = doc["CompanyCode"]
        clearing = f"{self.ctx.ids.sequence(f'clearing:{company}', start=1400000001):010d}"
        residual = open_amount - amount
        status = "CLEARED" if residual == 0 else "PARTIALLY_CLEARED"
        if status not in ITEM_TRANSITIONS[doc["Status"]]:
            raise ValueError(f"document {doc['DocumentNumber']}: {doc['Status']} → {status}")
        now = self.clock.now()
        clearing_doc = {"ClearingDocumentNumber": clearing, "CompanyCode": company,
                        "DocumentNumber": doc["DocumentNumber"],
                        "ExternalReference": doc["ExternalReference"],
                        "CustomerNumber": doc["CustomerNumber"], "Amount": _s(amount),
                        "Currency": req["Currency"], "PaymentDate": req["PaymentDate"],
                        "PaymentReference": req["PaymentReference"],
                        "PostingDate": self._today().isoformat(), "posted_at": now}
        self._clearings.put(f"{company}:{clearing}", clearing_doc)
        doc["OpenAmount"] = _s(residual)
        doc["Status"] = status
        doc["clearings"].append(clearing)
        self._documents.put(f"{company}:{doc['DocumentNumber']}", doc)
        if status == "CLEARED" and record:
            self.ctx.facts.record("payment.cleared", doc["ExternalReference"],
                                  DocumentNumber=doc["DocumentNumber"],
                                  ClearingDocumentNumber=clearing, CompanyCode=company,
                                  GrossAmount=doc["GrossAmount"], Currency=doc["Currency"],
                                  PaymentReference=req["PaymentReference"], cleared_at=now)
        return {"Status": status, "ClearingDocumentNumber": clearing,
                "DocumentNumber": doc["DocumentNumber"], "OpenAmount": doc["OpenAmount"]}

    # -- open items ------------------------------------------------------------------------
    def open_items(self, company: str, customer: str | None = None, reference: str | None = None,
                   include_cleared: bool = False) -> list[dict[str, Any]]:
        """Booked items (not cleared unless asked) and, last, postings still in the queue."""
        self.company_code(company)

        def wanted(cc: str, cust: str, ref: str) -> bool:
            return cc == company and (customer is None or cust == customer) and (
                reference is None or ref == reference)

        items = [
            {k: d[k] for k in ("DocumentNumber", "FiscalYear", "CompanyCode", "CustomerNumber",
                               "ExternalReference", "InvoiceDate", "PostingDate", "DueDate",
                               "OpenAmount", "Currency", "Status")} | {"Amount": d["GrossAmount"]}
            for d in self._documents.values()
            if wanted(d["CompanyCode"], d["CustomerNumber"], d["ExternalReference"])
            and (include_cleared or d["Status"] != "CLEARED")
        ]
        for entry in self._queue.values():
            req = entry["request"]
            if entry["kind"] == "invoice" and entry["Status"] == "QUEUED" and wanted(
                    req["CompanyCode"], req["CustomerNumber"], req["ExternalReference"]):
                gross = _s(money(req["GrossAmount"]))
                items.append({"QueueTicket": entry["QueueTicket"], "CompanyCode": company,
                              "CustomerNumber": req["CustomerNumber"],
                              "ExternalReference": req["ExternalReference"],
                              "InvoiceDate": req["InvoiceDate"], "DueDate": req["DueDate"],
                              "Amount": gross, "OpenAmount": gross, "Currency": req["Currency"],
                              "Status": "QUEUED"})
        return items

    # -- admin views -----------------------------------------------------------------------
    def documents(self, company: str | None = None,
                  reference: str | None = None) -> list[dict[str, Any]]:
        return [d for d in self._documents.values()
                if (company is None or d["CompanyCode"] == company)
                and (reference is None or d["ExternalReference"] == reference)]

    def duplicates(self) -> dict[str, list[str]]:
        """ExternalReference → ``company:document`` of every reference booked more than once."""
        seen: dict[str, list[str]] = {}
        for d in self._documents.values():
            seen.setdefault(d["ExternalReference"], []).append(
                f"{d['CompanyCode']}:{d['DocumentNumber']}")
        return {ref: docs for ref, docs in seen.items() if len(docs) > 1}

    def queue_entries(self) -> list[dict[str, Any]]:
        return list(self._queue.values())

    def clearings(self) -> list[dict[str, Any]]:
        return list(self._clearings.values())

    # -- import (history; see imports.py) --------------------------------------------------
    import_kinds = ("customers", "documents", "payments")

    def import_records(self, kind: str, records: list[dict[str, Any]]) -> dict[str, int]:
        from .imports import import_records

        return import_records(self, kind, records)

    # -- seeding ---------------------------------------------------------------------------
    def seed(self, request: SeedRequest) -> dict[str, int]:
        """Customers with historic invoices: some open, some partly paid, some cleared.

        Bypasses the batch window and records no facts: this is history, not traffic. With
        ``dirtiness`` some names were truncated to the 35-character column on migration and
        some postal codes are missing.
        """
        fake = make_faker(request.seed, request.locales)
        r = rng(request.seed, "legacy_erp")
        locales = list(request.locales) or ["en_US"]
        today = self._today()
        counts = {"customers": 0, "invoices": 0, "payments": 0}
        for _ in range(request.size):
            locale = r.choice(locales)
            country, _currency = LOCALE_COUNTRY[locale]
            company = _COUNTRY_COMPANY.get(country, "1000")
            local = fake[locale]
            name = f"{local.company()} {LEGAL_SUFFIX.get(country, '')}".strip()
            if r.random() < request.dirtiness:
                name = f"{name} {local.company_suffix()} Holding"
            name = name[:NAME_MAX]  # the old column silently truncated on migration
            number = self._next_customer_number()
            self._customers.put(number, {
                "CustomerNumber": number, "Name": name,
                "Street": local.street_address()[:NAME_MAX],
                "City": local.city()[:NAME_MAX],
                "PostalCode": None if r.random() < request.dirtiness / 2 else local.postcode()[:10],
                "Country": country, "Currency": COMPANY_CODES[company][2],
                "CompanyCode": company, "TaxId": vat_id(country, r)[:20],
                "CreatedAt": self._iso_now(),
            })
            counts["customers"] += 1
            for _ in range(r.randint(0, 3)):
                counts["payments"] += self._seed_invoice(number, company, today, r)
                counts["invoices"] += 1
        return counts

    def _seed_invoice(self, customer: str, company: str, today: date, r: Any) -> int:
        invoice_date = today - timedelta(days=r.randint(5, 120))
        net = money(r.randint(10_000, 2_000_000) / 100)
        tax = money(net * Decimal(r.choice(["0", "0.07", "0.19", "0.2"])))
        seq = self.ctx.ids.sequence("seed-ref")
        req = {"CompanyCode": company, "CustomerNumber": customer,
               "ExternalReference": f"LEG-{invoice_date.year}-{seq:06d}",
               "InvoiceDate": invoice_date.isoformat(),
               "DueDate": (invoice_date + timedelta(days=30)).isoformat(),
               "Currency": COMPANY_CODES[company][2], "NetAmount": net, "TaxAmount": tax,
               "GrossAmount": net + tax}
        booked = self._book_invoice(req, record=False)["DocumentNumber"]
        fate = r.random()
        if fate < 0.5:
            return 0
        amount = money(req["GrossAmount"]) if fate < 0.85 else money(req["GrossAmount"] / 2)
        self._book_payment({**req, "DocumentNumber": booked, "ExternalReference": None,
                            "Amount": amount, "PaymentDate": req["DueDate"],
                            "PaymentReference": f"BANK-{seq:08d}"}, record=False)
        return 1


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
