"""The org's data model: Account, Contact and Opportunity fields, ids and describe results.

Field metadata here drives everything else: write validation, SOQL field resolution and the
``describe`` resources. Ids are real 18-character Salesforce ids (15-character case-sensitive
id plus the 3-character case-insensitivity suffix) with the object's key prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ORG_ID_15 = "00D5g000004SimA"
USER_ID_15 = "0055g00000SimAA"

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def id18(id15: str) -> str:
    """Append Salesforce's checksum: one char per 5-char chunk, a bit per uppercase letter."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for pos, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << pos
        suffix += _SUFFIX[bits]
    return id15 + suffix


def normalize_id(raw: str) -> str | None:
    """An 18-char id from a 15- or 18-char one; None when it cannot be a Salesforce id."""
    if len(raw) not in (15, 18) or not all(c in _B62 for c in raw):
        return None
    full = id18(raw[:15])
    return full if len(raw) == 15 or raw.upper() == full.upper() else None


def record_id(prefix: str, n: int) -> str:
    """The ``n``-th id of an object: key prefix, pod ``5g``, zero padding, base62 counter."""
    digits = ""
    for _ in range(6):
        n, rem = divmod(n, 62)
        digits = _B62[rem] + digits
    return id18(f"{prefix}5g0000{digits}")


ORG_ID = id18(ORG_ID_15)
USER_ID = id18(USER_ID_15)

# StageName → (default probability %, IsClosed, IsWon, ForecastCategoryName)
STAGES: dict[str, tuple[int, bool, bool, str]] = {
    "Prospecting": (10, False, False, "Pipeline"),
    "Qualification": (10, False, False, "Pipeline"),
    "Needs Analysis": (20, False, False, "Pipeline"),
    "Value Proposition": (50, False, False, "Pipeline"),
    "Id. Decision Makers": (60, False, False, "Pipeline"),
    "Perception Analysis": (70, False, False, "Pipeline"),
    "Proposal/Price Quote": (75, False, False, "Pipeline"),
    "Negotiation/Review": (90, False, False, "Commit"),
    "Closed Won": (100, True, True, "Closed"),
    "Closed Lost": (0, True, False, "Omitted"),
}
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CAD", "AUD", "SEK", "CHF"]
INDUSTRIES = ["Agriculture", "Apparel", "Banking", "Chemicals", "Communications",
              "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
              "Finance", "Healthcare", "Insurance", "Manufacturing", "Media", "Retail",
              "Technology", "Telecommunications", "Transportation", "Utilities"]
ACCOUNT_TYPES = ["Prospect", "Customer - Direct", "Customer - Channel",
                 "Channel Partner / Reseller", "Installation Partner", "Technology Partner",
                 "Other"]
OPPORTUNITY_TYPES = ["Existing Customer - Upgrade", "Existing Customer - Replacement",
                     "Existing Customer - Downgrade", "New Customer"]

# the types a field can have, with the JSON/SOAP type describe reports
SOAP_TYPES = {"id": "tns:ID", "reference": "tns:ID", "string": "xsd:string",
              "picklist": "xsd:string", "phone": "xsd:string", "url": "xsd:string",
              "email": "xsd:string", "textarea": "xsd:string", "currency": "xsd:double",
              "double": "xsd:double", "percent": "xsd:double", "int": "xsd:int",
              "boolean": "xsd:boolean", "date": "xsd:date", "datetime": "xsd:dateTime"}
TEXT_TYPES = {"id", "reference", "string", "picklist", "phone", "url", "email", "textarea"}
NUMBER_TYPES = {"currency", "double", "percent", "int"}


