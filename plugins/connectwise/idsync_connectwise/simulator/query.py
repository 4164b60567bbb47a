"""ConnectWise's query language, server side: ``conditions``, ``orderBy`` and ``fields``.

Parses what the Developer Guide documents, so any client's conditions are judged as the real
API would judge them:

* comparisons ``= != <> < <= > >=``, ``contains``, ``like``, ``in (...)``, each negatable with
  ``not`` (``summary not contains "x"``, ``status/id not in (1,2)``), and a prefix ``not``;
* ``and``/``or`` (``and`` binds tighter) and parentheses; keywords in any case;
* values: strings in double or single quotes (``\\"`` escapes the quote), numbers,
  ``[datetimes]``, ``True``/``False`` in any case, ``null``;
* fields as slash paths into references (``company/id``), matched case-insensitively; a name
  ending in ``id`` that is not a field reaches the reference's id (``parentAgreementId`` →
  ``parentAgreement/id``); a top-level name that is neither reaches the record's ``_info``
  (``lastUpdated``, the Developer Guide's own example, is ``_info/lastUpdated`` in the body);
  a path through an array matches when any element matches.

String comparisons ignore case, as SQL Server's default collation does. ``contains`` and ``like``
follow SQL Server's LIKE: ``%`` (and ConnectWise's ``*``) for any run, ``_`` for one character,
``[...]`` a character class (so ``[[]`` is a literal ``[``). A field a record lacks is null.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cmp_to_key
from typing import Any

Record = dict[str, Any]
Predicate = Callable[[Record], bool]


class QueryError(ValueError):
    """A malformed ``conditions``/``orderBy``/``fields`` parameter (answered with a 400)."""


# -- values -------------------------------------------------------------------------------------

def parse_datetime(text: str) -> datetime | None:
    """An ISO date or datetime as an aware UTC datetime (naive ones are taken as UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def like_regex(pattern: str) -> re.Pattern[str]:
    """SQL Server LIKE (plus ConnectWise's ``*``) as a case-insensitive full-match regex."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char in "%*":
            out.append(".*")
        elif char == "_":
            out.append(".")
        elif char == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            out.append(_char_class(pattern[i + 1:end]))
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _char_class(inner: str) -> str:
    negate = inner.startswith("^")
    chars = inner[1:] if negate else inner
    body = "".join("-" if c == "-" and 0 < k < len(chars) - 1 else re.escape(c)
                   for k, c in enumerate(chars))
    return f"[{'^' if negate else ''}{body}]"


@dataclass(frozen=True)
class DateTimeValue:
    moment: datetime


Literal = str | Decimal | bool | DateTimeValue | None


def _sortable(value: object) -> tuple[int, Any]:
    """A key that orders mixed values the way SQL Server would: nulls first."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float | Decimal):
        return (2, Decimal(str(value)))
    if isinstance(value, str):
        moment = parse_datetime(value) if len(value) >= 10 and value[4:5] == "-" else None
        return (3, moment.timestamp()) if moment else (4, value.casefold())
    return (5, str(value))


def _compare(record_value: object, op: str, wanted: Literal) -> bool:
    if wanted is None:
        return (record_value is None) == (op == "=") if op in ("=", "!=") else False
    if record_value is None:  # SQL: a comparison with NULL is never true
        return False
    got: Any
    want: Any
    if isinstance(wanted, bool):
        if not isinstance(record_value, bool):
            return False
        got, want = record_value, wanted
    elif isinstance(wanted, Decimal):
        if isinstance(record_value, bool) or not isinstance(record_value, int | float | Decimal):
            return False
        got, want = Decimal(str(record_value)), wanted
    elif isinstance(wanted, DateTimeValue):
        moment = parse_datetime(record_value) if isinstance(record_value, str) else None
        if moment is None:
            return False
        got, want = moment, wanted.moment
    else:
        if isinstance(record_value, dict | list):
            return False
        got, want = str(record_value).casefold(), wanted.casefold()
    return bool({
        "=": got == want, "!=": got != want, "<": got < want, "<=": got <= want,
        ">": got > want, ">=": got >= want,
    }[op])


# -- field paths --------------------------------------------------------------------------------

def _key(record: Record, name: str) -> str | None:
    if name in record:
        return name
    folded = name.casefold()
    return next((k for k in record if k.casefold() == folded), None)


def resolve(record: object, path: str) -> list[Any]:
    """Every value at a slash path (one per array element walked through); [None] if absent."""
    values: list[Any] = [record]
    for depth, part in enumerate(path.split("/")):
        step: list[Any] = []
        for value in values:
            for item in value if isinstance(value, list) else [value]:
                step.append(_child(item, part, top=depth == 0))
        values = step
    flat = [v for value in values for v in (value if isinstance(value, list) else [value])]
    return flat or [None]


def _child(item: object, part: str, *, top: bool) -> Any:
    if not isinstance(item, dict):
        return None
    key = _key(item, part)
    if key is not None:
        return item[key]
    if part.casefold().endswith("id") and len(part) > 2:  # parentAgreementId → parentAgreement/id
        reference = _key(item, part[:-2])
        if reference is not None and isinstance(item[reference], dict):
            return item[reference].get("id")
    info = item.get("_info") if top else None
    if isinstance(info, dict):  # lastUpdated → _info/lastUpdated
        audit = _key(info, part)
        return info[audit] if audit is not None else None
    return None


# -- conditions ---------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<op><>|!=|<=|>=|=|<|>)
  | (?P<punct>[(),])
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
  | (?P<datetime>\[[^\]]*\])
  | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_/]))
  | (?P<word>[A-Za-z_][A-Za-z0-9_./]*)
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    at: int


