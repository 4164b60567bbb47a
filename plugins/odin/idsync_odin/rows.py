"""Reading values out of API rows, shared by both backends.

Real APIs send rows with missing fields and odd values. One odd row must not stop a sync of
hundreds of good ones, and must not be guessed at either: the mapping raises :class:`OddRow`,
and :func:`keep_good` logs it as a warning and drops that row. Quantities and money become
``Decimal``: from decimal strings as sent, and a JSON number through its shortest ``repr``,
which is the text the API sent (never through binary float arithmetic).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import ValidationError

from idsync_core.numbers import NotANumber, to_decimal

log = logging.getLogger("idsync_odin")

Row = TypeVar("Row")
Model = TypeVar("Model")


class OddRow(Exception):
    """A row the connector cannot map; the message says which field and why."""


def keep_good(rows: Iterable[Row], convert: Callable[[Row], Model],
              what: Callable[[Row], str]) -> Iterator[Model]:
    """Convert each row; warn about and skip odd ones (``what`` names a row in the warning)."""
    for row in rows:
        try:
            model = convert(row)
        except (OddRow, ValidationError) as exc:
            log.warning("skipping %s: %s", what(row), _reason(exc))
            continue
        yield model


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"`{'.'.join(str(p) for p in e['loc'])}` {e['msg']}"
                         for e in exc.errors(include_input=False, include_url=False))
    return str(exc)


def describe(kind: str, row: object, *keys: str) -> str:
    """``"Ingram customer 1000275"``, or the kind alone when the row has no usable id."""
    if isinstance(row, dict):
        for key in keys:
            value = row.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool):
                return f"{kind} {value}"
    return f"{kind} (a row without an id)"


def require_dict(row: object) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise OddRow(f"expected an object, got {type(row).__name__}")
    return row


def optional_text(row: dict[str, Any], key: str) -> str | None:
    """A non-empty string, or None when absent or blank (integer ids become strings)."""
    value = row.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    if value is None:
        return None
    raise OddRow(f"`{key}` is not text ({type(value).__name__})")


def text(row: dict[str, Any], key: str) -> str:
    """Like :func:`optional_text`, for a field the row cannot do without."""
    value = optional_text(row, key)
    if value is None:
        raise OddRow(f"`{key}` is missing")
    return value


def decimal(value: object, field: str) -> Decimal:
    """A finite Decimal from an integer, a decimal string or a JSON number
    (:func:`idsync_core.numbers.to_decimal`)."""
    try:
        return to_decimal(value)
    except NotANumber as exc:
        raise OddRow(f"`{field}` {exc}") from None


def quantity(value: object, field: str) -> Decimal:
    number = decimal(value, field)
    if number < 0:
        raise OddRow(f"`{field}` is negative ({value!r})")
    return number
