"""The SOQL tokenizer, parser and evaluator on their own (no server)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from simulators.salesforce_crm import query as soql_query
from simulators.salesforce_crm.schema import record_id
from simulators.salesforce_crm.soql import (
    BoolOp,
    Comparison,
    Count,
    FieldPath,
    InList,
    Like,
    Not,
    SoqlError,
    Tokenizer,
    parse,
)

NOW = dt.datetime(2024, 3, 15, 12, 0, tzinfo=dt.UTC).timestamp()  # a Friday


def test_tokenizer_kinds() -> None:
    toks = Tokenizer("SELECT Id FROM Account WHERE Name = 'O\\'Brien' AND Amount >= -1.5 "
                     "AND CloseDate < 2024-01-31 AND LastModifiedDate > "
                     "2024-01-01T10:00:00.000+01:00 AND x <> 1").tokens()
    kinds = [(t.kind, t.value) for t in toks if t.kind not in ("IDENT",)]
    assert ("STRING", "O'Brien") in kinds
    assert ("NUMBER", -1.5) in kinds
    assert ("DATE", "2024-01-31") in kinds
    assert ("DATETIME", "2024-01-01T10:00:00.000+01:00") in kinds
    assert ("OP", "!=") in kinds  # <> is !=
    assert toks[-1].kind == "EOF"


def test_parse_select_where_order_limit_offset() -> None:
    q = parse("select Id, Account.Name from Contact where (Name like 'a%' or Email != null) "
              "and not AccountId in ('001000000000001') order by Name desc nulls first, Id "
              "limit 10 offset 5")
    assert q.select == [FieldPath(("Id",), 7), FieldPath(("Account", "Name"), 11)]
    assert q.sobject == "Contact"
    assert isinstance(q.where, BoolOp) and q.where.op == "AND"
    inner, negated = q.where.items
    assert isinstance(inner, BoolOp) and inner.op == "OR"
    assert isinstance(inner.items[0], Like) and isinstance(inner.items[1], Comparison)
    assert isinstance(negated, Not) and isinstance(negated.item, InList)
    assert [(o.field.dotted, o.descending, o.nulls_last) for o in q.order_by] == [
        ("Name", True, False), ("Id", False, False)]
    assert (q.limit, q.offset) == (10, 5)


def test_parse_count_and_date_literals() -> None:
    q = parse("SELECT COUNT() FROM Opportunity WHERE CloseDate = LAST_N_DAYS:30 "
              "AND CreatedDate > YESTERDAY")
    assert q.select == [Count(None, None, 7)]
    assert isinstance(q.where, BoolOp)
    first = q.where.items[0]
    assert isinstance(first, Comparison) and first.value.value == ("LAST_N_DAYS", 30)
    assert parse("SELECT COUNT(Id) n FROM Account").select == [
        Count(FieldPath(("Id",), 13), "n", 7)]


@pytest.mark.parametrize(("text", "column"), [
    ("SELECT FROM Account", 8),
    ("SELECT Id FROM Account WHERE", 29),
    ("SELECT Id FROM Account WHERE A = 1 AND B = 2 OR C = 3", 46),  # mixing needs parentheses
    ("SELECT Id FROM Account WHERE Name = 'open", 37),
    ("SELECT Id FROM Account LIMIT -1", 30),
    ("SELECT Id FROM Account WHERE CloseDate = LAST_N_DAYS", 42),
    ("SELECT Id FROM Account WHERE D > 2024-01-01T00:00:00", 34),  # no time zone
    ("SELECT Id FROM Account WHERE Name LIKE 5", 40),
    ("SELECT Id FROM Account extra", 24),
    ("SELECT Id FROM Account WHERE Name ~ 'x'", 35),
])
def test_syntax_errors_point_at_the_token(text: str, column: int) -> None:
    with pytest.raises(SoqlError) as exc:
        parse(text)
    assert exc.value.code == "MALFORMED_QUERY"
    assert f"ERROR at Row:1:Column:{column}" in exc.value.message


def test_deep_nesting_and_huge_queries_are_malformed_not_crashes() -> None:
    for text in ["SELECT Id FROM Account WHERE " + "(" * 5000 + "Name = 'x'" + ")" * 5000,
                 "SELECT Id FROM Account WHERE " + "NOT " * 5000 + "Name = 'x'",
                 "SELECT Id FROM Account WHERE Name = '" + "x" * 100_000 + "'"]:
        with pytest.raises(SoqlError) as exc:
            parse(text)
        assert exc.value.code == "MALFORMED_QUERY"


ACC1, ACC2 = record_id("001", 1), record_id("001", 2)
ACCOUNTS = {
    ACC1: {"Id": ACC1, "Name": "Acme", "Industry": "Retail", "IsDeleted": False,
           "CreatedDate": "2024-03-15T08:00:00.000+0000"},
    ACC2: {"Id": ACC2, "Name": "Beta", "Industry": None, "IsDeleted": True,
           "CreatedDate": "2024-02-01T08:00:00.000+0000"},
}
OPPS = [
    {"Id": record_id("006", i), "Name": f"O{i}", "AccountId": ACC1 if i % 2 else ACC2,
     "Amount": float(i * 100), "CloseDate": (dt.date(2024, 3, 15) + dt.timedelta(days=d))
     .isoformat(), "IsWon": i == 3, "IsDeleted": False,
     "LastModifiedDate": "2024-03-15T11:00:00.000+0000"}
    for i, d in ((1, 0), (2, -1), (3, -7), (4, 3), (5, 40))
]


def run(text: str, records: list[dict[str, Any]] | None = None,
        include_deleted: bool = False) -> soql_query.QueryResult:
    return soql_query.run(parse(text), records=OPPS if records is None else records,
                          lookup=ACCOUNTS.get, include_deleted=include_deleted, now=NOW,
                          version="59.0")


def names(text: str) -> list[str]:
    return [r["Name"] for r in run(text).records]


@pytest.mark.parametrize(("literal", "expected"), [
    ("TODAY", ["O1"]), ("YESTERDAY", ["O2"]), ("TOMORROW", []),
    ("LAST_N_DAYS:7", ["O1", "O2", "O3"]), ("NEXT_N_DAYS:3", ["O4"]),
    ("THIS_WEEK", ["O1", "O2"]),  # the week of Sunday 10 March
    ("NEXT_WEEK", ["O4"]), ("LAST_WEEK", ["O3"]),
    ("THIS_MONTH", ["O1", "O2", "O3", "O4"]), ("NEXT_MONTH", ["O5"]),
    ("N_DAYS_AGO:7", ["O3"]), ("THIS_YEAR", ["O1", "O2", "O3", "O4", "O5"]),
    ("LAST_MONTH", []), ("NEXT_N_MONTHS:1", ["O5"]),
])
def test_date_literals_are_ranges_on_the_clock(literal: str, expected: list[str]) -> None:
    assert names(f"SELECT Name FROM Opportunity WHERE CloseDate = {literal} ORDER BY Name") \
        == expected


def test_range_comparisons() -> None:
    assert names("SELECT Name FROM Opportunity WHERE CloseDate < THIS_WEEK") == ["O3"]
    assert names("SELECT Name FROM Opportunity WHERE CloseDate > THIS_MONTH") == ["O5"]
    assert names("SELECT Name FROM Opportunity WHERE CloseDate >= NEXT_WEEK "
                 "ORDER BY Name") == ["O4", "O5"]
    assert names("SELECT Name FROM Opportunity WHERE CloseDate <= TODAY "
                 "ORDER BY Name") == ["O1", "O2", "O3"]
    assert names("SELECT Name FROM Opportunity WHERE LastModifiedDate > "
                 "2024-03-15T10:59:59Z") == ["O1", "O2", "O3", "O4", "O5"]
    assert names("SELECT Name FROM Opportunity WHERE LastModifiedDate > "
                 "2024-03-15T12:00:00+01:00") == []


def test_relationship_filters_and_rendering() -> None:
    result = run("SELECT Name, Account.Name FROM Opportunity WHERE Account.Name = 'ACME' "
                 "ORDER BY Amount DESC")
    assert [r["Name"] for r in result.records] == ["O5", "O3", "O1"]
    assert result.records[0]["Account"] == {
        "attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{ACC1}"},
        "Name": "Acme"}


def test_deleted_records_only_with_query_all() -> None:
    accounts = list(ACCOUNTS.values())
    assert run("SELECT Name FROM Account", accounts).total_size == 1
    assert run("SELECT Name FROM Account", accounts, include_deleted=True).total_size == 2


def test_ordering_nulls_and_case() -> None:
    records = [{"Id": record_id("001", i), "Name": n, "Industry": ind, "IsDeleted": False}
               for i, (n, ind) in enumerate([("beta", "b"), ("Alpha", None), ("gamma", "A")])]
    order = [r["Name"] for r in run("SELECT Name FROM Account ORDER BY Industry", records).records]
    assert order == ["Alpha", "gamma", "beta"]  # nulls first, case-insensitive
    order = [r["Name"] for r in run("SELECT Name FROM Account ORDER BY Industry DESC",
                                    records).records]
    assert order == ["beta", "gamma", "Alpha"]  # DESC puts nulls last
    order = [r["Name"] for r in run("SELECT Name FROM Account ORDER BY Name", records).records]
    assert order == ["Alpha", "beta", "gamma"]


@pytest.mark.parametrize(("text", "code"), [
    ("SELECT Nope FROM Opportunity", "INVALID_FIELD"),
    ("SELECT Owner.Name FROM Opportunity", "INVALID_FIELD"),
    ("SELECT Id FROM Invoice__c", "INVALID_TYPE"),
    ("SELECT Name FROM Opportunity WHERE Amount = 'x'", "INVALID_FIELD"),
    ("SELECT Name FROM Opportunity WHERE Name = 5", "INVALID_FIELD"),
    ("SELECT Name FROM Opportunity WHERE IsWon > true", "INVALID_FIELD"),
    ("SELECT Name FROM Opportunity WHERE CloseDate = 2024-01-01T00:00:00Z", "INVALID_FIELD"),
    ("SELECT Name FROM Opportunity WHERE AccountId = 'bad'", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Name FROM Opportunity WHERE Amount LIKE '1%'", "INVALID_FIELD"),
    ("SELECT Name, Name FROM Opportunity", "MALFORMED_QUERY"),
    ("SELECT COUNT(), Name FROM Opportunity", "MALFORMED_QUERY"),
    ("SELECT Name FROM Opportunity WHERE CloseDate = 2024-02-30", "MALFORMED_QUERY"),
])
def test_semantic_errors(text: str, code: str) -> None:
    with pytest.raises(SoqlError) as exc:
        run(text)
    assert exc.value.code == code


def test_in_not_in_and_null_semantics() -> None:
    assert names("SELECT Name FROM Opportunity WHERE Amount IN (100, 300) ORDER BY Name") == \
        ["O1", "O3"]
    assert len(names("SELECT Name FROM Opportunity WHERE Amount NOT IN (100)")) == 4
    records = [{"Id": record_id("001", 1), "Name": "a", "Industry": None, "IsDeleted": False}]
    assert run("SELECT Name FROM Account WHERE Industry != 'Retail'", records).total_size == 1
    assert run("SELECT Name FROM Account WHERE Industry NOT IN ('Retail')",
               records).total_size == 1
    assert run("SELECT Name FROM Account WHERE Industry LIKE '%'", records).total_size == 0
