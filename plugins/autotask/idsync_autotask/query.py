"""Building Autotask query filters.

A query body is ``{"filter": [...], "IncludeFields": [...], "MaxRecords": n}``; top-level filter
entries are ANDed, ``and``/``or`` nest through ``items``, and every other operator compares one
``field`` with a ``value`` (``exist``/``notExist`` take none). Field names are matched
case-insensitively by Autotask; we send them camelCase as the API returns them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

Filter = dict[str, Any]

COMPARISONS = frozenset({"eq", "noteq", "gt", "gte", "lt", "lte",
                         "beginsWith", "endsWith", "contains", "in", "notIn"})
PRESENCE = frozenset({"exist", "notExist"})
GROUPS = frozenset({"and", "or"})

MAX_OR_CONDITIONS = 500
"""Autotask refuses queries with more than 500 "OR" conditions. Whether each value of an ``in``
list counts as one is UNCONFIRMED; we assume it does, which is the safe reading."""

MAX_RECORDS = 500
"""The largest page Autotask serves (and its default)."""


def cond(op: str, field: str, value: Any = None, *, udf: bool = False) -> Filter:
    """One condition. ``udf=True`` compares the user-defined field *named* ``field``."""
    if op in PRESENCE:
        item: Filter = {"op": op, "field": field}
    elif op in COMPARISONS:
        if op in ("in", "notIn") and not isinstance(value, list):
            raise ValueError(f"`{op}` needs a list of values")
        if value is None:
            raise ValueError(f"`{op}` needs a value (Autotask refuses null)")
        item = {"op": op, "field": field, "value": value}
    else:
        raise ValueError(f"unknown Autotask filter operator {op!r}")
    if udf:
        item["udf"] = True
    return item


def eq(field: str, value: Any) -> Filter:
    return cond("eq", field, value)


def all_of(*items: Filter) -> Filter:
    return {"op": "and", "items": list(items)}


def any_of(*items: Filter) -> Filter:
    return {"op": "or", "items": list(items)}


def or_conditions(filters: Iterable[Filter]) -> int:
    """How many "OR" conditions a filter list holds (``or`` branches and ``in`` values)."""
    total = 0
    for item in filters:
        op = item.get("op")
        if op == "or":
            total += len(item.get("items", []))
        if op in ("in", "notIn"):
            total += len(item.get("value", []))
        if op in GROUPS:
            total += or_conditions(item.get("items", []))
    return total


def in_batches(field: str, values: Sequence[Any], *, base: Sequence[Filter] = (),
               limit: int = MAX_OR_CONDITIONS) -> Iterator[list[Filter]]:
    """Filters selecting ``field in values``, split so each stays within Autotask's limit.

    ``base`` conditions are ANDed into every batch and their own OR conditions count too.
    Duplicate values are sent once; no values yields nothing (there is nothing to ask for).
    """
    unique = list(dict.fromkeys(values))
    room = limit - or_conditions(base)
    if room < 1:
        raise ValueError("the base filter alone uses every OR condition Autotask allows")
    for start in range(0, len(unique), room):
        yield [*base, cond("in", field, unique[start:start + room])]
