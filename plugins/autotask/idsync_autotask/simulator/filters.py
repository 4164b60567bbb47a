"""The simulator's query engine: Autotask's filter language over in-memory rows.

Body keys, operator names and field names are case-insensitive; top-level conditions are ANDed;
``and``/``or`` nest through ``items``; ``udf: true`` compares a user-defined field by name.
Values are compared as the field's type (numbers as numbers, date-times as instants, strings
case-insensitively, as Autotask's SQL Server collation does). Malformed queries are refused the
way Autotask refuses them: HTTP 500 with ``errors[]``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from idsync_autotask.simulator.schema import Entity, Field

MAX_RECORDS = 500
MAX_OR_CONDITIONS = 500
MAX_UDF_CONDITIONS = 1

SCALAR_OPS = {"eq", "noteq", "gt", "gte", "lt", "lte"}
TEXT_OPS = {"beginswith", "endswith", "contains"}
LIST_OPS = {"in", "notin"}
PRESENCE_OPS = {"exist", "notexist"}
GROUP_OPS = {"and", "or"}

_FRACTION = re.compile(r"(\.\d{6})\d+")


class QueryError(Exception):
    """A query Autotask would refuse; the message is what the simulator answers in errors[]."""


@dataclass(frozen=True)
class Query:
    filters: list[dict[str, Any]]
    include: list[Field] | None
    max_records: int


def lower_keys(body: dict[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in body.items()}


def parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(value)
    parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_query(entity: Entity, body: Any) -> Query:
    if not isinstance(body, dict):
        raise QueryError("The query body must be a JSON object with a filter.")
    keys = lower_keys(body)
    filters = keys.get("filter")
    if not isinstance(filters, list) or not filters:
        raise QueryError("Invalid query: a filter with at least one condition is required.")
    for item in filters:
        _check(entity, item)
    if _or_count(filters) > MAX_OR_CONDITIONS:
        raise QueryError("Invalid query syntax. Queries are limited to 500 or fewer 'OR' "
                         "conditions.")
    if _udf_count(filters) > MAX_UDF_CONDITIONS:
        raise QueryError("Invalid query: only one user-defined field may be queried at a time.")
    include = None
    raw_include = keys.get("includefields")
    if raw_include:
        if not isinstance(raw_include, list):
            raise QueryError("IncludeFields must be a list of field names.")
        include = [_field(entity, str(name)) for name in raw_include]
    max_records = keys.get("maxrecords") or MAX_RECORDS
    if not isinstance(max_records, int) or not 1 <= max_records <= MAX_RECORDS:
        raise QueryError("MaxRecords must be between 1 and 500.")
    return Query(filters, include, max_records)


def _field(entity: Entity, name: str) -> Field:
    found = entity.lookup(name)
    if found is None:
        raise QueryError(f"Unable to find {name} in the {entity.name} entity.")
    return found


def _check(entity: Entity, item: Any) -> None:
    if not isinstance(item, dict):
        raise QueryError("Each filter condition must be a JSON object.")
    keys = lower_keys(item)
    op = str(keys.get("op", "")).lower()
    if op in GROUP_OPS:
        items = keys.get("items")
        if not isinstance(items, list) or not items:
            raise QueryError(f"The '{op}' operator needs a list of items.")
        for child in items:
            _check(entity, child)
        return
    if op not in SCALAR_OPS | TEXT_OPS | LIST_OPS | PRESENCE_OPS:
        raise QueryError(f"Invalid query operator: {keys.get('op')!r}.")
    name = keys.get("field")
    if not isinstance(name, str) or not name:
        raise QueryError(f"The '{op}' operator needs a field.")
    if not keys.get("udf"):
        _field(entity, name)
    value = keys.get("value")
    if op in PRESENCE_OPS:
        return
    if value is None:
        raise QueryError(f"The '{op}' operator on {name} needs a value; null is not allowed.")
    if op in LIST_OPS and not isinstance(value, list):
        raise QueryError(f"The '{op}' operator on {name} needs an array of values.")
    if op not in LIST_OPS and isinstance(value, list | dict):
        raise QueryError(f"The '{op}' operator on {name} needs a single value.")


def _or_count(filters: list[Any]) -> int:
    total = 0
    for item in filters:
        keys = lower_keys(item)
        op = str(keys.get("op", "")).lower()
        if op == "or":
            total += len(keys["items"])
        if op in LIST_OPS:
            total += len(keys["value"])
        if op in GROUP_OPS:
            total += _or_count(keys["items"])
    return total


def _udf_count(filters: list[Any]) -> int:
    total = 0
    for item in filters:
        keys = lower_keys(item)
        if str(keys.get("op", "")).lower() in GROUP_OPS:
            total += _udf_count(keys["items"])
        elif keys.get("udf"):
            total += 1
    return total


def _coerce(kind: str, value: Any, name: str) -> Any:
    """A filter value (or a row value) as a comparable Python value of the field's type."""
    if value is None:
        return None
    try:
        if kind in ("integer", "long", "decimal", "double"):
            if isinstance(value, bool):
                raise ValueError(value)
            return Decimal(str(value))
        if kind == "boolean":
            if not isinstance(value, bool):
                raise ValueError(value)
            return value
        if kind == "datetime":
            return parse_datetime(value)
    except (ValueError, InvalidOperation):
        raise QueryError(f"The value {value!r} is not valid for {name} ({kind}).") from None
    return str(value).casefold()


