"""Running a parsed SOQL query over the org's records: field resolution, type checks,
filtering with Salesforce's comparison semantics, ordering, paging and rendering.

Semantics kept from Salesforce: text comparisons (``=``, ``LIKE``, ``IN``, ordering) are
case-insensitive; ``!=`` and ``NOT IN`` match records whose field is null; date literals are
ranges ``[start, end)`` evaluated in the org's time zone (UTC here) against the simulator
clock; ``ASC`` sorts nulls first and ``DESC`` nulls last unless told otherwise.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .schema import NUMBER_TYPES, TEXT_TYPES, Field, SObjectType, normalize_id, sobject
from .soql import (
    BoolOp,
    Comparison,
    Condition,
    Count,
    FieldPath,
    InList,
    Like,
    Literal,
    Not,
    Query,
    SoqlError,
    located,
)

MAX_OFFSET = 2000
_TYPE_NAMES = {"string": "string", "picklist": "string", "textarea": "string",
               "phone": "string", "url": "string", "email": "string", "id": "id",
               "reference": "id", "currency": "double", "double": "double", "percent": "double",
               "int": "int", "boolean": "boolean", "date": "date", "datetime": "dateTime"}


def parse_datetime(value: str) -> float:
    """Epoch seconds of a Salesforce dateTime (``2024-01-01T00:00:00.000+0000`` or ISO)."""
    text = value.replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    return dt.datetime.fromisoformat(text).timestamp()


def format_datetime(epoch: float) -> str:
    """Salesforce's JSON dateTime format, millisecond precision, UTC."""
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def date_literal_range(name: str, n: int | None, now: float) -> tuple[dt.date, dt.date]:
    """The ``[start, end)`` days a date literal covers, relative to the clock's UTC day."""
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    day = dt.timedelta(days=1)
    week_start = today - dt.timedelta(days=(today.weekday() + 1) % 7)  # weeks start on Sunday
    month_start = today.replace(day=1)
    quarter_start = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    year_start = dt.date(today.year, 1, 1)
    k = n or 0
    ranges: dict[str, tuple[dt.date, dt.date]] = {
        "TODAY": (today, today + day),
        "YESTERDAY": (today - day, today),
        "TOMORROW": (today + day, today + 2 * day),
        "LAST_WEEK": (week_start - 7 * day, week_start),
        "THIS_WEEK": (week_start, week_start + 7 * day),
        "NEXT_WEEK": (week_start + 7 * day, week_start + 14 * day),
        "LAST_MONTH": (_add_months(month_start, -1), month_start),
        "THIS_MONTH": (month_start, _add_months(month_start, 1)),
        "NEXT_MONTH": (_add_months(month_start, 1), _add_months(month_start, 2)),
        "LAST_90_DAYS": (today - 90 * day, today + day),
        "NEXT_90_DAYS": (today + day, today + 91 * day),
        "THIS_QUARTER": (quarter_start, _add_months(quarter_start, 3)),
        "LAST_QUARTER": (_add_months(quarter_start, -3), quarter_start),
        "NEXT_QUARTER": (_add_months(quarter_start, 3), _add_months(quarter_start, 6)),
        "THIS_YEAR": (year_start, year_start.replace(year=today.year + 1)),
        "LAST_YEAR": (year_start.replace(year=today.year - 1), year_start),
        "NEXT_YEAR": (year_start.replace(year=today.year + 1),
                      year_start.replace(year=today.year + 2)),
        # the LAST_N_* literals include the current day/week/month, NEXT_N_* start after it
        "LAST_N_DAYS": (today - k * day, today + day),
        "NEXT_N_DAYS": (today + day, today + (k + 1) * day),
        "N_DAYS_AGO": (today - k * day, today - (k - 1) * day),
        "LAST_N_WEEKS": (week_start - 7 * k * day, week_start),
        "NEXT_N_WEEKS": (week_start + 7 * day, week_start + 7 * (k + 1) * day),
        "LAST_N_MONTHS": (_add_months(month_start, -k), month_start),
        "NEXT_N_MONTHS": (_add_months(month_start, 1), _add_months(month_start, k + 1)),
        "LAST_N_YEARS": (year_start.replace(year=today.year - k), year_start),
        "NEXT_N_YEARS": (year_start.replace(year=today.year + 1),
                         year_start.replace(year=today.year + k + 1)),
    }
    return ranges[name]


