"""Builds ConnectWise ``conditions`` strings with every value quoted and escaped.

The grammar (DG "Conditions"): ``field op value`` joined by ``and``/``or`` with parentheses;
strings in quotes, datetimes in square brackets, booleans bare ``True``/``False``, ``null``,
numbers bare, lists as ``field in (a, b)``; fields are slash paths (``company/id``). Values
typed by an operator (a search string, a company name) end up inside these strings, so nothing
here is ever interpolated unquoted.

Quoting choices (ConnectWise documents double quotes only; UNCONFIRMED beyond that):

* a string without ``"`` goes in double quotes, verbatim;
* a string with ``"`` but no ``'`` goes in single quotes, which real integrations use widely;
* a string with both escapes ``"`` as ``\\"`` (no primary source says ConnectWise reads this; it
  only matters for names containing both quote characters).

``contains``/``like`` values go to SQL Server's LIKE, where ``[`` opens a character class: the
Developer Guide's escaping table writes a literal ``[`` as ``[[]``. ``%`` and ``_`` are left as
they are: as wildcards they can only widen a match, never hide one, and callers that need an
exact substring filter the rows again on their side.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

Value = str | int | Decimal | bool | date | datetime | None

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")
_OPERATORS = frozenset({"=", "!=", "<", "<=", ">", ">="})


def field_path(name: str) -> str:
    """A field name or slash path, refused if it could smuggle syntax into the condition."""
    if not _FIELD.match(name):
        raise ValueError(f"not a ConnectWise field path: {name!r}")
    return name


def string(text: str) -> str:
    """A quoted string literal (see the module docstring for the quoting rules)."""
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return '"' + text.replace('"', '\\"') + '"'


def datetime_literal(value: date | datetime) -> str:
    """``[2026-01-01T00:00:00Z]``; a date means its midnight UTC, as ConnectWise stores dates."""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
    else:
        moment = datetime(value.year, value.month, value.day)
    return f"[{moment.strftime('%Y-%m-%dT%H:%M:%SZ')}]"


def literal(value: Value) -> str:
    """Any supported Python value as a conditions literal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):  # datetime is a date subclass
        return datetime_literal(value)
    if isinstance(value, str):
        return string(value)
    raise TypeError(f"no ConnectWise literal for {type(value).__name__}")


def compare(field: str, op: str, value: Value) -> str:
    """``field op value``, e.g. ``compare("company/id", "=", 250)`` → ``company/id=250``."""
    if op not in _OPERATORS:
        raise ValueError(f"unknown comparison operator {op!r}")
    return f"{field_path(field)}{op}{literal(value)}"


def eq(field: str, value: Value) -> str:
    return compare(field, "=", value)


def like_escape(text: str) -> str:
    """A literal ``[`` for SQL Server's LIKE (DG "Escaping Characters")."""
    return text.replace("[", "[[]")


def contains(field: str, text: str) -> str:
    return f"{field_path(field)} contains {string(like_escape(text))}"


def in_list(field: str, values: Iterable[Value]) -> str:
    items = [literal(v) for v in values]
    if not items:
        raise ValueError("an `in` list needs at least one value")
    return f"{field_path(field)} in ({','.join(items)})"


def all_of(*conditions: str | None) -> str | None:
    """Conditions joined by ``and``, each parenthesized; None ones are skipped."""
    return _join(" and ", conditions)


def any_of(*conditions: str | None) -> str | None:
    return _join(" or ", conditions)


def _join(word: str, conditions: Iterable[str | None]) -> str | None:
    parts = [c for c in conditions if c]
    if len(parts) <= 1:
        return parts[0] if parts else None
    return word.join(f"({c})" for c in parts)


def split_in_list(
    field: str, values: Iterable[Value], fits: Callable[[str], bool], *,
    also: str | None = None
) -> Iterator[str]:
    """Conditions ``(also) and field in (...)`` covering every value, each one passing ``fits``.

    ``fits`` decides from the finished conditions string (the client measures the whole URL it
    would send, since ConnectWise refuses URLs over 2,000 characters). Duplicates are dropped.
    """
    chunk: list[Value] = []
    for value in dict.fromkeys(values):
        if chunk and not fits(_chunk_condition(field, [*chunk, value], also)):
            yield _chunk_condition(field, chunk, also)
            chunk = []
        if not chunk and not fits(_chunk_condition(field, [value], also)):
            raise ValueError(f"one {field} value alone makes the URL too long: {value!r}")
        chunk.append(value)
    if chunk:
        yield _chunk_condition(field, chunk, also)


def _chunk_condition(field: str, chunk: list[Value], also: str | None) -> str:
    condition = all_of(also, in_list(field, chunk))
    assert condition is not None
    return condition
