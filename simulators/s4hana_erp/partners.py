"""Business partner master data: partners, addresses, customers and their company-code data.

Rows use the API's field names. A business partner created with ``to_Customer`` also becomes a
customer with the same number (harmonized numbering, as S/4HANA Cloud configures it), and each
``to_CustomerCompany`` entry extends the customer to a company code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulators._kit import is_digits

from .errors import (
    BP_CATEGORY_INVALID,
    BP_NAME_MISSING,
    BP_NUMBER_INTERNAL,
    COMPANY_CODE_UNKNOWN,
    COUNTRY_INVALID,
    CUSTOMER_COMPANY_EXISTS,
    SapError,
    bad_request,
)

if TYPE_CHECKING:
    from .config import Config
    from .models import S4Backend

BP_NOT_FOUND = "R1/140"
NUMBER_RANGE_EXHAUSTED = "R1/085"
PAYMENT_TERMS_UNKNOWN = "F2/054"

BP, ADDR, CUST, CUSTCO = "business_partners", "bp_addresses", "customers", "customer_companies"

# ISO 3166-1 alpha-2 (SAP table T005 holds the same keys)
COUNTRIES = frozenset(
    """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW""".split()  # noqa: SIM905 - reads better as a table
)


def alpha(number: str) -> str:
    """SAP's ALPHA conversion for lookups: '0001000001' and '1000001' are the same partner."""
    if not is_digits(number):
        return number
    return number.lstrip("0") or "0"


