"""The simulated tenant: its records, and how adjustments move contract service units.

Quantities live in ContractServiceUnits rows, one per contract service per billing period (the
contract's ``contractPeriodType`` from its start date), as Autotask keeps them. An adjustment
effective on date *d* changes every row from *d* on: a row that starts before *d* and ends on or
after it is split (it now ends the day before *d*, and a new row with the new count runs from *d*
to the old end), later rows get the new count in place. A service with no rows yet gets rows
from *d* to the contract's end. Adjustments themselves are stored for ``/_sim`` only: the API
can create them, never read them.
"""

from __future__ import annotations

import calendar
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from idsync_autotask.simulator.filters import parse_datetime
from idsync_autotask.simulator.schema import (
    ENTITIES,
    PERIOD_MONTHS,
    RECURRING_SERVICE,
    Entity,
)


class Refused(Exception):
    """Autotask would refuse this write: HTTP 500 with the message in ``errors[]``."""


def wire_date(day: date) -> str:
    return f"{day.isoformat()}T00:00:00"


def day_of(value: Any) -> date:
    return parse_datetime(value).date()


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def billing_periods(start: date, end: date, months: int) -> list[tuple[date, date]]:
    """The contract's billing periods: ``months`` long from its start, the last one clipped."""
    periods: list[tuple[date, date]] = []
    step = 0
    while True:
        begin = _add_months(start, step * months)
        if begin > end:
            return periods
        periods.append((begin, min(end, _add_months(start, (step + 1) * months) - timedelta(1))))
        step += 1


def utc_now() -> datetime:
    return datetime.now(UTC)


