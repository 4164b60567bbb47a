"""Rows whose meaning the author knows (``SuiteConfig.known``), read back and compared.

A connector can return valid models with every id right and still bill wrongly: every quantity
read as 0, a cancelled subscription mapped to active, the price where the cost belongs. Only
values the author knows from the seed can catch that, and only when they could tell a bug from
a coincidence: two rows with different quantities, two different statuses, a price that is not
its cost. :func:`check_known` enforces both.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NoReturn

import pytest
from pydantic import BaseModel

from idsync_core.plugins import Connection
from idsync_core.testing.checks import LISTING_MODELS, valid_rows
from idsync_core.testing.config import KNOWN_FIELDS, Known

WHERE: dict[str, dict[str, tuple[str, ...]]] = {
    "provider": {"quantity": ("list_resources",), "seat_based": ("list_resources",),
                 "status": ("list_subscriptions",), "unit_price": ("list_resources",),
                 "unit_cost": ("list_resources",)},
    "psa": {"quantity": ("list_lines",), "status": ("list_agreements",),
            "unit_price": ("list_lines",), "unit_cost": ("list_lines",),
            "price": ("list_catalog",), "cost": ("list_catalog",)},
}
"""Which listing's rows carry each field, per kind of connector."""

PRICE_PAIRS = (("unit_price", "unit_cost"), ("price", "cost"))

EXAMPLES = {
    "provider": {
        "quantities": "Known('list_resources', {'subscription_id': 'S-1'}, 'S-1:SKU', "
                      "{'quantity': 8})",
        "statuses": "Known('list_subscriptions', {'account_id': 'A-1'}, 'S-2', "
                    "{'status': 'terminated'})",
        "prices": "Known('list_resources', {'subscription_id': 'S-1'}, 'S-1:SKU', "
                  "{'unit_price': '4.80', 'unit_cost': '4.00'})",
    },
    "psa": {
        "quantities": "Known('list_lines', {'agreement_id': '871', 'as_of': date(2026, 1, 1)}, "
                      "'LINE-ID', {'quantity': 8})",
        "statuses": "Known('list_agreements', {'company_id': '250'}, '870', "
                    "{'status': 'expired'})",
        "prices": "Known('list_catalog', {}, '812', {'price': '4.80', 'cost': '4.00'})",
    },
}

WHY = {
    "quantities": "rows with at least two different quantities (a connector reading every "
                  "quantity as 0, or as any one number, passes with fewer)",
    "statuses": "rows with at least two different statuses (a connector mapping every status "
                "to one value passes with fewer)",
    "prices": "a row whose price and cost differ (with equal ones a swap cannot show)",
}


SINGULAR = {"quantities": "quantity", "statuses": "status", "prices": "price or cost"}


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


def _read(connection: Connection, known: Known) -> BaseModel:
    model = LISTING_MODELS.get(known.method)
    if model is None:
        _fail(f"Known row {known.id!r}: {known.hook!r} is not a listing hook")
    rows = valid_rows(getattr(connection, known.method)(**known.args), model, known.describe())
    row = next((r for r in rows if getattr(r, "id", None) == known.id), None)
    if row is None:
        found = [getattr(r, "id", None) for r in rows[:8]]
        _fail(f"{known.describe()} has no row {known.id!r} (it returned {found}"
              f"{' …' if len(rows) > 8 else ''}): is SuiteConfig.known about SuiteConfig.seed?")
    return row


def _seeded(row: BaseModel, name: str, value: Any) -> Any:
    """``value`` as the row's model holds it (``"4.80"`` → ``Decimal('4.80')``, an enum)."""
    return getattr(type(row).model_validate({**row.model_dump(), name: value}), name)


def check_known(connection: Connection, kind: str, known: list[Known], group: str) -> None:
    """Read every row of ``known`` naming a field of ``group`` (``quantities``, ``statuses``,
    ``prices``) and compare; fail when they differ, or when they could not show a bug."""
    fields = [name for name, owner in KNOWN_FIELDS.items() if owner == group]
    rows = [k for k in known if any(name in k.values for name in fields)]
    example = EXAMPLES[kind][group]
    if not rows:
        _fail(f"SuiteConfig.known names no row with its {group}: add {WHY[group]}, e.g. "
              f"{example}")
    wrong: list[str] = []
    wanted: list[dict[str, Any]] = []
    got: list[dict[str, Any]] = []
    for item in rows:
        row = _read(connection, item)
        want: dict[str, Any] = {}
        for name in (n for n in fields if n in item.values):
            allowed = WHERE[kind].get(name, ())
            if item.method not in allowed:
                _fail(f"Known row {item.id!r}: {name} is checked on {' or '.join(allowed)} "
                      f"rows of a {kind} connector, not on {item.method}")
            want[name] = _seeded(row, name, item.values[name])
            if getattr(row, name) != want[name]:
                wrong.append(f"{item.describe()} row {item.id}: {name} is "
                             f"{getattr(row, name)!r}, the seed has {want[name]!r}")
        wanted.append(want)
        got.append({name: getattr(row, name) for name in want})
    _enough(group, wanted, example)
    if wrong:
        _fail("; ".join(wrong) + _diagnosis(group, wanted, got))


def _distinct(rows: list[dict[str, Any]], name: str) -> set[Any]:
    return {row[name] for row in rows if name in row}


def _enough(group: str, wanted: list[dict[str, Any]], example: str) -> None:
    if group == "prices":
        enough = any(row.get(a) is not None and row.get(b) is not None and row[a] != row[b]
                     for row in wanted for a, b in PRICE_PAIRS)
    else:
        enough = len(_distinct(wanted, "quantity" if group == "quantities" else "status")) >= 2
    if not enough:
        _fail(f"SuiteConfig.known cannot catch a wrong {SINGULAR[group]}: add {WHY[group]}, e.g. "
              f"{example}")


def _collapsed(wanted: list[dict[str, Any]], got: list[dict[str, Any]], name: str) -> list[Any]:
    """``[value]`` when every row read as one value where the seed has several; else ``[]``."""
    values = _distinct(got, name)
    return list(values) if len(values) == 1 < len(_distinct(wanted, name)) else []


def _diagnosis(group: str, wanted: list[dict[str, Any]], got: list[dict[str, Any]]) -> str:
    """The likely bug behind the differences, when they have a telling shape."""
    if group == "quantities" and (one := _collapsed(wanted, got, "quantity")):
        return (f" — every quantity reads as {one[0]}: is the API's quantity field read at all?"
                if one[0] in (None, Decimal(0)) else
                f" — every quantity reads as {one[0]}: a constant instead of the API's field?")
    if group == "statuses" and (one := _collapsed(wanted, got, "status")):
        return f" — every status reads as {one[0]}: is the API's status mapped, or hard-coded?"
    if group == "prices" and any(
            w.get(a) is not None and w.get(a) != w.get(b)
            and (g.get(a), g.get(b)) == (w.get(b), w.get(a))
            for w, g in zip(wanted, got, strict=True) for a, b in PRICE_PAIRS):
        return " — price and cost are swapped"
    return ""
