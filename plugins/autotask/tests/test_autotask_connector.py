"""The Autotask connector through ``open_connection``, against its simulator on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

import idsync_autotask.client as client_module
from idsync_autotask.client import AutotaskClient
from idsync_autotask.dialect import ThrottleDialect
from idsync_autotask.settings import AutotaskSettings
from idsync_autotask.simulator import AutotaskSimulator
from idsync_autotask.simulator.seed import example_seed
from idsync_autotask.threshold import ThresholdGuard
from idsync_core.engine.dates import next_period_start
from idsync_core.errors import (
    ConfigurationError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
)
from idsync_core.hookspecs import PSA_HOOKS
from idsync_core.http import RetryPolicy
from idsync_core.models import Adjustment, AgreementStatus, BillingCycle
from idsync_core.plugins import PsaConnection, discover_plugins, open_connection
from idsync_core.simulation import Fault, LoggedRequest, ServerThread

TODAY = date(2026, 11, 25)

Connect = Callable[..., PsaConnection]
Logged = Callable[..., list[LoggedRequest]]


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff of milliseconds, so faults cost no real time."""
    monkeypatch.setattr(client_module, "AUTOTASK_RETRY", RetryPolicy(
        max_attempts=6, base_delay=0.01, max_delay=0.05))


@pytest.fixture
def connect(sim: AutotaskSimulator, server: ServerThread,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Connect]:
    """Open connections to the simulator, settings overridable; all closed afterwards."""
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "autotask")
    opened: list[PsaConnection] = []

    def open_(**overrides: Any) -> PsaConnection:
        settings = {**sim.connection_settings(server.url), **overrides}
        connection = open_connection("psa", settings, "psa", discover_plugins())
        assert isinstance(connection, PsaConnection)
        opened.append(connection)
        return connection

    yield open_
    for connection in opened:
        connection.close()


@pytest.fixture
def psa(connect: Connect) -> PsaConnection:
    return connect()


def adjustment(agreement: str, item: str, delta: int, target: int, when: date = TODAY,
               **more: Any) -> Adjustment:
    return Adjustment(agreement_id=agreement, catalog_item_id=item, delta=Decimal(delta),
                      target_quantity=Decimal(target), effective_date=when,
                      idempotency_key=f"key-{agreement}-{item}-{target}-{when}", **more)


def quantities(psa: PsaConnection, agreement: str, when: date) -> dict[str, Decimal]:
    return {line.catalog_item_id: line.quantity for line in psa.list_lines(agreement, when)}


def adjustments_in(sim: AutotaskSimulator) -> list[dict[str, Any]]:
    return list(sim.tenant.tables["contractserviceadjustments"].values())


# -- discovery, check, auth -----------------------------------------------------------------

def test_the_plugin_is_discovered_with_every_psa_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "autotask")
    info = discover_plugins()["autotask"]
    assert info.kind == "psa"
    assert set(PSA_HOOKS) | {"idsync_close"} <= set(info.hooks)
    assert "idsync_find_adjustment" not in info.hooks  # nothing to search: see the README


def test_check_names_zone_tenant_and_usage(psa: PsaConnection) -> None:
    line = psa.check()
    assert "Simulated Autotask (America East)" in line and "database 30595" in line
    assert "idsync-api@demo-msp.example" in line and "of 10,000 requests" in line
    assert "simulated-secret" not in line


@pytest.mark.parametrize(("override", "setting"), [
    ({"secret": "wrong-secret"}, "secret"),
    ({"username": "nobody@demo-msp.example"}, "username"),
    ({"integration_code": "NOT-OURS"}, "integration_code"),
])
def test_refused_credentials_are_configuration_errors(
        connect: Connect, logged: Logged, override: dict[str, str], setting: str) -> None:
    psa = connect(**override)
    with pytest.raises(ConfigurationError) as info:
        psa.check()
    assert setting in str(info.value)
    assert "wrong-secret" not in str(info.value)
    if setting == "secret":  # the zone was looked up again once before giving up
        assert len(logged("GET", "zoneInformation", expect=2)) == 2


