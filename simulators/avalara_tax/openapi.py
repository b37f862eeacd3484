"""OpenAPI for the AvaTax subset served: operations (with every status they return) and the
component schemas the responses conform to."""

from __future__ import annotations

from typing import Any

from .calculation import DOC_TYPES
from .models import VOID_REASONS
from .rates import ENTITY_USE_CODES

TAG = "AvaTax"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str, *refusals: tuple[str, str]) -> dict[str, Any]:
    """An AvaTax error response; ``refusals`` are (body regex, why) pairs of schema-valid
    input it refuses (harness.fuzz's documented acceptance check reads them)."""
    out = _json(_ref("ErrorResult"), description)
    if refusals:
        out["x-o2c-valid-input-rejections"] = [{"match": m, "why": w} for m, w in refusals]
    return out


#: whether an address can be used depends on its country (US: ZIP, or line1 + city + state;
#: CA: postal code or line1 + city + province; elsewhere the country alone), on the postal
#: code format and ranges of that country and on its region codes: not a JSON Schema
_ADDRESS = ('"code":"(InvalidAddress|InvalidCountry|InvalidCountryRegion|InvalidPostalCode)"'
            '|"message":"An Address is incomplete or invalid\\."',
            "address completeness and validity are country-dependent")
_DOC_STATUS = ('"message":"DocStatus is invalid for this operation\\."',
               "adjusting a document depends on its status (e.g. already committed or "
               "cancelled): state, not shape")


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying",
                                "schema": {"type": "string"}}}
COMMON_ERRORS = {
    "401": _error("Authentication failed (AuthenticationException)"),
    "429": {**_error("Rate limit exceeded (RateLimitExceededError)"), "headers": _RETRY_AFTER},
    "500": _error("Internal server error"),
    "503": _error("Service not ready"),
    "504": _error("Server unreachable / timed out"),
}

