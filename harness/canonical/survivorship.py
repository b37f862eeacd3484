"""Survivorship: which system's value wins for each customer/invoice field.

Each field names the systems allowed to supply it, best first. A system not in the list
never overwrites the field; an empty value never wins over a present one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import System

SURVIVORSHIP: dict[str, tuple[System, ...]] = {
    # the CRM owns the account
    "name": (System.CRM,),
    "legal_entity": (System.CRM,),
    "country": (System.CRM, System.TAX),
    "tax_id": (System.CRM, System.LEGACY_ERP, System.CLOUD_ERP),
    "email": (System.CRM, System.BILLING),
    "currency": (System.CRM, System.BILLING),
    # the tax engine owns the validated address; the CRM's is the fallback
    "address": (System.TAX, System.CRM),
    # billing owns what was invoiced, the tax engine the tax, the ERP the posting
    "invoice_amounts": (System.BILLING,),
    "tax_amount": (System.TAX, System.BILLING),
    "erp_document": (System.CLOUD_ERP, System.LEGACY_ERP),
    # the gateway owns the payment outcome
    "payment_status": (System.PAYMENTS,),
}


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != {}


def winner(field: str, candidates: Mapping[System, Any]) -> System | None:
    """The system whose value survives for ``field`` among ``candidates`` (None: no value)."""
    for system in SURVIVORSHIP[field]:
        if system in candidates and _present(candidates[system]):
            return system
    return None


def survive(field: str, candidates: Mapping[System, Any]) -> Any:
    """The surviving value of ``field`` (None when no allowed system has one)."""
    system = winner(field, candidates)
    return None if system is None else candidates[system]


def merge(current: Mapping[str, Any], current_source: Mapping[str, System],
          incoming: Mapping[str, Any], source: System) -> tuple[dict[str, Any], dict[str, System]]:
    """Apply ``incoming`` from ``source`` onto ``current``, field by field, by survivorship.

    ``current_source`` says which system supplied each current value. Returns the merged
    values and their sources. Fields without a survivorship rule are left untouched.
    """
    values = dict(current)
    sources = dict(current_source)
    for field, value in incoming.items():
        if field not in SURVIVORSHIP or not _present(value):
            continue
        rank = SURVIVORSHIP[field]
        if source not in rank:
            continue
        held = sources.get(field)
        if held is None or not _present(values.get(field)) or held not in rank \
                or rank.index(source) <= rank.index(held):
            values[field] = value
            sources[field] = source
    return values, sources