# -- reading --------------------------------------------------------------------------------

def test_companies_are_active_customers_searchable_by_name(psa: PsaConnection) -> None:
    assert [c.name for c in psa.list_companies()] == [
        "Contoso Ltd", "Fabrikam Inc", "Northwind Traders", "Adventure Works", "Tailspin Toys",
        "Litware Inc"]
    assert [(c.id, c.name) for c in psa.list_companies("WARE")] == [("106", "Litware Inc")]


def large_tenant() -> dict[str, Any]:
    seed = example_seed()
    seed["companies"] += [{"id": 2000 + n, "companyName": f"Customer {n:04}", "companyType": 1,
                           "isActive": True} for n in range(1100)]
    return seed


@pytest.mark.parametrize("sim", [large_tenant()], indirect=True)
def test_every_page_of_a_large_tenant_is_read(psa: PsaConnection, logged: Logged) -> None:
    names = [c.name for c in psa.list_companies()]
    assert len(names) == 1106 and len(set(names)) == 1106
    queries = logged("POST", "Companies/query", expect=3)
    assert len(queries) == 3  # 500 + 500 + 107 rows (id 0, the MSP, is left out), by id
    # page 1 ends at the 493rd generated id (ids 0 and 101-106 come first)
    assert json.loads(queries[1].body)["filter"][-1] == {"op": "gt", "field": "id",
                                                         "value": 2492}


def test_cursor_paging_interoperates_with_the_simulator(sim: AutotaskSimulator,
                                                        server: ServerThread,
                                                        logged: Logged) -> None:
    settings = AutotaskSettings.model_validate(
        {k: v for k, v in sim.connection_settings(server.url).items() if k != "plugin"})
    client = AutotaskClient(settings)
    try:
        rows = list(client.query("ContractServiceUnits", [{"op": "exist", "field": "id"}],
                                 page_size=40, paging="next"))
    finally:
        client.close()
    assert len(rows) == len(sim.tenant.tables["contractserviceunits"])
    assert len(logged("POST", "ContractServiceUnits/query/next", expect=3)) >= 3


def test_agreements_are_recurring_contracts_with_status_and_cycle(psa: PsaConnection) -> None:
    (contoso,) = psa.list_agreements("101")  # the Block Hours contract is not listed
    assert (contoso.id, contoso.name) == ("301", "Contoso - Microsoft 365")
    assert contoso.billing_cycle is BillingCycle.MONTHLY
    assert contoso.start_date == date(2026, 1, 1) and not contoso.is_expired(TODAY)
    old, current = psa.list_agreements("105")
    assert old.status is AgreementStatus.INACTIVE and old.is_expired(TODAY)
    assert current.status is AgreementStatus.ACTIVE and not current.is_expired(TODAY)
    assert next(iter(psa.list_agreements("103"))).billing_cycle is BillingCycle.QUARTERLY
    assert next(iter(psa.list_agreements("104"))).billing_cycle is BillingCycle.YEARLY
    assert list(psa.list_agreements("106")) == []
    with pytest.raises(NotFoundError):
        list(psa.list_agreements("999"))
    with pytest.raises(NotFoundError):
        list(psa.list_agreements("contoso"))


def test_lines_carry_units_as_of_the_date(psa: PsaConnection, logged: Logged) -> None:
    before = list(psa.list_lines("303", date(2026, 2, 14)))
    assert [(x.name, x.quantity) for x in before] == [
        ("Exchange Online (Plan 1)", Decimal(5)), ("Microsoft 365 Business Basic", Decimal(25))]
    assert quantities(psa, "303", date(2026, 2, 15)) == {"201": Decimal(5), "203": Decimal(28)}
    assert quantities(psa, "303", date(2025, 6, 30)) == {"201": Decimal(0), "203": Decimal(0)}
    line = before[1]
    assert (line.id, line.unit_price, line.unit_cost) == ("402", Decimal("7.2"), Decimal(6))
    # one read of the contract's units rows answers every date, and no request per service
    unit_queries = logged("POST", "ContractServiceUnits/query", expect=2)
    assert len(unit_queries) == 1
    assert {"op": "eq", "field": "contractID", "value": 303} in json.loads(
        unit_queries[0].body)["filter"]
    with pytest.raises(NotFoundError):
        list(psa.list_lines("9999", TODAY))


