"""Contract service units *as of a date*.

Autotask keeps a recurring contract's quantities in ContractServiceUnits: one row per service per
billing period, split by every adjustment (the new row starts on the adjustment's effective date
and runs to the period's end, later periods carry the new count). The quantity of a service on a
date is the ``units`` of the row covering that date, and a service with no row covering it has no
units then. The rows are queried in batches (``contractServiceID in [...]``), never one request
per service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from idsync_autotask.client import AutotaskClient
from idsync_autotask.mapping import api_date, money, parse_date
from idsync_autotask.query import cond, eq, in_batches
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
    """Two rows covering one date (should not happen): the later split wins, then the newer row."""
    return b is None or (a.start, a.id) > (b.start, b.id)


def units_as_of(client: AutotaskClient, contract_id: int, contract_service_ids: Iterable[int],
                as_of: date) -> dict[int, UnitsRow]:
    """The row covering ``as_of`` of each contract service that has one, by contract service id.

    The server-side date filter is a little wider than needed (date-times compare at midnight);
    the exact choice is made here on the calendar dates.
    """
    base = [eq("contractID", contract_id),
            cond("lt", "startDate", api_date(as_of + timedelta(days=1))),
            cond("gte", "endDate", api_date(as_of))]
    found: dict[int, UnitsRow] = {}
    for filters in in_batches("contractServiceID", sorted(set(contract_service_ids)),
                              base=base):
        for raw in client.query("ContractServiceUnits", filters, fields=UNIT_FIELDS):
            start, end = parse_date(raw.get("startDate")), parse_date(raw.get("endDate"))
            units = money(raw.get("units"))
            service = raw.get("contractServiceID")
            if start is None or end is None or units is None or not isinstance(service, int):
                # Guessing here could post seats twice: a row we cannot read stops the run.
                raise ApiError(f"Autotask ContractServiceUnits row {raw.get('id')} lacks its "
                               "contractServiceID, dates or units")
            if not start <= as_of <= end:
                continue
            row = UnitsRow(int(raw["id"]), service, start, end, units, money(raw.get("price")),
                           money(raw.get("cost")))
            if _newer(row, found.get(service)):
                found[service] = row
    return found