def _row_value(entity: Entity, row: dict[str, Any], keys: dict[str, Any]) -> tuple[str, Any]:
    name = str(keys["field"])
    if keys.get("udf"):
        for udf in row.get("userDefinedFields") or []:
            if str(udf.get("name", "")).lower() == name.lower():
                return "string", udf.get("value")
        return "string", None
    found = _field(entity, name)
    return found.type, row.get(found.name)


def matches(entity: Entity, row: dict[str, Any], item: dict[str, Any]) -> bool:
    keys = lower_keys(item)
    op = str(keys["op"]).lower()
    if op == "and":
        return all(matches(entity, row, child) for child in keys["items"])
    if op == "or":
        return any(matches(entity, row, child) for child in keys["items"])
    kind, raw = _row_value(entity, row, keys)
    name = str(keys["field"])
    if op in PRESENCE_OPS:
        present = raw is not None and raw != ""
        return present if op == "exist" else not present
    current = _coerce(kind, raw, name)
    if op in LIST_OPS:
        wanted = [_coerce(kind, v, name) for v in keys["value"]]
        return (current in wanted) if op == "in" else (current not in wanted)
    if op in TEXT_OPS:
        if current is None:
            return False
        text, part = str(raw).casefold(), str(keys["value"]).casefold()
        if op == "beginswith":
            return text.startswith(part)
        return text.endswith(part) if op == "endswith" else part in text
    wanted = _coerce(kind, keys["value"], name)
    if op == "noteq":
        return bool(current != wanted)
    if current is None:
        return False
    if op == "eq":
        return bool(current == wanted)
    if op == "gt":
        return bool(current > wanted)
    if op == "gte":
        return bool(current >= wanted)
    if op == "lt":
        return bool(current < wanted)
    return bool(current <= wanted)


def select(entity: Entity, rows: list[dict[str, Any]], filters: list[dict[str, Any]],
           ) -> list[dict[str, Any]]:
    """The rows matching every top-level condition, in ascending id order."""
    return sorted((r for r in rows if all(matches(entity, r, f) for f in filters)),
                  key=lambda r: r["id"])


def fingerprint(entity: Entity, query: Query) -> str:
    """What ``query`` asks for, as text, so that two spellings of one query compare equal.

    Autotask reads a query by its meaning, so a client may re-send it differently on the next
    page: keys, operators and field names in another case, ``MaxRecords`` left out or given as
    the default 500, ``IncludeFields`` in another order, ANDed or ORed conditions in another
    order, ``101`` for ``"101"``, a string in another case (the collation ignores it).
    """
    include = None if query.include is None else sorted({f.name for f in query.include})
    return json.dumps({"filter": sorted(_condition_text(entity, f) for f in query.filters),
                       "include": include, "maxRecords": query.max_records})


def _condition_text(entity: Entity, item: dict[str, Any]) -> str:
    keys = lower_keys(item)
    op = str(keys["op"]).lower()
    if op in GROUP_OPS:
        return json.dumps([op, sorted(_condition_text(entity, c) for c in keys["items"])])
    udf = bool(keys.get("udf"))
    name = str(keys["field"])
    found = None if udf else _field(entity, name)
    kind = "string" if found is None else found.type
    value: Any = None
    if op in LIST_OPS:
        value = sorted({_value_text(kind, v, name) for v in keys["value"]})
    elif op in TEXT_OPS:
        value = str(keys["value"]).casefold()
    elif op not in PRESENCE_OPS:
        value = _value_text(kind, keys["value"], name)
    return json.dumps([op, name.casefold() if found is None else found.name, udf, value])


def _value_text(kind: str, value: Any, name: str) -> str:
    """A filter value as compared (:func:`_coerce`), written out."""
    coerced = _coerce(kind, value, name)
    if isinstance(coerced, Decimal):
        return str(coerced.normalize())
    if isinstance(coerced, datetime):
        return coerced.isoformat()
    return json.dumps(coerced)


def project(row: dict[str, Any], include: list[Field] | None) -> dict[str, Any]:
    """IncludeFields: only those fields, plus ``id`` and ``userDefinedFields``."""
    if include is None:
        return dict(row)
    out = {"id": row["id"]}
    out.update({f.name: row.get(f.name) for f in include})
    out["userDefinedFields"] = row.get("userDefinedFields", [])
    return out