def test_units_past_the_last_generated_period_carry_forward(psa: PsaConnection,
                                                             sim: AutotaskSimulator) -> None:
    rows = sim.tenant.tables["contractserviceunits"]
    for row_id in [i for i, r in rows.items()
                   if r["contractServiceID"] == 407 and r["startDate"] >= "2027-01-01"]:
        del rows[row_id]  # as if Autotask had not generated 2027's periods yet
    assert quantities(psa, "307", date(2027, 3, 1)) == {"201": Decimal(3)}
    assert quantities(psa, "307", date(2028, 1, 15)) == {"201": Decimal(0)}  # contract over
    assert quantities(psa, "307", date(2024, 12, 31)) == {"201": Decimal(0)}  # not begun


def test_catalog_search_and_ids(psa: PsaConnection, logged: Logged) -> None:
    assert [c.identifier for c in psa.list_catalog("cfq7")] == [
        "CFQ7TTC0LH16", "CFQ7TTC0LCHC", "CFQ7TTC0LH18"]
    exchange = {c.id: c for c in psa.list_catalog("exchange")}
    assert exchange["201"].price == Decimal("4.80") and exchange["201"].cost == Decimal(4)
    assert exchange["205"].active is False
    many = [str(i) for i in range(1, 700)] + ["201", "x"]
    assert sorted(c.id for c in psa.list_catalog(ids=many)) == ["201", "202", "203", "204",
                                                               "205"]
    assert len(logged("POST", "Services/query", expect=4)) == 2 + 2  # 2 searches, 2 batches
    assert len(list(psa.list_catalog())) == 5


# -- posting --------------------------------------------------------------------------------

def test_plus_eight_on_a_contract_without_the_service(psa: PsaConnection, sim: AutotaskSimulator,
                                                      logged: Logged) -> None:
    assert "201" not in quantities(psa, "301", TODAY)
    posted = psa.post_adjustment(adjustment("301", "201", 8, 8, unit_price=Decimal("4.80"),
                                            unit_cost=Decimal("4.00")))
    assert posted.quantity_after == Decimal(8) and posted.record_id is not None
    assert quantities(psa, "301", TODAY)["201"] == Decimal(8)
    assert quantities(psa, "301", date(2026, 11, 24))["201"] == Decimal(0)
    (added,) = [r for r in adjustments_in(sim) if r["contractID"] == 301]
    assert (added["unitChange"], added["adjustedUnitPrice"], added["adjustedUnitCost"],
            added["effectiveDate"]) == (8, 4.8, 4, "2026-11-25T00:00:00")
    assert len(logged("POST", "/Contracts/301/Services", expect=1)) == 1

    again = psa.post_adjustment(adjustment("301", "201", 8, 8))  # a re-run: nothing to post
    assert again.quantity_after == Decimal(8) and again.record_id is None
    assert len(logged("POST", "ContractServiceAdjustments", expect=1)) == 1
    assert len(adjustments_in(sim)) == 2  # the seed's history and this one


def test_a_decrease_dated_on_the_next_period(psa: PsaConnection) -> None:
    (fabrikam,) = psa.list_agreements("102")
    when = next_period_start(fabrikam, TODAY)
    assert when == date(2026, 12, 1)
    posted = psa.post_adjustment(adjustment("303", "203", -8, 20, when))
    assert posted.quantity_after == Decimal(20)
    assert quantities(psa, "303", date(2026, 11, 30))["203"] == Decimal(28)
    assert quantities(psa, "303", when)["203"] == Decimal(20)


