"""``POST /_sim/import`` for the CRM: ``Account``, ``Contact`` and ``Opportunity`` records.

A record is an sObject create body (validated and coerced exactly as ``POST
/sobjects/<type>`` does); ``_at`` backdates it. A Contact or Opportunity names its account
by ``AccountId`` or, as the REST API allows, by an external id reference
``"Account": {"External_Id__c": "..."}``. History emits no change events (Closed Won
opportunities imported are facts of the past, not traffic).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulators._kit import UnknownImportKind

from .errors import SalesforceError

if TYPE_CHECKING:
    from .models import SalesforceBackend
    from .schema import SObjectType

KINDS = ("Account", "Contact", "Opportunity")


class _UniqueIndex:
    """The unique-field check of ``create`` for a batch, by index instead of a scan."""

    def __init__(self, backend: SalesforceBackend, t: SObjectType) -> None:
        self.fields = [f.name for f in t.fields if f.unique]
        self.seen: dict[str, dict[str, str]] = {name: {} for name in self.fields}
        for doc in backend.records(t.name).values():
            if not doc.get("IsDeleted"):
                self.add(doc)

    def add(self, doc: dict[str, Any]) -> None:
        for name in self.fields:
            if isinstance(doc.get(name), str):
                self.seen[name].setdefault(doc[name].casefold(), doc["Id"])

    def check(self, values: dict[str, Any]) -> None:
        for name in self.fields:
            value = values.get(name)
            if isinstance(value, str) and value.casefold() in self.seen[name]:
                raise SalesforceError(400, "DUPLICATE_VALUE",
                                      f"duplicate value found: {name} duplicates value on "
                                      f"record with id: {self.seen[name][value.casefold()]}",
                                      [name])


def import_records(backend: SalesforceBackend, kind: str,
                   records: list[dict[str, Any]]) -> dict[str, int]:
    if kind not in KINDS:
        raise UnknownImportKind(kind, KINDS)
    t = backend.sobject_type(kind)
    unique = _UniqueIndex(backend, t)
    accounts: dict[str, str] | None = None

    def account_id(ref: Any) -> str:
        nonlocal accounts
        if not isinstance(ref, dict) or len(ref) != 1 or "External_Id__c" not in ref:
            raise SalesforceError(400, "INVALID_FIELD", "Account: give an external id "
                                  "reference {\"External_Id__c\": \"...\"}", ["Account"])
        if accounts is None:  # one index per batch
            accounts = {d["External_Id__c"].casefold(): d["Id"]
                        for d in backend.records("Account").values()
                        if not d.get("IsDeleted") and isinstance(d.get("External_Id__c"), str)}
        value = str(ref["External_Id__c"])
        found = accounts.get(value.casefold())
        if found is None:
            raise SalesforceError(404, "NOT_FOUND", f"Foreign key external ID: {value} not "
                                  "found for field External_Id__c in entity Account")
        return found

    def create(record: dict[str, Any]) -> None:
        body = dict(record)
        if kind != "Account" and "Account" in body:
            body["AccountId"] = account_id(body.pop("Account"))
        values = backend.validate(t, body, creating=True)
        unique.check(values)
        doc = backend.insert(t, values, events=False)
        unique.add(doc)
        if accounts is not None and kind == "Account" and isinstance(
                doc.get("External_Id__c"), str):
            accounts[doc["External_Id__c"].casefold()] = doc["Id"]

    return {kind: backend.import_each(kind, records, create)}