Lookup = Callable[[str], dict[str, Any] | None]


@dataclass(frozen=True)
class Resolved:
    """A field path resolved against the schema: an optional parent hop, then a field."""

    via: Field | None  # the reference field on the root object (AccountId) or None
    target: SObjectType
    field: Field

    def get(self, record: dict[str, Any], lookup: Lookup) -> Any:
        if self.via is None:
            return record.get(self.field.name)
        parent_id = record.get(self.via.name)
        parent = lookup(parent_id) if parent_id else None
        return parent.get(self.field.name) if parent else None


@dataclass
class QueryResult:
    total_size: int
    records: list[dict[str, Any]]


class _Compiler:
    def __init__(self, query: Query, now: float) -> None:
        self.q = query
        self.now = now
        root = sobject(query.sobject)
        if root is None:
            raise SoqlError("INVALID_TYPE", located(
                query.text, query.sobject_pos,
                f"sObject type '{query.sobject}' is not supported. If you are attempting to "
                "use a custom object, be sure to append the '__c' after the entity name. "
                "Please reference your WSDL or the describe call for the appropriate names."))
        self.root = root

    def error(self, code: str, pos: int, message: str) -> SoqlError:
        return SoqlError(code, located(self.q.text, pos, message))

    def resolve(self, path: FieldPath) -> Resolved:
        parts = list(path.parts)
        if len(parts) > 1 and parts[0].lower() == self.root.name.lower():
            parts = parts[1:]
        if len(parts) == 1:
            found = self.root.field(parts[0])
            if found is None:
                raise self._no_column(path, parts[0], self.root)
            return Resolved(None, self.root, found)
        if len(parts) == 2:
            via = self.root.relationship(parts[0])
            target = sobject(via.reference_to[0]) if via else None
            if via is None or target is None:
                raise self.error("INVALID_FIELD", path.pos,
                                 f"Didn't understand relationship '{parts[0]}' in field path. "
                                 "If you are attempting to use a custom relationship, be sure "
                                 "to append the '__r' after the custom relationship name. "
                                 "Please reference your WSDL or the describe call for the "
                                 "appropriate names.")
            found = target.field(parts[1])
            if found is None:
                raise self._no_column(path, parts[1], target)
            return Resolved(via, target, found)
        raise self.error("INVALID_FIELD", path.pos,
                         f"field path '{path.dotted}' is deeper than this simulator supports "
                         "(one parent relationship)")

    def _no_column(self, path: FieldPath, name: str, entity: SObjectType) -> SoqlError:
        return self.error("INVALID_FIELD", path.pos,
                          f"No such column '{name}' on entity '{entity.name}'. If you are "
                          "attempting to use a custom field, be sure to append the '__c' after "
                          "the custom field name. Please reference your WSDL or the describe "
                          "call for the appropriate names.")

    # -- literal coercion -------------------------------------------------------------------
    def _type_error(self, lit: Literal, f: Field) -> SoqlError:
        kind = _TYPE_NAMES[f.type]
        quoted = "should be enclosed in quotes" if f.type in TEXT_TYPES else \
            "should not be enclosed in quotes"
        return self.error("INVALID_FIELD", lit.pos,
                          f"value of filter criterion for field '{f.name}' must be of type "
                          f"{kind} and {quoted}")

    def coerce(self, lit: Literal, f: Field) -> Any:
        """The comparable form of ``lit`` for field ``f``: a scalar, a range tuple or None."""
        if lit.kind == "null":
            return None
        t = f.type
        if t in ("id", "reference"):
            if lit.kind != "string":
                raise self._type_error(lit, f)
            full = normalize_id(lit.value)
            if full is None:
                raise self.error("INVALID_QUERY_FILTER_OPERATOR", lit.pos,
                                 f"invalid ID field: {lit.value}")
            return full
        if t in TEXT_TYPES:
            if lit.kind != "string":
                raise self._type_error(lit, f)
            return lit.value.casefold()
        if t in NUMBER_TYPES:
            if lit.kind != "number":
                raise self._type_error(lit, f)
            return float(lit.value)
        if t == "boolean":
            if lit.kind != "boolean":
                raise self._type_error(lit, f)
            return lit.value
        if t == "date":
            if lit.kind == "date_literal":
                return ("range", *date_literal_range(*lit.value, now=self.now))
            if lit.kind != "date":
                raise self._type_error(lit, f)
            return self._date(lit)
        # datetime
        if lit.kind == "date_literal":
            start, end = date_literal_range(*lit.value, now=self.now)
            return ("range", _epoch(start), _epoch(end))
        if lit.kind != "datetime":
            raise self._type_error(lit, f)
        try:
            return parse_datetime(lit.value)
        except ValueError:
            raise self.error("MALFORMED_QUERY", lit.pos,
                             f"invalid date/time literal: {lit.value}") from None

    def _date(self, lit: Literal) -> dt.date:
        try:
            return dt.date.fromisoformat(lit.value)
        except ValueError:
            raise self.error("MALFORMED_QUERY", lit.pos,
                             f"invalid date literal: {lit.value}") from None

    # -- predicates ------------------------------------------------------------------------
    def predicate(self, cond: Condition) -> Callable[[dict[str, Any], Lookup], bool]:
        if isinstance(cond, BoolOp):
            parts = [self.predicate(c) for c in cond.items]
            if cond.op == "AND":
                return lambda r, lk: all(p(r, lk) for p in parts)
            return lambda r, lk: any(p(r, lk) for p in parts)
        if isinstance(cond, Not):
            inner = self.predicate(cond.item)
            return lambda r, lk: not inner(r, lk)
        if isinstance(cond, Comparison):
            return self._comparison(cond)
        if isinstance(cond, InList):
            res = self.resolve(cond.field)
            values = [self.coerce(v, res.field) for v in cond.values]
            norm = _normalizer(res.field)

            def in_list(r: dict[str, Any], lk: Lookup) -> bool:
                v = norm(res.get(r, lk))
                hit = any(_compare("=", v, want) for want in values)
                return not hit if cond.negated else hit
            return in_list
        assert isinstance(cond, Like)
        res = self.resolve(cond.field)
        if res.field.type not in TEXT_TYPES or res.field.type in ("id", "reference"):
            raise self.error("INVALID_FIELD", cond.field.pos,
                             f"invalid operator on field '{res.field.name}' of type "
                             f"{_TYPE_NAMES[res.field.type]}: LIKE works on text fields")
        pattern = _like_regex(cond.pattern.value)

        def like(r: dict[str, Any], lk: Lookup) -> bool:
            v = res.get(r, lk)
            return v is not None and pattern.fullmatch(str(v)) is not None
        return like

    def _comparison(self, cond: Comparison) -> Callable[[dict[str, Any], Lookup], bool]:
        res = self.resolve(cond.field)
        want = self.coerce(cond.value, res.field)
        if cond.op not in ("=", "!=") and (res.field.type == "boolean" or want is None):
            raise self.error("INVALID_FIELD", cond.value.pos,
                             f"invalid operator {cond.op} on field '{res.field.name}' with "
                             f"value {'null' if want is None else cond.value.value}")
        norm = _normalizer(res.field)
        op = cond.op
        return lambda r, lk: _compare(op, norm(res.get(r, lk)), want)