def test_a_crash_after_the_post_never_posts_twice(psa: PsaConnection,
                                                  sim: AutotaskSimulator) -> None:
    sim.controls.faults.add(Fault(kind="reset", method="POST", after_handler=True,
                                  path_contains="ContractServiceAdjustments"))
    change = adjustment("307", "201", 4, 7)
    with pytest.raises(OutcomeUnknownError):
        psa.post_adjustment(change)
    assert len(adjustments_in(sim)) == 2  # the seed's history and the one whose answer was lost
    posted = psa.post_adjustment(change)  # what the engine does for a pending entry
    assert posted.quantity_after == Decimal(7)
    assert len(adjustments_in(sim)) == 2


def test_a_line_that_moved_since_the_plan_is_not_posted(psa: PsaConnection,
                                                        sim: AutotaskSimulator) -> None:
    with pytest.raises(RejectedError, match="has 3 units"):
        psa.post_adjustment(adjustment("307", "201", 2, 10))
    with pytest.raises(RejectedError, match="whole numbers"):
        psa.post_adjustment(adjustment("307", "201", 1, 4).model_copy(
            update={"delta": Decimal("0.5"), "target_quantity": Decimal("3.5")}))
    with pytest.raises(RejectedError, match="outside"):
        psa.post_adjustment(adjustment("307", "201", 1, 4, date(2030, 1, 1)))
    with pytest.raises(RejectedError, match="not a Recurring Service"):
        psa.post_adjustment(adjustment("302", "201", 1, 1))
    assert len(adjustments_in(sim)) == 1
    assert not psa.can_find_adjustments


# -- limits ---------------------------------------------------------------------------------

def test_the_client_keeps_to_three_requests_per_endpoint(connect: Connect,
                                                         sim: AutotaskSimulator) -> None:
    sim.api.processing_ms = 40  # every request holds its slot long enough to overlap
    psa = connect()
    agreements = ["301", "303", "304", "305", "307"] * 2
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda a: quantities(psa, a, TODAY), agreements))
    assert results[:5] == results[5:]
    assert sim.api.threads.refused == 0


def test_the_thread_limit_is_backed_off_under_contention(
        connect: Connect, sim: AutotaskSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ThrottleDialect, "thread_retry_after", (0.02, 0.1))
    # Generous attempts: five workers fight for one slot, retrying at random moments.
    monkeypatch.setattr(client_module, "AUTOTASK_RETRY", RetryPolicy(
        max_attempts=30, base_delay=0.01, max_delay=0.05))
    sim.api.threads.limit = 1  # other processes of the integration hold the other slots
    sim.api.processing_ms = 30
    psa = connect()
    agreements = ["301", "303", "304", "305", "307"] * 2
    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(lambda a: quantities(psa, a, TODAY), agreements))
    assert results[1] == {"201": Decimal(5), "203": Decimal(28)}
    assert results[:5] == results[5:]
    assert sim.api.threads.refused > 0


def test_a_thread_refusal_with_status_500_does_not_lose_a_post(
        psa: PsaConnection, sim: AutotaskSimulator, logged: Logged,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ThrottleDialect, "thread_retry_after", (0.01, 0.02))
    busy = json.dumps({"errors": ["Thread Threshold Exceeded (Itgenatr005)"]})
    sim.controls.faults.add(Fault(status=500, body=busy, times=2, method="POST",
                                  path_contains="ContractServiceAdjustments"))
    assert psa.post_adjustment(adjustment("307", "201", 2, 5)).quantity_after == Decimal(5)
    assert len(logged("POST", "ContractServiceAdjustments", 500, expect=2)) == 2
    assert len(adjustments_in(sim)) == 2  # the seed's and this one, once