class Tenant:
    """All records of one simulated Autotask database. Every method runs under ``lock``.

    ``now`` is the clock of the dates the API stamps on writes (see ``schema``).
    """

    def __init__(self, now: Callable[[], datetime] = utc_now) -> None:
        self.now = now
        self.lock = threading.RLock()
        self.tables: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in ENTITIES}
        self._next_id: dict[str, int] = {name: 1000 for name in ENTITIES}
        self._indexes: dict[tuple[str, str], dict[Any, list[dict[str, Any]]]] = {}

    # -- plain records ------------------------------------------------------------------

    def entity_rows(self, entity: Entity) -> list[dict[str, Any]]:
        return list(self.tables[entity.name.lower()].values())

    INDEXED = ("id", "contractID", "companyID", "contractServiceID")
    """Fields whose top-level ``eq`` narrows a query through an index (the simulator's own
    speed-up for large benchmark tenants; the answer is the same as a full scan)."""

    def candidates(self, entity: Entity, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows a query's filters can match: those of an indexed ``eq`` value, else all."""
        table = entity.name.lower()
        fields = {f.name.lower(): f.name for f in entity.fields}
        for item in filters:
            keys = {str(k).lower(): v for k, v in item.items()} if isinstance(item, dict) else {}
            field = fields.get(str(keys.get("field", "")).lower())
            value = keys.get("value")
            if (str(keys.get("op", "")).lower() == "eq" and field in self.INDEXED
                    and isinstance(value, int) and not isinstance(value, bool)
                    and not keys.get("udf")):
                return list(self._index(table, field).get(value, ()))
        return self.entity_rows(entity)

    def _index(self, table: str, field: str) -> dict[Any, list[dict[str, Any]]]:
        """Rows by ``field``, built on first use and kept up to date by :meth:`insert` (an
        :meth:`update` of an indexed field drops the table's indexes)."""
        index = self._indexes.get((table, field))
        if index is None:
            index = {}
            for row in self.tables[table].values():
                index.setdefault(row.get(field), []).append(row)
            self._indexes[(table, field)] = index
        return index

    def normalise(self, entity: Entity, values: dict[str, Any]) -> dict[str, Any]:
        """A full row: every field of the entity (null when absent), canonical names, dates
        as Autotask writes them, plus ``userDefinedFields``."""
        given = {str(k).lower(): v for k, v in values.items()}
        unknown = sorted(set(given) - set(entity.by_lower) - {"userdefinedfields"})
        if unknown:
            raise Refused(f"Unable to find {unknown[0]} in the {entity.name} entity.")
        row: dict[str, Any] = {}
        for f in entity.fields:
            value = given.get(f.name.lower())
            if value is not None and f.type == "datetime":
                try:
                    value = parse_datetime(value).strftime("%Y-%m-%dT%H:%M:%S")
                except ValueError:
                    raise Refused(f"{value!r} is not a valid date for {f.name}.") from None
            row[f.name] = value
        row["userDefinedFields"] = list(given.get("userdefinedfields") or [])
        return row

    def _stamp_text(self) -> str:
        """Now as Autotask writes its stamps: UTC, milliseconds, no zone (``…T13:10:35.563``)."""
        return self.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]

    def insert(self, entity: Entity, values: dict[str, Any]) -> dict[str, Any]:
        """Store a new record; an ``id`` or a stamp given (seeding) is kept, else the next id
        and now are used (the API strips them from clients' bodies: ``Entity.writable``)."""
        row = self.normalise(entity, values)
        stamp = None  # one moment for every stamp of the record, read only if one is needed
        for f in entity.fields:
            if f.stamp is not None and row[f.name] is None:
                stamp = stamp or self._stamp_text()
                row[f.name] = stamp
        missing = [f.name for f in entity.fields
                   if f.required and f.name != "id" and row.get(f.name) is None]
        if missing:
            raise Refused(f"{missing[0]} is required for {entity.name}.")
        table = self.tables[entity.name.lower()]
        key = entity.name.lower()
        if row["id"] is None:
            row["id"] = self._next_id[key]
        if row["id"] in table:
            raise Refused(f"{entity.name} {row['id']} already exists.")
        self._next_id[key] = max(self._next_id[key], int(row["id"]) + 1)
        table[row["id"]] = row
        for (name, field), index in self._indexes.items():
            if name == key:
                index.setdefault(row.get(field), []).append(row)
        return row

    def update(self, entity: Entity, values: dict[str, Any], *, replace: bool) -> int:
        """PATCH (the given fields) or PUT (every field; missing ones become null). Read-only
        fields (and those the entity does not let an update change) are kept: never taken from
        the body, never nulled; the "modified" stamps move to now."""
        given = {str(k).lower(): v for k, v in values.items()}
        row = self.get(entity.name, given.get("id"))
        if row is None:
            raise Refused(f"No matching {entity.name} record found for id {given.get('id')}.")
        fresh = self.normalise(entity, values)
        for f in entity.fields:
            kept = f.read_only or (entity.updatable is not None and f.name not in entity.updatable)
            if kept or (not replace and f.name.lower() not in given):
                continue
            row[f.name] = fresh[f.name]
        stamp = self._stamp_text()
        for f in entity.fields:
            if f.stamp == "modified":
                row[f.name] = stamp
        if {f.lower() for f in self.INDEXED if f != "id"} & set(given):
            table = entity.name.lower()
            for key in [k for k in self._indexes if k[0] == table]:
                del self._indexes[key]
        return int(row["id"])

    def get(self, name: str, item_id: Any) -> dict[str, Any] | None:
        return self.tables[name.lower()].get(item_id)

    # -- contract services and units ----------------------------------------------------

    def add_contract_service(self, values: dict[str, Any]) -> dict[str, Any]:
        """A service put on a Recurring Service contract; it has no units until adjusted."""
        given = {str(k).lower(): v for k, v in values.items()}
        contract = self.get("Contracts", given.get("contractid"))
        if contract is None or contract["contractType"] != RECURRING_SERVICE:
            raise Refused("contractID must reference a Recurring Service type Contract "
                          "(Contract.ContractType = 7).")
        service = self.get("Services", given.get("serviceid"))
        if service is None:
            raise Refused(f"serviceID {given.get('serviceid')} does not reference a Service.")
        if any(cs["contractID"] == contract["id"] and cs["serviceID"] == service["id"]
               for cs in self.tables["contractservices"].values()):
            raise Refused(f"Service {service['id']} is already on contract {contract['id']}.")
        row = dict(values)
        row.setdefault("unitPrice", service["unitPrice"])
        row.setdefault("unitCost", service["unitCost"])
        return self.insert(ENTITIES["contractservices"], row)

    def units_rows(self, contract_service_id: int) -> list[dict[str, Any]]:
        rows = list(self._index("contractserviceunits", "contractServiceID").get(
            contract_service_id, ()))
        return sorted(rows, key=lambda r: (r["startDate"], r["id"]))

    def units_on(self, contract_service_id: int, day: date) -> int:
        for row in self.units_rows(contract_service_id):
            if day_of(row["startDate"]) <= day <= day_of(row["endDate"]):
                return int(row["units"])
        return 0

    def _periods(self, contract: dict[str, Any]) -> list[tuple[date, date]]:
        months = PERIOD_MONTHS.get(contract.get("contractPeriodType") or 1, 1)
        return billing_periods(day_of(contract["startDate"]), day_of(contract["endDate"]), months)

    def _new_units_row(self, cs: dict[str, Any], start: date, end: date, units: int,
                       ) -> dict[str, Any]:
        return self.insert(ENTITIES["contractserviceunits"], {
            "contractID": cs["contractID"], "contractServiceID": cs["id"],
            "serviceID": cs["serviceID"], "startDate": wire_date(start),
            "endDate": wire_date(end), "units": units, "price": cs["unitPrice"],
            "cost": cs["unitCost"], "internalCurrencyPrice": cs["unitPrice"]})

    def _fill(self, cs: dict[str, Any], start: date, end: date, units: int) -> None:
        """Rows for the contract's periods between ``start`` and ``end`` (inclusive)."""
        contract = self.tables["contracts"][cs["contractID"]]
        for begin, finish in self._periods(contract):
            if finish < start or begin > end:
                continue
            self._new_units_row(cs, max(begin, start), min(finish, end), units)

    def seed_units(self, cs: dict[str, Any], units: int) -> None:
        """A seeded contract service holding ``units`` from the contract's start."""
        contract = self.tables["contracts"][cs["contractID"]]
        self._fill(cs, day_of(contract["startDate"]), day_of(contract["endDate"]), units)

    def adjust(self, values: dict[str, Any]) -> dict[str, Any]:
        """Create a ContractServiceAdjustment and apply it to the units rows."""
        given = {str(k).lower(): v for k, v in values.items()}
        if given.get("effectivedate") is None:
            raise Refused("effectiveDate is required for ContractServiceAdjustments.")
        change = given.get("unitchange")
        if not isinstance(change, int) or isinstance(change, bool):
            raise Refused("unitChange must be a whole number.")
        try:
            day = day_of(given["effectivedate"])
        except ValueError:
            raise Refused("effectiveDate is not a valid date.") from None
        cs = self._service_for(given)
        contract = self.tables["contracts"][cs["contractID"]]
        if not day_of(contract["startDate"]) <= day <= day_of(contract["endDate"]):
            raise Refused("The effective date must be within the contract's start and end "
                          "dates.")
        rows = self.units_rows(cs["id"])
        affected = [r for r in rows if day_of(r["endDate"]) >= day]
        if any(int(r["units"]) + change < 0 for r in affected) or (
                change < 0 and (not rows or day < day_of(rows[0]["startDate"]))):
            raise Refused("The adjustment would leave the service with fewer than 0 units.")
        if not rows:
            self._fill(cs, day, day_of(contract["endDate"]), change)
        elif day < day_of(rows[0]["startDate"]):
            self._fill(cs, day, day_of(rows[0]["startDate"]) - timedelta(1), change)
        for row in affected:
            start, end = day_of(row["startDate"]), day_of(row["endDate"])
            if start < day:
                row["endDate"] = wire_date(day - timedelta(1))
                self._new_units_row(cs, day, end, int(row["units"]) + change)
            else:
                row["units"] = int(row["units"]) + change
        record = dict(values)
        record.update({"contractID": cs["contractID"], "contractServiceID": cs["id"],
                       "serviceID": cs["serviceID"]})
        return self.insert(ENTITIES["contractserviceadjustments"], record)

    def _service_for(self, given: dict[str, Any]) -> dict[str, Any]:
        """The adjusted contract service: by id, or by contract and service (created when the
        service is not on the contract yet, as Autotask documents)."""
        cs_id = given.get("contractserviceid")
        if cs_id is not None:
            cs = self.get("ContractServices", cs_id)
            if cs is None:
                raise Refused(f"contractServiceID {cs_id} does not reference a ContractService.")
            if given.get("contractid") not in (None, cs["contractID"]):
                raise Refused("contractServiceID does not belong to contractID.")
            return cs
        contract_id, service_id = given.get("contractid"), given.get("serviceid")
        if contract_id is None or service_id is None:
            raise Refused("Either contractServiceID, or contractID and serviceID, are required.")
        for cs in self.tables["contractservices"].values():
            if cs["contractID"] == contract_id and cs["serviceID"] == service_id:
                return cs
        return self.add_contract_service({"contractID": contract_id, "serviceID": service_id})