def _epoch(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def _normalizer(f: Field) -> Callable[[Any], Any]:
    if f.type in ("id", "reference"):
        return lambda v: v
    if f.type in TEXT_TYPES:
        return lambda v: None if v is None else str(v).casefold()
    if f.type in NUMBER_TYPES:
        return lambda v: None if v is None else float(v)
    if f.type == "date":
        return lambda v: None if v is None else dt.date.fromisoformat(v)
    if f.type == "datetime":
        return lambda v: None if v is None else parse_datetime(v)
    return lambda v: v


def _compare(op: str, value: Any, want: Any) -> bool:
    if want is None:
        return (value is None) == (op == "=")
    if value is None:
        return op == "!="
    if isinstance(want, tuple):  # a date literal's [start, end)
        _, start, end = want
        return {"=": start <= value < end, "!=": not start <= value < end,
                "<": value < start, "<=": value < end, ">": value >= end,
                ">=": value >= start}[op]
    return {"=": value == want, "!=": value != want, "<": value < want, "<=": value <= want,
            ">": value > want, ">=": value >= want}[op]


def _like_regex(pattern: str) -> re.Pattern[str]:
    """LIKE → an anchored, case-insensitive regex: ``%`` any run, ``_`` one char."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def run(query: Query, *, records: Iterable[dict[str, Any]], lookup: Lookup,
        include_deleted: bool, now: float, version: str) -> QueryResult:
    """Filter, order, page and render ``records`` (all of the queried type) for ``query``."""
    c = _Compiler(query, now)
    counts = [s for s in query.select if isinstance(s, Count)]
    fields = [s for s in query.select if isinstance(s, FieldPath)]
    if any(s.field is None for s in counts) and len(query.select) > 1:
        raise c.error("MALFORMED_QUERY", counts[0].pos,
                      "COUNT() must be the only element in the SELECT list")
    if counts and fields:
        raise c.error("MALFORMED_QUERY", fields[0].pos,
                      f"Field must be grouped or aggregated: {fields[0].dotted}")
    resolved = [(p, c.resolve(p)) for p in fields]
    for s in counts:
        if s.field is not None:
            c.resolve(s.field)
    seen: set[str] = set()
    for p, res in resolved:
        key = f"{res.via.name if res.via else ''}.{res.field.name}"
        if key in seen:
            raise c.error("MALFORMED_QUERY", p.pos, f"duplicate field selected: {p.dotted}")
        seen.add(key)
    where = c.predicate(query.where) if query.where is not None else None
    order = [(c.resolve(o.field), o) for o in query.order_by]
    if query.offset is not None and query.offset > MAX_OFFSET:
        raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE",
                        f"Maximum SOQL offset allowed is {MAX_OFFSET}")

    rows = [r for r in records
            if (include_deleted or not r.get("IsDeleted")) and (where is None or where(r, lookup))]
    for res, item in reversed(order):
        norm = _normalizer(res.field)
        null_flag = int(item.nulls_last != item.descending)

        def sort_key(r: dict[str, Any], res: Resolved = res, norm: Any = norm,
                     null_flag: int = null_flag) -> tuple[Any, ...]:
            v = norm(res.get(r, lookup))
            return (null_flag,) if v is None else (1 - null_flag, v)
        rows.sort(key=sort_key, reverse=item.descending)
    start = query.offset or 0
    rows = rows[start:]
    if query.limit is not None:
        rows = rows[: query.limit]
    if counts:
        if counts[0].field is None:
            return QueryResult(len(rows), [])
        agg: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
        for i, s in enumerate(counts):
            assert s.field is not None
            res = c.resolve(s.field)
            agg[s.alias or f"expr{i}"] = sum(1 for r in rows if res.get(r, lookup) is not None)
        return QueryResult(1, [agg])
    return QueryResult(len(rows), [_render(r, c.root, resolved, lookup, version) for r in rows])


def attributes(type_name: str, record_id: str, version: str) -> dict[str, str]:
    return {"type": type_name, "url": f"/services/data/v{version}/sobjects/{type_name}/{record_id}"}


def _render(record: dict[str, Any], root: SObjectType,
            resolved: list[tuple[FieldPath, Resolved]], lookup: Lookup,
            version: str) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": attributes(root.name, record["Id"], version)}
    for _, res in resolved:
        if res.via is None:
            out[res.field.name] = record.get(res.field.name)
            continue
        rel = res.via.relationship_name or res.via.name
        parent_id = record.get(res.via.name)
        parent = lookup(parent_id) if parent_id else None
        if parent is None:
            out[rel] = None
            continue
        nested = out.get(rel) or {"attributes": attributes(res.target.name, parent["Id"],
                                                             version)}
        nested[res.field.name] = parent.get(res.field.name)
        out[rel] = nested
    return out