def test_usage_past_half_slows_down_and_near_the_threshold_stops(
        connect: Connect, sim: AutotaskSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    guards: list[ThresholdGuard] = []

    class Recorded(ThresholdGuard):
        SLOW_DOWN = ((75.0, 0.002), (50.0, 0.001))

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            guards.append(self)

    monkeypatch.setattr(client_module, "ThresholdGuard", Recorded)
    sim.api.threshold.limit, sim.api.threshold.others = 1000, 600
    sim.api.threshold.latency_ms = {50: 1, 75: 2}
    assert len(list(connect().list_companies())) == 6
    assert guards[-1].waited > 0

    sim.api.threshold.reset()
    sim.api.threshold.others = 899  # the usage reading itself makes it 900: 90%
    psa = connect()
    with pytest.raises(RateLimitedError, match="stops at 90%") as info:
        list(psa.list_companies())
    assert "run again later" in str(info.value)
    with pytest.raises(RateLimitedError):
        psa.post_adjustment(adjustment("301", "201", 8, 8))
    assert sim.controls.log.count("POST", "ContractServiceAdjustments") == 0


def test_faults_on_reads_are_retried(psa: PsaConnection, sim: AutotaskSimulator,
                                     logged: Logged) -> None:
    sim.controls.faults.add(Fault(status=503, method="POST", path_contains="Companies/query"))
    assert len(list(psa.list_companies())) == 6
    assert len(logged("POST", "Companies/query", 503, expect=1)) == 1
    assert len(logged("POST", "Companies/query", 200, expect=1)) == 1


# -- reading each thing once per run ----------------------------------------------------------

def test_contracts_of_many_companies_come_from_one_listing(psa: PsaConnection,
                                                           logged: Logged) -> None:
    found = {c: [a.id for a in psa.list_agreements(c)] for c in ("101", "103", "104", "105")}
    assert found["101"] == ["301"] and len(found["105"]) == 2
    # the first company alone, then every recurring contract in one page for the others
    assert len(logged("POST", "Contracts/query", expect=2)) == 2
    assert list(psa.list_agreements("106")) == []
    with pytest.raises(NotFoundError):
        list(psa.list_agreements("999"))


def test_a_planned_contract_is_posted_with_three_requests(psa: PsaConnection,
                                                          sim: AutotaskSimulator,
                                                          logged: Logged) -> None:
    when = date(2026, 12, 1)
    list(psa.list_agreements("102"))  # Fabrikam's contract 303
    assert quantities(psa, "303", TODAY)["203"] == Decimal(28)
    assert quantities(psa, "303", when)["203"] == Decimal(28)
    sim.controls.log.clear()
    posted = psa.post_adjustment(adjustment("303", "203", -8, 20, when))
    assert posted.quantity_after == Decimal(20)
    assert quantities(psa, "303", when)["203"] == Decimal(20)  # from the confirming read
    # units before, the adjustment, units after: no contract or service lookups again
    assert len(logged("POST", "ContractServiceUnits/query", expect=2)) == 2
    assert len(logged("POST", "ContractServiceAdjustments", expect=1)) == 1
    assert [e.path for e in sim.controls.log.entries()
            if "ContractServiceUnits" not in e.path and "Adjustments" not in e.path
            and "Threshold" not in e.path] == []


# -- what onboarding matches on ---------------------------------------------------------------

def tenant_with_matching_fields() -> dict[str, Any]:
    seed = example_seed()
    seed["companies"][1]["userDefinedFields"] = [{"name": "Ingram ID", "value": "1000275"},
                                                 {"name": "Unset", "value": None}]
    seed["services"][0]["sku"] = "MS-EXO-P1"
    seed["services"][0]["manufacturerServiceProviderProductNumber"] = "CFQ7TTC0LH16"
    return seed


@pytest.mark.parametrize("sim", [tenant_with_matching_fields()], indirect=True)
def test_company_udfs_service_part_numbers_and_contract_kind_are_read(
        psa: PsaConnection) -> None:
    companies = {c.name: c for c in psa.list_companies()}
    assert companies["Contoso Ltd"].custom_fields == {"Ingram ID": "1000275"}
    assert companies["Fabrikam Inc"].custom_fields == {}
    [service] = psa.list_catalog(ids=["201"])
    assert service.skus() == ["MS-EXO-P1", "CFQ7TTC0LH16"]
    assert {a.recurring for a in psa.list_agreements("101")} == {True}
