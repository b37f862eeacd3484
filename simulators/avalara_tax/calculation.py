"""From a ``CreateTransactionModel`` to a ``TransactionModel``: validation, address resolution,
exemptions, per-jurisdiction tax rounded to the cent, line and document totals, summary.

Tax is rounded per jurisdiction detail (``Decimal``, ROUND_HALF_UP); a line's tax is the sum of
its details and the document's total tax the sum of its lines, so totals always add up.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date as Date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .errors import AvaTaxError, address_incomplete, invalid_value, value_required
from .geography import AddressProblem, Jurisdiction, Place, resolve
from .rates import ENTITY_USE_CODES

CENT = Decimal("0.01")
ORDER_TYPES = {"SalesOrder", "ReturnOrder", "PurchaseOrder", "InventoryTransferOrder",
               "ReverseChargeOrder"}
INVOICE_TYPES = {"SalesInvoice", "ReturnInvoice", "PurchaseInvoice", "InventoryTransferInvoice",
                 "ReverseChargeInvoice"}
DOC_TYPES = ORDER_TYPES | INVOICE_TYPES
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_CURRENCY = re.compile(r"[A-Z]{3}")
_DEST_KEYS = ("shipto", "singlelocation")
_ORIGIN_KEYS = ("shipfrom", "singlelocation")


def money(value: Decimal) -> float:
    """A JSON number for an amount (AvaTax serialises amounts as numbers)."""
    return float(value)


@dataclass
class Exemption:
    """Why a line is exempt, if it is."""

    exempt_no: str = ""
    cert_id: int = 0
    entity_use_code: str = ""

    @property
    def applies(self) -> bool:
        return bool(self.exempt_no or self.entity_use_code)


def _text(model: dict[str, Any], key: str, *, max_len: int = 1024, where: str = "") -> str:
    value = model.get(key)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # 3.0 is a JSON integer too
        value = int(value)
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise invalid_value(f"{where}{key}", f"'{key}' must be a string.")
    text = str(value).strip()
    if len(text) > max_len:
        raise AvaTaxError("StringLengthError", f"Field '{where}{key}' is too long.",
                          f"'{key}' may be at most {max_len} characters.",
                          refers_to=f"{where}{key}")
    return text


def _decimal(model: dict[str, Any], key: str, where: str, default: Decimal | None) -> Decimal:
    value = model.get(key)
    if value is None:
        if default is None:
            raise value_required(f"{where}{key}")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise invalid_value(f"{where}{key}", f"'{key}' must be a number.")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise invalid_value(f"{where}{key}", f"'{key}' must be a number.") from None
    if not number.is_finite() or abs(number) >= Decimal("1e13"):
        raise AvaTaxError("RangeError", f"Field '{where}{key}' is out of range.",
                          f"'{key}' must be a finite number below 10^13.",
                          refers_to=f"{where}{key}")
    return number


def parse_date(value: Any, field: str = "date") -> str:
    """AvaTax accepts ``YYYY-MM-DD`` optionally followed by a time; returns the date part."""
    if not isinstance(value, str) or not value.strip():
        raise value_required(field)
    match = _DATE.match(value.strip())
    try:
        if match is None:
            raise ValueError
        Date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise AvaTaxError("DateFormatError", f"The value '{value}' is not a valid date.",
                          "Dates are formatted as YYYY-MM-DD.", refers_to=field) from None
    return match[0]


def _lower_keys(addresses: Any, where: str) -> dict[str, dict[str, Any]]:
    if addresses is None:
        return {}
    if not isinstance(addresses, dict):
        raise invalid_value(where, "'addresses' must be an object of named addresses.")
    out: dict[str, dict[str, Any]] = {}
    for name, addr in addresses.items():
        if addr is None:
            continue
        if not isinstance(addr, dict):
            raise invalid_value(f"{where}.{name}", "An address must be an object.")
        out[name.lower()] = addr
    return out


def _pick(addresses: dict[str, dict[str, Any]], keys: tuple[str, ...]) -> tuple[str, Any] | None:
    for key in keys:
        if key in addresses:
            return key, addresses[key]
    return None


_NAMES = {"shipto": "ShipTo", "shipfrom": "ShipFrom", "singlelocation": "SingleLocation"}


class AddressBook:
    """Resolves each distinct address once per document and numbers it."""

    def __init__(self, next_id: Callable[[str], int]) -> None:
        self._next_id = next_id
        self._by_key: dict[str, tuple[int, Place]] = {}

    def place(self, addr: dict[str, Any], refers_to: str) -> tuple[int, Place]:
        if addr.get("locationCode") and not (addr.get("country") or addr.get("postalCode")):
            raise AvaTaxError("AddressLocationNotFound", "The location code was not found.",
                              f"The location code {addr['locationCode']} could not be found.",
                              refers_to=refers_to)
        key = repr(sorted((k, str(v)) for k, v in addr.items()))
        if key not in self._by_key:
            try:
                place = resolve(addr)
            except AddressProblem as problem:
                raise address_error(problem, refers_to) from None
            self._by_key[key] = (self._next_id("address"), place)
        return self._by_key[key]

    def addresses(self, transaction_id: int) -> list[dict[str, Any]]:
        out = []
        for address_id, place in self._by_key.values():
            out.append({"id": address_id, "transactionId": transaction_id,
                        "boundaryLevel": "Address" if place.line1 else "Zip5",
                        **place.as_address("Mixed"), "taxRegionId": 0,
                        "latitude": f"{place.latitude:.6f}", "longitude": f"{place.longitude:.6f}"})
        return out


def address_error(problem: AddressProblem, refers_to: str) -> AvaTaxError:
    """The vendor error for an address that cannot be used for tax calculation."""
    if problem.kind == "incomplete":
        err = address_incomplete(refers_to.rsplit(".", 1)[-1])
        err.details[0]["refersTo"] = refers_to
        return err
    code = {"country": "InvalidCountry", "region": "InvalidCountryRegion",
            "postal": "InvalidPostalCode"}[problem.kind]
    return AvaTaxError(code, problem.summary, problem.details, refers_to=refers_to)


@dataclass
class DocumentContext:
    """What the calculation needs from the backend."""

    company: dict[str, Any]
    next_id: Callable[[str], int]
    find_certificate: Callable[[str, Place, str], dict[str, Any] | None]
    saved: bool  # False for temporary documents (orders): ids are 0


def parse_header(model: dict[str, Any]) -> dict[str, Any]:
    """Validate the document-level fields every path needs (type, company, code, date)."""
    doc_type = _text(model, "type") or "SalesOrder"
    if doc_type not in DOC_TYPES:
        raise AvaTaxError("InvalidEnumValue", f"'{doc_type}' is not a valid DocumentType.",
                          f"Allowed values: {', '.join(sorted(DOC_TYPES))}.", refers_to="type")
    return {"type": doc_type, "companyCode": _text(model, "companyCode", max_len=25),
            "code": _text(model, "code", max_len=50), "date": parse_date(model.get("date")),
            "commit": bool(model.get("commit") is True)}


def calculate(model: dict[str, Any], header: dict[str, Any], ctx: DocumentContext,
              transaction_id: int) -> dict[str, Any]:
    """Compute lines, totals and summary; returns the body of a TransactionModel (no status)."""
    customer = _text(model, "customerCode", max_len=50) or _text(model, "customerVendorCode")
    if not customer:
        raise value_required("customerCode")
    currency = (_text(model, "currencyCode") or "USD").upper()
    if not _CURRENCY.fullmatch(currency):
        raise invalid_value("currencyCode", "Use a three letter ISO 4217 currency code.")
    lines_in = model.get("lines")
    if not isinstance(lines_in, list) or not lines_in:
        raise AvaTaxError("MissingLine", "A transaction must have at least one line.",
                          "Provide at least one line item in 'lines'.", refers_to="lines")
    if len(lines_in) > 15_000:
        raise AvaTaxError("RangeError", "Too many lines.", "At most 15000 lines per transaction.",
                          refers_to="lines")
    doc_addresses = _lower_keys(model.get("addresses"), "addresses")
    book = AddressBook(ctx.next_id if ctx.saved else lambda _kind: 0)
    doc_exempt_no = _text(model, "exemptionNo", max_len=25)
    doc_use_code = _use_code(model, "")
    doc_bin = _text(model, "businessIdentificationNo", max_len=25)
    lines = []
    for index, raw in enumerate(lines_in):
        if not isinstance(raw, dict):
            raise invalid_value(f"lines[{index}]", "A line must be an object.")
        lines.append(_line(raw, index, header, model, doc_addresses, book, ctx, transaction_id,
                           customer, doc_exempt_no, doc_use_code, doc_bin))
    total_tax = sum((Decimal(str(line["tax"])) for line in lines), Decimal(0))
    total_amount = sum((Decimal(str(line["lineAmount"])) for line in lines), Decimal(0))
    total_taxable = sum((Decimal(str(line["taxableAmount"])) for line in lines), Decimal(0))
    total_exempt = sum((Decimal(str(line["exemptAmount"])) for line in lines), Decimal(0))
    first_dest = next((a for a in book.addresses(transaction_id)), None)
    return {
        "id": transaction_id, "code": header["code"], "companyId": ctx.company["id"],
        "date": header["date"], "taxDate": header["date"], "paymentDate": header["date"],
        "type": header["type"], "currencyCode": currency, "customerCode": customer,
        "customerVendorCode": customer, "entityUseCode": doc_use_code,
        "customerUsageType": doc_use_code, "exemptNo": doc_exempt_no,
        "businessIdentificationNo": doc_bin, "reconciled": False,
        "purchaseOrderNo": _text(model, "purchaseOrderNo", max_len=50),
        "referenceCode": _text(model, "referenceCode", max_len=1024),
        "salespersonCode": _text(model, "salespersonCode", max_len=25),
        "description": _text(model, "description", max_len=2048),
        "taxOverrideType": "None", "taxOverrideAmount": 0, "taxOverrideReason": "",
        "totalAmount": money(total_amount), "totalExempt": money(total_exempt),
        "totalDiscount": 0, "totalTax": money(total_tax), "totalTaxable": money(total_taxable),
        "totalTaxCalculated": money(total_tax), "locked": False,
        "region": first_dest["region"] if first_dest else "",
        "country": first_dest["country"] if first_dest else "",
        "exchangeRateEffectiveDate": header["date"], "exchangeRate": 1,
        "isSellerImporterOfRecord": False,
        "lines": lines, "addresses": book.addresses(transaction_id),
        "summary": summarize(lines), "messages": [], "parameters": [],
    }


def _use_code(model: dict[str, Any], where: str) -> str:
    code = (_text(model, "entityUseCode", max_len=25)
            or _text(model, "customerUsageType", max_len=25)).upper()
    if code and code not in ENTITY_USE_CODES:
        raise invalid_value(f"{where}entityUseCode", f"'{code}' is not an entity use code; "
                            f"known codes: {', '.join(ENTITY_USE_CODES)}.")
    return code


def _line(raw: dict[str, Any], index: int, header: dict[str, Any], model: dict[str, Any],
          doc_addresses: dict[str, dict[str, Any]], book: AddressBook, ctx: DocumentContext,
          transaction_id: int, customer: str, doc_exempt_no: str, doc_use_code: str,
          doc_bin: str) -> dict[str, Any]:
    where = f"lines[{index}]."
    amount = _decimal(raw, "amount", where, None)
    quantity = _decimal(raw, "quantity", where, Decimal(1))
    line_addresses = _lower_keys(raw.get("addresses"), f"{where}addresses")
    dest = _pick(line_addresses, _DEST_KEYS)
    dest_where = f"{where}addresses." if dest else "addresses."
    dest = dest or _pick(doc_addresses, _DEST_KEYS)
    if dest is None:
        # no destination: the origin is where the sale happens (over-the-counter)
        dest = _pick(line_addresses, _ORIGIN_KEYS) or _pick(doc_addresses, _ORIGIN_KEYS)
    if dest is None:
        raise address_incomplete("NULL")
    dest_id, dest_place = book.place(dest[1], f"{dest_where}{_NAMES.get(dest[0], dest[0])}")
    origin = _pick(line_addresses, _ORIGIN_KEYS) or _pick(doc_addresses, _ORIGIN_KEYS)
    origin_id, origin_place = (dest_id, dest_place) if origin is None else book.place(
        origin[1], f"addresses.{_NAMES.get(origin[0], origin[0])}")
    tax_code = (_text(raw, "taxCode", max_len=25) or "P0000000").upper()
    use_code = _use_code(raw, where) or doc_use_code
    exemption = Exemption(_text(raw, "exemptionCode", max_len=25) or doc_exempt_no,
                          0, use_code)
    if not exemption.applies:
        cert = ctx.find_certificate(customer, dest_place, header["date"])
        if cert is not None:
            exemption = Exemption(cert["exemptionNo"], cert["id"], "")
    buyer_vat = _text(raw, "businessIdentificationNo", max_len=25) or doc_bin
    reverse_charge = bool(buyer_vat and dest_place.in_eu and origin_place.in_eu
                          and dest_place.country != origin_place.country)
    tax_included = raw.get("taxIncluded") is True
    line_id = ctx.next_id("line") if ctx.saved else 0
    nontaxable = tax_code == "NT"
    jurisdictions = dest_place.jurisdictions
    rates = [Decimal(0) if reverse_charge else j.rate for j in jurisdictions]
    taxable_base = amount if jurisdictions and not exemption.applies and not nontaxable \
        else Decimal(0)
    if tax_included and taxable_base:
        # the amount includes tax: back out the net, then tax the net per jurisdiction
        taxable_base = (amount / (1 + sum(rates, Decimal(0)))).quantize(CENT, ROUND_HALF_UP)
    details = []
    line_tax = Decimal(0)
    for juris, rate in zip(jurisdictions, rates, strict=True):
        tax = (taxable_base * rate).quantize(CENT, ROUND_HALF_UP)
        line_tax += tax
        details.append(_detail(juris, rate, tax, taxable_base, amount, exemption, nontaxable,
                               reverse_charge, ctx, line_id, transaction_id, dest_id))
    line_amount = amount - line_tax if tax_included and taxable_base else amount
    taxable_amount = line_amount if taxable_base else Decimal(0)
    return {
        "id": line_id, "transactionId": transaction_id,
        "lineNumber": _text(raw, "number", max_len=50) or str(index + 1),
        "description": _text(raw, "description", max_len=2096),
        "itemCode": _text(raw, "itemCode", max_len=50), "quantity": money(quantity),
        "lineAmount": money(line_amount), "discountAmount": 0,
        "exemptAmount": money(amount if exemption.applies and jurisdictions else Decimal(0)),
        "exemptCertId": exemption.cert_id, "exemptNo": exemption.exempt_no,
        "entityUseCode": exemption.entity_use_code,
        "customerUsageType": exemption.entity_use_code,
        "businessIdentificationNo": buyer_vat, "isItemTaxable": not nontaxable,
        "originAddressId": origin_id, "destinationAddressId": dest_id,
        "reportingDate": header["date"], "taxDate": header["date"],
        "tax": money(line_tax), "taxCalculated": money(line_tax),
        "taxableAmount": money(taxable_amount), "taxCode": tax_code,
        "taxIncluded": tax_included, "taxOverrideType": "None", "taxOverrideAmount": 0,
        "ref1": _text(raw, "ref1", max_len=250), "ref2": _text(raw, "ref2", max_len=250),
        "sourcing": "Destination", "details": details,
    }


def _detail(juris: Jurisdiction, rate: Decimal, tax: Decimal, taxable: Decimal, amount: Decimal,
            exemption: Exemption, nontaxable: bool, reverse_charge: bool, ctx: DocumentContext,
            line_id: int, transaction_id: int, address_id: int) -> dict[str, Any]:
    exempt = amount if exemption.applies else Decimal(0)
    non_taxable = amount if nontaxable and not exemption.applies else Decimal(0)
    return {
        "id": ctx.next_id("detail") if ctx.saved else 0, "transactionLineId": line_id,
        "transactionId": transaction_id, "addressId": address_id,
        "country": juris.country, "region": juris.region, "jurisCode": juris.code,
        "jurisName": juris.name, "jurisdictionId": int(juris.avalara_id),
        "signatureCode": juris.signature_code, "stateAssignedNo": "",
        "jurisType": juris.juris_type, "jurisdictionType": juris.jurisdiction_type,
        "exemptAmount": money(exempt), "nonTaxableAmount": money(non_taxable),
        "taxableAmount": money(taxable), "rate": float(rate), "tax": money(tax),
        "taxCalculated": money(tax), "taxType": juris.tax_type,
        "taxSubTypeId": "S", "taxName": "Reverse Charge" if reverse_charge else juris.tax_name,
        "rateType": "Zero" if reverse_charge else juris.rate_type,
        "rateTypeCode": "Z" if reverse_charge else juris.rate_type[0],
        "taxAuthorityTypeId": 45, "unitOfBasis": "PerCurrencyUnit", "isFee": False,
        "isNonPassThru": False, "liabilityType": "Seller", "chargedTo": "Buyer",
        "sourcing": "Destination", "taxableUnits": money(taxable),
        "nonTaxableUnits": money(non_taxable), "exemptUnits": money(exempt),
        "exemptReasonId": 4 if not exemption.applies else 0,
        "inState": True,
    }


def summarize(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary row per (jurisdiction, tax name, rate type), amounts summed over lines."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    sums: dict[tuple[Any, ...], list[Decimal]] = {}
    for line in lines:
        for d in line["details"]:
            key = (d["country"], d["region"], d["jurisType"], d["jurisCode"], d["taxName"],
                   d["rateType"], d["rate"])
            if key not in rows:
                rows[key] = {"country": d["country"], "region": d["region"],
                             "jurisType": d["jurisdictionType"], "jurisCode": d["jurisCode"],
                             "jurisName": d["jurisName"], "taxAuthorityType": 45,
                             "stateAssignedNo": "", "taxType": d["taxType"],
                             "taxSubType": d["taxSubTypeId"], "taxName": d["taxName"],
                             "rateType": d["rateType"], "rate": d["rate"]}
                sums[key] = [Decimal(0)] * 4
            acc = sums[key]
            for i, name in enumerate(("taxableAmount", "tax", "nonTaxableAmount",
                                      "exemptAmount")):
                acc[i] += Decimal(str(d[name]))
    out = []
    for key, row in rows.items():
        taxable, tax, non_taxable, exempt = sums[key]
        out.append({**row, "taxable": money(taxable), "tax": money(tax),
                    "taxCalculated": money(tax), "nonTaxable": money(non_taxable),
                    "exemption": money(exempt)})
    return out
