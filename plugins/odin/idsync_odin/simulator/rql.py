"""A small RQL reader for the APS simulator: the top-level calls of a query string.

Enough of RQL for what a client of the simulator sends: a comma-separated list of calls
``name(arg,arg,...)``. Arguments are split on the raw commas *before* percent-decoding, as the
real bus does, so a value with an encoded comma (``%2C``) stays one argument while an
unencoded one breaks the query (which is what a client must be tested against).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote


class RqlError(ValueError):
    """The query cannot be read; the message says where."""


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[str, ...]


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise RqlError(f"unbalanced ')' in {text!r}")
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth:
        raise RqlError(f"unbalanced '(' in {text!r}")
    parts.append("".join(current))
    return parts


def parse(query: str) -> list[Call]:
    calls = []
    for term in _split_top_level(query):
        if not term:
            continue
        name, paren, rest = term.partition("(")
        if not paren or not rest.endswith(")") or not name.isidentifier():
            raise RqlError(f"cannot read the term {term!r}")
        inner = rest[:-1]
        if "(" in inner:
            raise RqlError(f"nested calls are not supported by the simulator: {term!r}")
        args = tuple(unquote(arg) for arg in inner.split(",")) if inner else ()
        calls.append(Call(name, args))
    return calls
