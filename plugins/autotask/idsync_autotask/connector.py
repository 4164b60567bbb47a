"""The Autotask PSA connector: IDSync's PSA hooks answered from the Autotask REST API.

Autotask's model, and how it maps:

* company → ``Companies`` (active ones; id 0 is the MSP itself and is left out);
* agreement → a Recurring Service ``Contract`` (``contractType`` 7) of the company;
* agreement line → a ``ContractService`` (the contract's line for one catalog ``Service``), whose
  quantity on a date is the ``units`` of the ``ContractServiceUnits`` row covering that date;
* catalog item → a ``Service`` (its ``sku`` is the distributor's part number);
* quantity change → a create-only ``ContractServiceAdjustment`` with a signed ``unitChange``.

Adjustments cannot be read back, so a posting is confirmed by re-reading the units as of its
effective date, and made safe to repeat by reading them *before* posting too: a line that already
reads the target quantity is not posted again (see :meth:`Autotask.idsync_post_adjustment`).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from idsync_autotask import mapping
from idsync_autotask.client import AutotaskClient
from idsync_autotask.mapping import RECURRING_SERVICE_CONTRACT, api_date, whole_units
from idsync_autotask.query import any_of, cond, eq, in_batches
from idsync_autotask.settings import AutotaskSettings
from idsync_autotask.units import UnitsRow, contract_units, units_on
from idsync_core.caching import OnceCache, ParentIndex
from idsync_core.errors import (
    ApiError,
    MissingRecordError,
    OutcomeUnknownError,
    RejectedError,
)
from idsync_core.hookspecs import hookimpl
from idsync_core.http.wiring import REAL, Wiring
from idsync_core.models import (
    Adjustment,
    Agreement,
    AgreementLine,
    CatalogItem,
    Company,
    PostedAdjustment,
)
from idsync_core.numbers import integer_id

if TYPE_CHECKING:
    from idsync_autotask.simulator import AutotaskSimulator

log = logging.getLogger(__name__)

COMPANY_FIELDS = ("companyName", "companyNumber", "isActive")
CONTRACT_FIELDS = ("companyID", "contractName", "contractNumber", "contractType", "status",
                   "startDate", "endDate", "contractPeriodType")
CONTRACT_SERVICE_FIELDS = ("contractID", "serviceID", "unitPrice", "unitCost",
                           "invoiceDescription")
SERVICE_FIELDS = ("name", "sku", "unitPrice", "unitCost", "isActive",
                  "manufacturerServiceProviderProductNumber")


def _within_term(contract: dict[str, Any], day: date) -> bool:
    start = mapping.parse_date(contract.get("startDate"))
    end = mapping.parse_date(contract.get("endDate"))
    return (start is None or start <= day) and (end is None or day <= end)


@dataclass
class ContractState:
    """What a contract's lines are computed from: its services (by catalog service id, each
    list in id order) and every ContractServiceUnits row of the contract."""

    services: dict[int, list[dict[str, Any]]]
    units: list[UnitsRow]


class Autotask:
    """One Autotask tenant, as IDSync's PSA."""

    kind = "psa"
    title = "Autotask"
    settings_model = AutotaskSettings

    @staticmethod
    def simulator(seed: dict[str, Any] | None = None) -> AutotaskSimulator:
        """A simulator of the Autotask REST API for ``seed`` (docs/writing-a-connector.md §6).

        Imported when called: only `idsync simulator serve`, the demo and tests need it, and it
        pulls in Starlette, which every other command would pay for at start-up.
        """
        from idsync_autotask.simulator import create_simulator

        return create_simulator(seed)

    def __init__(self, settings: AutotaskSettings, *, wiring: Wiring = REAL) -> None:
        """``wiring`` is for tests (the conformance suite's clock, a transport): what waits
        for the thresholds or a Retry-After, and what times them."""
        self.settings = settings
        self.client = AutotaskClient(settings, wiring=wiring)
        self._period_labels: dict[str, str] | None = None
        self._labels_lock = threading.Lock()
        self._contracts: dict[int, dict[str, Any]] = {}
        """Contract rows read this run (listings and lookups), by id."""
        self._services_read: dict[int, dict[str, Any]] = {}
        """Catalog Services read this run, by id."""
        self._rows_lock = threading.Lock()
        self._services_of: OnceCache[int, dict[int, list[dict[str, Any]]]] = OnceCache()
        self._units_of_contract: OnceCache[int, list[UnitsRow]] = OnceCache()
        self._by_company: ParentIndex[dict[str, Any]] = ParentIndex(self._every_contract)

    # -- common ---------------------------------------------------------------------------

    @hookimpl
    def idsync_check(self) -> str:
        zone = self.client.zone()
        self.client.guard.refresh()  # an authenticated call, and the tenant's usage
        reading = self.client.guard.reading or self.client.read_threshold()
        where = f"zone {zone.name} ({zone.host})" if zone.name else zone.host
        tenant = f", database {zone.ci}" if zone.ci is not None else ""
        return (f"Autotask {where}{tenant} as {self.settings.username}; API usage "
                f"{reading.used:,} of {reading.limit:,} requests per {reading.minutes} minutes")

    @hookimpl
    def idsync_close(self) -> None:
        self.client.close()

    # -- reading --------------------------------------------------------------------------

    @hookimpl
    def idsync_list_companies(self, search: str | None) -> Iterable[Company]:
        filters = [eq("isActive", True)]
        if search:
            filters.append(cond("contains", "companyName", search))
        return (mapping.company(row)
                for row in self.client.query("Companies", filters, fields=COMPANY_FIELDS)
                if row.get("id") != 0)

    @hookimpl
    def idsync_list_agreements(self, company_id: str) -> Iterable[Agreement]:
        """The company's recurring service contracts. From the second company asked for on,
        every such contract is listed once (500 a page) and the companies are answered from
        that listing (see idsync_core.caching)."""
        cid = integer_id(company_id, "company", "Autotask")
        rows = self._by_company.lookup(str(cid))
        if rows is None:
            rows = list(self.client.query(
                "Contracts", [eq("companyID", cid),
                              eq("contractType", RECURRING_SERVICE_CONTRACT)],
                fields=CONTRACT_FIELDS))
            self._remember_contracts(rows)
        if not rows and self.client.count("Companies", [eq("id", cid)]) == 0:
            raise MissingRecordError(f"Autotask has no company with id {cid}")
        labels = self.period_labels() if rows else {}
        return [mapping.agreement(row, labels) for row in rows]

    def _every_contract(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for row in self.client.query("Contracts",
                                     [eq("contractType", RECURRING_SERVICE_CONTRACT)],
                                     fields=CONTRACT_FIELDS):
            self._remember_contracts([row])
            yield str(row.get("companyID")), row

    def _remember_contracts(self, rows: Iterable[dict[str, Any]]) -> None:
        with self._rows_lock:
            for row in rows:
                if isinstance(row.get("id"), int):
                    self._contracts[row["id"]] = row

    def _contract(self, cid: int) -> dict[str, Any]:
        """The contract's row as read this run, else ``GET Contracts/{id}`` (NotFoundError)."""
        with self._rows_lock:
            row = self._contracts.get(cid)
        if row is None:
            row = self.client.get_item("Contracts", cid)
            self._remember_contracts([row])
        return row

    @hookimpl
    def idsync_list_lines(self, agreement_id: str, as_of: date) -> Iterable[AgreementLine]:
        """Lines as of a date from the contract's services and units rows: read once per run
        for every date asked, and again only after IDSync itself wrote to the contract."""
        cid = integer_id(agreement_id, "contract", "Autotask")
        contract = self._contract(cid)  # NotFoundError when unknown
        state = self._state(cid)
        if not state.services:
            return []
        quantities = self._quantities(contract, state, as_of)
        names = {row["id"]: row for row in self._services(list(state.services))}
        lines = []
        for service_id, services in sorted(state.services.items()):
            first = services[0]
            catalog = names.get(service_id, {})
            lines.append(AgreementLine(
                id=str(first["id"]),
                agreement_id=str(cid),
                catalog_item_id=str(service_id),
                name=str(catalog.get("name") or first.get("invoiceDescription") or ""),
                quantity=quantities[service_id],
                as_of=as_of,
                unit_price=mapping.money(first.get("unitPrice")),
                unit_cost=mapping.money(first.get("unitCost")),
            ))
        return lines

    def _state(self, cid: int) -> ContractState:
        """The contract's services and units rows, each read once per run (the units again
        after IDSync posts to the contract)."""
        services = self._services_of.get(cid, lambda: self._contract_services(cid))
        if not services:
            return ContractState(services, [])
        return ContractState(services, self._units_of_contract.get(
            cid, lambda: contract_units(self.client, cid)))

    @hookimpl
    def idsync_list_catalog(self, search: str | None,
                            ids: list[str] | None) -> Iterable[CatalogItem]:
        filters = []
        if search:
            filters.append(any_of(cond("contains", "name", search),
                                  cond("contains", "sku", search)))
        if ids is None:
            rows: Iterable[dict[str, Any]] = self.client.query("Services", filters,
                                                               fields=SERVICE_FIELDS)
        else:
            rows = self._services([int(i) for i in ids if i.isdigit()], base=filters)
        return (mapping.catalog_item(row) for row in rows)

    # -- posting --------------------------------------------------------------------------

    @hookimpl
    def idsync_post_adjustment(self, adjustment: Adjustment) -> PostedAdjustment:
        """Post a ContractServiceAdjustment, exactly once, and confirm it by re-reading.

        1. The contract must be a Recurring Service contract and the effective date within it.
        2. If the service is not on the contract yet, its ContractService is created first
           (price and cost from the adjustment, else the catalog). This is a separate, visible
           step rather than leaving it to the adjustment: a crash between the two leaves a line
           reading 0 units, which the next run simply adjusts.
        3. The units as of the effective date are read. Already at the target: nothing is posted
           (an earlier attempt got through before a crash). Not at target minus delta: the line
           changed since the plan, nothing is posted and the change is refused, so the next run
           plans from what is there. Only otherwise is the adjustment posted.
        4. The units are read again; ``quantity_after`` is what Autotask now bills on that date.

        ContractServiceAdjustments has no free-text field, so no marker is written.
        """
        cid = integer_id(adjustment.agreement_id, "contract", "Autotask")
        sid = integer_id(adjustment.catalog_item_id, "service", "Autotask")
        change = whole_units(adjustment.delta)
        target = whole_units(adjustment.target_quantity)
        when = adjustment.effective_date
        contract = self._contract(cid)
        self._check_postable(contract, cid, when, target)

        self._units_of_contract.forget(cid)  # no plan reads units from before this posting
        by_service = self._services_of.get(cid, lambda: self._contract_services(cid))
        services = by_service.get(sid, [])
        if not services:
            if target == 0:
                return PostedAdjustment(quantity_after=Decimal(0))
            by_service = self._add_service(cid, sid, adjustment)
            self._services_of.put(cid, by_service)
            services = by_service[sid]
        service_ids = [int(s["id"]) for s in services]

        rows = contract_units(self.client, cid)  # read now, whatever the plan read
        before = self._units_of(contract, rows, service_ids, when)
        self._units_of_contract.put(cid, rows)
        if before == target:
            log.info("contract %s service %s already has %s units as of %s; not posting",
                     cid, sid, before, when)
            return PostedAdjustment(quantity_after=before)
        if before + change != target:
            raise RejectedError(
                f"contract {cid} service {sid} has {before} units as of {when}, not the "
                f"{target - change} this change was planned from; nothing was posted",
                hint="run the sync again: it plans from what Autotask has now")

        body: dict[str, Any] = {
            "contractID": cid,
            "contractServiceID": service_ids[0],
            "serviceID": sid,
            "unitChange": change,
            "effectiveDate": api_date(when),
        }
        if adjustment.unit_price is not None:
            body["adjustedUnitPrice"] = adjustment.unit_price
        if adjustment.unit_cost is not None:
            body["adjustedUnitCost"] = adjustment.unit_cost
        self._units_of_contract.forget(cid)
        record_id = self.client.create("ContractServiceAdjustments", body)

        rows = contract_units(self.client, cid)
        self._units_of_contract.put(cid, rows)
        after = self._units_of(contract, rows, service_ids, when)
        if after != target:
            log.warning("contract %s service %s reads %s units as of %s after posting %+d; "
                        "expected %s", cid, sid, after, when, change, target)
        return PostedAdjustment(record_id=str(record_id) if record_id else None,
                                quantity_after=after)

    # -- helpers --------------------------------------------------------------------------

    def period_labels(self) -> dict[str, str]:
        """``contractPeriodType`` picklist value → label, read once per connection.

        The values of Autotask picklists differ between tenants and are not published, so the
        billing cycle is recognised from the tenant's own labels ("Monthly", "Yearly", ...).
        """
        with self._labels_lock:
            if self._period_labels is None:
                data = self.client.get_json("Contracts/entityInformation/fields")
                fields = data.get("fields") if isinstance(data, dict) else None
                labels: dict[str, str] = {}
                for field in fields if isinstance(fields, list) else []:
                    if str(field.get("name", "")).lower() == "contractperiodtype":
                        for value in field.get("picklistValues") or []:
                            labels[str(value.get("value"))] = str(value.get("label") or "")
                self._period_labels = labels
            return self._period_labels

    def _contract_services(self, contract_id: int) -> dict[int, list[dict[str, Any]]]:
        """The contract's services by catalog service id, each list in id order."""
        grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in self.client.query("ContractServices", [eq("contractID", contract_id)],
                                     fields=CONTRACT_SERVICE_FIELDS):
            if isinstance(row.get("serviceID"), int):
                grouped[row["serviceID"]].append(row)
        return dict(grouped)

    def _quantities(self, contract: dict[str, Any], state: ContractState,
                    as_of: date) -> dict[int, Decimal]:
        """Units as of ``as_of`` per catalog service, from the contract's units rows. A service
        on the contract more than once counts the units of all its lines."""
        rows = units_on(state.units, [s["id"] for services in state.services.values()
                                      for s in services], as_of,
                        carry_forward=_within_term(contract, as_of))
        return {service_id: sum((rows[s["id"]].units for s in services if s["id"] in rows),
                                Decimal(0))
                for service_id, services in state.services.items()}

    @staticmethod
    def _units_of(contract: dict[str, Any], rows: list[UnitsRow],
                  contract_service_ids: list[int], when: date) -> Decimal:
        found = units_on(rows, contract_service_ids, when,
                         carry_forward=_within_term(contract, when))
        return sum((row.units for row in found.values()), Decimal(0))

    def _services(self, service_ids: list[int], base: list[dict[str, Any]] | None = None,
                  ) -> Iterator[dict[str, Any]]:
        """Catalog services by id, in batches of ``id in [...]``; without ``base`` filters,
        those already read this run are not asked for again."""
        wanted = sorted(set(service_ids))
        if base:
            for filters in in_batches("id", wanted, base=base):
                yield from self.client.query("Services", filters, fields=SERVICE_FIELDS)
            return
        with self._rows_lock:
            known = [self._services_read[i] for i in wanted if i in self._services_read]
            missing = [i for i in wanted if i not in self._services_read]
        yield from known
        for filters in in_batches("id", missing):
            for row in self.client.query("Services", filters, fields=SERVICE_FIELDS):
                if isinstance(row.get("id"), int):
                    with self._rows_lock:
                        self._services_read[row["id"]] = row
                yield row

    @staticmethod
    def _check_postable(contract: dict[str, Any], cid: int, when: date, target: int) -> None:
        if contract.get("contractType") != RECURRING_SERVICE_CONTRACT:
            raise RejectedError(f"Autotask contract {cid} is not a Recurring Service contract; "
                                "only those carry service units")
        if not _within_term(contract, when):
            raise RejectedError(
                f"{when} is outside Autotask contract {cid} ({contract.get('startDate')} to "
                f"{contract.get('endDate')})",
                hint="extend or renew the contract in Autotask first")
        if target < 0:
            raise RejectedError(f"cannot bring contract {cid} to {target} units")

    def _add_service(self, cid: int, sid: int,
                     adjustment: Adjustment) -> dict[int, list[dict[str, Any]]]:
        """Put catalog service ``sid`` on the contract (0 units until the adjustment); return
        the contract's services as read afterwards."""
        catalog = self.client.get_item("Services", sid)
        price = adjustment.unit_price if adjustment.unit_price is not None else (
            mapping.money(catalog.get("unitPrice")))
        cost = adjustment.unit_cost if adjustment.unit_cost is not None else (
            mapping.money(catalog.get("unitCost")))
        body: dict[str, Any] = {"contractID": cid, "serviceID": sid}
        if price is not None:
            body["unitPrice"] = price
        if cost is not None:
            body["unitCost"] = cost
        try:
            self.client.create(f"Contracts/{cid}/Services", body)
        except OutcomeUnknownError:
            log.info("adding service %s to contract %s: outcome unknown, re-reading", sid, cid)
        by_service = self._contract_services(cid)
        if not by_service.get(sid):
            raise ApiError(f"service {sid} could not be added to Autotask contract {cid}",
                           hint="run the sync again")
        return by_service
