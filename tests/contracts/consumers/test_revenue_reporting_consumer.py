"""revenue-reporting ← integration-layer: message pacts for the business events it consumes
(``customer.onboarded``, ``invoice.posted``, ``payment.applied``). The consumer's real handler
(``RevenueLedger.handle``, the canonical strict Event model) processes every message."""

from __future__ import annotations

from domain_clients import RevenueLedger
from pact import Pact, match
from pact_support import write_pact

JSON = "application/json"
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def _envelope(event_type: str, key: str, data: dict[str, object]) -> dict[str, object]:
    return {"id": match.regex("evt_0123456789abcdef0123456789abcdef", regex=r"^evt_\w+$"),
            "type": event_type,
            "business_key": match.str(key),
            "correlation_id": match.regex("6af920eb-bbec-493a-a074-4bac892db0eb", regex=UUID),
            "occurred_at": match.regex("2026-01-31T10:00:00Z",
                                       regex=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?"
                                             r"(Z|[+-]\d\d:\d\d)$"),
            "data": {"type": event_type, **data}}


ERP = {"erp": match.regex("legacy_erp", regex=r"^(legacy_erp|cloud_erp)$")}


def declare(pact: Pact) -> None:
    (pact.upon_receiving("a customer.onboarded event", "Async")
     .given("customer 001CONTRACT0000001 is onboarded")
     .with_body(_envelope("customer.onboarded", "cus_0123456789abcdef0123456789abcdef", {
         "customer_id": match.regex("cus_0123456789abcdef0123456789abcdef",
                                    regex=r"^cus_[0-9a-f]{32}$"),
         "crm_account_id": match.str("001CONTRACT0000001"),
         "billing_customer_id": match.regex("cus_Contract000000", regex=r"^cus_\w+$"),
         **ERP, "company_code": match.regex("1000", regex=r"^[A-Z0-9]{4}$"),
         "erp_customer_id": match.str("L0A1B2C3D4")}), content_type=JSON))
    (pact.upon_receiving("an invoice.posted event", "Async")
     .given("an invoice of customer 001CONTRACT0000001 is posted")
     .with_body(_envelope("invoice.posted", "in_1ContractInvoice00000001", {
         "invoice_id": match.regex("inv_0123456789abcdef0123456789abcdef",
                                   regex=r"^inv_\w+$"),
         "billing_invoice_id": match.regex("in_1ContractInvoice00000001", regex=r"^in_\w+$"),
         **ERP, "company_code": match.regex("1000", regex=r"^[A-Z0-9]{4}$"),
         "erp_document": match.str("9000000001"),
         "currency": match.regex("USD", regex=r"^[A-Z]{3}$"),
         "net_amount": match.int(4900), "tax_amount": match.int(392),
         "gross_amount": match.int(5292)}), content_type=JSON))
    (pact.upon_receiving("a payment.applied event", "Async")
     .given("a payment of that invoice is applied")
     .with_body(_envelope("payment.applied", "in_1ContractInvoice00000001", {
         "payment_id": match.regex("pay_0123456789abcdef0123456789abcdef",
                                   regex=r"^pay_\w+$"),
         "billing_invoice_id": match.regex("in_1ContractInvoice00000001", regex=r"^in_\w+$"),
         "psp_reference": match.str("PSPCONTRACT00001"),
         **ERP, "erp_clearing_document": match.str("1400000001"),
         "currency": match.regex("USD", regex=r"^[A-Z]{3}$"),
         "amount": match.int(5292)}), content_type=JSON))


def test_revenue_reporting_contract() -> None:
    pact = Pact("revenue-reporting", "integration-layer").with_specification("V4")
    declare(pact)
    ledger = RevenueLedger()
    pact.verify(ledger.handle, "Async")
    assert ledger.revenue == {"USD": 4900} and ledger.cash == {"USD": 5292}
    assert ledger.customers == {"cus_0123456789abcdef0123456789abcdef"}
    write_pact(pact)