@dataclass(frozen=True)
class Field:
    """One field's metadata, as ``describe`` reports it."""

    name: str
    type: str
    label: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    required: bool = False  # required on create (nillable=False and no default)
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    custom: bool = False
    precision: int = 0
    scale: int = 0

    @property
    def system(self) -> bool:
        """Set by the platform, never by a client."""
        return not self.createable and not self.updateable

    def describe(self) -> dict[str, Any]:
        return {
            "aggregatable": self.type not in ("textarea",),
            "autoNumber": False,
            "byteLength": self.length * 3,
            "calculated": False,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": None,
            "defaultedOnCreate": self.name in SYSTEM_DEFAULTED,
            "digits": 0,
            "externalId": self.external_id,
            "filterable": True,
            "groupable": self.type not in NUMBER_TYPES - {"int"},
            "idLookup": self.name == "Id" or self.external_id,
            "label": self.label,
            "length": self.length,
            "name": self.name,
            "nillable": self.nillable,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
                for v in self.picklist
            ],
            "precision": self.precision,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "restrictedPicklist": self.restricted,
            "scale": self.scale,
            "soapType": SOAP_TYPES[self.type],
            "sortable": self.type != "textarea",
            "type": self.type,
            "unique": self.unique,
            "updateable": self.updateable,
        }


SYSTEM_DEFAULTED = {"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted",
                    "OwnerId", "CreatedById", "LastModifiedById", "IsClosed", "IsWon",
                    "ForecastCategoryName", "CurrencyIsoCode"}


def _system_fields() -> list[Field]:
    return [
        Field("Id", "id", "Record ID", 18, nillable=False, createable=False, updateable=False),
        Field("IsDeleted", "boolean", "Deleted", nillable=False, createable=False,
              updateable=False),
        Field("CreatedDate", "datetime", "Created Date", nillable=False, createable=False,
              updateable=False),
        Field("CreatedById", "reference", "Created By ID", 18, nillable=False, createable=False,
              updateable=False, reference_to=("User",)),
        Field("LastModifiedDate", "datetime", "Last Modified Date", nillable=False,
              createable=False, updateable=False),
        Field("LastModifiedById", "reference", "Last Modified By ID", 18, nillable=False,
              createable=False, updateable=False, reference_to=("User",)),
        Field("SystemModstamp", "datetime", "System Modstamp", nillable=False, createable=False,
              updateable=False),
        Field("OwnerId", "reference", "Owner ID", 18, nillable=False, reference_to=("User",)),
        Field("CurrencyIsoCode", "picklist", "Currency ISO Code", 3, nillable=False,
              picklist=tuple(CURRENCIES), restricted=True),
    ]


def _address(prefix: str, label: str) -> list[Field]:
    return [
        Field(f"{prefix}Street", "textarea", f"{label} Street", 255),
        Field(f"{prefix}City", "string", f"{label} City", 40),
        Field(f"{prefix}State", "string", f"{label} State/Province", 80),
        Field(f"{prefix}PostalCode", "string", f"{label} Zip/Postal Code", 20),
        Field(f"{prefix}Country", "string", f"{label} Country", 80),
    ]


def _account() -> list[Field]:
    return [
        *_system_fields(),
        Field("Name", "string", "Account Name", 255, nillable=False, required=True),
        Field("Type", "picklist", "Account Type", 255, picklist=tuple(ACCOUNT_TYPES)),
        *_address("Billing", "Billing"),
        *_address("Shipping", "Shipping"),
        Field("Phone", "phone", "Account Phone", 40),
        Field("Website", "url", "Website", 255),
        Field("Industry", "picklist", "Industry", 255, picklist=tuple(INDUSTRIES)),
        Field("Description", "textarea", "Account Description", 32000),
        Field("External_Id__c", "string", "External Id", 80, external_id=True, unique=True,
              custom=True),
        Field("VAT_Number__c", "string", "VAT Number", 30, custom=True),
        Field("Legal_Entity__c", "string", "Legal Entity", 40, custom=True),
    ]


def _contact() -> list[Field]:
    return [
        *_system_fields(),
        Field("AccountId", "reference", "Account ID", 18, reference_to=("Account",),
              relationship_name="Account"),
        Field("FirstName", "string", "First Name", 40),
        Field("LastName", "string", "Last Name", 80, nillable=False, required=True),
        Field("Name", "string", "Full Name", 121, nillable=False, createable=False,
              updateable=False),
        Field("Email", "email", "Email", 80),
        Field("Phone", "phone", "Business Phone", 40),
        Field("Title", "string", "Title", 128),
        *_address("Mailing", "Mailing"),
        Field("External_Id__c", "string", "External Id", 80, external_id=True, unique=True,
              custom=True),
    ]


