"""Node filter expressions, parsed by recursive descent (never eval), and node ranking.

    type=deployed and country=no and not model=apu1
    (country=se or country=no) and interfaces>=2

Grammar (keywords case-insensitive; ``not`` binds tighter than ``and``, ``and``
tighter than ``or``)::

    expr       := conjunction ("or" conjunction)*
    conjunction:= negation ("and" negation)*
    negation   := "not" negation | "(" expr ")" | comparison
    comparison := KEY OP VALUE          OP: = (or ==)  !=  <  <=  >  >=
    KEY, VALUE := bare word [A-Za-z0-9_.:-]+ | "quoted" | 'quoted'

Keys: ``interfaces`` is the node's number of interfaces, ``name`` its name,
``status`` its scheduling status; any other key is a node attribute. A missing
attribute makes ``=`` and the ordering operators false and ``!=`` true. When both
sides parse as numbers they compare as numbers, else as exact strings; ordering
operators need a number. An empty (or blank) filter matches every node.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from vantagepoint.core.scheduler.model import NodeInfo
from vantagepoint.errors import Invalid, Problem

POINTER = "/filter"
KEYWORDS = frozenset({"and", "or", "not"})
BARE = re.compile(r"[A-Za-z0-9_.:-]+")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
OPERATORS = ("==", "!=", "<=", ">=", "=", "<", ">")  # longest first
ORDERING = frozenset({"<", "<=", ">", ">="})
COMPARE: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


# ---- the expression tree ----------------------------------------------------

class Filter:
    """A parsed node filter; ``str()`` gives its normalized form."""

    precedence = 4  # or=1, and=2, not=3, comparison=4: parenthesize lower inside higher

    def matches(self, node: NodeInfo) -> bool:
        """True if the node satisfies the expression."""
        raise NotImplementedError

    def _inner(self, parent: int) -> str:
        return f"({self})" if self.precedence < parent else str(self)


@dataclass(frozen=True)
class Everything(Filter):
    """The empty filter: every node matches."""

    def matches(self, node: NodeInfo) -> bool:
        return True

    def __str__(self) -> str:
        return ""


@dataclass(frozen=True)
class Comparison(Filter):
    key: str
    op: str
    value: str

    def matches(self, node: NodeInfo) -> bool:
        actual = node_value(node, self.key)
        if actual is None:
            return self.op == "!="
        left, right = _number(actual), _number(self.value)
        if left is not None and right is not None:
            return COMPARE[self.op](left, right)
        if self.op in ORDERING:
            return False
        return (actual == self.value) == (self.op == "=")

    def __str__(self) -> str:
        return f"{_quoted(self.key)}{self.op}{_quoted(self.value)}"


@dataclass(frozen=True)
class Not(Filter):
    operand: Filter
    precedence = 3

    def matches(self, node: NodeInfo) -> bool:
        return not self.operand.matches(node)

    def __str__(self) -> str:
        return f"not {self.operand._inner(self.precedence)}"


@dataclass(frozen=True)
class And(Filter):
    operands: tuple[Filter, ...]
    precedence = 2

    def matches(self, node: NodeInfo) -> bool:
        return all(f.matches(node) for f in self.operands)

    def __str__(self) -> str:
        return " and ".join(f._inner(self.precedence + 1) for f in self.operands)


@dataclass(frozen=True)
class Or(Filter):
    operands: tuple[Filter, ...]
    precedence = 1

    def matches(self, node: NodeInfo) -> bool:
        return any(f.matches(node) for f in self.operands)

    def __str__(self) -> str:
        return " or ".join(f._inner(self.precedence + 1) for f in self.operands)


def node_value(node: NodeInfo, key: str) -> str | None:
    """The value a filter key stands for on a node; None when the node has no such attribute."""
    if key == "interfaces":
        return str(len(node.interfaces))
    if key == "name":
        return node.name
    if key == "status":
        return node.status
    return node.attributes.get(key)


def _number(text: str) -> float | None:
    return float(text) if NUMBER.fullmatch(text) else None


def _quoted(text: str) -> str:
    if BARE.fullmatch(text) and text.lower() not in KEYWORDS:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---- tokens -----------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    kind: str  # word | string | op | ( | ) | end
    text: str
    column: int  # 1-based

    def is_keyword(self, word: str) -> bool:
        return self.kind == "word" and self.text.lower() == word

    def describe(self) -> str:
        return "the end of the filter" if self.kind == "end" else repr(self.text)


def _fail(column: int, message: str) -> Invalid:
    return Invalid("the node filter is not valid",
                   [Problem(POINTER, f"at column {column}: {message}")])


def tokenize(text: str) -> list[Token]:
    """Split a filter into tokens, ending with an ``end`` token."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        token, i = _token_at(text, i)
        tokens.append(token)
    return tokens + [Token("end", "", len(text) + 1)]


