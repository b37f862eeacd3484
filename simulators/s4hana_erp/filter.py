"""OData v2 ``$filter``: a tokenizer, a recursive-descent parser and a type-checked compiler.

Grammar (OData v2 URI conventions, section 4.5, precedence low → high)::

    or_expr    := and_expr ("or" and_expr)*
    and_expr   := cmp_expr ("and" cmp_expr)*
    cmp_expr   := unary (("eq"|"ne"|"gt"|"ge"|"lt"|"le") unary)*
    unary      := "not" unary | primary
    primary    := "(" or_expr ")" | literal | function "(" args ")" | property

Literals: ``'text'`` (``''`` escapes a quote), integers (``42``, ``42L``), decimals (``1.5``,
``1.5M``, ``1.5d``, ``1.5f``), ``true``/``false``/``null``, ``datetime'2024-01-31T00:00'``,
``datetimeoffset'2024-01-31T00:00:00Z'``, ``guid'…'``. Functions: ``substringof``,
``startswith``, ``endswith``, ``tolower``, ``toupper``, ``trim``, ``length``, ``indexof``,
``concat``, ``substring``, ``year``, ``month``, ``day``. Not supported (rejected with a
:class:`FilterError`): arithmetic operators, navigation paths (``to_X/Prop``), ``isof``/``cast``.

Null follows OData: ``X eq null`` matches missing values; ordering comparisons with null are
false.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from simulators._kit import is_digits

COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
_UTC = dt.UTC


class FilterError(ValueError):
    """A ``$filter`` that does not parse or does not type-check; ``pos`` is a character offset."""

    def __init__(self, message: str, pos: int | None = None) -> None:
        super().__init__(message if pos is None else f"{message} (at position {pos})")
        self.pos = pos


# -- tokens ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # "(" ")" "," "/" ident string number typed eof
    text: str
    pos: int
    value: Any = None


_TYPED_PREFIXES = ("datetimeoffset", "datetime", "guid", "time", "binary", "x")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "(),/":
            tokens.append(Token(c, c, i))
            i += 1
            continue
        if c == "'":
            value, end = _read_quoted(text, i)
            tokens.append(Token("string", text[i:end], i, value))
            i = end
            continue
        signed = c in "-+" and i + 1 < n and (is_digits(text[i + 1]) or text[i + 1] == ".")
        if is_digits(c) or signed:
            end = i + 1
            while end < n and (is_digits(text[end]) or text[end] in ".eE" or
                               (text[end] in "+-" and text[end - 1] in "eE")):
                end += 1
            suffix = ""
            if end < n and text[end] in "MmDdFfLl":
                suffix = text[end].lower()
                end += 1
            if end < n and (text[end].isalnum() or text[end] in "_'"):
                raise FilterError(f"malformed number {text[i:end + 1]!r}", i)
            tokens.append(Token("number", text[i:end], i, (text[i:end - len(suffix)], suffix)))
            i = end
            continue
        if c.isalpha() or c == "_":
            end = i + 1
            while end < n and (text[end].isalnum() or text[end] in "_."):
                end += 1
            word = text[i:end]
            if end < n and text[end] == "'" and word.lower() in _TYPED_PREFIXES:
                value, close = _read_quoted(text, end)
                tokens.append(Token("typed", text[i:close], i, (word.lower(), value)))
                i = close
                continue
            tokens.append(Token("ident", word, i))
            i = end
            continue
        raise FilterError(f"unexpected character {c!r}", i)
    tokens.append(Token("eof", "", n))
    return tokens


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read ``'...'`` at ``start`` (``''`` is an escaped quote); return (value, index after)."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        if text[i] == "'":
            if i + 1 < len(text) and text[i + 1] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        out.append(text[i])
        i += 1
    raise FilterError("unterminated string literal", start)


# -- syntax tree ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Literal:
    value: Any
    type: str  # string int decimal bool null datetime guid time


@dataclass(frozen=True)
class Property:
    name: str
    pos: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class Logical:
    op: str  # and | or
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node
    pos: int


Node = Literal | Property | Call | Compare | Logical | Not


class _Parser:
    MAX_DEPTH = 100  # nesting beyond this is an attack or a bug, not a filter

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _is_word(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.text in words

    def _take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def _expect(self, kind: str) -> Token:
        if self.tok.kind != kind:
            found = self.tok.text or "end of expression"
            raise FilterError(f"expected {kind!r} but found {found!r}", self.tok.pos)
        return self._take()

    def parse(self) -> Node:
        if self.tok.kind == "eof":
            raise FilterError("empty filter expression", 0)
        node = self.or_expr()
        if self.tok.kind != "eof":
            raise FilterError(f"unexpected {self.tok.text!r}", self.tok.pos)
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self._is_word("or"):
            self._take()
            node = Logical("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.cmp_expr()
        while self._is_word("and"):
            self._take()
            node = Logical("and", node, self.cmp_expr())
        return node

    def cmp_expr(self) -> Node:
        node = self.unary()
        while self._is_word(*COMPARISONS):
            op = self._take()
            node = Compare(op.text, node, self.unary(), op.pos)
        if self._is_word("add", "sub", "mul", "div", "mod"):
            raise FilterError(f"arithmetic operator {self.tok.text!r} is not supported",
                              self.tok.pos)
        return node

    def unary(self) -> Node:
        self.depth += 1
        try:
            if self.depth > self.MAX_DEPTH:
                raise FilterError("expression nested too deeply", self.tok.pos)
            if self._is_word("not"):
                tok = self._take()
                return Not(self.unary(), tok.pos)
            return self.primary()
        finally:
            self.depth -= 1

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "(":
            self._take()
            node = self.or_expr()
            self._expect(")")
            return node
        if tok.kind == "string":
            self._take()
            return Literal(tok.value, "string")
        if tok.kind == "number":
            self._take()
            return _number(tok)
        if tok.kind == "typed":
            self._take()
            return _typed(tok)
        if tok.kind == "ident":
            self._take()
            word = tok.text
            if word == "true" or word == "false":
                return Literal(word == "true", "bool")
            if word == "null":
                return Literal(None, "null")
            if self.tok.kind == "(":
                return self._call(tok)
            if self.tok.kind == "/":
                raise FilterError(f"navigation path {word}/... is not supported in $filter",
                                  self.tok.pos)
            if word in COMPARISONS or word in ("and", "or"):
                raise FilterError(f"operator {word!r} needs a left operand", tok.pos)
            return Property(word, tok.pos)
        found = tok.text or "end of expression"
        raise FilterError(f"expected an operand but found {found!r}", tok.pos)

    def _call(self, name: Token) -> Call:
        self._expect("(")
        args: list[Node] = []
        if self.tok.kind != ")":
            args.append(self.or_expr())
            while self.tok.kind == ",":
                self._take()
                args.append(self.or_expr())
        self._expect(")")
        return Call(name.text, tuple(args), name.pos)


def _number(tok: Token) -> Literal:
    digits, suffix = tok.value
    try:
        if suffix in ("m", "d", "f") or any(ch in digits for ch in ".eE"):
            return Literal(Decimal(digits), "decimal")
        return Literal(int(digits), "int")
    except (InvalidOperation, ValueError):
        raise FilterError(f"malformed number {tok.text!r}", tok.pos) from None


def _typed(tok: Token) -> Literal:
    prefix, raw = tok.value
    try:
        if prefix == "datetime":
            value = dt.datetime.fromisoformat(raw)
            if value.tzinfo is not None:
                raise ValueError("datetime literals carry no offset; use datetimeoffset")
            return Literal(value.replace(tzinfo=_UTC), "datetime")
        if prefix == "datetimeoffset":
            value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if value.tzinfo is None:
                value = value.replace(tzinfo=_UTC)
            return Literal(value.astimezone(_UTC), "datetime")
        if prefix == "guid":
            return Literal(str(uuid.UUID(raw)), "guid")
    except ValueError as exc:
        raise FilterError(f"malformed {prefix} literal {raw!r}: {exc}", tok.pos) from None
    raise FilterError(f"{prefix} literals are not supported", tok.pos)


def parse_filter(text: str) -> Node:
    """Parse a ``$filter`` expression into a syntax tree (raises :class:`FilterError`)."""
    return _Parser(text).parse()


# -- type checking and evaluation -----------------------------------------------------------
EDM_KIND = {"Edm.String": "string", "Edm.DateTime": "datetime", "Edm.DateTimeOffset": "datetime",
            "Edm.Decimal": "decimal", "Edm.Double": "decimal", "Edm.Int32": "int",
            "Edm.Int16": "int", "Edm.Int64": "int", "Edm.Byte": "int", "Edm.Boolean": "bool",
            "Edm.Guid": "guid"}
_NUMERIC = {"int", "decimal"}
Evaluator = Callable[[Mapping[str, Any]], Any]

# name → (argument kinds, result kind, implementation); None arguments give None
_FUNCTIONS: dict[str, tuple[tuple[str, ...], str, Callable[..., Any]]] = {
    "substringof": (("string", "string"), "bool", lambda needle, hay: needle in hay),
    "startswith": (("string", "string"), "bool", lambda s, p: s.startswith(p)),
    "endswith": (("string", "string"), "bool", lambda s, p: s.endswith(p)),
    "tolower": (("string",), "string", str.lower),
    "toupper": (("string",), "string", str.upper),
    "trim": (("string",), "string", str.strip),
    "length": (("string",), "int", len),
    "indexof": (("string", "string"), "int", lambda s, p: s.find(p)),
    "concat": (("string", "string"), "string", lambda a, b: a + b),
    "year": (("datetime",), "int", lambda d: d.year),
    "month": (("datetime",), "int", lambda d: d.month),
    "day": (("datetime",), "int", lambda d: d.day),
}


def _comparable(a: str, b: str) -> bool:
    return a == b or "null" in (a, b) or (a in _NUMERIC and b in _NUMERIC)


def compile_filter(node: Node, kind_of: Callable[[str], str | None],
                   value_of: Callable[[Mapping[str, Any], str], Any]) -> Evaluator:
    """Type-check ``node`` and return ``row → bool``.

    ``kind_of(name)`` gives a property's kind (``string``, ``int``, ``decimal``, ``bool``,
    ``datetime``, ``guid``) or None when the entity type has no such property; ``value_of(row,
    name)`` gives the property's typed value (str, int, Decimal, bool, aware datetime, None).
    """
    fn, kind = _compile(node, kind_of, value_of)
    if kind != "bool":
        raise FilterError("the filter expression must be a boolean condition")
    return lambda row: fn(row) is True


def _compile(node: Node, kind_of: Callable[[str], str | None],
             value_of: Callable[[Mapping[str, Any], str], Any]) -> tuple[Evaluator, str]:
    if isinstance(node, Literal):
        value = node.value
        return (lambda row: value), node.type
    if isinstance(node, Property):
        kind = kind_of(node.name)
        if kind is None:
            raise FilterError(f"property {node.name!r} does not exist", node.pos)
        name = node.name
        return (lambda row: value_of(row, name)), kind
    if isinstance(node, Not):
        inner, kind = _compile(node.operand, kind_of, value_of)
        if kind != "bool":
            raise FilterError("'not' needs a boolean operand", node.pos)
        return (lambda row: None if (v := inner(row)) is None else not v), "bool"
    if isinstance(node, Logical):
        left, lk = _compile(node.left, kind_of, value_of)
        right, rk = _compile(node.right, kind_of, value_of)
        if lk != "bool" or rk != "bool":
            raise FilterError(f"'{node.op}' needs boolean operands")
        if node.op == "and":
            return (lambda row: left(row) is True and right(row) is True), "bool"
        return (lambda row: left(row) is True or right(row) is True), "bool"
    if isinstance(node, Compare):
        return _compile_compare(node, kind_of, value_of), "bool"
    return _compile_call(node, kind_of, value_of)


def _compile_compare(node: Compare, kind_of: Callable[[str], str | None],
                     value_of: Callable[[Mapping[str, Any], str], Any]) -> Evaluator:
    left, lk = _compile(node.left, kind_of, value_of)
    right, rk = _compile(node.right, kind_of, value_of)
    if not _comparable(lk, rk):
        raise FilterError(f"cannot compare {lk} with {rk} using '{node.op}'", node.pos)
    if node.op not in ("eq", "ne") and ("bool" in (lk, rk) or "guid" in (lk, rk)):
        raise FilterError(f"'{node.op}' is not defined for {lk} values", node.pos)
    op = node.op

    def compare(row: Mapping[str, Any]) -> bool:
        a, b = left(row), right(row)
        if op == "eq":
            return a == b
        if op == "ne":
            return a != b
        if a is None or b is None:
            return False
        if op == "gt":
            return bool(a > b)
        if op == "ge":
            return bool(a >= b)
        if op == "lt":
            return bool(a < b)
        return bool(a <= b)

    return compare


def _compile_call(node: Call, kind_of: Callable[[str], str | None],
                  value_of: Callable[[Mapping[str, Any], str], Any]) -> tuple[Evaluator, str]:
    if node.name == "substring":
        return _compile_substring(node, kind_of, value_of)
    spec = _FUNCTIONS.get(node.name)
    if spec is None:
        raise FilterError(f"unknown function {node.name!r}", node.pos)
    kinds, result, impl = spec
    if len(node.args) != len(kinds):
        raise FilterError(f"{node.name} takes {len(kinds)} argument(s), got {len(node.args)}",
                          node.pos)
    args: list[Evaluator] = []
    for arg, want in zip(node.args, kinds, strict=True):
        fn, kind = _compile(arg, kind_of, value_of)
        if kind not in (want, "null"):
            raise FilterError(f"{node.name} expects {want} arguments, got {kind}", node.pos)
        args.append(fn)

    def call(row: Mapping[str, Any]) -> Any:
        values = [a(row) for a in args]
        return None if any(v is None for v in values) else impl(*values)

    return call, result


def _compile_substring(node: Call, kind_of: Callable[[str], str | None],
                       value_of: Callable[[Mapping[str, Any], str], Any]) -> tuple[Evaluator, str]:
    if len(node.args) not in (2, 3):
        raise FilterError("substring takes 2 or 3 arguments", node.pos)
    compiled = [_compile(a, kind_of, value_of) for a in node.args]
    if compiled[0][1] != "string" or any(k != "int" for _, k in compiled[1:]):
        raise FilterError("substring expects (string, int[, int])", node.pos)
    fns = [f for f, _ in compiled]

    def call(row: Mapping[str, Any]) -> Any:
        values = [f(row) for f in fns]
        if any(v is None for v in values):
            return None
        text, start = values[0], values[1]
        return text[start:start + values[2]] if len(values) == 3 else text[start:]

    return call, "string"