def tokenize(text: str) -> list[Token]:
    tokens, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise QueryError(f"unexpected character {text[at]!r} at position {at}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), at))
        at = match.end()
    return tokens


ValueTest = Callable[[object], bool]


def _field_test(path: str, test: ValueTest, *, negate: bool = False) -> Predicate:
    """True when any value at ``path`` passes ``test`` (inverted by a ``not``)."""
    def predicate(record: Record) -> bool:
        return any(test(v) for v in resolve(record, path)) != negate
    return predicate


def _comparison(op: str, wanted: Literal) -> ValueTest:
    return lambda value: _compare(value, op, wanted)


def _pattern_test(pattern: re.Pattern[str]) -> ValueTest:
    return lambda value: isinstance(value, str) and pattern.fullmatch(value) is not None


def _in_test(options: list[Literal]) -> ValueTest:
    return lambda value: any(_compare(value, "=", o) for o in options)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> Token | None:
        at = self.pos + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def is_word(self, word: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.kind == "word" and token.text.lower() == word

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise QueryError("the condition ends too early")
        self.pos += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise QueryError(f"expected {text!r} at position {token.at}, found {token.text!r}")

    def parse(self) -> Predicate:
        predicate = self.or_expr()
        token = self.peek()
        if token is not None:
            raise QueryError(f"unexpected {token.text!r} at position {token.at}")
        return predicate

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.is_word("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.unary()]
        while self.is_word("and"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def unary(self) -> Predicate:
        if self.is_word("not"):
            self.take()
            inner = self.unary()
            return lambda r: not inner(r)
        token = self.peek()
        if token is not None and token.text == "(":
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        token = self.take()
        if token.kind != "word" or token.text.lower() in ("and", "or", "not", "null"):
            raise QueryError(f"expected a field name at position {token.at}, "
                             f"found {token.text!r}")
        path = token.text
        negate = False
        if self.is_word("not"):
            self.take()
            negate = True
        operator = self.take()
        word = operator.text.lower()
        if operator.kind == "op" and not negate:
            op = "!=" if operator.text == "<>" else operator.text
            return _field_test(path, _comparison(op, self.value()))
        if word in ("contains", "like"):
            text = self.value()
            if not isinstance(text, str):
                raise QueryError(f"{word} needs a quoted string at position {operator.at}")
            test = _pattern_test(like_regex(f"%{text}%" if word == "contains" else text))
        elif word == "in":
            test = _in_test(self.value_list())
        else:
            raise QueryError(f"expected an operator after {path!r} at position {operator.at}, "
                             f"found {operator.text!r}")
        return _field_test(path, test, negate=negate)

    def value_list(self) -> list[Literal]:
        self.expect("(")
        values = [self.value()]
        while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
            self.take()
            values.append(self.value())
        self.expect(")")
        return values

    def value(self) -> Literal:
        token = self.take()
        if token.kind == "string":
            quote = token.text[0]
            return token.text[1:-1].replace("\\" + quote, quote)
        if token.kind == "number":
            return Decimal(token.text)
        if token.kind == "datetime":
            moment = parse_datetime(token.text[1:-1])
            if moment is None:
                raise QueryError(f"{token.text} at position {token.at} is not a datetime")
            return DateTimeValue(moment)
        if token.kind == "word" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        if token.kind == "word" and token.text.lower() == "null":
            return None
        raise QueryError(f"expected a value at position {token.at}, found {token.text!r}")


def parse_conditions(text: str | None) -> Predicate:
    """A predicate for a ``conditions`` string; an empty one matches everything."""
    if not text or not text.strip():
        return lambda record: True
    return _Parser(text).parse()


# -- orderBy and fields -------------------------------------------------------------------------

def order_by(records: list[Record], text: str | None) -> list[Record]:
    """Sort by ``field [asc|desc], ...`` (nulls first ascending, as SQL Server does)."""
    if not text or not text.strip():
        return sorted(records, key=lambda r: _sortable(r.get("id")))
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in
                                           ("asc", "desc")):
            raise QueryError(f"orderBy: cannot read {part.strip()!r}; use `field asc|desc`")
        keys.append((words[0], len(words) == 2 and words[1].lower() == "desc"))

    def compare(a: Record, b: Record) -> int:
        for path, descending in keys:
            left, right = _sortable(resolve(a, path)[0]), _sortable(resolve(b, path)[0])
            if left != right:
                return (-1 if left < right else 1) * (-1 if descending else 1)
        return 0

    return sorted(records, key=cmp_to_key(compare))


def project(record: Record, fields: str | None) -> Record:
    """Keep only the listed fields (``id,name,company/id``); the spelling of the record wins."""
    if not fields or not fields.strip():
        return record
    out: Record = {}
    for path in (p.strip() for p in fields.split(",") if p.strip()):
        _copy_path(record, out, path.split("/"))
    return out


def _copy_path(source: Record, target: Record, parts: list[str]) -> None:
    key = _key(source, parts[0])
    if key is None:
        return
    if len(parts) == 1 or not isinstance(source[key], dict):
        target[key] = source[key]
        return
    child = target.setdefault(key, {})
    if isinstance(child, dict):
        _copy_path(source[key], child, parts[1:])


def to_decimal(value: object) -> Decimal | None:
    """A JSON number as Decimal, None if it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None

