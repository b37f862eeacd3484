"""The entity data model of an OData v2 service and its ``$metadata`` document (EDMX 1.0).

A :class:`ServiceModel` is declared once (see ``services.py``) and drives everything wire-side:
the EDMX that ``pyodata`` parses, request-body validation, ``$filter`` typing, JSON rendering
and the OpenAPI schemas. Associations and association sets are derived from the navigation
properties, named the way SAP's CDS-generated services name them (``assoc_...`` with
``FromRole_``/``ToRole_`` roles).

Values inside the simulator: ``Edm.String`` → str, ``Edm.DateTime`` → int milliseconds since the
epoch (UTC; dates at midnight), ``Edm.Decimal`` → str (exact, as SAP sends it), ``Edm.Boolean``
→ bool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from xml.sax.saxutils import quoteattr


@dataclass(frozen=True)
class Prop:
    """A structural property with its SAP annotations."""

    name: str
    type: str = "Edm.String"
    max_length: int | None = None
    nullable: bool = True
    label: str = ""
    precision: int | None = None
    scale: int | None = None
    creatable: bool = True
    updatable: bool = True
    display_format: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class NavProp:
    """A navigation property; ``many`` is a ``*`` target end, else ``0..1``."""

    name: str
    target: str  # entity type name
    many: bool
    constraint: tuple[tuple[str, str], ...] = ()  # (principal property, dependent property)


@dataclass(frozen=True)
class EntityType:
    name: str
    keys: tuple[str, ...]
    props: tuple[Prop, ...]
    navs: tuple[NavProp, ...] = ()
    label: str = ""

    def prop(self, name: str) -> Prop | None:
        return self._props.get(name)

    def nav(self, name: str) -> NavProp | None:
        return self._navs.get(name)

    @cached_property
    def _props(self) -> dict[str, Prop]:
        return {p.name: p for p in self.props}

    @cached_property
    def _navs(self) -> dict[str, NavProp]:
        return {n.name: n for n in self.navs}


@dataclass(frozen=True)
class EntitySet:
    name: str
    type: str
    creatable: bool = False
    updatable: bool = False
    deletable: bool = False
    label: str = ""


@dataclass
class ServiceModel:
    """One OData service: its namespace, types and entity sets."""

    name: str
    types: list[EntityType]
    sets: list[EntitySet]
    description: str = ""
    _type_index: dict[str, EntityType] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._type_index = {t.name: t for t in self.types}

    @property
    def namespace(self) -> str:
        return self.name

    @property
    def root(self) -> str:
        return f"/sap/opu/odata/sap/{self.name}"

    def entity_type(self, name: str) -> EntityType:
        return self._type_index[name]

    def entity_set(self, name: str) -> EntitySet | None:
        return next((s for s in self.sets if s.name == name), None)

    def set_of_type(self, type_name: str) -> EntitySet:
        return next(s for s in self.sets if s.type == type_name)

    def type_of(self, set_name: str) -> EntityType:
        es = self.entity_set(set_name)
        assert es is not None, set_name
        return self.entity_type(es.type)

    def qualified(self, type_name: str) -> str:
        return f"{self.namespace}.{type_name}"

    def associations(self) -> list[tuple[str, EntityType, NavProp]]:
        """(association name, source type, navigation property) for every navigation."""
        return [(f"assoc_{t.name.removesuffix('Type')}_{n.name}", t, n)
                for t in self.types for n in t.navs]

    # -- $metadata -------------------------------------------------------------------------
    def edmx(self, base_url: str) -> str:
        """The ``$metadata`` document (EDMX 1.0, DataServiceVersion 2.0, ``sap:`` annotations)."""
        ns = self.namespace
        out = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"'
            ' xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"'
            ' xmlns:sap="http://www.sap.com/Protocols/SAPData">',
            '<edmx:DataServices m:DataServiceVersion="2.0">',
            f'<Schema Namespace="{ns}" xml:lang="en" sap:schema-version="1"'
            ' xmlns="http://schemas.microsoft.com/ado/2008/09/edm">',
        ]
        assoc_of = {(t.name, n.name): a for a, t, n in self.associations()}
        for etype in self.types:
            out.append(f'<EntityType Name="{etype.name}" sap:label={quoteattr(etype.label)}'
                       ' sap:content-version="1">')
            out.append("<Key>" + "".join(f'<PropertyRef Name="{k}"/>' for k in etype.keys)
                       + "</Key>")
            for prop in etype.props:
                out.append(_property_xml(prop, is_key=prop.name in etype.keys))
            for nav in etype.navs:
                assoc = assoc_of[(etype.name, nav.name)]
                out.append(f'<NavigationProperty Name="{nav.name}" Relationship="{ns}.{assoc}"'
                           f' FromRole="FromRole_{assoc}" ToRole="ToRole_{assoc}"/>')
            out.append("</EntityType>")
        for assoc, etype, nav in self.associations():
            out.append(f'<Association Name="{assoc}" sap:content-version="1">')
            out.append(f'<End Type="{ns}.{etype.name}" Multiplicity="1" Role="FromRole_{assoc}"/>')
            out.append(f'<End Type="{ns}.{nav.target}" Multiplicity="{"*" if nav.many else "0..1"}"'
                       f' Role="ToRole_{assoc}"/>')
            if nav.constraint:
                out.append("<ReferentialConstraint>")
                out.append(f'<Principal Role="FromRole_{assoc}">'
                           + "".join(f'<PropertyRef Name="{p}"/>' for p, _ in nav.constraint)
                           + "</Principal>")
                out.append(f'<Dependent Role="ToRole_{assoc}">'
                           + "".join(f'<PropertyRef Name="{d}"/>' for _, d in nav.constraint)
                           + "</Dependent>")
                out.append("</ReferentialConstraint>")
            out.append("</Association>")
        out.append(f'<EntityContainer Name="{ns}_Entities" m:IsDefaultEntityContainer="true"'
                   ' sap:message-scope-supported="true" sap:supported-formats="json">')
        for es in self.sets:
            out.append(
                f'<EntitySet Name="{es.name}" EntityType="{ns}.{es.type}"'
                f' sap:creatable="{_b(es.creatable)}" sap:updatable="{_b(es.updatable)}"'
                f' sap:deletable="{_b(es.deletable)}" sap:label={quoteattr(es.label)}'
                ' sap:content-version="1"/>')
        for assoc, etype, nav in self.associations():
            out.append(f'<AssociationSet Name="{assoc}" Association="{ns}.{assoc}"'
                       ' sap:creatable="false" sap:updatable="false" sap:deletable="false"'
                       ' sap:content-version="1">')
            out.append(f'<End EntitySet="{self.set_of_type(etype.name).name}"'
                       f' Role="FromRole_{assoc}"/>')
            out.append(f'<End EntitySet="{self.set_of_type(nav.target).name}"'
                       f' Role="ToRole_{assoc}"/>')
            out.append("</AssociationSet>")
        out.append("</EntityContainer>")
        out.append(f'<atom:link rel="self" href={quoteattr(base_url + "$metadata")}'
                   ' xmlns:atom="http://www.w3.org/2005/Atom"/>')
        out.append("</Schema></edmx:DataServices></edmx:Edmx>")
        return "\n".join(out)


def _b(value: bool) -> str:
    return "true" if value else "false"


def _property_xml(prop: Prop, is_key: bool) -> str:
    attrs = [f'Name="{prop.name}"', f'Type="{prop.type}"']
    if is_key or not prop.nullable:
        attrs.append('Nullable="false"')
    if prop.max_length is not None:
        attrs.append(f'MaxLength="{prop.max_length}"')
    if prop.precision is not None:
        attrs.append(f'Precision="{prop.precision}"')
    if prop.scale is not None:
        attrs.append(f'Scale="{prop.scale}"')
    if prop.display_format:
        attrs.append(f'sap:display-format="{prop.display_format}"')
    if prop.unit:
        attrs.append(f'sap:unit="{prop.unit}"')
    attrs.append(f"sap:label={quoteattr(prop.label or prop.name)}")
    if not prop.creatable:
        attrs.append('sap:creatable="false"')
    if not prop.updatable or is_key:
        attrs.append('sap:updatable="false"')
    return "<Property " + " ".join(attrs) + "/>"
