"""OData v2 wire conventions: key predicates, system query options, request bodies, JSON output.

Everything here is protocol, not business: it validates what arrives against the
:class:`~.edm.ServiceModel` and renders entities in the verbose JSON format
(``{"d": {...}}`` with ``__metadata``, ``{"results": [...]}`` collections, ``/Date(ms)/``
dates, decimals as strings, ``__deferred`` links for navigation properties not expanded).
Only JSON is produced: ``$format=json`` is accepted, any other ``$format`` is a 400, and an
``Accept`` header asking for Atom/XML still gets JSON.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from simulators._kit import is_digits

from .edm import EntityType, Prop, ServiceModel
from .errors import INVALID_PROPERTY, SYNTAX_ERROR, VALUE_INVALID, SapError, bad_request
from .filter import EDM_KIND, Evaluator, FilterError, compile_filter, parse_filter, tokenize

SYSTEM_OPTIONS = {"$filter", "$select", "$expand", "$orderby", "$top", "$skip", "$inlinecount",
                  "$format", "$skiptoken"}
_DATE_JSON = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
Related = Callable[[str, Mapping[str, Any], str], Any]  # (type name, row, nav) → row(s)


# -- key predicates -------------------------------------------------------------------------
def _key_error(etype: EntityType, predicate: str, why: str) -> SapError:
    return bad_request(SYNTAX_ERROR, f"Invalid key predicate '({predicate})' for entity type "
                       f"'{etype.name}': {why}")


_PAIR = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*'((?:[^']|'')*)'\s*(?:,|$)")


def parse_key_predicate(etype: EntityType, predicate: str) -> dict[str, str]:
    """``'1000001'`` or ``A='1',B='2'`` → {key property: value}; 400 when malformed."""
    text = predicate.strip()
    if len(etype.keys) == 1 and text.startswith("'"):
        try:
            tokens = tokenize(text)
        except FilterError as exc:
            raise _key_error(etype, predicate, str(exc)) from None
        if len(tokens) != 2 or tokens[0].kind != "string":
            raise _key_error(etype, predicate, "expected one quoted value")
        return {etype.keys[0]: tokens[0].value}
    values: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = _PAIR.match(text, pos)
        if match is None or match.end() == pos:
            raise _key_error(etype, predicate, "expected Name='value' pairs")
        name, raw = match.group(1), match.group(2).replace("''", "'")
        if name not in etype.keys or name in values:
            raise _key_error(etype, predicate, f"'{name}' is not a key property")
        values[name] = raw
        pos = match.end()
    if set(values) != set(etype.keys):
        raise _key_error(etype, predicate, f"the key is {', '.join(etype.keys)}")
    return values


def key_string(etype: EntityType, row: Mapping[str, Any]) -> str:
    def lit(v: Any) -> str:
        return "'" + str(v).replace("'", "''") + "'"

    if len(etype.keys) == 1:
        return f"({lit(row[etype.keys[0]])})"
    return "(" + ",".join(f"{k}={lit(row[k])}" for k in etype.keys) + ")"


# -- typed values ---------------------------------------------------------------------------
def typed_value(prop: Prop, raw: Any) -> Any:
    """A stored value as the Python type ``$filter``/``$orderby`` compare."""
    if raw is None:
        return None
    if prop.type == "Edm.DateTime":
        return _EPOCH + dt.timedelta(milliseconds=int(raw))
    if prop.type == "Edm.Decimal":
        return Decimal(str(raw))
    return raw


def json_value(prop: Prop, raw: Any) -> Any:
    if raw is None:
        return None
    if prop.type == "Edm.DateTime":
        return f"/Date({int(raw)})/"
    if prop.type == "Edm.Decimal":
        return str(raw)
    return raw


def parse_json_value(prop: Prop, value: Any, type_name: str) -> Any:
    """A request-body value → stored form; raises a 400 naming the property."""
    ref = f"{type_name}/{prop.name}"

    def invalid(why: str) -> SapError:
        return bad_request(VALUE_INVALID, f"Property '{prop.name}' has invalid value: {why}",
                           propertyref=ref)

    if value is None:
        return None
    if prop.type == "Edm.String":
        if not isinstance(value, str):
            raise invalid(f"expected a string, got {type(value).__name__}")
        if prop.max_length is not None and len(value) > prop.max_length:
            raise bad_request(VALUE_INVALID,
                              f"Value '{value}' of property '{prop.name}' exceeds the maximum "
                              f"length of {prop.max_length} characters", propertyref=ref)
        return value
    if prop.type == "Edm.Boolean":
        if not isinstance(value, bool):
            raise invalid("expected true or false")
        return value
    if prop.type == "Edm.Decimal":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise invalid("expected a decimal string such as \"100.00\"")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise invalid(f"'{value}' is not a decimal number") from None
        if not number.is_finite():
            raise invalid(f"'{value}' is not a decimal number")
        return number
    if prop.type == "Edm.DateTime":
        if not isinstance(value, str):
            raise invalid("expected /Date(<ms>)/ or an ISO date-time string")
        match = _DATE_JSON.match(value)
        if match:
            ms = int(match.group(1))
            if match.group(2):
                sign = 1 if match.group(2)[0] == "+" else -1
                ms += sign * (int(match.group(2)[1:3]) * 60 + int(match.group(2)[3:])) * 60_000
            return _date_in_range(ms, prop, type_name)
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise invalid(f"'{value}' is not /Date(<ms>)/ or an ISO date-time") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return _date_in_range(int((parsed - _EPOCH) / dt.timedelta(milliseconds=1)), prop,
                              type_name)
    return value


# Edm.DateTime's range: 1753-01-01 .. 9999-12-31
_MIN_MS, _MAX_MS = -6_847_804_800_000, 253_402_300_799_999


def _date_in_range(ms: int, prop: Prop, type_name: str) -> int:
    if not _MIN_MS <= ms <= _MAX_MS:
        raise bad_request(VALUE_INVALID, f"Property '{prop.name}' has invalid value: the date "
                          "lies outside 1753-01-01..9999-12-31",
                          propertyref=f"{type_name}/{prop.name}")
    return ms


# -- request bodies -------------------------------------------------------------------------
def parse_entity_body(model: ServiceModel, etype: EntityType, data: Any) -> dict[str, Any]:
    """Validate a (deep) create body against the entity type.

    Returns stored-form values for creatable properties (read-only ones are ignored, as SAP
    does) and, under each navigation property's name, the nested payload: a list for ``*``
    ends (``[...]`` and ``{"results": [...]}`` are both accepted), a dict for ``0..1`` ends.
    """
    if not isinstance(data, dict):
        raise bad_request(SYNTAX_ERROR, f"The request body for '{etype.name}' must be a JSON "
                          "object")
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "__metadata":
            continue
        prop = etype.prop(name)
        if prop is not None:
            converted = parse_json_value(prop, value, etype.name)
            if prop.creatable and name not in out:
                out[name] = converted
            continue
        nav = etype.nav(name)
        if nav is None:
            raise bad_request(INVALID_PROPERTY, f"Property '{name}' is invalid for entity type "
                              f"'{etype.name}'", propertyref=f"{etype.name}/{name}")
        target = model.entity_type(nav.target)
        if nav.many:
            items = value.get("results") if isinstance(value, dict) else value
            if not isinstance(items, list):
                raise bad_request(SYNTAX_ERROR, f"Navigation property '{name}' expects an array "
                                  "or {\"results\": [...]}", propertyref=f"{etype.name}/{name}")
            out[name] = [parse_entity_body(model, target, item) for item in items]
        else:
            out[name] = None if value is None else parse_entity_body(model, target, value)
    return out


# -- system query options -------------------------------------------------------------------
@dataclass
class Expand:
    """Navigation properties to expand inline, nested (``to_Customer/to_CustomerCompany``)."""

    children: dict[str, Expand] = field(default_factory=dict)


@dataclass
class Select:
    """Selected properties (None = all) and nested selections under expanded navigations."""

    props: set[str] | None = None
    navs: dict[str, Select] = field(default_factory=dict)

    def for_nav(self, name: str) -> Select:
        return self.navs.get(name, Select())


@dataclass
class Query:
    filter: Evaluator | None = None
    orderby: list[tuple[str, bool]] = field(default_factory=list)  # (property, descending)
    top: int | None = None
    skip: int = 0
    inlinecount: bool = False
    select: Select = field(default_factory=Select)
    expand: Expand = field(default_factory=Expand)


def _option_error(message: str) -> SapError:
    return bad_request(SYNTAX_ERROR, message)


def parse_query(model: ServiceModel, etype: EntityType, params: Mapping[str, str],
                collection: bool = True) -> Query:
    """Parse and validate the system query options of a request (400 on anything wrong)."""
    query = Query()
    for name in params:
        if name.startswith("$") and name not in SYSTEM_OPTIONS:
            raise _option_error(f"System query option '{name}' is not supported")
    fmt = params.get("$format")
    if fmt is not None and fmt.lower() != "json":
        raise _option_error(f"Format '{fmt}' is not supported; this service renders JSON only "
                            "($format=json)")
    query.expand = parse_expand(model, etype, params.get("$expand", ""))
    query.select = parse_select(model, etype, params.get("$select", ""), query.expand)
    if not collection:
        return query
    for opt in ("$top", "$skip"):
        raw = params.get(opt)
        if raw is None:
            continue
        if not is_digits(raw) or len(raw) > 9:
            raise _option_error(f"Invalid value '{raw}' for system query option '{opt}': "
                                "expected a non-negative integer")
        if opt == "$top":
            query.top = int(raw)
        else:
            query.skip = int(raw)
    inline = params.get("$inlinecount")
    if inline is not None:
        if inline not in ("allpages", "none"):
            raise _option_error(f"Invalid value '{inline}' for $inlinecount: use allpages or "
                                "none")
        query.inlinecount = inline == "allpages"
    if params.get("$filter"):
        query.filter = build_filter(etype, params["$filter"])
    if params.get("$orderby"):
        query.orderby = parse_orderby(etype, params["$orderby"])
    return query


def build_filter(etype: EntityType, text: str) -> Evaluator:
    def kind_of(name: str) -> str | None:
        prop = etype.prop(name)
        return None if prop is None else EDM_KIND.get(prop.type)

    def value_of(row: Mapping[str, Any], name: str) -> Any:
        prop = etype.prop(name)
        assert prop is not None
        return typed_value(prop, row.get(name))

    try:
        return compile_filter(parse_filter(text), kind_of, value_of)
    except FilterError as exc:
        raise _option_error(f"Invalid filter expression '{text}': {exc}") from None


def parse_orderby(etype: EntityType, text: str) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    for clause in text.split(","):
        parts = clause.split()
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1] not in ("asc", "desc")):
            raise _option_error(f"Invalid $orderby clause '{clause.strip()}'")
        if etype.prop(parts[0]) is None:
            raise _option_error(f"Property '{parts[0]}' not found in type '{etype.name}'")
        out.append((parts[0], len(parts) == 2 and parts[1] == "desc"))
    return out


def parse_expand(model: ServiceModel, etype: EntityType, text: str) -> Expand:
    root = Expand()
    for path in filter(None, (p.strip() for p in text.split(","))):
        node, current = root, etype
        for segment in path.split("/"):
            nav = current.nav(segment)
            if nav is None:
                raise _option_error(f"Navigation property '{segment}' not found in type "
                                    f"'{current.name}' ($expand={path})")
            node = node.children.setdefault(segment, Expand())
            current = model.entity_type(nav.target)
    return root


def parse_select(model: ServiceModel, etype: EntityType, text: str, expand: Expand) -> Select:
    paths = [p.strip() for p in text.split(",") if p.strip()]
    if not paths or "*" in paths:
        return Select()
    root = Select(props=set())
    for path in paths:
        node, current, exp = root, etype, expand
        segments = path.split("/")
        for i, segment in enumerate(segments):
            last = i == len(segments) - 1
            if segment == "*" and last:
                node.props = None
                break
            nav = current.nav(segment)
            if nav is None:
                if current.prop(segment) is None or not last:
                    raise _option_error(f"Property '{segment}' not found in type "
                                        f"'{current.name}' ($select={path})")
                if node.props is not None:
                    node.props.add(segment)
                break
            if node.props is not None:
                node.props.add(segment)
            if segment not in exp.children:
                if not last:
                    raise _option_error(f"$select path '{path}' needs $expand={segment}")
                break
            sub = node.navs.get(segment)
            if sub is None:
                sub = node.navs[segment] = Select(props=None if last else set())
            elif last:
                sub.props = None
            node, exp, current = sub, exp.children[segment], model.entity_type(nav.target)
    return root


def apply_query(etype: EntityType, rows: list[dict[str, Any]], query: Query) -> tuple[
        list[dict[str, Any]], int]:
    """Filter, order and page ``rows``; return (page, total count before paging)."""
    if query.filter is not None:
        rows = [r for r in rows if query.filter(r)]
    for name, desc in reversed(query.orderby):
        prop = etype.prop(name)
        assert prop is not None
        present = [r for r in rows if r.get(name) is not None]
        missing = [r for r in rows if r.get(name) is None]
        present.sort(key=lambda r, p=prop: typed_value(p, r.get(p.name)), reverse=desc)
        rows = present + missing if desc else missing + present
    total = len(rows)
    end = None if query.top is None else query.skip + query.top
    return rows[query.skip:end], total


# -- JSON output ----------------------------------------------------------------------------
def entity_json(model: ServiceModel, etype: EntityType, row: Mapping[str, Any], base_url: str,
                select: Select, expand: Expand, related: Related) -> dict[str, Any]:
    """One entity in OData v2 verbose JSON (without the ``d`` envelope)."""
    uri = base_url + model.set_of_type(etype.name).name + key_string(etype, row)
    out: dict[str, Any] = {"__metadata": {"id": uri, "uri": uri,
                                          "type": model.qualified(etype.name)}}
    for prop in etype.props:
        if select.props is None or prop.name in select.props:
            out[prop.name] = json_value(prop, row.get(prop.name))
    for nav in etype.navs:
        if select.props is not None and nav.name not in select.props:
            continue
        sub_expand = expand.children.get(nav.name)
        if sub_expand is None:
            out[nav.name] = {"__deferred": {"uri": f"{uri}/{nav.name}"}}
            continue
        target = model.entity_type(nav.target)
        value = related(etype.name, row, nav.name)
        sub_select = select.for_nav(nav.name)
        if nav.many:
            out[nav.name] = {"results": [
                entity_json(model, target, r, base_url, sub_select, sub_expand, related)
                for r in value]}
        else:
            out[nav.name] = None if value is None else entity_json(
                model, target, value, base_url, sub_select, sub_expand, related)
    return out
