"""Building APS RQL queries (``implementing(...)``, ``eq(...)``, ``select(...)``, ``limit(...)``).

RQL is the whole query string, not ``key=value`` pairs, so it is written into the URL as is and
never handed to an HTTP library's ``params`` (which would escape the parentheses and commas
that carry the syntax). Every *value* is percent-encoded instead: the RQL reference lists
space ``! # % & ' ( ) , = ; [ ]`` as reserved, and an unescaped comma or parenthesis inside a
value would change the query's meaning. ``:`` and ``/`` stay readable, as in the documented
``implementing(http://...)`` examples.
"""

from __future__ import annotations

from urllib.parse import quote

ACCOUNT_TYPE = "http://parallels.com/aps/types/pa/account/1.2"
SUBSCRIPTION_TYPE = "http://parallels.com/aps/types/pa/subscription/1.0"


def value(text: str | int) -> str:
    """A value percent-encoded for RQL: the reserved characters (and anything not plain ASCII)
    become ``%XX``; letters, digits, ``-._~`` and ``:/`` stay as they are."""
    return quote(str(text), safe=":/")


def implementing(type_uri: str) -> str:
    return f"implementing({value(type_uri)})"


def eq(prop: str, target: str | int) -> str:
    return f"eq({prop},{value(target)})"


def select(*relations: str) -> str:
    return f"select({','.join(relations)})"


def limit(start: int, count: int) -> str:
    return f"limit({start},{count})"


def query(*terms: str) -> str:
    """Terms joined by ``,``: a top-level RQL conjunction."""
    return ",".join(terms)
