"""The AvaTax backend: companies, exemption certificates and the transaction lifecycle.

Document lifecycle (per company, document type and code):

    (none) --create--> Saved --commit--> Committed --void--> Cancelled
    Saved --create (same code)--> Saved (replaced, version + 1)
    Saved|Committed --createoradjust--> new version (previous kept as 'Adjusted' history)
    Saved --void--> Cancelled

Orders (``SalesOrder``...) are estimates: computed, returned with status ``Temporary``, never
stored. Committed and cancelled documents are never changed in place: re-creating them fails
with AvaTax's DocStatus error; an adjustment keeps the prior version in the history, and an
adjusted committed document stays committed.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

from simulators._kit import (
    LEGAL_SUFFIX,
    LOCALE_COUNTRY,
    Backend,
    SeedRequest,
    make_faker,
    rng,
    vat_id,
)

from .calculation import (
    ORDER_TYPES,
    DocumentContext,
    calculate,
    parse_header,
)
from .errors import (
    AvaTaxError,
    doc_status_invalid,
    entity_not_found,
    invalid_value,
    model_required,
    value_required,
)
from .geography import AddressProblem, Place, resolve

VOID_REASONS = {"Unspecified", "PostFailed", "DocDeleted", "DocVoided", "AdjustmentCancelled"}
ADJUSTMENT_REASONS = {
    "NotAdjusted", "SourcingIssue", "ReconciledWithGeneralLedger", "ExemptCertApplied",
    "PriceAdjusted", "ProductReturned", "ProductExchanged", "BadDebt", "Other", "Offline"}
_FILTER = re.compile(r"\s*(\w+)\s+eq\s+'([^']*)'\s*")
_FILTERABLE = {"code", "status", "type", "customerCode", "customerVendorCode", "date",
               "currencyCode", "exemptNo", "purchaseOrderNo"}
SOFTWARE_VERSION = "25.6.1.0"


class AvaTaxBackend(Backend):
    """All AvaTax state; the routes translate wire ↔ these methods."""

    name = "tax"

    # -- reference data ---------------------------------------------------------------------
    def reset(self) -> None:
        for code, country in self.config.companies.items():
            self._add_company(code, country, f"{code} {LEGAL_SUFFIX.get(country, 'Ltd')}",
                              default=code == self.config.default_company)

    def _add_company(self, code: str, country: str, name: str, *, default: bool = False,
                     tin: str = "") -> dict[str, Any]:
        companies = self.ctx.store.collection("companies")
        existing = companies.get(code)
        if existing is not None:
            return existing
        company = {"id": self.ctx.ids.sequence("company", start=7_100_001), "companyCode": code,
                   "name": name, "country": country, "isDefault": default, "isActive": True,
                   "hasProfile": True, "taxpayerIdNumber": tin,
                   "createdDate": self._timestamp()}
        return companies.put(code, company)

    def company(self, code: str) -> dict[str, Any]:
        company = self.ctx.store.collection("companies").get(code or self.config.default_company)
        if company is None:
            raise entity_not_found("Company", code)
        return company

    def _timestamp(self) -> str:
        from datetime import UTC, datetime

        return datetime.fromtimestamp(self.clock.now(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]

    # -- transactions ------------------------------------------------------------------------
    def create_transaction(self, model: Any) -> dict[str, Any]:
        """``POST /transactions/create``; replaces a Saved document with the same code."""
        model = self._model(model, "CreateTransactionModel")
        header = parse_header(model)
        company = self.company(header["companyCode"])
        if header["type"] in ORDER_TYPES:
            return self._estimate(model, header, company)
        key = self._key(company["companyCode"], header["type"], header["code"]) \
            if header["code"] else None
        existing = self.ctx.store.collection("transactions").get(key) if key else None
        if existing is not None:
            if existing["status"] != "Saved":
                raise doc_status_invalid("Saved|Posted", existing["status"])
            return self._save(model, header, company, previous=existing, adjust=False)
        return self._save(model, header, company)

    def create_or_adjust(self, body: Any) -> dict[str, Any]:
        """``POST /transactions/createoradjust``: create, or adjust into a new version."""
        body = self._model(body, "CreateOrAdjustTransactionModel")
        model = self._model(body.get("createTransactionModel"), "CreateTransactionModel",
                            field="createTransactionModel")
        header = parse_header(model)
        company = self.company(header["companyCode"])
        if header["type"] in ORDER_TYPES:
            return self._estimate(model, header, company)
        existing = self.ctx.store.collection("transactions").get(
            self._key(company["companyCode"], header["type"], header["code"])) \
            if header["code"] else None
        if existing is None:
            return self._save(model, header, company)
        if existing.get("locked"):
            raise AvaTaxError("CannotModifyLockedTransaction",
                              "Modifying a locked document is not allowed.",
                              f"Document {existing['code']} is locked. Modification is not "
                              "allowed.")
        if existing["status"] == "Cancelled":
            raise doc_status_invalid("Saved|Posted|Committed", "Cancelled")
        return self._save(model, header, company, previous=existing, adjust=True)

    def _estimate(self, model: dict[str, Any], header: dict[str, Any],
                  company: dict[str, Any]) -> dict[str, Any]:
        header["code"] = header["code"] or self._new_code()
        ctx = self._context(company, saved=False)
        doc = calculate(model, header, ctx, 0)
        return {**doc, "status": "Temporary", "version": 1, "adjustmentReason": "NotAdjusted",
                "adjustmentDescription": "", "modifiedDate": self._timestamp(),
                "softwareVersion": SOFTWARE_VERSION}

    def _save(self, model: dict[str, Any], header: dict[str, Any], company: dict[str, Any], *,
              previous: dict[str, Any] | None = None, adjust: bool = False) -> dict[str, Any]:
        header["code"] = header["code"] or self._new_code()
        ctx = self._context(company, saved=True)
        if previous is not None and not adjust:
            transaction_id = previous["id"]  # a re-created Saved document keeps its id
        else:
            transaction_id = self.ctx.ids.sequence("transaction", start=85_000_001)
        doc = calculate(model, header, ctx, transaction_id)
        committed = header["commit"] or bool(previous and previous["status"] == "Committed")
        doc.update(status="Committed" if committed else "Saved",
                   version=(previous["version"] + 1) if previous else 1,
                   adjustmentReason="NotAdjusted", adjustmentDescription="",
                   companyCode=company["companyCode"], modifiedDate=self._timestamp(),
                   softwareVersion=SOFTWARE_VERSION, locked=False)
        if adjust and previous is not None:
            reason = model.get("adjustmentReason") if isinstance(
                model.get("adjustmentReason"), str) else "Other"
            if reason not in ADJUSTMENT_REASONS:
                raise invalid_value("adjustmentReason", f"Allowed values: "
                                    f"{', '.join(sorted(ADJUSTMENT_REASONS))}.")
            doc["adjustmentReason"] = reason
            description = model.get("adjustmentDescription")
            doc["adjustmentDescription"] = description if isinstance(description, str) \
                else "Adjusted by CreateOrAdjustTransaction"
        key = self._key(company["companyCode"], doc["type"], doc["code"])
        if previous is not None:
            archived = {**previous, "status": "Adjusted"} if adjust else previous
            self.ctx.store.collection("transaction_history").put(
                f"{key}|{previous['version']}", archived)
            if adjust:
                self.ctx.facts.record("transaction.adjusted", doc["code"],
                                      companyCode=company["companyCode"],
                                      version=doc["version"], totalTax=doc["totalTax"],
                                      previousTotalTax=previous["totalTax"])
        self.ctx.store.collection("transactions").put(key, doc)
        if doc["status"] == "Committed" and (previous is None
                                             or previous["status"] != "Committed"):
            self._record_committed(doc)
        return doc

    def commit(self, company_code: str, code: str, document_type: str | None,
               body: Any) -> dict[str, Any]:
        body = self._model(body, "CommitTransactionModel")
        flag = body.get("commit")
        if not isinstance(flag, bool):
            raise value_required("commit")
        doc = self.transaction(company_code, code, document_type)
        if doc["status"] == "Cancelled" or (not flag and doc["status"] == "Committed"):
            # committed documents are never silently un-committed
            raise doc_status_invalid("Saved|Posted", doc["status"])
        if flag and doc["status"] == "Saved":
            doc.update(status="Committed", modifiedDate=self._timestamp())
            self._put(doc)
            self._record_committed(doc)
        return doc

    def void(self, company_code: str, code: str, document_type: str | None,
             body: Any) -> dict[str, Any]:
        body = self._model(body, "VoidTransactionModel")
        reason = body.get("code")
        if reason is None:
            raise value_required("code")
        if not isinstance(reason, str) or reason not in VOID_REASONS:
            raise AvaTaxError("InvalidEnumValue", f"'{reason}' is not a valid VoidReasonCode.",
                              f"Allowed values: {', '.join(sorted(VOID_REASONS))}.",
                              refers_to="code")
        doc = self.transaction(company_code, code, document_type)
        if doc.get("locked"):
            raise AvaTaxError("CannotModifyLockedTransaction",
                              "Modifying a locked document is not allowed.",
                              f"Document {code} is locked. Modification is not allowed.")
        if doc["status"] == "Cancelled":
            raise AvaTaxError("TransactionAlreadyCancelled",
                              "The transaction is already cancelled.",
                              f"Transaction {code} was already voided.", refers_to="code")
        doc.update(status="Cancelled", modifiedDate=self._timestamp(), voidReason=reason)
        self._put(doc)
        self.ctx.facts.record("transaction.voided", doc["code"],
                              companyCode=doc["companyCode"], transactionId=doc["id"],
                              reason=reason, totalTax=doc["totalTax"], at=self.clock.now())
        return doc

    def transaction(self, company_code: str, code: str,
                    document_type: str | None = None) -> dict[str, Any]:
        company = self.company(company_code)
        transactions = self.ctx.store.collection("transactions")
        types = [document_type] if document_type else ["SalesInvoice", "ReturnInvoice",
                                                        "PurchaseInvoice",
                                                        "InventoryTransferInvoice",
                                                        "ReverseChargeInvoice"]
        for doc_type in types:
            doc = transactions.get(self._key(company["companyCode"], doc_type, code))
            if doc is not None:
                return doc
        raise entity_not_found("Transaction", f"{company['companyCode']}:{code}")

    def list_transactions(self, company_code: str, filter_: str | None, top: int,
                          skip: int) -> tuple[int, list[dict[str, Any]]]:
        company = self.company(company_code)
        criteria = self._parse_filter(filter_)
        docs = [d for d in self.ctx.store.collection("transactions").values()
                if d["companyCode"] == company["companyCode"]
                and all(str(d.get(k)) == v for k, v in criteria)]
        return len(docs), docs[skip:skip + top]

    @staticmethod
    def _parse_filter(filter_: str | None) -> list[tuple[str, str]]:
        if not filter_:
            return []
        criteria = []
        for clause in re.split(r"\s+and\s+", filter_.strip()):
            match = _FILTER.fullmatch(clause)
            if match is None or match[1] not in _FILTERABLE:
                raise AvaTaxError("InvalidQueryField", "The $filter is not supported.",
                                  f"Supported: <field> eq '<value>' joined by 'and', over "
                                  f"{', '.join(sorted(_FILTERABLE))}.", refers_to="$filter")
            criteria.append((match[1], match[2]))
        return criteria

    def _put(self, doc: dict[str, Any]) -> None:
        self.ctx.store.collection("transactions").put(
            self._key(doc["companyCode"], doc["type"], doc["code"]), doc)

    def _record_committed(self, doc: dict[str, Any]) -> None:
        self.ctx.facts.record("transaction.committed", doc["code"],
                              companyCode=doc["companyCode"], transactionId=doc["id"],
                              totalTax=doc["totalTax"], totalAmount=doc["totalAmount"],
                              currency=doc["currencyCode"], version=doc["version"],
                              at=self.clock.now())

    @staticmethod
    def _key(company_code: str, doc_type: str, code: str) -> str:
        return f"{company_code}|{doc_type}|{code}"

    def _new_code(self) -> str:
        n = self.ctx.ids.sequence("transaction_code")
        digest = hashlib.blake2b(f"{self.config.seed}:code:{n}".encode(), digest_size=16)
        return str(uuid.UUID(bytes=digest.digest(), version=4))

    def _context(self, company: dict[str, Any], *, saved: bool) -> DocumentContext:
        return DocumentContext(
            company=company, saved=saved,
            next_id=lambda kind: self.ctx.ids.sequence(kind, start=
                                                       {"line": 1_052_000_001,
                                                        "detail": 1_911_000_001}.get(kind,
                                                                                     742_000_001)),
            find_certificate=lambda customer, place, day: self._certificate(
                company["companyCode"], customer, place, day))

    def _certificate(self, company_code: str, customer: str, place: Place,
                     day: str) -> dict[str, Any] | None:
        cert = self.ctx.store.collection("certificates").get(f"{company_code}|{customer}")
        if cert is None or not cert["valid"]:
            return None
        if not cert["signedDate"] <= day <= cert["expirationDate"]:
            return None
        if cert["country"] != place.country:
            return None
        return cert if cert["region"] in ("", place.region) else None

    @staticmethod
    def _model(body: Any, name: str, field: str | None = None) -> dict[str, Any]:
        if not isinstance(body, dict):
            if field is not None and body is None:
                raise value_required(field)
            raise model_required(name)
        return body

    # -- addresses --------------------------------------------------------------------------
    def resolve_address(self, address: dict[str, Any], text_case: str | None) -> dict[str, Any]:
        """``/addresses/resolve``: a country defaults to US, as AvaTax does for this API."""
        text_case = text_case or "Upper"
        if text_case not in ("Upper", "Mixed"):
            raise AvaTaxError("InvalidAddressTextCase", "The text case is not valid.",
                              "textCase must be 'Upper' or 'Mixed'.", refers_to="textCase")
        echo = {k: address.get(k) or "" for k in ("line1", "line2", "line3", "city", "region",
                                                    "country", "postalCode")}
        lookup = {**address, "country": address.get("country") or "US"}
        try:
            place = resolve(lookup)
        except AddressProblem as problem:
            if problem.kind == "incomplete":
                raise AvaTaxError("GetTaxError", "An Address is incomplete or invalid.",
                                  problem.details, refers_to="Addresses[0]") from None
            return {"address": echo, "resolutionQuality": "NotCoded", "messages": [{
                "summary": problem.summary, "details": problem.details,
                "refersTo": "Address", "severity": "Error",
                "source": "Avalara.AvaTax.Services.Address"}]}
        coordinates = {"latitude": place.latitude, "longitude": place.longitude}
        return {
            "address": echo,
            "validatedAddresses": [{
                "addressType": "StreetOrResidentialAddress" if place.line1
                else "UnknownAddressType",
                **place.as_address(text_case), **coordinates}],
            "coordinates": coordinates, "resolutionQuality": place.quality,
            "taxAuthorities": [{"avalaraId": j.avalara_id, "jurisdictionName": j.name,
                                "jurisdictionType": j.jurisdiction_type,
                                "signatureCode": j.signature_code}
                               for j in place.jurisdictions],
        }

    # -- import -----------------------------------------------------------------------------
    import_kinds = ("companies", "exemptions")

    def import_records(self, kind: str, records: list[dict[str, Any]]) -> dict[str, int]:
        """``companies`` (AvaTax CompanyModel fields: companyCode, name, country,
        taxpayerIdNumber, isDefault) and ``exemptions`` (exemption certificates: customerCode,
        companyCode, exemptionNo, exemptReason, country, region, signedDate, expirationDate)."""
        if kind == "companies":
            return {"companies": self.import_each(kind, records, self._import_company)}
        if kind == "exemptions":
            return {"exemptions": self.import_each(kind, records, self._import_exemption)}
        return super().import_records(kind, records)

    def _import_company(self, record: dict[str, Any]) -> None:
        from .rates import ISO_COUNTRIES

        code = _text_field(record, "companyCode", 25)
        country = _text_field(record, "country", 2).upper()
        if country not in ISO_COUNTRIES:
            raise invalid_value("country", f"'{country}' is not an ISO 3166 country code.")
        name = _text_field(record, "name", 50)
        company = self._add_company(code, country, name, default=bool(record.get("isDefault")),
                                    tin=str(record.get("taxpayerIdNumber") or "")[:25])
        company.update(name=name, country=country,
                       taxpayerIdNumber=str(record.get("taxpayerIdNumber") or "")[:25])
        self.ctx.store.collection("companies").put(code, company)

    def _import_exemption(self, record: dict[str, Any]) -> None:
        import datetime as dt

        company = self.company(_text_field(record, "companyCode", 25))
        customer = _text_field(record, "customerCode", 50)
        days = {}
        for field in ("signedDate", "expirationDate"):
            try:
                days[field] = dt.date.fromisoformat(_text_field(record, field, 10)).isoformat()
            except ValueError:
                raise invalid_value(field, "Use a date like 2025-01-31.") from None
        country = str(record.get("country") or company["country"]).upper()
        certificates = self.ctx.store.collection("certificates")
        certificates.put(f"{company['companyCode']}|{customer}", {
            "id": self.ctx.ids.sequence("certificate", start=6_200_000),
            "customerCode": customer, "companyCode": company["companyCode"],
            "exemptionNo": _text_field(record, "exemptionNo", 25),
            "exemptReason": str(record.get("exemptReason") or "RESALE"),
            "country": country, "region": str(record.get("region") or "").upper(),
            **days, "valid": record.get("valid", True) is not False})

    # -- seeding ----------------------------------------------------------------------------
    def seed(self, request: SeedRequest) -> dict[str, int]:
        """A company per locale's country and exemption certificates for some customers."""
        fake = make_faker(request.seed, request.locales)
        r = rng(request.seed, "avatax")
        countries = sorted({LOCALE_COUNTRY[loc][0] for loc in request.locales})
        created = 0
        for country in countries:
            code = f"O2C-{country}"
            if self.ctx.store.collection("companies").get(code) is None:
                created += 1
            company = self._add_company(code, country, code)
            # the legal entity gets a realistic legal name and tax id (configured or not)
            company.update(name=f"{fake.company()} {LEGAL_SUFFIX[country]}",
                           taxpayerIdNumber=vat_id(country, r))
            self.ctx.store.collection("companies").put(code, company)
        certificates = self.ctx.store.collection("certificates")
        companies = sorted(self.ctx.store.collection("companies").ids())
        reasons = ["RESALE", "GOVERNMENT", "CHARITABLE", "MANUFACTURING", "EDUCATIONAL"]
        made = 0
        for i in range(1, request.size + 1):
            if r.random() >= 0.2:  # about one customer in five holds a certificate
                continue
            customer = f"CUST-{i:05d}"
            company_code = r.choice(companies)
            company = self.company(company_code)
            region = r.choice(["WA", "NY", "CA", "TX", "IL"]) if company["country"] == "US" \
                else ""
            signed = fake.date_between(start_date="-3y", end_date="-30d")
            expired = r.random() < request.dirtiness
            expires = (fake.date_between(start_date="-2y", end_date="-1d") if expired
                       else fake.date_between(start_date="+1y", end_date="+4y"))
            cert = {"id": 6_100_000 + i, "customerCode": customer, "companyCode": company_code,
                    "exemptionNo": f"EX-{company['country']}-{r.randint(100000, 999999)}",
                    "exemptReason": r.choice(reasons), "country": company["country"],
                    "region": region, "signedDate": signed.isoformat(),
                    "expirationDate": expires.isoformat(), "valid": True}
            certificates.put(f"{company_code}|{customer}", cert)
            made += 1
        return {"companies": created, "certificates": made}


def _text_field(record: dict[str, Any], field: str, max_length: int) -> str:
    value = record.get(field)
    if value is None or value == "":
        raise value_required(field)
    if not isinstance(value, str) or len(value) > max_length:
        raise invalid_value(field, f"'{field}' must be text of at most {max_length} "
                            "characters.")
    return value
