"""Contract service units *as of a date*.

Autotask keeps a recurring contract's quantities in ContractServiceUnits: one row per service per
billing period, split by every adjustment (the new row starts on the adjustment's effective date
and runs to the period's end, later periods carry the new count). The quantity of a service on a
date is the ``units`` of the row covering that date (see :func:`units_as_of` for a date past the
last row). The rows are queried in batches (``contractServiceID in [...]``), never one request
per service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from idsync_autotask.client import AutotaskClient
from idsync_autotask.mapping import api_date, money, parse_date
from idsync_autotask.query import Filter, cond, eq, in_batches
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


def units_as_of(client: AutotaskClient, contract_id: int, contract_service_ids: Iterable[int],
                as_of: date, *, carry_forward: bool) -> dict[int, UnitsRow]:
    """The row giving the units of each contract service on ``as_of``, by contract service id;
    a service without one has no units on that date.

    Normally that is the row covering ``as_of``. Whether Autotask creates the rows of every
    period up to the contract's end in advance is UNCONFIRMED, so with ``carry_forward`` (the
    caller says ``as_of`` is within the contract's term) a service whose rows stop before
    ``as_of`` keeps the units of its last row: units only change through adjustments, and
    reading 0 there would make IDSync post the whole count again.
    """
    wanted = sorted(set(contract_service_ids))
    covering = _rows(client, contract_id, wanted, as_of, [
        cond("lt", "startDate", api_date(as_of + timedelta(days=1))),
        cond("gte", "endDate", api_date(as_of))])
    found = {service: row for service, row in covering.items() if row.start <= as_of <= row.end}
    missing = [service for service in wanted if service not in found]
    if missing and carry_forward:
        earlier = _rows(client, contract_id, missing, as_of, [
            cond("lt", "startDate", api_date(as_of + timedelta(days=1)))])
        found.update({service: row for service, row in earlier.items() if row.end < as_of})
    return found


def _rows(client: AutotaskClient, contract_id: int, services: list[int], as_of: date,
          conditions: list[Filter]) -> dict[int, UnitsRow]:
    """Per contract service, the latest row starting on or before ``as_of`` among those the
    conditions select (the date-times compare at midnight, so the server-side filter is a little
    wider than needed; the exact choice is made here on the calendar dates)."""
    base = [eq("contractID", contract_id), *conditions]
    found: dict[int, UnitsRow] = {}
    for filters in in_batches("contractServiceID", services, base=base):
        for raw in client.query("ContractServiceUnits", filters, fields=UNIT_FIELDS):
            start, end = parse_date(raw.get("startDate")), parse_date(raw.get("endDate"))
            units = money(raw.get("units"))
            service = raw.get("contractServiceID")
            if start is None or end is None or units is None or not isinstance(service, int):
                # Guessing here could post seats twice: a row we cannot read stops the run.
                raise ApiError(f"Autotask ContractServiceUnits row {raw.get('id')} lacks its "
                               "contractServiceID, dates or units")
            if start > as_of:
                continue
            row = UnitsRow(int(raw["id"]), service, start, end, units, money(raw.get("price")),
                           money(raw.get("cost")))
            if _newer(row, found.get(service)):
                found[service] = row
    return found


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
            raise ApiError(f"Autotask ContractServiceUnits row {raw.get('id')} lacks its "
                           "contractServiceID, dates or units")
        rows.append(UnitsRow(int(raw["id"]), service, start, end, units,
                             money(raw.get("price")), money(raw.get("cost"))))
    return rows


def units_on(rows: Iterable[UnitsRow], contract_service_ids: Iterable[int], as_of: date, *,
             carry_forward: bool) -> dict[int, UnitsRow]:
    """:func:`units_as_of` computed from rows already read: per contract service, the newest
    row covering ``as_of``; with ``carry_forward``, else the newest row ending before it."""
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
