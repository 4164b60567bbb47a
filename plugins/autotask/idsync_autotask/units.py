"""Contract service units *as of a date*.

Autotask keeps a recurring contract's quantities in ContractServiceUnits: one row per service per
billing period, split by every adjustment (the new row starts on the adjustment's effective date
and runs to the period's end, later periods carry the new count). The quantity of a service on a
date is the ``units`` of the row covering that date (see :func:`units_on` for a date past the
last row). A contract's rows are read in one query (:func:`contract_units`), never one request
per service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from idsync_autotask.client import AutotaskClient
from idsync_autotask.mapping import money, parse_date
from idsync_autotask.query import eq
from idsync_core.errors import ApiError

UNIT_FIELDS = ("contractID", "contractServiceID", "serviceID", "startDate", "endDate", "units",
               "price", "cost")


@dataclass(frozen=True)
class UnitsRow:
    id: int
    contract_service_id: int
    start: date
    end: date
    units: Decimal
    price: Decimal | None
    cost: Decimal | None


def _newer(a: UnitsRow, b: UnitsRow | None) -> bool:
    """The later start wins (two rows covering one date should not happen; then the newer)."""
    return b is None or (a.start, a.id) > (b.start, b.id)


def contract_units(client: AutotaskClient, contract_id: int) -> list[UnitsRow]:
    """Every ContractServiceUnits row of the contract, in one query (all pages): what
    :func:`units_on` answers any date from. A contract holds one row per service per billing
    period, so a year of monthly billing for five services is 60 rows, one page."""
    rows = []
    for raw in client.query("ContractServiceUnits", [eq("contractID", contract_id)],
                            fields=UNIT_FIELDS):
        start, end = parse_date(raw.get("startDate")), parse_date(raw.get("endDate"))
        units = money(raw.get("units"))
        service = raw.get("contractServiceID")
        if start is None or end is None or units is None or not isinstance(service, int):
            # Guessing here could post seats twice: a row we cannot read stops the run.
            raise ApiError(f"Autotask ContractServiceUnits row {raw.get('id')} lacks its "
                           "contractServiceID, dates or units")
        rows.append(UnitsRow(int(raw["id"]), service, start, end, units,
                             money(raw.get("price")), money(raw.get("cost"))))
    return rows


def units_on(rows: Iterable[UnitsRow], contract_service_ids: Iterable[int], as_of: date, *,
             carry_forward: bool) -> dict[int, UnitsRow]:
    """The row giving the units of each contract service on ``as_of``, by contract service id,
    from rows already read; a service without one has no units on that date.

    Normally that is the newest row covering ``as_of``. Whether Autotask creates the rows of
    every period up to the contract's end in advance is UNCONFIRMED, so with ``carry_forward``
    (the caller says ``as_of`` is within the contract's term) a service whose rows stop before
    ``as_of`` keeps the units of its newest row ending before it: units only change through
    adjustments, and reading 0 there would make IDSync post the whole count again.
    """
    wanted = set(contract_service_ids)
    covering: dict[int, UnitsRow] = {}
    earlier: dict[int, UnitsRow] = {}
    for row in rows:
        service = row.contract_service_id
        if service not in wanted or row.start > as_of:
            continue
        chosen = covering if row.end >= as_of else earlier
        if _newer(row, chosen.get(service)):
            chosen[service] = row
    if carry_forward:
        for service, row in earlier.items():
            covering.setdefault(service, row)
    return covering
