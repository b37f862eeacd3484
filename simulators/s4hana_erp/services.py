"""The three OData v2 services the simulator serves under ``/sap/opu/odata/sap/``.

``API_BUSINESS_PARTNER``
    SAP's Business Partner API (A2X), subset: ``A_BusinessPartner``, ``A_BusinessPartnerAddress``,
    ``A_Customer``, ``A_CustomerCompany`` with SAP's field names and lengths.

``API_O2C_JOURNALENTRY_SRV``
    Not a published SAP API. SAP S/4HANA Cloud posts journal entries through the SOAP service
    ``JournalEntryBulkCreateRequest`` (``API_JOURNALENTRY_SRV``) and reads them through
    ``API_OPLACCTGDOCITEMCUBE_SRV``/``API_JOURNALENTRYITEMBASIC_SRV``. This service offers the
    same posting as an OData v2 deep insert (``A_JournalEntry`` + ``to_Item``) with the field
    names of those APIs, so one client (pyodata) covers the whole O2C flow. Differences: only
    customer invoices (document type ``DR``) are posted through it; the customer (receivable)
    line is generated from the header; amounts are in transaction currency only.

``API_O2C_INCOMINGPAYMENT_SRV``
    Also modeled, not published: SAP posts incoming payments through "Post Incoming Payments"
    (F-28) or the SOAP journal-entry API with clearing. ``A_IncomingPayment`` posts a payment
    (document type ``DZ``) against the open item of one invoice; ``A_OpenItem`` lists a
    customer's open items (fields of ``A_OperationalAcctgDocItemCube``). Partial payments use
    the *residual item* method: the invoice item is cleared and a new open item carries the
    remainder.
"""

from __future__ import annotations

from .edm import EntitySet, EntityType, NavProp, Prop, ServiceModel

BP_SERVICE = "API_BUSINESS_PARTNER"
JE_SERVICE = "API_O2C_JOURNALENTRY_SRV"
PAY_SERVICE = "API_O2C_INCOMINGPAYMENT_SRV"


def _s(name: str, length: int, label: str = "", **kw: object) -> Prop:
    return Prop(name, "Edm.String", max_length=length, label=label, **kw)  # type: ignore[arg-type]


def _date(name: str, label: str = "", **kw: object) -> Prop:
    return Prop(name, "Edm.DateTime", label=label, display_format="Date", precision=0,
                **kw)  # type: ignore[arg-type]


def _amount(name: str, label: str = "", **kw: object) -> Prop:
    return Prop(name, "Edm.Decimal", label=label, precision=16, scale=3,
                unit="TransactionCurrency", **kw)  # type: ignore[arg-type]


def _flag(name: str, label: str = "", **kw: object) -> Prop:
    return Prop(name, "Edm.Boolean", label=label, **kw)  # type: ignore[arg-type]


RO = {"creatable": False, "updatable": False}

