"""Stateless fuzzing of every simulator's vendor and admin operations, all checks on."""

from __future__ import annotations

import pytest

from .targets import load_target

pytestmark = pytest.mark.fuzz

# Every simulator fuzzes clean: each test is a gate. Refusals of schema-valid input that a
# JSON Schema cannot express (SOQL, OData query options, per-sObject fields, country-
# dependent addresses, master data that does not exist) are documented in the specs and
# checked by harness.fuzz's documented_positive_data_acceptance (harness.fuzz.
# DOCUMENTED_REJECTIONS).

# schemathesis 4: schemas are loaded at import time (its pytest fixture loader does not work
# with current pytest); each becomes one parametrized test per operation
billing = load_target("billing").schema
crm = load_target("crm").schema
tax = load_target("tax").schema
payments = load_target("payments").schema
cloud_erp = load_target("cloud_erp").schema
legacy_erp = load_target("legacy_erp").schema


@billing.parametrize()
def test_billing(case):
    case.call_and_validate()


@crm.parametrize()
def test_crm(case):
    case.call_and_validate()


@tax.parametrize()
def test_tax(case):
    case.call_and_validate()


@payments.parametrize()
def test_payments(case):
    case.call_and_validate()


@cloud_erp.parametrize()
def test_cloud_erp(case):
    case.call_and_validate()


@legacy_erp.parametrize()  # fuzzes clean (SOAP checks: harness.fuzz._CHECK_EXCEPTIONS)
def test_legacy_erp(case):
    case.call_and_validate()