def _token_at(text: str, i: int) -> tuple[Token, int]:
    """The token starting at index ``i`` and the index after it."""
    char = text[i]
    if char in "()":
        return Token(char, char, i + 1), i + 1
    if char in "\"'":
        return _string_at(text, i)
    for op in OPERATORS:
        if text.startswith(op, i):
            return Token("op", "=" if op == "==" else op, i + 1), i + len(op)
    word = BARE.match(text, i)
    if word:
        return Token("word", word.group(), i + 1), word.end()
    raise _fail(i + 1, f"unexpected character {char!r}")


def _string_at(text: str, start: int) -> tuple[Token, int]:
    """A quoted string (backslash escapes the next character)."""
    quote, i = text[start], start + 1
    chars: list[str] = []
    while i < len(text) and text[i] != quote:
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        chars.append(text[i])
        i += 1
    if i >= len(text):
        raise _fail(start + 1, f"the quoted string is not closed (expected {quote})")
    return Token("string", "".join(chars), start + 1), i + 1


# ---- the parser -------------------------------------------------------------

class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.pos = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        token = self.token
        self.pos += 1
        return token

    def parse(self) -> Filter:
        if self.token.kind == "end":
            return Everything()
        tree = self.disjunction()
        if self.token.kind == ")":
            raise _fail(self.token.column, "found ')' without a '(' before it")
        if self.token.kind != "end":
            raise _fail(self.token.column, "expected 'and', 'or' or the end of the filter, "
                                           f"found {self.token.describe()}")
        return tree

    def disjunction(self) -> Filter:
        return self._chain("or", self.conjunction, Or)

    def conjunction(self) -> Filter:
        return self._chain("and", self.negation, And)

    def _chain(self, word: str, operand: Callable[[], Filter],
               build: Callable[[tuple[Filter, ...]], Filter]) -> Filter:
        items = [operand()]
        while self.token.is_keyword(word):
            self.take()
            items.append(operand())
        return items[0] if len(items) == 1 else build(tuple(items))

    def negation(self) -> Filter:
        if self.token.is_keyword("not"):
            self.take()
            return Not(self.negation())
        if self.token.kind == "(":
            return self.group()
        return self.comparison()

    def group(self) -> Filter:
        opening = self.take()
        inner = self.disjunction()
        if self.token.kind != ")":
            raise _fail(self.token.column, f"expected ')' to close the '(' at column "
                                           f"{opening.column}, found {self.token.describe()}")
        self.take()
        return inner

    def comparison(self) -> Filter:
        key = self.token
        if not _is_operand(key):
            raise _fail(key.column, "expected a comparison such as key=value, 'not' or '(', "
                                    f"found {key.describe()}")
        self.take()
        if self.token.kind != "op":
            raise _fail(self.token.column, f"expected an operator (=, !=, <, <=, >, >=) after "
                                           f"{key.text!r}, found {self.token.describe()}")
        op = self.take().text
        return Comparison(key.text, op, self.value(key.text, op))

    def value(self, key: str, op: str) -> str:
        token = self.token
        if not _is_operand(token):
            hint = " (quote a value that is a keyword)" if token.kind == "word" else ""
            raise _fail(token.column, f"expected a value after {op!r}, "
                                      f"found {token.describe()}{hint}")
        self.take()
        if (op in ORDERING or key == "interfaces") and _number(token.text) is None:
            why = "interfaces counts the node's interfaces" if key == "interfaces" \
                else f"{op!r} compares numbers"
            raise _fail(token.column, f"expected a number after {op!r} ({why}), "
                                      f"found {token.describe()}")
        return token.text


def _is_operand(token: Token) -> bool:
    """A key or value: a quoted string, or a bare word that is not a keyword."""
    return token.kind == "string" or (token.kind == "word" and token.text.lower() not in KEYWORDS)


def parse_filter(text: str) -> Filter:
    """Parse a node filter; raises Invalid (pointer /filter) naming the column and what was
    expected."""
    return _Parser(text).parse()


# ---- ranking ----------------------------------------------------------------

def rank(nodes: list[NodeInfo], last_seen: Mapping[str, datetime | None],
         data_left: Mapping[str, float] | None = None) -> list[NodeInfo]:
    """Most remaining data quota first (when given), then freshest heartbeat, then name."""
    def key(node: NodeInfo) -> tuple[float, bool, float, str]:
        left = -data_left.get(node.name, -math.inf) if data_left is not None else 0.0
        seen = last_seen.get(node.name)
        return (left, seen is None, -seen.timestamp() if seen else 0.0, node.name)
    return sorted(nodes, key=key)