BUSINESS_PARTNER = ServiceModel(
    BP_SERVICE,
    description="Business Partner (A2X): business partners, addresses, customers and their "
                "company-code data.",
    types=[
        EntityType("A_BusinessPartnerType", ("BusinessPartner",), label="Business Partner",
                   props=(
                       _s("BusinessPartner", 10, "Business Partner", display_format="UpperCase"),
                       _s("Customer", 10, "Customer", **RO),
                       _s("BusinessPartnerCategory", 1, "BP Category"),
                       _s("BusinessPartnerFullName", 81, "Full Name", **RO),
                       _s("BusinessPartnerGrouping", 4, "Grouping"),
                       _s("FirstName", 40, "First Name"),
                       _s("LastName", 40, "Last Name"),
                       _s("OrganizationBPName1", 40, "Name 1"),
                       _s("OrganizationBPName2", 40, "Name 2"),
                       _s("SearchTerm1", 20, "Search Term 1", display_format="UpperCase"),
                       _s("SearchTerm2", 20, "Search Term 2", display_format="UpperCase"),
                       _s("CorrespondenceLanguage", 2, "Language"),
                       _flag("BusinessPartnerIsBlocked", "Central Block"),
                       _s("CreatedByUser", 12, "Created By", **RO),
                       _date("CreationDate", "Created On", **RO),
                       _s("LastChangedByUser", 12, "Changed By", **RO),
                       _date("LastChangeDate", "Changed On", **RO),
                   ),
                   navs=(
                       NavProp("to_BusinessPartnerAddress", "A_BusinessPartnerAddressType", True,
                               (("BusinessPartner", "BusinessPartner"),)),
                       NavProp("to_Customer", "A_CustomerType", False,
                               (("BusinessPartner", "Customer"),)),
                   )),
        EntityType("A_BusinessPartnerAddressType", ("BusinessPartner", "AddressID"),
                   label="Business Partner Address",
                   props=(
                       _s("BusinessPartner", 10, "Business Partner"),
                       _s("AddressID", 10, "Address Number", **RO),
                       _s("StreetName", 60, "Street"),
                       _s("HouseNumber", 10, "House Number"),
                       _s("PostalCode", 10, "Postal Code"),
                       _s("CityName", 40, "City"),
                       _s("Region", 3, "Region"),
                       _s("Country", 3, "Country/Region Key"),
                       _s("Language", 2, "Language Key"),
                   )),
        EntityType("A_CustomerType", ("Customer",), label="Customer",
                   props=(
                       _s("Customer", 10, "Customer", **RO),
                       _s("CustomerAccountGroup", 4, "Account Group"),
                       _s("CustomerName", 80, "Name of Customer", **RO),
                       _s("CustomerFullName", 220, "Customer Full Name", **RO),
                       _s("VATRegistration", 20, "VAT Registration No."),
                       _s("CreatedByUser", 12, "Created By", **RO),
                       _date("CreationDate", "Created On", **RO),
                       _flag("DeletionIndicator", "Deletion Flag"),
                   ),
                   navs=(
                       NavProp("to_CustomerCompany", "A_CustomerCompanyType", True,
                               (("Customer", "Customer"),)),
                   )),
        EntityType("A_CustomerCompanyType", ("Customer", "CompanyCode"),
                   label="Customer Company",
                   props=(
                       _s("Customer", 10, "Customer"),
                       _s("CompanyCode", 4, "Company Code"),
                       _s("ReconciliationAccount", 10, "Reconciliation acct"),
                       _s("PaymentTerms", 4, "Terms of Payment"),
                       _s("AccountingClerk", 2, "Accounting Clerk"),
                       _s("CustomerAccountGroup", 4, "Account Group", **RO),
                       _flag("DeletionIndicator", "Deletion Flag"),
                   )),
    ],
    sets=[
        EntitySet("A_BusinessPartner", "A_BusinessPartnerType", creatable=True,
                  label="Business Partner"),
        EntitySet("A_BusinessPartnerAddress", "A_BusinessPartnerAddressType", creatable=True,
                  label="Business Partner Address"),
        EntitySet("A_Customer", "A_CustomerType", label="Customer"),
        EntitySet("A_CustomerCompany", "A_CustomerCompanyType", creatable=True,
                  label="Customer Company"),
    ],
)

_DOC_KEYS = ("CompanyCode", "FiscalYear", "AccountingDocument")
_DOC_KEY_PROPS = (_s("CompanyCode", 4, "Company Code"),
                  _s("FiscalYear", 4, "Fiscal Year", **RO),
                  _s("AccountingDocument", 10, "Journal Entry", **RO))