def _opportunity() -> list[Field]:
    return [
        *_system_fields(),
        Field("AccountId", "reference", "Account ID", 18, reference_to=("Account",),
              relationship_name="Account"),
        Field("Name", "string", "Name", 120, nillable=False, required=True),
        Field("StageName", "picklist", "Stage", 255, nillable=False, required=True,
              picklist=tuple(STAGES), restricted=True),
        Field("CloseDate", "date", "Close Date", nillable=False, required=True),
        Field("Amount", "currency", "Amount", precision=18, scale=2),
        Field("Probability", "percent", "Probability (%)", precision=3),
        Field("IsClosed", "boolean", "Closed", nillable=False, createable=False,
              updateable=False),
        Field("IsWon", "boolean", "Won", nillable=False, createable=False, updateable=False),
        Field("ForecastCategoryName", "picklist", "Forecast Category", 40, nillable=True,
              createable=False, updateable=False,
              picklist=("Omitted", "Pipeline", "Best Case", "Commit", "Closed")),
        Field("Type", "picklist", "Opportunity Type", 255, picklist=tuple(OPPORTUNITY_TYPES)),
        Field("Description", "textarea", "Description", 32000),
        Field("External_Id__c", "string", "External Id", 80, external_id=True, unique=True,
              custom=True),
    ]


@dataclass(frozen=True)
class SObjectType:
    """One object type: its name, key prefix and fields (by name, case-insensitive lookup)."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: tuple[Field, ...]
    _by_lower: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> Field | None:
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> Field | None:
        """The reference field whose relationship name is ``name`` (``Account`` → AccountId)."""
        for f in self.fields:
            if f.relationship_name and f.relationship_name.lower() == name.lower():
                return f
        return None

    def urls(self, version: str) -> dict[str, str]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {"sobject": base, "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}"}

    def summary(self, version: str) -> dict[str, Any]:
        """The entry in the global describe (``GET sobjects``)."""
        return {
            "activateable": False, "createable": True, "custom": False,
            "customSetting": False, "deletable": True, "deprecatedAndHidden": False,
            "feedEnabled": False, "keyPrefix": self.key_prefix, "label": self.label,
            "labelPlural": self.label_plural, "layoutable": True, "mergeable": True,
            "mruEnabled": True, "name": self.name, "queryable": True, "replicateable": True,
            "retrieveable": True, "searchable": True, "triggerable": True, "undeletable": True,
            "updateable": True, "urls": self.urls(version),
        }

    def describe(self, version: str) -> dict[str, Any]:
        children = [
            {"cascadeDelete": True, "childSObject": child.name, "field": f.name,
             "relationshipName": f"{child.label_plural.replace(' ', '')}"}
            for child in SOBJECTS.values() for f in child.fields
            if self.name in f.reference_to and f.name != "OwnerId"
        ]
        return {**self.summary(version), "childRelationships": children,
                "fields": [f.describe() for f in self.fields], "recordTypeInfos": []}


SOBJECTS: dict[str, SObjectType] = {
    t.name: t for t in (
        SObjectType("Account", "Account", "Accounts", "001", tuple(_account())),
        SObjectType("Contact", "Contact", "Contacts", "003", tuple(_contact())),
        SObjectType("Opportunity", "Opportunity", "Opportunities", "006",
                    tuple(_opportunity())),
    )
}
BY_PREFIX = {t.key_prefix: t for t in SOBJECTS.values()}


def sobject(name: str) -> SObjectType | None:
    """The object type by name, case-insensitively (Salesforce resolves names that way)."""
    for t in SOBJECTS.values():
        if t.name.lower() == name.lower():
            return t
    return None
