"""A SOQL subset: a hand-written tokenizer and a recursive-descent parser producing an AST.

Grammar (keywords case-insensitive)::

    query      := SELECT select_list FROM name [WHERE condition]
                  [ORDER BY order_item ("," order_item)*] [LIMIT int] [OFFSET int] EOF
    select_list:= select_item ("," select_item)*
    select_item:= COUNT "(" [path] ")" [alias] | path
    path       := name ("." name)*
    condition  := unary (AND unary)* | unary (OR unary)*    -- mixing needs parentheses
    unary      := NOT unary | "(" condition ")" | predicate
    predicate  := path op value | path [NOT] IN "(" value ("," value)* ")"
                | path [NOT] LIKE string            -- (NOT LIKE is not SOQL; NOT before the
                                                        predicate is)
    op         := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    value      := string | number | TRUE | FALSE | NULL | date | datetime | date_literal
    date_literal := TODAY | YESTERDAY | ... | LAST_N_DAYS ":" int | ...
    order_item := path [ASC | DESC] [NULLS (FIRST | LAST)]

Salesforce itself rejects ``a AND b OR c`` without parentheses; so does this parser. Errors
carry Salesforce's ``ERROR at Row:r:Column:c`` message and the error code the REST API uses
(``MALFORMED_QUERY`` for syntax).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC",
            "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE",
            "GROUP", "HAVING", "INCLUDES", "EXCLUDES"}
# date literals without a parameter, and those taking ":n"
DATE_LITERALS = {"TODAY", "YESTERDAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK",
                 "LAST_MONTH", "THIS_MONTH", "NEXT_MONTH", "LAST_90_DAYS", "NEXT_90_DAYS",
                 "THIS_QUARTER", "LAST_QUARTER", "NEXT_QUARTER", "THIS_YEAR", "LAST_YEAR",
                 "NEXT_YEAR"}
DATE_N_LITERALS = {"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_WEEKS", "NEXT_N_WEEKS",
                   "LAST_N_MONTHS", "NEXT_N_MONTHS", "LAST_N_YEARS", "NEXT_N_YEARS"}
COMPARISON_OPS = {"=", "!=", "<>", "<", "<=", ">", ">="}
MAX_QUERY_LENGTH = 100_000  # Salesforce's documented SOQL statement limit
MAX_NESTING = 50  # keeps the recursive descent far from Python's recursion limit


class SoqlError(Exception):
    """A query Salesforce would refuse; ``code`` is the REST ``errorCode``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Token:
    kind: str  # IDENT STRING NUMBER DATE DATETIME OP LPAREN RPAREN COMMA COLON DOT EOF
    text: str
    value: Any
    pos: int


# -- AST ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldPath:
    parts: tuple[str, ...]
    pos: int

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Count:
    """``COUNT()`` (field None) or ``COUNT(field) [alias]``."""

    field: FieldPath | None
    alias: str | None
    pos: int


@dataclass(frozen=True)
class Literal:
    kind: str  # string number boolean null date datetime date_literal
    value: Any  # date_literal: (NAME, n or None)
    pos: int


@dataclass(frozen=True)
class Comparison:
    field: FieldPath
    op: str
    value: Literal


@dataclass(frozen=True)
class InList:
    field: FieldPath
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class Like:
    field: FieldPath
    pattern: Literal


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Comparison | InList | Like | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    field: FieldPath
    descending: bool
    nulls_last: bool


@dataclass
class Query:
    select: list[FieldPath | Count]
    sobject: str
    sobject_pos: int
    where: Condition | None = None
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    text: str = ""


# -- errors with Salesforce's row/column pointer --------------------------------------------
def located(text: str, pos: int, message: str) -> str:
    """``message`` prefixed the way Salesforce points at the offending token."""
    row = text.count("\n", 0, pos) + 1
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    col = pos - line_start + 1
    return f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{message}"


# -- tokenizer -----------------------------------------------------------------------------
def _is_digit(ch: str) -> bool:
    """An ASCII digit: ``str.isdigit`` also takes '²' or '٣', which are no SOQL numbers."""
    return "0" <= ch <= "9"


