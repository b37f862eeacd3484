"""Stateless fuzzing of every simulator's vendor and admin operations, all checks on."""

from __future__ import annotations

import pytest

from .targets import load_target

pytestmark = pytest.mark.fuzz

# Open findings (details and curl commands: /work/briefs/requests.md, "[Z1] fuzz findings");
# each marker goes when its simulator fuzzes clean. Not strict: operations already clean pass.
_KIT_OPEN = ""  # import kinds are an enum; fault windows are ordered by the fuzz guard
OPEN = {
    "billing": "negative cases on form bodies whose mutation does not survive form "
               "encoding (POST /v1/billing/meters, /v1/tax_rates: a 'schema-violating' body "
               "that encodes to a valid one is accepted)",
    "crm": "POST sobjects/{sobject}: required fields per sObject not in the schema; SOQL 'q' "
           "and query locators are free strings (MALFORMED_QUERY / INVALID_QUERY_LOCATOR 400); "
           "composite referenceId pattern; oauth grant without credentials; SOAP login on a "
           "non-envelope body",
    "tax": "GET/POST addresses/resolve and transactions/create(oradjust): incomplete addresses "
           "are 400 though schema-valid",
    "cloud_erp": "POST entity sets: BusinessPartnerCategory, company codes and referenced "
                 "partners/customers (SAP 400 'does not exist') not in the schema; $filter / "
                 "$select are free strings",
}


def _open(name: str) -> pytest.MarkDecorator:
    reason = "; ".join(r for r in (OPEN[name], _KIT_OPEN) if r)
    return pytest.mark.xfail(reason=reason, strict=False)

# schemathesis 4: schemas are loaded at import time (its pytest fixture loader does not work
# with current pytest); each becomes one parametrized test per operation
billing = load_target("billing").schema
crm = load_target("crm").schema
tax = load_target("tax").schema
payments = load_target("payments").schema
cloud_erp = load_target("cloud_erp").schema
legacy_erp = load_target("legacy_erp").schema


@_open("billing")
@billing.parametrize()
def test_billing(case):
    case.call_and_validate()


@_open("crm")
@crm.parametrize()
def test_crm(case):
    case.call_and_validate()


@_open("tax")
@tax.parametrize()
def test_tax(case):
    case.call_and_validate()


@payments.parametrize()  # fuzzes clean: a real gate
def test_payments(case):
    case.call_and_validate()


@_open("cloud_erp")
@cloud_erp.parametrize()
def test_cloud_erp(case):
    case.call_and_validate()


@legacy_erp.parametrize()  # fuzzes clean (SOAP checks: harness.fuzz._CHECK_EXCEPTIONS)
def test_legacy_erp(case):
    case.call_and_validate()
