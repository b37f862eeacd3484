"""The S/4HANA backend: master data (``partners.py``) and accounting (``ledger.py``) behind one
entity-set interface that the OData layer reads and writes. No HTTP in here.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from simulators._kit import (
    LEGAL_SUFFIX,
    LOCALE_COUNTRY,
    Backend,
    SeedRequest,
    SimContext,
    make_faker,
    rng,
    vat_id,
)

from .config import CURRENCY_DECIMALS, CompanyCode, Config
from .errors import SapError
from .ledger import DAY_MS, PERIODS, Ledger, midnight, money
from .partners import ADDR, BP, CUST, CUSTCO, PartnerBook, alpha

Row = dict[str, Any]


class S4Backend(Backend):
    """All state of the simulated S/4HANA tenant."""

    name = "cloud_erp"

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.partners = PartnerBook(self)
        self.ledger = Ledger(self)

    @property
    def config(self) -> Config:
        return self.ctx.config  # type: ignore[return-value]

    def today_ms(self) -> int:
        return midnight(int(self.clock.now() * 1000))

    def reset(self) -> None:
        periods = self.ctx.store.collection(PERIODS)
        for pattern in self.config.closed_periods:
            periods.put(pattern, {"period": pattern, "closed": True})

    # -- entity sets -----------------------------------------------------------------------
    def _coll(self, name: str) -> Any:
        return self.ctx.store.collection(name)

    def rows(self, entity_set: str) -> list[Row]:
        """Every entity of a set, in creation order."""
        readers: dict[str, Callable[[], list[Row]]] = {
            "A_BusinessPartner": lambda: list(self._coll(BP).values()),
            "A_BusinessPartnerAddress": lambda: list(self._coll(ADDR).values()),
            "A_Customer": lambda: list(self._coll(CUST).values()),
            "A_CustomerCompany": lambda: list(self._coll(CUSTCO).values()),
            "A_JournalEntry": self.ledger.documents,
            "A_JournalEntryItem": self.ledger.items,
            "A_IncomingPayment": self.ledger.payments,
            "A_OpenItem": self.ledger.open_items,
        }
        return readers[entity_set]()

    def row(self, entity_set: str, key: dict[str, str]) -> Row | None:
        """One entity by its key (business partner and customer numbers ALPHA-converted)."""
        if entity_set == "A_BusinessPartner":
            return self.partners.partner(key["BusinessPartner"])
        if entity_set == "A_BusinessPartnerAddress":
            return self._coll(ADDR).get(  # type: ignore[no-any-return]
                f"{alpha(key['BusinessPartner'])}|{key['AddressID']}")
        if entity_set == "A_Customer":
            return self.partners.customer(key["Customer"])
        if entity_set == "A_CustomerCompany":
            return self.partners.customer_company(key["Customer"], key["CompanyCode"])
        doc_key = (key["CompanyCode"], key["FiscalYear"], key["AccountingDocument"])
        if entity_set == "A_JournalEntry":
            return self.ledger.document(*doc_key)
        if entity_set == "A_IncomingPayment":
            return self.ledger.payment(*doc_key)
        if entity_set == "A_JournalEntryItem":
            doc = self.ledger.document(*doc_key)
            items = doc["_items"] if doc else []
            return next((i for i in items
                         if i["AccountingDocumentItem"] == key["AccountingDocumentItem"]), None)
        return next((r for r in self.ledger.open_items()
                     if all(r[k] == v for k, v in key.items())), None)

    def related(self, type_name: str, row: Row, nav: str) -> Any:
        """The target(s) of a navigation property: a list for ``*`` ends, else a row or None."""
        if (type_name, nav) == ("A_BusinessPartnerType", "to_BusinessPartnerAddress"):
            return self.partners.addresses_of(row["BusinessPartner"])
        if (type_name, nav) == ("A_BusinessPartnerType", "to_Customer"):
            return self.partners.customer(row["BusinessPartner"])
        if (type_name, nav) == ("A_CustomerType", "to_CustomerCompany"):
            return self.partners.companies_of(row["Customer"])
        if (type_name, nav) == ("A_JournalEntryType", "to_Item"):
            return list(row["_items"])
        raise KeyError(f"{type_name}/{nav}")

    def create(self, entity_set: str, data: Row, user: str) -> Row:
        """Create an entity (with its deep-insert children) in a creatable set."""
        writers: dict[str, Callable[[Row], Row]] = {
            "A_BusinessPartner": lambda d: self.partners.create_partner(d, user),
            "A_BusinessPartnerAddress": self.partners.add_address,
            "A_CustomerCompany": self.partners.extend_to_company,
            "A_JournalEntry": lambda d: self.ledger.post_invoice(d, user),
            "A_IncomingPayment": lambda d: self.ledger.post_payment(d, user),
        }
        return writers[entity_set](data)

    # -- import ----------------------------------------------------------------------------
    import_kinds = ("A_BusinessPartner", "A_BusinessPartnerAddress", "A_CustomerCompany",
                    "A_JournalEntry", "A_IncomingPayment")

    def import_records(self, kind: str, records: list[Row]) -> dict[str, int]:
        """Records are OData create bodies of a creatable entity set (deep inserts allowed),
        parsed and created exactly as ``POST /<set>`` does, by the first configured user."""
        from .odata import parse_entity_body
        from .services import SERVICES

        for service in SERVICES.values():
            entity_set = service.entity_set(kind)
            if entity_set is not None and entity_set.creatable:
                break
        else:
            return super().import_records(kind, records)
        etype = service.entity_type(entity_set.type)
        user = next(iter(self.config.users), "")
        return {kind: self.import_each(
            kind, records, lambda r: self.create(kind, parse_entity_body(service, etype, r),
                                                 user))}

    # -- seed ------------------------------------------------------------------------------
    def _company_for(self, country: str, currency: str) -> CompanyCode:
        codes = self.config.company_codes
        return (next((c for c in codes if c.country == country), None)
                or next((c for c in codes if c.currency == currency.upper()), None)
                or codes[0])

    def seed(self, request: SeedRequest) -> dict[str, int]:
        """Customers across the requested locales, each extended to its country's company
        code (plus 1010 for some), with historic invoices: some paid, some partly paid, some
        open. Deterministic for a seed; dates are relative to the simulator's today.

        Dirtiness adds near-duplicate names and addresses without postal code; names longer
        than 40 characters are split over Name 1/Name 2, as SAP users do.
        """
        r = rng(request.seed, "s4hana")
        locales = request.locales or ["en_US"]
        fakers = {loc: make_faker(request.seed, [loc]) for loc in locales}
        counts = {"business_partners": 0, "invoices": 0, "payments": 0}
        previous: str | None = None
        today = self.today_ms()
        for i in range(request.size):
            locale = locales[i % len(locales)]
            fake = fakers[locale]
            country, currency = LOCALE_COUNTRY[locale]
            company = self._company_for(country, currency)
            name = fake.company()
            suffix = LEGAL_SUFFIX.get(country, "")
            if suffix and not name.endswith(suffix):
                name = f"{name} {suffix}"
            if previous and r.random() < request.dirtiness * 0.2:
                name = previous.upper() if r.random() < 0.5 else previous.replace(" ", "  ", 1)
            previous = name
            name1, name2 = name[:40], name[40:80]
            address = {"StreetName": fake.street_name()[:60],
                       "HouseNumber": fake.building_number()[:10],
                       "PostalCode": "" if r.random() < request.dirtiness * 0.3
                       else fake.postcode()[:10],
                       "CityName": fake.city()[:40], "Country": country,
                       "Language": locale[:2].upper()}
            if country == "US":
                address["Region"] = fake.state_abbr()
            companies = [{"CompanyCode": company.code,
                          "PaymentTerms": r.choice(["0001", "NT14", "NT30", "NT30", "NT60"])}]
            if company.code != self.config.company_codes[0].code and r.random() < 0.2:
                companies.append({"CompanyCode": self.config.company_codes[0].code,
                                  "PaymentTerms": "NT30"})
            partner = self.partners.create_partner({
                "BusinessPartnerCategory": "2", "OrganizationBPName1": name1,
                "OrganizationBPName2": name2, "SearchTerm1": f"SEED{request.seed}-{i}"[:20],
                "CorrespondenceLanguage": locale[:2].upper(),
                "to_BusinessPartnerAddress": [address],
                "to_Customer": {"VATRegistration": vat_id(country, r),
                                "to_CustomerCompany": companies},
            }, user="SEED")
            counts["business_partners"] += 1
            for n in range(r.choice([0, 1, 1, 2, 3])):
                invoiced, paid = self._seed_invoice(f"S{request.seed % 1000}-{i:05d}-{n}",
                                                    partner["BusinessPartner"], company, today, r)
                counts["invoices"] += invoiced
                counts["payments"] += paid
        return counts

    def _seed_invoice(self, reference: str, customer: str, company: CompanyCode, today: int,
                      r: Any) -> tuple[bool, bool]:
        """One historic invoice, half of them paid, some partly; (posted, paid)."""
        places = CURRENCY_DECIMALS.get(company.currency, 2)
        scale = 100 if places == 0 else 1
        net = Decimal(r.randint(5_000, 2_000_000)) / 100 * scale
        tax = net * Decimal(str(company.tax_rate))
        gross_s = money(net + tax, company.currency)
        posting = today - r.randint(1, 120) * DAY_MS
        reference = reference[:16]
        try:
            self.ledger.post_invoice({
                "CompanyCode": company.code, "Customer": customer, "PostingDate": posting,
                "DocumentReferenceID": reference, "AmountInTransactionCurrency": Decimal(gross_s),
                "TaxAmount": Decimal(money(tax, company.currency)),
                "AccountingDocumentHeaderText": f"Invoice {reference}"[:25],
                "TransactionCurrency": company.currency}, user="SEED")
        except SapError:  # e.g. the period is closed by config: SAP would refuse it too
            return False, False
        roll = r.random()
        if roll < 0.65:
            paid = Decimal(gross_s) if roll < 0.5 else (Decimal(gross_s) / 2).quantize(
                Decimal(1).scaleb(-places))
            try:
                self.ledger.post_payment({
                    "CompanyCode": company.code, "Customer": customer,
                    "PostingDate": min(today, posting + r.randint(5, 40) * DAY_MS),
                    "AmountInTransactionCurrency": paid, "TransactionCurrency": company.currency,
                    "InvoiceReference": reference}, user="SEED")
            except SapError:
                return True, False
            return True, True
        return True, False