def _is_ident_start(ch: str) -> bool:
    return ch.isascii() and (ch.isalpha() or ch == "_")


def _is_ident_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'",
            "\\": "\\", "_": "\\_", "%": "\\%"}


class Tokenizer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def error(self, pos: int, message: str) -> SoqlError:
        return SoqlError("MALFORMED_QUERY", located(self.text, pos, message))

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        text = self.text
        while True:
            while self.i < len(text) and text[self.i].isspace():
                self.i += 1
            if self.i >= len(text):
                out.append(Token("EOF", "<EOF>", None, len(text)))
                return out
            start, ch = self.i, text[self.i]
            if ch == "'":
                out.append(self._string())
            elif _is_digit(ch) or (ch == "-" and self._peek_digit()):
                out.append(self._number_or_date())
            elif _is_ident_start(ch):
                while self.i < len(text) and _is_ident_char(text[self.i]):
                    self.i += 1
                word = text[start : self.i]
                out.append(Token("IDENT", word, word, start))
            elif ch in "(),:.":
                self.i += 1
                kind = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA", ":": "COLON", ".": "DOT"}[ch]
                out.append(Token(kind, ch, ch, start))
            elif ch in "=!<>":
                two = text[start : start + 2]
                op = two if two in COMPARISON_OPS else ch
                if op not in COMPARISON_OPS:
                    raise self.error(start, f"unexpected token: '{ch}'")
                self.i += len(op)
                out.append(Token("OP", op, "!=" if op == "<>" else op, start))
            else:
                raise self.error(start, f"unexpected token: '{ch}'")

    def _peek_digit(self) -> bool:
        return self.i + 1 < len(self.text) and _is_digit(self.text[self.i + 1])

    def _string(self) -> Token:
        start = self.i
        self.i += 1
        chars: list[str] = []
        text = self.text
        while self.i < len(text):
            ch = text[self.i]
            if ch == "\\":
                if self.i + 1 >= len(text) or text[self.i + 1] not in _ESCAPES:
                    raise self.error(self.i, "Invalid string literal: illegal escape sequence")
                # \_ and \% stay escaped: they matter to LIKE and are literal elsewhere
                chars.append(_ESCAPES[text[self.i + 1]])
                self.i += 2
                continue
            if ch == "'":
                self.i += 1
                return Token("STRING", text[start : self.i], "".join(chars), start)
            chars.append(ch)
            self.i += 1
        raise self.error(start, "unterminated string literal")

    def _digits(self) -> str:
        start = self.i
        while self.i < len(self.text) and _is_digit(self.text[self.i]):
            self.i += 1
        return self.text[start : self.i]

    def _expect_char(self, ch: str, start: int) -> None:
        if self.i >= len(self.text) or self.text[self.i] != ch:
            raise self.error(start, f"invalid date/time literal: {self.text[start:self.i + 1]}")
        self.i += 1

    def _number_or_date(self) -> Token:
        start = self.i
        if self.text[self.i] == "-":
            self.i += 1
        whole = self._digits()
        at = self.i
        if len(whole) == 4 and self.text[start] != "-" and self.text[at : at + 1] == "-":
            return self._date(start)
        if self.text[self.i : self.i + 1] == "." and self._peek_digit():
            self.i += 1
            self._digits()
        if self.i < len(self.text) and _is_ident_char(self.text[self.i]):
            raise self.error(start, f"unexpected token: '{self.text[start:self.i + 1]}'")
        raw = self.text[start : self.i]
        value: int | float = float(raw) if "." in raw else int(raw)
        return Token("NUMBER", raw, value, start)

    def _fixed(self, n: int, start: int) -> str:
        digits = self._digits()
        if len(digits) != n:
            raise self.error(start, f"invalid date/time literal: {self.text[start:self.i]}")
        return digits

    def _date(self, start: int) -> Token:
        self._expect_char("-", start)
        self._fixed(2, start)
        self._expect_char("-", start)
        self._fixed(2, start)
        if self.text[self.i : self.i + 1] != "T":
            raw = self.text[start : self.i]
            return Token("DATE", raw, raw, start)
        self.i += 1
        self._fixed(2, start)
        self._expect_char(":", start)
        self._fixed(2, start)
        self._expect_char(":", start)
        self._fixed(2, start)
        if self.text[self.i : self.i + 1] == ".":
            self.i += 1
            self._digits()
        zone = self.text[self.i : self.i + 1]
        if zone == "Z":
            self.i += 1
        elif zone in ("+", "-"):
            self.i += 1
            self._fixed(2, start)
            self._expect_char(":", start)
            self._fixed(2, start)
        else:
            raise self.error(start, "invalid date/time literal: a dateTime needs a time zone "
                             f"('Z' or '+hh:mm'): {self.text[start:self.i]}")
        raw = self.text[start : self.i]
        return Token("DATETIME", raw, raw, start)