class PartnerBook:
    """Creates and reads business partners; validates everything before writing anything."""

    def __init__(self, backend: S4Backend) -> None:
        self.backend = backend

    @property
    def config(self) -> Config:
        return self.backend.config  # type: ignore[no-any-return]

    def _coll(self, name: str) -> Any:
        return self.backend.ctx.store.collection(name)

    # -- reads -----------------------------------------------------------------------------
    def partner(self, number: str) -> dict[str, Any] | None:
        return self._coll(BP).get(alpha(number))  # type: ignore[no-any-return]

    def customer(self, number: str) -> dict[str, Any] | None:
        return self._coll(CUST).get(alpha(number))  # type: ignore[no-any-return]

    def customer_company(self, customer: str, company_code: str) -> dict[str, Any] | None:
        return self._coll(CUSTCO).get(f"{alpha(customer)}|{company_code}")  # type: ignore[no-any-return]

    def addresses_of(self, number: str) -> list[dict[str, Any]]:
        return [a for a in self._coll(ADDR).values() if a["BusinessPartner"] == alpha(number)]

    def companies_of(self, customer: str) -> list[dict[str, Any]]:
        return [c for c in self._coll(CUSTCO).values() if c["Customer"] == alpha(customer)]

    # -- validation ------------------------------------------------------------------------
    def _check_address(self, data: dict[str, Any], where: str) -> None:
        country = data.get("Country") or ""
        if country not in COUNTRIES:
            raise bad_request(COUNTRY_INVALID, f"Country/region key '{country}' does not exist"
                              if country else "Enter a country/region key for the address",
                              propertyref="A_BusinessPartnerAddressType/Country", target=where)
        language = data.get("Language")
        if language and (len(language) != 2 or not language.isalpha()):
            raise bad_request("AM/053", f"Language key '{language}' is not defined",
                              propertyref="A_BusinessPartnerAddressType/Language", target=where)

    def _check_company(self, data: dict[str, Any], where: str) -> None:
        code = data.get("CompanyCode") or ""
        if self.config.company(code) is None:
            raise bad_request(COMPANY_CODE_UNKNOWN, f"Company code {code or '(empty)'} is not "
                              "defined", propertyref="A_CustomerCompanyType/CompanyCode",
                              target=where)
        terms = data.get("PaymentTerms")
        if terms and terms not in self.config.payment_terms:
            raise bad_request(PAYMENT_TERMS_UNKNOWN, f"Terms of payment {terms} are not defined",
                              propertyref="A_CustomerCompanyType/PaymentTerms", target=where)

    # -- writes ----------------------------------------------------------------------------
    def create_partner(self, data: dict[str, Any], user: str) -> dict[str, Any]:
        """Deep insert of a business partner with addresses, customer and company codes."""
        category = data.get("BusinessPartnerCategory") or ""
        if category not in ("1", "2"):
            raise bad_request(BP_CATEGORY_INVALID,
                              f"Business partner category '{category}' is not valid; use 1 "
                              "(person) or 2 (organization)",
                              propertyref="A_BusinessPartnerType/BusinessPartnerCategory")
        if data.get("BusinessPartner"):
            raise bad_request(BP_NUMBER_INTERNAL,
                              f"Business partner number {data['BusinessPartner']} cannot be "
                              f"specified: grouping {self._grouping(data)} uses internal "
                              "numbering", propertyref="A_BusinessPartnerType/BusinessPartner")
        if category == "2" and not (data.get("OrganizationBPName1") or "").strip():
            raise bad_request(BP_NAME_MISSING, "Enter a name for the organization",
                              propertyref="A_BusinessPartnerType/OrganizationBPName1")
        if category == "1" and not (data.get("LastName") or "").strip():
            raise bad_request(BP_NAME_MISSING, "Enter a last name for the person",
                              propertyref="A_BusinessPartnerType/LastName")
        addresses = data.get("to_BusinessPartnerAddress") or []
        for i, address in enumerate(addresses):
            self._check_address(address, f"to_BusinessPartnerAddress[{i}]")
        customer = data.get("to_Customer")
        companies = (customer or {}).get("to_CustomerCompany") or []
        seen: set[str] = set()
        for i, company in enumerate(companies):
            self._check_company(company, f"to_Customer/to_CustomerCompany[{i}]")
            if company["CompanyCode"] in seen:
                raise bad_request(CUSTOMER_COMPANY_EXISTS, f"Company code "
                                  f"{company['CompanyCode']} is given twice",
                                  propertyref="A_CustomerCompanyType/CompanyCode")
            seen.add(company["CompanyCode"])

        number = self._next_number()
        today = self.backend.today_ms()
        if category == "2":
            full = " ".join(filter(None, (data.get("OrganizationBPName1"),
                                          data.get("OrganizationBPName2"))))
        else:
            full = " ".join(filter(None, (data.get("FirstName"), data.get("LastName"))))
        row = {
            "BusinessPartner": number,
            "Customer": number if customer is not None else "",
            "BusinessPartnerCategory": category,
            "BusinessPartnerFullName": full[:81],
            "BusinessPartnerGrouping": self._grouping(data),
            "FirstName": data.get("FirstName") or "",
            "LastName": data.get("LastName") or "",
            "OrganizationBPName1": data.get("OrganizationBPName1") or "",
            "OrganizationBPName2": data.get("OrganizationBPName2") or "",
            "SearchTerm1": (data.get("SearchTerm1") or "").upper(),
            "SearchTerm2": (data.get("SearchTerm2") or "").upper(),
            "CorrespondenceLanguage": (data.get("CorrespondenceLanguage") or "EN").upper(),
            "BusinessPartnerIsBlocked": bool(data.get("BusinessPartnerIsBlocked")),
            "CreatedByUser": user, "CreationDate": today,
            "LastChangedByUser": user, "LastChangeDate": today,
        }
        self._coll(BP).put(number, row)
        for address in addresses:
            self._put_address(number, address)
        if customer is not None:
            self._coll(CUST).put(number, {
                "Customer": number,
                "CustomerAccountGroup": customer.get("CustomerAccountGroup")
                or self.config.customer_account_group,
                "CustomerName": full[:80], "CustomerFullName": full,
                "VATRegistration": customer.get("VATRegistration") or "",
                "CreatedByUser": user, "CreationDate": today,
                "DeletionIndicator": False,
            })
            for company in companies:
                self._put_company(number, company)
        facts = self.backend.ctx.facts
        fact = {"BusinessPartner": number, "BusinessPartnerFullName": full,
                "company_codes": sorted(seen), "created_at": self.backend.clock.now()}
        facts.record("business_partner.created", number, **fact)
        if row["SearchTerm1"]:
            facts.record("business_partner.created", row["SearchTerm1"], **fact)
        return row

    def _grouping(self, data: dict[str, Any]) -> str:
        return str(data.get("BusinessPartnerGrouping") or self.config.bp_grouping)

    def _next_number(self) -> str:
        n = self.config.bp_number_from + self.backend.ctx.ids.sequence("business_partner") - 1
        if n > self.config.bp_number_to:
            raise SapError(400, NUMBER_RANGE_EXHAUSTED,
                           f"Number range for grouping {self.config.bp_grouping} is exhausted "
                           f"({self.config.bp_number_from}-{self.config.bp_number_to})")
        return str(n)

    def _put_address(self, number: str, data: dict[str, Any]) -> dict[str, Any]:
        address_id = str(40000 + self.backend.ctx.ids.sequence("address"))
        row = {"BusinessPartner": number, "AddressID": address_id,
               **{k: data.get(k) or "" for k in ("StreetName", "HouseNumber", "PostalCode",
                                                 "CityName", "Region")},
               "Country": data["Country"], "Language": (data.get("Language") or "EN").upper()}
        self._coll(ADDR).put(f"{number}|{address_id}", row)
        return row

    def _put_company(self, customer: str, data: dict[str, Any]) -> dict[str, Any]:
        company = self.config.company(data["CompanyCode"])
        assert company is not None
        cust = self.customer(customer)
        row = {"Customer": customer, "CompanyCode": company.code,
               "ReconciliationAccount": data.get("ReconciliationAccount")
               or company.reconciliation_account,
               "PaymentTerms": data.get("PaymentTerms") or "0001",
               "AccountingClerk": data.get("AccountingClerk") or "",
               "CustomerAccountGroup": (cust or {}).get("CustomerAccountGroup")
               or self.config.customer_account_group,
               "DeletionIndicator": False}
        self._coll(CUSTCO).put(f"{customer}|{company.code}", row)
        return row

    def add_address(self, data: dict[str, Any]) -> dict[str, Any]:
        """``POST A_BusinessPartnerAddress``: another address for an existing partner."""
        number = data.get("BusinessPartner") or ""
        if self.partner(number) is None:
            raise bad_request(BP_NOT_FOUND, f"Business partner {number} does not exist",
                              propertyref="A_BusinessPartnerAddressType/BusinessPartner")
        self._check_address(data, "")
        return self._put_address(alpha(number), data)

    def extend_to_company(self, data: dict[str, Any]) -> dict[str, Any]:
        """``POST A_CustomerCompany``: extend an existing customer to another company code."""
        customer = data.get("Customer") or ""
        if self.customer(customer) is None:
            raise bad_request(BP_NOT_FOUND, f"Customer {customer} does not exist",
                              propertyref="A_CustomerCompanyType/Customer")
        self._check_company(data, "")
        if self.customer_company(customer, data["CompanyCode"]) is not None:
            raise bad_request(CUSTOMER_COMPANY_EXISTS, f"Customer {customer} already exists in "
                              f"company code {data['CompanyCode']}",
                              propertyref="A_CustomerCompanyType/CompanyCode")
        return self._put_company(alpha(customer), data)