JOURNAL_ENTRY = ServiceModel(
    JE_SERVICE,
    description="Journal entries (customer invoices) posted by deep insert; modeled on "
                "JournalEntryBulkCreateRequest and API_OPLACCTGDOCITEMCUBE_SRV.",
    types=[
        EntityType("A_JournalEntryType", _DOC_KEYS, label="Journal Entry",
                   props=(
                       *_DOC_KEY_PROPS,
                       _s("AccountingDocumentType", 2, "Journal Entry Type"),
                       _date("DocumentDate", "Journal Entry Date"),
                       _date("PostingDate", "Posting Date"),
                       _s("FiscalPeriod", 3, "Fiscal Period", **RO),
                       _s("DocumentReferenceID", 16, "Reference"),
                       _s("AccountingDocumentHeaderText", 25, "Header Text"),
                       _s("Customer", 10, "Customer"),
                       _amount("AmountInTransactionCurrency", "Amount"),
                       _amount("TaxAmount", "Tax Amount"),
                       _s("TransactionCurrency", 5, "Currency"),
                       _s("ClearingAccountingDocument", 10, "Clearing Entry", **RO),
                       _date("ClearingDate", "Clearing Date", **RO),
                       _flag("IsCleared", "Cleared", **RO),
                       _s("AccountingDocCreatedByUser", 12, "Entered By", **RO),
                       _date("AccountingDocumentCreationDate", "Entered On", **RO),
                   ),
                   navs=(
                       NavProp("to_Item", "A_JournalEntryItemType", True,
                               tuple((k, k) for k in _DOC_KEYS)),
                   )),
        EntityType("A_JournalEntryItemType", (*_DOC_KEYS, "AccountingDocumentItem"),
                   label="Journal Entry Item",
                   props=(
                       *_DOC_KEY_PROPS,
                       _s("AccountingDocumentItem", 3, "Item", **RO),
                       _s("GLAccount", 10, "G/L Account"),
                       _s("Customer", 10, "Customer", **RO),
                       _s("DebitCreditCode", 1, "Debit/Credit", **RO),
                       _amount("AmountInTransactionCurrency", "Amount"),
                       _s("TransactionCurrency", 5, "Currency", **RO),
                       _s("TaxCode", 2, "Tax Code"),
                       _s("DocumentItemText", 50, "Item Text"),
                       _date("NetDueDate", "Net Due Date", **RO),
                       _flag("IsCleared", "Cleared", **RO),
                       _s("ClearingAccountingDocument", 10, "Clearing Entry", **RO),
                       _date("ClearingDate", "Clearing Date", **RO),
                   )),
    ],
    sets=[
        EntitySet("A_JournalEntry", "A_JournalEntryType", creatable=True, label="Journal Entry"),
        EntitySet("A_JournalEntryItem", "A_JournalEntryItemType", label="Journal Entry Item"),
    ],
)

INCOMING_PAYMENT = ServiceModel(
    PAY_SERVICE,
    description="Incoming payments with clearing against a customer's open items, and the "
                "open items themselves.",
    types=[
        EntityType("A_IncomingPaymentType", _DOC_KEYS, label="Incoming Payment",
                   props=(
                       *_DOC_KEY_PROPS,
                       _s("Customer", 10, "Customer"),
                       _date("DocumentDate", "Journal Entry Date"),
                       _date("PostingDate", "Posting Date"),
                       _amount("AmountInTransactionCurrency", "Payment Amount"),
                       _s("TransactionCurrency", 5, "Currency"),
                       _s("DocumentReferenceID", 16, "Payment Reference"),
                       _s("AccountingDocumentHeaderText", 25, "Header Text"),
                       _s("InvoiceReference", 16, "Invoice Reference"),
                       _s("InvoiceAccountingDocument", 10, "Invoice Journal Entry"),
                       _s("InvoiceFiscalYear", 4, "Invoice Fiscal Year"),
                       _amount("ClearedAmount", "Cleared Amount", **RO),
                       _amount("ResidualAmount", "Residual Amount", **RO),
                       _s("ResidualItem", 3, "Residual Item", **RO),
                       _flag("IsFullyCleared", "Invoice Fully Cleared", **RO),
                   )),
        EntityType("A_OpenItemType", (*_DOC_KEYS, "AccountingDocumentItem"),
                   label="Customer Open Item",
                   props=(
                       *_DOC_KEY_PROPS,
                       _s("AccountingDocumentItem", 3, "Item", **RO),
                       _s("Customer", 10, "Customer", **RO),
                       _s("AccountingDocumentType", 2, "Journal Entry Type", **RO),
                       _s("DocumentReferenceID", 16, "Reference", **RO),
                       _s("InvoiceReference", 10, "Invoice Journal Entry", **RO),
                       _date("PostingDate", "Posting Date", **RO),
                       _date("DocumentDate", "Journal Entry Date", **RO),
                       _date("NetDueDate", "Net Due Date", **RO),
                       _amount("AmountInTransactionCurrency", "Open Amount", **RO),
                       _s("TransactionCurrency", 5, "Currency", **RO),
                       _s("PaymentTerms", 4, "Terms of Payment", **RO),
                   )),
    ],
    sets=[
        EntitySet("A_IncomingPayment", "A_IncomingPaymentType", creatable=True,
                  label="Incoming Payment"),
        EntitySet("A_OpenItem", "A_OpenItemType", label="Customer Open Item"),
    ],
)

SERVICES: dict[str, ServiceModel] = {
    s.name: s for s in (BUSINESS_PARTNER, JOURNAL_ENTRY, INCOMING_PAYMENT)
}