# -- parser --------------------------------------------------------------------------------
class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = Tokenizer(text).tokens()
        self.k = 0
        self.depth = 0

    # helpers
    @property
    def tok(self) -> Token:
        return self.toks[self.k]

    def advance(self) -> Token:
        tok = self.toks[self.k]
        if tok.kind != "EOF":
            self.k += 1
        return tok

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "IDENT" and self.tok.text.upper() in words

    def accept_kw(self, word: str) -> bool:
        if self.is_kw(word):
            self.advance()
            return True
        return False

    def unexpected(self, tok: Token | None = None) -> SoqlError:
        tok = tok or self.tok
        return SoqlError("MALFORMED_QUERY",
                         located(self.text, tok.pos, f"unexpected token: {tok.text}"))

    def expect_kw(self, word: str) -> Token:
        if not self.is_kw(word):
            raise self.unexpected()
        return self.advance()

    def expect(self, kind: str) -> Token:
        if self.tok.kind != kind:
            raise self.unexpected()
        return self.advance()

    def name(self) -> Token:
        tok = self.tok
        if tok.kind != "IDENT" or tok.text.upper() in KEYWORDS:
            raise self.unexpected()
        return self.advance()

    # grammar
    def query(self) -> Query:
        self.expect_kw("SELECT")
        select = [self.select_item()]
        while self.tok.kind == "COMMA":
            self.advance()
            select.append(self.select_item())
        self.expect_kw("FROM")
        obj = self.name()
        q = Query(select=select, sobject=obj.text, sobject_pos=obj.pos, text=self.text)
        if self.accept_kw("WHERE"):
            q.where = self.condition()
        if self.is_kw("GROUP", "HAVING"):
            raise SoqlError("MALFORMED_QUERY", located(
                self.text, self.tok.pos, f"{self.tok.text.upper()} is not supported by this "
                "simulator"))
        if self.accept_kw("ORDER"):
            self.expect_kw("BY")
            q.order_by.append(self.order_item())
            while self.tok.kind == "COMMA":
                self.advance()
                q.order_by.append(self.order_item())
        if self.accept_kw("LIMIT"):
            q.limit = self.non_negative_int()
        if self.accept_kw("OFFSET"):
            q.offset = self.non_negative_int()
        if self.tok.kind != "EOF":
            raise self.unexpected()
        return q

    def non_negative_int(self) -> int:
        tok = self.tok
        if tok.kind != "NUMBER" or not isinstance(tok.value, int) or tok.value < 0:
            raise self.unexpected()
        self.advance()
        return int(tok.value)

    def path(self) -> FieldPath:
        first = self.name()
        parts = [first.text]
        while self.tok.kind == "DOT":
            self.advance()
            parts.append(self.name().text)
        return FieldPath(tuple(parts), first.pos)

    def select_item(self) -> FieldPath | Count:
        if self.is_kw("COUNT") and self.toks[self.k + 1].kind == "LPAREN":
            start = self.advance()
            self.expect("LPAREN")
            target = None if self.tok.kind == "RPAREN" else self.path()
            self.expect("RPAREN")
            alias = None
            if target is not None and self.tok.kind == "IDENT" \
                    and self.tok.text.upper() not in KEYWORDS:
                alias = self.advance().text
            return Count(target, alias, start.pos)
        return self.path()

    def order_item(self) -> OrderItem:
        target = self.path()
        descending = False
        if self.accept_kw("DESC"):
            descending = True
        else:
            self.accept_kw("ASC")
        nulls_last = descending  # Salesforce's defaults: ASC NULLS FIRST, DESC NULLS LAST
        if self.accept_kw("NULLS"):
            if self.accept_kw("LAST"):
                nulls_last = True
            else:
                self.expect_kw("FIRST")
                nulls_last = False
        return OrderItem(target, descending, nulls_last)

    def condition(self) -> Condition:
        first = self.unary()
        if not self.is_kw("AND", "OR"):
            return first
        op = self.tok.text.upper()
        items = [first]
        while self.is_kw("AND", "OR"):
            if self.tok.text.upper() != op:
                raise self.unexpected()  # Salesforce demands parentheses when mixing
            self.advance()
            items.append(self.unary())
        return BoolOp(op, tuple(items))

    def unary(self) -> Condition:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise SoqlError("MALFORMED_QUERY", located(
                self.text, self.tok.pos, f"conditions nested deeper than {MAX_NESTING} levels"))
        try:
            if self.accept_kw("NOT"):
                return Not(self.unary())
            if self.tok.kind == "LPAREN":
                self.advance()
                inner = self.condition()
                self.expect("RPAREN")
                return inner
            return self.predicate()
        finally:
            self.depth -= 1

    def predicate(self) -> Condition:
        target = self.path()
        if self.tok.kind == "OP":
            op = self.advance().value
            return Comparison(target, op, self.value())
        negated = self.accept_kw("NOT")
        if self.accept_kw("IN"):
            self.expect("LPAREN")
            values = [self.value()]
            while self.tok.kind == "COMMA":
                self.advance()
                values.append(self.value())
            self.expect("RPAREN")
            return InList(target, tuple(values), negated)
        if not negated and self.accept_kw("LIKE"):
            tok = self.tok
            if tok.kind != "STRING":
                raise self.unexpected()
            self.advance()
            return Like(target, Literal("string", tok.value, tok.pos))
        raise self.unexpected()

    def value(self) -> Literal:
        tok = self.tok
        if tok.kind == "STRING":
            self.advance()
            # outside LIKE, \_ and \% are plain characters
            return Literal("string", tok.value.replace("\\_", "_").replace("\\%", "%"), tok.pos)
        if tok.kind == "NUMBER":
            self.advance()
            return Literal("number", tok.value, tok.pos)
        if tok.kind == "DATE":
            self.advance()
            return Literal("date", tok.value, tok.pos)
        if tok.kind == "DATETIME":
            self.advance()
            return Literal("datetime", tok.value, tok.pos)
        if tok.kind == "IDENT":
            word = tok.text.upper()
            if word in ("TRUE", "FALSE"):
                self.advance()
                return Literal("boolean", word == "TRUE", tok.pos)
            if word == "NULL":
                self.advance()
                return Literal("null", None, tok.pos)
            if word in DATE_LITERALS:
                self.advance()
                return Literal("date_literal", (word, None), tok.pos)
            if word in DATE_N_LITERALS:
                self.advance()
                if self.tok.kind != "COLON":
                    raise SoqlError("MALFORMED_QUERY", located(
                        self.text, tok.pos, f"Invalid date literal: {tok.text} needs ':n'"))
                self.advance()
                n = self.non_negative_int()
                return Literal("date_literal", (word, n), tok.pos)
        raise self.unexpected()


def parse(text: str) -> Query:
    """Parse one SOQL statement or raise :class:`SoqlError` (``MALFORMED_QUERY``)."""
    if not text.strip():
        raise SoqlError("MALFORMED_QUERY", "A query string must be provided (parameter 'q').")
    if len(text) > MAX_QUERY_LENGTH:
        raise SoqlError("MALFORMED_QUERY", f"Query is too long: {len(text)} characters, the "
                        f"maximum is {MAX_QUERY_LENGTH}")
    return Parser(text).query()
