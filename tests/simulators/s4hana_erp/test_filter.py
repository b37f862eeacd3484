"""The $filter parser and compiler on their own: grammar, precedence, literals, types, nulls."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from simulators.s4hana_erp.filter import (
    Call,
    Compare,
    FilterError,
    Literal,
    Logical,
    Not,
    Property,
    compile_filter,
    parse_filter,
)

KINDS = {"Name": "string", "City": "string", "Amount": "decimal", "Count": "int",
         "Posted": "datetime", "Cleared": "bool"}
ROWS: list[dict[str, Any]] = [
    {"Name": "Acme GmbH", "City": "Berlin", "Amount": Decimal("100.50"), "Count": 3,
     "Posted": dt.datetime(2024, 1, 15, tzinfo=dt.UTC), "Cleared": False},
    {"Name": "O'Brien Ltd", "City": "Dublin", "Amount": Decimal("20"), "Count": 0,
     "Posted": dt.datetime(2024, 3, 1, tzinfo=dt.UTC), "Cleared": True},
    {"Name": "Zeta SAS", "City": None, "Amount": Decimal("-5"), "Count": 12,
     "Posted": dt.datetime(2023, 12, 31, tzinfo=dt.UTC), "Cleared": False},
]


def names(expression: str) -> list[str]:
    match = compile_filter(parse_filter(expression), KINDS.get, lambda row, n: row.get(n))
    return [row["Name"] for row in ROWS if match(row)]


def test_comparison_builds_the_expected_tree() -> None:
    tree = parse_filter("Name eq 'Acme' and (Count gt 2 or not Cleared)")
    assert tree == Logical(
        "and",
        Compare("eq", Property("Name", 0), Literal("Acme", "string"), 5),
        Logical("or", Compare("gt", Property("Count", 20), Literal(2, "int"), 26),
                Not(Property("Cleared", 38), 34)))


def test_and_binds_tighter_than_or() -> None:
    tree = parse_filter("Count eq 1 or Count eq 2 and Count eq 3")
    assert isinstance(tree, Logical) and tree.op == "or"
    assert isinstance(tree.right, Logical) and tree.right.op == "and"


@pytest.mark.parametrize(("text", "expected"), [
    ("'it''s'", Literal("it's", "string")),
    ("42", Literal(42, "int")),
    ("42L", Literal(42, "int")),
    ("-7", Literal(-7, "int")),
    ("1.5M", Literal(Decimal("1.5"), "decimal")),
    ("1.5", Literal(Decimal("1.5"), "decimal")),
    ("2.5d", Literal(Decimal("2.5"), "decimal")),
    ("true", Literal(True, "bool")),
    ("null", Literal(None, "null")),
    ("datetime'2024-01-15T00:00'", Literal(dt.datetime(2024, 1, 15, tzinfo=dt.UTC),
                                           "datetime")),
    ("datetimeoffset'2024-01-15T01:00:00+01:00'",
     Literal(dt.datetime(2024, 1, 15, tzinfo=dt.UTC), "datetime")),
    ("guid'0F8FAD5B-D9CB-469F-A165-70867728950E'",
     Literal("0f8fad5b-d9cb-469f-a165-70867728950e", "guid")),
])
def test_literals(text: str, expected: Literal) -> None:
    tree = parse_filter(f"X eq {text}")
    assert isinstance(tree, Compare) and tree.right == expected


@pytest.mark.parametrize(("expression", "expected"), [
    ("Name eq 'Acme GmbH'", ["Acme GmbH"]),
    ("Name ne 'Acme GmbH'", ["O'Brien Ltd", "Zeta SAS"]),
    ("Name eq 'O''Brien Ltd'", ["O'Brien Ltd"]),
    ("Amount gt 20", ["Acme GmbH"]),
    ("Amount ge 20M", ["Acme GmbH", "O'Brien Ltd"]),
    ("Amount lt 0", ["Zeta SAS"]),
    ("Count le 3 and Cleared eq false", ["Acme GmbH"]),
    ("Posted lt datetime'2024-01-01T00:00:00'", ["Zeta SAS"]),
    ("year(Posted) eq 2024 and month(Posted) ge 3", ["O'Brien Ltd"]),
    ("substringof('GmbH', Name)", ["Acme GmbH"]),
    ("substringof('gmbh', tolower(Name)) eq true", ["Acme GmbH"]),
    ("startswith(Name, 'Ze') eq true", ["Zeta SAS"]),
    ("endswith(Name, 'Ltd') or endswith(Name, 'SAS')", ["O'Brien Ltd", "Zeta SAS"]),
    ("not endswith(Name, 'Ltd')", ["Acme GmbH", "Zeta SAS"]),
    ("not (Count gt 2)", ["O'Brien Ltd"]),
    ("length(City) eq 6", ["Acme GmbH", "O'Brien Ltd"]),
    ("City eq null", ["Zeta SAS"]),
    ("City ne null", ["Acme GmbH", "O'Brien Ltd"]),
    ("City gt 'A'", ["Acme GmbH", "O'Brien Ltd"]),  # null is never greater
    ("toupper(substring(City, 0, 3)) eq 'BER'", ["Acme GmbH"]),
    ("concat(City, 'x') eq 'Berlinx'", ["Acme GmbH"]),
    ("indexof(Name, 'Brien') eq 2", ["O'Brien Ltd"]),
    ("trim(' Zeta SAS ') eq Name", ["Zeta SAS"]),
    ("Cleared", ["O'Brien Ltd"]),
    ("((Count eq 0))", ["O'Brien Ltd"]),
])
def test_evaluation(expression: str, expected: list[str]) -> None:
    assert names(expression) == expected


@pytest.mark.parametrize(("expression", "fragment"), [
    ("", "empty filter"),
    ("Name eq", "expected an operand"),
    ("Name eq 'x", "unterminated string"),
    ("(Name eq 'x'", "expected ')'"),
    ("Name eq 'x')", "unexpected ')'"),
    ("Name eq 'x' Name", "unexpected 'Name'"),
    ("eq 'x'", "needs a left operand"),
    ("Nope eq 1", "property 'Nope' does not exist"),
    ("Name eq 1", "cannot compare string with int"),
    ("Posted eq 'today'", "cannot compare datetime with string"),
    ("Cleared gt true", "'gt' is not defined for bool"),
    ("Name", "must be a boolean"),
    ("not Name", "'not' needs a boolean"),
    ("Count add 1 eq 2", "arithmetic operator 'add'"),
    ("to_Customer/Name eq 'x'", "navigation path"),
    ("frobnicate(Name)", "unknown function 'frobnicate'"),
    ("startswith(Name)", "takes 2 argument(s)"),
    ("length(Count) eq 1", "length expects string"),
    ("Posted eq datetime'yesterday'", "malformed datetime"),
    ("Count eq 12abc", "malformed number"),
    ("Name eq binary'00'", "binary literals are not supported"),
    ("Name eq #", "unexpected character '#'"),
])
def test_errors_name_the_problem(expression: str, fragment: str) -> None:
    with pytest.raises(FilterError) as exc:
        names(expression)
    assert fragment in str(exc.value)


def test_function_call_tree() -> None:
    assert parse_filter("startswith(Name, 'A')") == Call(
        "startswith", (Property("Name", 11), Literal("A", "string")), 0)


def test_deep_nesting_is_refused_not_crashing() -> None:
    with pytest.raises(FilterError, match="nested too deeply"):
        parse_filter("(" * 500 + "Cleared" + ")" * 500)
    with pytest.raises(FilterError, match="nested too deeply"):
        parse_filter("not " * 500 + "Cleared")
