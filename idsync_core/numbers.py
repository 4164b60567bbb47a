"""Numbers between IDSync and an API: JSON numbers ↔ ``Decimal``, and integer record ids.

Every connector reads quantities and money out of JSON rows and writes them into JSON bodies;
doing it once here keeps one rule for all of them:

* **Reading** (:func:`to_decimal`): an int, a ``Decimal`` (what :meth:`ApiClient.json_of`
  makes of a number with a fraction), a decimal string, or a float someone else decoded. A
  float goes through its ``repr``, the shortest text that reads back as the same float — the
  text the API sent — never through binary arithmetic.
* **Writing** (:func:`json_number`, :func:`json_body`): JSON has no decimal type and Python's
  encoder knows only int and float, so a whole ``Decimal`` goes as an int (exact at any size)
  and a fraction as the float whose ``repr`` is the same digits. Every value of up to 15
  significant digits has such a float (a binary double's guaranteed precision), and so has a
  longer one read from an API that stores doubles (``0.30000000000000004``). Any other value
  would reach the API changed, so it is refused before anything is sent: the guard checks the
  round trip itself rather than counting digits.
* **Ids** (:func:`integer_id`): ConnectWise and Autotask number their records; IDSync holds
  every id as a string, and one that is not a number cannot name a record there.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from idsync_core.errors import NotFoundError, RejectedError


class NotANumber(ValueError):
    """A value that is not a finite number; the message says what it is instead, as a
    predicate ("is not a number ('n/a')"), for a connector to put its field name before."""


def to_decimal(value: object) -> Decimal:
    """The exact ``Decimal`` of a JSON number or a decimal string; :class:`NotANumber` for
    anything else (booleans, other types, text that is no number, NaN and infinities)."""
    if isinstance(value, bool):
        raise NotANumber("is a boolean, not a number")
    try:
        if isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, int | Decimal):
            number = Decimal(value)
        elif isinstance(value, str):
            number = Decimal(value.strip())
        else:
            raise NotANumber(f"is not a number ({type(value).__name__})")
    except InvalidOperation:
        raise NotANumber(f"is not a number ({value!r})") from None
    if not number.is_finite():
        raise NotANumber(f"is not a finite number ({value!r})")
    return number


def json_number(value: Decimal) -> int | float:
    """``value`` as a JSON number that reads back as exactly ``value`` (see the module
    docstring); :class:`RejectedError` when there is none (too many significant digits)."""
    if value == value.to_integral_value():
        return int(value)
    number = float(value)
    sent = Decimal(repr(number))
    if sent != value:
        raise RejectedError(f"{value} has more significant digits than a JSON number carries "
                            f"exactly (the API would read {sent}); it was not sent")
    return number


def json_body(value: Any) -> Any:
    """A JSON body with every ``Decimal`` in it (at any depth) as a :func:`json_number`."""
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, dict):
        return {key: json_body(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_body(item) for item in value]
    return value


def integer_id(value: str, what: str, service: str) -> int:
    """The number of a ``service`` record named by ``value``; :class:`NotFoundError` when it is
    not one (``what`` names the kind of record in the message)."""
    try:
        return int(value)
    except ValueError:
        raise NotFoundError(f"{what} {value!r} does not exist in {service} (its ids are "
                            "numbers)") from None