_STR = {"type": "string"}
_NUM = {"type": "number"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_NULLABLE_STR = {"type": ["string", "null"]}


def _path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


INCLUDE = _query("$include", _STR, "Comma separated: Lines, Details, Summary, Addresses, "
                 "SummaryOnly, LinesOnly (SummaryOnly and LinesOnly change the response)")
DOC_TYPE = _query("documentType", {"type": "string", "enum": sorted(DOC_TYPES)},
                  "Document type; defaults to the invoice with this code")
COMPANY = _path("companyCode", "Company code")
TX_CODE = _path("transactionCode", "Transaction code (escape '/' as _-ava2f-_)")


def _op(summary: str, operation_id: str, responses: dict[str, Any], *,
        body: str | None = None, params: list[dict[str, Any]] | None = None,
        auth: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {"tags": [TAG], "summary": summary, "operationId": operation_id,
                          "responses": {**responses, **COMMON_ERRORS}}
    if not auth:
        op["responses"].pop("401")
    if body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": _ref(body)}}}
    if params:
        op["parameters"] = params
    return op


OPERATIONS: dict[str, dict[str, Any]] = {
    "ping": _op("Test connectivity and credentials", "Ping",
                {"200": _json(_ref("PingResultModel"), "Ping result")}, auth=False),
    "create": _op("Create a new transaction", "CreateTransaction", {
        "201": _json(_ref("TransactionModel"), "The transaction (status Temporary for orders)"),
        "400": _error("Invalid model, address or document status", _ADDRESS, _DOC_STATUS),
        "404": _error("Company not found (EntityNotFoundError)")},
        body="CreateTransactionModel", params=[INCLUDE]),
    "createoradjust": _op("Create or adjust a transaction", "CreateOrAdjustTransaction", {
        "201": _json(_ref("TransactionModel"), "The created or adjusted transaction"),
        "400": _error("Invalid model, address or document status", _ADDRESS, _DOC_STATUS),
        "404": _error("Company not found (EntityNotFoundError)")},
        body="CreateOrAdjustTransactionModel", params=[INCLUDE]),
    "list": _op("Retrieve all transactions of a company", "ListTransactionsByCompany", {
        "200": _json(_ref("TransactionFetchResult"), "Transactions"),
        "400": _error("Invalid $filter, $top or $skip"),
        "404": _error("Company not found")}, params=[
        COMPANY, INCLUDE,
        _query("$filter", _STR, "<field> eq '<value>' [and ...] over code, status, type, "
               "customerCode, customerVendorCode, date, currencyCode, exemptNo, purchaseOrderNo"),
        _query("$top", {"type": "integer", "minimum": 0, "maximum": 1000}, "Page size"),
        _query("$skip", {"type": "integer", "minimum": 0, "maximum": 10_000_000}, "Offset")]),
    "get": _op("Retrieve a single transaction by code", "GetTransactionByCode", {
        "200": _json(_ref("TransactionModel"), "The transaction"),
        "400": _error("Invalid documentType"),
        "404": _error("Company or transaction not found")},
        params=[COMPANY, TX_CODE, DOC_TYPE, INCLUDE]),
    "commit": _op("Commit a transaction for reporting", "CommitTransaction", {
        "200": _json(_ref("TransactionModel"), "The committed transaction"),
        "400": _error("Invalid model or document status"),
        "404": _error("Company or transaction not found")},
        body="CommitTransactionModel", params=[COMPANY, TX_CODE, DOC_TYPE, INCLUDE]),
    "void": _op("Void a transaction", "VoidTransaction", {
        "200": _json(_ref("TransactionModel"), "The voided transaction (status Cancelled)"),
        "400": _error("Invalid model, or already cancelled"),
        "404": _error("Company or transaction not found")},
        body="VoidTransactionModel", params=[COMPANY, TX_CODE, DOC_TYPE, INCLUDE]),
    "companies": _op("Retrieve all companies", "QueryCompanies", {
        "200": _json(_ref("CompanyFetchResult"), "Companies")}),
    "resolve_get": _op("Retrieve geolocation information for an address", "ResolveAddress", {
        "200": _json(_ref("AddressResolutionModel"),
                     "Resolution (unresolvable addresses carry messages)"),
        "400": _error("Address incomplete or invalid text case", _ADDRESS)}, params=[
        *[_query(n, _STR, n) for n in ("line1", "line2", "line3", "city", "region",
                                       "postalCode", "country")],
        _query("textCase", {"type": "string", "enum": ["Upper", "Mixed"]}, "Text case")]),
    "resolve_post": _op("Retrieve geolocation information for an address", "ResolveAddressPost",
                        {"200": _json(_ref("AddressResolutionModel"),
                                      "Resolution (unresolvable addresses carry messages)"),
                         "400": _error("Address incomplete, invalid JSON or text case",
                                       _ADDRESS)},
                        body="AddressValidationInfo"),
}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


_ADDRESS = _obj({k: _STR for k in ("locationCode", "line1", "line2", "line3", "city", "region",
                                   "country", "postalCode")}
                | {"latitude": _NUM, "longitude": _NUM})
# named addresses (names are case-insensitive; null: absent); an unknown name is ignored
_ADDRESSES = {**_obj({k: {"anyOf": [_ref("AddressLocationInfo"), {"type": "null"}]} for k in
                      ("singleLocation", "shipFrom", "shipTo", "pointOfOrderOrigin",
                       "pointOfOrderAcceptance")}),
              "additionalProperties": {"anyOf": [_ref("AddressLocationInfo"),
                                                 {"type": "null"}]}}
# amounts and quantities: finite and below 10^13 in magnitude (RangeError otherwise)
_AMOUNT = {"type": "number", "exclusiveMinimum": -1e13, "exclusiveMaximum": 1e13}
# an entity use code, any case, blanks around it ignored; blank: none (ModelStateInvalid)
_USE_CODE = {"type": "string", "maxLength": 25, "pattern": "^[ \t\n\r]*(" + "|".join(
    f"[{c.upper()}{c.lower()}]" for c in ENTITY_USE_CODES) + ")?[ \t\n\r]*$"}


def _text(max_len: int) -> dict[str, Any]:
    """A text field of a request: a string (or an integer, taken as its digits) of at most
    ``max_len`` characters (StringLengthError otherwise)."""
    return {"type": ["string", "integer"], "maxLength": max_len}


_LINE_IN = _obj({"number": _text(50), "quantity": _AMOUNT, "amount": _AMOUNT,
                 "taxCode": _text(25), "itemCode": _text(50), "description": _text(2096),
                 "exemptionCode": _text(25),
                 "entityUseCode": _USE_CODE, "customerUsageType": _USE_CODE,
                 "businessIdentificationNo": _text(25), "taxIncluded": _BOOL,
                 "ref1": _text(250), "ref2": _text(250), "addresses": _ADDRESSES}, ["amount"])
_DETAIL = _obj({
    "id": _INT, "transactionLineId": _INT, "transactionId": _INT, "addressId": _INT,
    "country": _STR, "region": _STR, "jurisCode": _STR, "jurisName": _STR,
    "jurisdictionId": _INT, "signatureCode": _STR, "stateAssignedNo": _STR,
    "jurisType": {"type": "string", "enum": ["CNT", "STA", "CTY", "CIT", "STJ"]},
    "jurisdictionType": {"type": "string",
                         "enum": ["Country", "State", "County", "City", "Special"]},
    "exemptAmount": _NUM, "nonTaxableAmount": _NUM, "taxableAmount": _NUM, "rate": _NUM,
    "tax": _NUM, "taxCalculated": _NUM, "taxType": _STR, "taxSubTypeId": _STR, "taxName": _STR,
    "rateType": _STR, "rateTypeCode": _STR, "taxAuthorityTypeId": _INT, "unitOfBasis": _STR,
    "isFee": _BOOL, "isNonPassThru": _BOOL, "liabilityType": _STR, "chargedTo": _STR,
    "sourcing": _STR, "taxableUnits": _NUM, "nonTaxableUnits": _NUM, "exemptUnits": _NUM,
    "exemptReasonId": _INT, "inState": _BOOL},
    ["jurisCode", "jurisName", "jurisType", "jurisdictionType", "rate", "tax", "taxableAmount",
     "taxName", "country", "region"])
_LINE = _obj({
    "id": _INT, "transactionId": _INT, "lineNumber": _STR, "description": _STR,
    "itemCode": _STR, "quantity": _NUM, "lineAmount": _NUM, "discountAmount": _NUM,
    "exemptAmount": _NUM, "exemptCertId": _INT, "exemptNo": _STR, "entityUseCode": _STR,
    "customerUsageType": _STR, "businessIdentificationNo": _STR, "isItemTaxable": _BOOL,
    "originAddressId": _INT, "destinationAddressId": _INT, "reportingDate": _STR,
    "taxDate": _STR, "tax": _NUM, "taxCalculated": _NUM, "taxableAmount": _NUM, "taxCode": _STR,
    "taxIncluded": _BOOL, "taxOverrideType": _STR, "taxOverrideAmount": _NUM, "ref1": _STR,
    "ref2": _STR, "sourcing": _STR, "details": {"type": "array", "items": _DETAIL}},
    ["lineNumber", "lineAmount", "tax", "taxableAmount", "exemptAmount"])
_SUMMARY = _obj({
    "country": _STR, "region": _STR, "jurisType": _STR, "jurisCode": _STR, "jurisName": _STR,
    "taxAuthorityType": _INT, "stateAssignedNo": _STR, "taxType": _STR, "taxSubType": _STR,
    "taxName": _STR, "rateType": _STR, "taxable": _NUM, "rate": _NUM, "tax": _NUM,
    "taxCalculated": _NUM, "nonTaxable": _NUM, "exemption": _NUM},
    ["jurisType", "jurisCode", "taxName", "rate", "tax", "taxable"])
_TX_ADDRESS = _obj({"id": _INT, "transactionId": _INT, "boundaryLevel": _STR,
                    **{k: _STR for k in ("line1", "line2", "line3", "city", "region",
                                         "postalCode", "country", "latitude", "longitude")},
                    "taxRegionId": _INT})
_TRANSACTION = _obj({
    "id": _INT, "code": _STR, "companyId": _INT, "companyCode": _STR, "date": _STR,
    "taxDate": _STR, "paymentDate": _STR,
    "status": {"type": "string", "enum": ["Temporary", "Saved", "Committed", "Cancelled",
                                          "Adjusted"]},
    "type": {"type": "string", "enum": sorted(DOC_TYPES)}, "currencyCode": _STR,
    "customerCode": _STR, "customerVendorCode": _STR, "entityUseCode": _STR,
    "customerUsageType": _STR, "exemptNo": _STR, "businessIdentificationNo": _STR,
    "reconciled": _BOOL, "purchaseOrderNo": _STR, "referenceCode": _STR,
    "salespersonCode": _STR, "description": _STR, "taxOverrideType": _STR,
    "taxOverrideAmount": _NUM, "taxOverrideReason": _STR, "totalAmount": _NUM,
    "totalExempt": _NUM, "totalDiscount": _NUM, "totalTax": _NUM, "totalTaxable": _NUM,
    "totalTaxCalculated": _NUM, "adjustmentReason": _STR, "adjustmentDescription": _STR,
    "locked": _BOOL, "region": _STR, "country": _STR, "version": _INT,
    "softwareVersion": _STR, "exchangeRateEffectiveDate": _STR, "exchangeRate": _NUM,
    "isSellerImporterOfRecord": _BOOL, "modifiedDate": _STR, "voidReason": _STR,
    "lines": {"type": "array", "items": _LINE},
    "addresses": {"type": "array", "items": _TX_ADDRESS},
    "summary": {"type": "array", "items": _SUMMARY},
    "messages": {"type": "array", "items": {"type": "object"}},
    "parameters": {"type": "array", "items": {"type": "object"}}},
    ["id", "code", "companyId", "date", "status", "type", "currencyCode", "totalAmount",
     "totalTax", "totalTaxable", "totalExempt", "version"])
_VALIDATED = _obj({"addressType": _STR, **{k: _STR for k in (
    "line1", "line2", "line3", "city", "region", "country", "postalCode")},
    "latitude": _NUM, "longitude": _NUM})
_MESSAGE = _obj({"summary": _STR, "details": _STR, "refersTo": _STR,
                 "severity": {"type": "string", "enum": ["Success", "Warning", "Error",
                                                         "Exception"]},
                 "source": _STR}, ["summary", "severity"])


def components() -> dict[str, Any]:
    return {
        "securitySchemes": {
            "basicAuth": {"type": "http", "scheme": "basic",
                          "description": "accountId:licenseKey"},
            "bearerAuth": {"type": "http", "scheme": "bearer"},
        },
        "schemas": {
            "ErrorResult": _obj({"error": _obj({
                "code": _STR, "message": _STR, "target": _STR,
                "details": {"type": "array", "items": _obj({
                    "code": _STR, "number": _INT, "message": _STR, "description": _STR,
                    "faultCode": _STR, "helpLink": _STR, "refersTo": _STR,
                    "severity": {"type": "string",
                                 "enum": ["Success", "Warning", "Error", "Exception"]}},
                    ["code", "number", "message", "severity"])}},
                ["code", "message", "details"])}, ["error"]),
            "PingResultModel": _obj({
                "version": _STR, "authenticated": _BOOL, "authenticationType": _STR,
                "authenticatedUserName": _NULLABLE_STR,
                "authenticatedUserId": {"type": ["integer", "null"]},
                "authenticatedAccountId": {"type": ["integer", "null"]},
                "crmid": _NULLABLE_STR}, ["version", "authenticated", "authenticationType"]),
            "AddressLocationInfo": _ADDRESS,
            "CreateTransactionModel": {**_obj({
                "type": {"type": "string", "enum": sorted(DOC_TYPES)}, "code": _text(50),
                "companyCode": _text(25), "date": {"type": "string", "format": "date"},
                "customerCode": _text(50), "customerVendorCode": _text(1024),
                # ISO 4217, any case, blanks around ignored; blank: USD
                "currencyCode": {"type": "string", "maxLength": 1024,
                                 "pattern": "^\\s*([A-Za-z]{3})?\\s*$"},
                "exemptionNo": _text(25), "entityUseCode": _USE_CODE,
                "customerUsageType": _USE_CODE,
                "businessIdentificationNo": _text(25), "purchaseOrderNo": _text(50),
                "referenceCode": _text(1024), "salespersonCode": _text(25),
                "description": _text(2048),
                "commit": _BOOL, "adjustmentReason": _STR, "adjustmentDescription": _STR,
                "addresses": _ADDRESSES,
                "lines": {"type": "array", "minItems": 1, "items": _LINE_IN}},
                ["date", "customerCode", "lines"]),
                # a customer code that is not blank, or else a customer vendor code that is not
                "anyOf": [{"properties": {"customerCode": {"pattern": "\\S"}}},
                          {"required": ["customerVendorCode"],
                           "properties": {"customerVendorCode": {"pattern": "\\S"}}}]},
            "CreateOrAdjustTransactionModel": _obj(
                {"createTransactionModel": _ref("CreateTransactionModel")},
                ["createTransactionModel"]),
            "CommitTransactionModel": _obj({"commit": _BOOL}, ["commit"]),
            "VoidTransactionModel": _obj(
                {"code": {"type": "string", "enum": sorted(VOID_REASONS)}}, ["code"]),
            "TransactionModel": _TRANSACTION,
            "TransactionFetchResult": _obj({
                "@recordsetCount": _INT, "value": {"type": "array", "items": _TRANSACTION},
                "@nextLink": _STR}, ["@recordsetCount", "value"]),
            "CompanyFetchResult": _obj({
                "@recordsetCount": _INT, "value": {"type": "array", "items": _obj({
                    "id": _INT, "companyCode": _STR, "name": _STR, "country": _STR,
                    "isDefault": _BOOL, "isActive": _BOOL, "hasProfile": _BOOL,
                    "taxpayerIdNumber": _STR, "createdDate": _STR},
                    ["id", "companyCode", "name"])}}, ["@recordsetCount", "value"]),
            "AddressValidationInfo": _obj({
                **{k: _STR for k in ("line1", "line2", "line3", "city", "region", "country",
                                     "postalCode")},
                "textCase": {"type": "string", "enum": ["Upper", "Mixed"]}}),
            "AddressResolutionModel": _obj({
                "address": _obj({k: _STR for k in ("line1", "line2", "line3", "city",
                                                   "region", "country", "postalCode")}),
                "validatedAddresses": {"type": "array", "items": _VALIDATED},
                "coordinates": _obj({"latitude": _NUM, "longitude": _NUM}),
                "resolutionQuality": _STR,
                "taxAuthorities": {"type": "array", "items": _obj({
                    "avalaraId": _STR, "jurisdictionName": _STR, "jurisdictionType": _STR,
                    "signatureCode": _STR})},
                "messages": {"type": "array", "items": _MESSAGE}}, ["address"]),
        },
    }
