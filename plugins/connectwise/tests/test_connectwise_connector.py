"""The ConnectWise connector, through ``open_connection``, against its simulator on loopback."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import unquote

import pytest
import respx

from idsync_connectwise.client import MAX_URL_LENGTH, ConnectWiseClient
from idsync_connectwise.posting import Poster
from idsync_connectwise.settings import ConnectWiseSettings
from idsync_connectwise.simulator import ConnectWiseSimulator, create_simulator, example_seed
from idsync_core.errors import (
    ApiError,
    ConfigurationError,
    NotFoundError,
    OutcomeUnknownError,
    RejectedError,
)
from idsync_core.http import RetryPolicy
from idsync_core.http.wiring import Wiring
from idsync_core.models import Adjustment, AgreementStatus, BillingCycle
from idsync_core.plugins import PsaConnection, discover_plugins, open_connection
from idsync_core.simulation import Fault, RequestLog, ServerThread

TODAY = date(2026, 11, 25)
NEXT_PERIOD = date(2026, 12, 1)
CW_429 = json.dumps({"error": "ConnectWiseAPI",
                     "message": "Too many requests. Please try again in 0 seconds."})

# Agreements and catalog items of the example seed (see seed_example.json).
CONTOSO, CONTOSO_M365, FABRIKAM_M365, NORTHWIND_M365 = "19297", "871", "873", "874"
EXCHANGE, PREMIUM, BASIC = "1201", "1202", "1203"


@dataclass
class Tenant:
    sim: ConnectWiseSimulator
    psa: PsaConnection
    url: str
    settle: Callable[[RequestLog], RequestLog]

    @property
    def log(self) -> RequestLog:
        return self.settle(self.sim.controls.log)

    def additions(self, agreement_id: str) -> list[dict[str, Any]]:
        return sorted(self.sim.tenant.additions_of(int(agreement_id)), key=lambda a: a["id"])

    def sent(self, method: str) -> int:
        return self.log.count(method=method, path_contains="/apis/3.0/")

    def quantity(self, agreement_id: str, item: str, on: date) -> Decimal:
        lines = {line.catalog_item_id: line for line in self.psa.list_lines(agreement_id, on)}
        return lines[item].quantity if item in lines else Decimal(0)


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "connectwise")
    monkeypatch.setattr(RetryPolicy, "backoff", lambda self, attempt: 0.0)


@pytest.fixture
def tenant(settled: Callable[[RequestLog], RequestLog]
           ) -> Callable[..., AbstractContextManager[Tenant]]:
    """``with tenant(seed, **settings) as t``: a simulator served and a connection to it."""
    return partial(_serve, settled)


@contextmanager
def _serve(settled: Callable[[RequestLog], RequestLog], seed: dict[str, Any] | None = None,
           **settings: Any) -> Iterator[Tenant]:
    sim = create_simulator(seed)
    with ServerThread(sim.app) as server:
        raw = {**sim.connection_settings(server.url), **settings}
        psa = open_connection("psa", raw, "psa", discover_plugins())
        assert isinstance(psa, PsaConnection)
        with psa:
            yield Tenant(sim, psa, server.url, settled)


@pytest.fixture
def cw(tenant: Callable[..., AbstractContextManager[Tenant]]) -> Iterator[Tenant]:
    with tenant() as t:
        yield t


def change(agreement: str, item: str, delta: int, target: int, on: date = TODAY,
           key: str = "key-0001", **extra: Any) -> Adjustment:
    return Adjustment(agreement_id=agreement, catalog_item_id=item, delta=Decimal(delta),
                      target_quantity=Decimal(target), effective_date=on,
                      idempotency_key=key, **extra)


# -- connecting ---------------------------------------------------------------------------------

def test_the_plugin_is_discovered_with_every_psa_hook() -> None:
    info = discover_plugins()["connectwise"]
    assert info.kind == "psa" and "idsync_find_adjustment" in info.hooks


def test_check_discovers_the_codebase_and_names_the_tenant(cw: Tenant) -> None:
    line = cw.psa.check()
    assert line.startswith("ConnectWise 2025.1") and "(codebase v2025_1) as idsyncdemo" in line
    assert cw.log.count(path_contains="/login/companyinfo/") == 1


def test_refused_credentials_are_a_configuration_error_without_the_secret(
    tenant: Callable[..., AbstractContextManager[Tenant]],
) -> None:
    with tenant(private_key="WrongSecret99") as t, pytest.raises(ConfigurationError) as info:
        t.psa.check()
    assert "private_key" in str(info.value) and "WrongSecret99" not in str(info.value)
    assert "UserNotAuthenticated" in str(info.value)


def test_an_unknown_codebase_answering_404_is_a_configuration_error(
    tenant: Callable[..., AbstractContextManager[Tenant]],
) -> None:
    with tenant(codebase="v2019_1") as t, pytest.raises(ConfigurationError, match="codebase"):
        t.psa.check()


# -- listing ------------------------------------------------------------------------------------

def test_companies_are_the_live_ones_alphabetically_and_searchable(cw: Tenant) -> None:
    names = [c.name for c in cw.psa.list_companies()]
    assert names == ["Adventure Works", "Contoso Ltd", "Fabrikam Inc", "Litware Inc",
                     "Northwind Traders", "Tailspin Toys"]
    assert [(c.id, c.identifier) for c in cw.psa.list_companies("CONTOSO")] == [
        (CONTOSO, "ContosoLtd")]


def test_every_company_of_a_large_tenant_is_listed(
    tenant: Callable[..., AbstractContextManager[Tenant]],
) -> None:
    seed = copy.deepcopy(example_seed())
    seed["companies"] += [{"id": 60_000 + i, "name": f"Client {i:04d}"} for i in range(2100)]
    with tenant(seed) as t:
        companies = list(t.psa.list_companies())
        assert len(companies) == 2106 and len({c.id for c in companies}) == 2106
        assert t.sent("GET") == 3  # pages of 1,000


def test_agreements_of_a_company_with_status_dates_and_cycle(cw: Tenant) -> None:
    contoso = {a.name: a for a in cw.psa.list_agreements(CONTOSO)}
    m365 = contoso["Contoso - Microsoft 365"]
    assert (m365.id, m365.company_id, m365.start_date, m365.billing_cycle) == (
        CONTOSO_M365, CONTOSO, date(2026, 1, 1), BillingCycle.MONTHLY)
    adventure = {a.name: a for a in cw.psa.list_agreements("19300")}
    expired = adventure["Adventure Works - Microsoft 365 (2025)"]
    assert expired.status is AgreementStatus.EXPIRED and expired.is_expired(TODAY)
    tailspin = {a.name: a for a in cw.psa.list_agreements("19301")}
    assert tailspin["Tailspin Toys - Managed Services"].status is AgreementStatus.CANCELLED
    assert list(cw.psa.list_agreements("19302")) == []  # Litware: a company without agreements
    with pytest.raises(NotFoundError):
        list(cw.psa.list_agreements("424242"))


def test_lines_carry_the_quantity_as_of_the_date(cw: Tenant) -> None:
    assert cw.quantity(FABRIKAM_M365, PREMIUM, date(2025, 8, 1)) == 14
    assert cw.quantity(FABRIKAM_M365, PREMIUM, date(2025, 10, 1)) == 12
    assert cw.quantity(FABRIKAM_M365, PREMIUM, date(2026, 2, 1)) == 15
    line = next(iter(cw.psa.list_lines(FABRIKAM_M365, TODAY)))
    assert (line.id, line.unit_price, line.unit_cost) == ("3590", Decimal("26.4"), Decimal(22))
    assert list(cw.psa.list_lines(CONTOSO_M365, TODAY)) == []
    with pytest.raises(NotFoundError):
        list(cw.psa.list_lines("424242", TODAY))


def test_catalog_search_ids_and_inactive_items(cw: Tenant) -> None:
    assert [i.identifier for i in cw.psa.list_catalog(search="exchange")] == ["CFQ7TTC0LH16"]
    items = {i.id: i for i in cw.psa.list_catalog(ids=[EXCHANGE, "1205", "99999", "SKU-1"])}
    assert set(items) == {EXCHANGE, "1205"}
    assert items[EXCHANGE].price == Decimal("4.8") and items["1205"].active is False
    assert len(list(cw.psa.list_catalog())) == 6
    assert list(cw.psa.list_catalog(ids=[])) == []


def test_a_long_id_lookup_is_split_under_the_url_limit(cw: Tenant) -> None:
    ids = [EXCHANGE, *(str(n) for n in range(1_000_000, 1_000_600))]
    assert [i.id for i in cw.psa.list_catalog(ids=ids)] == [EXCHANGE]
    lookups = [e for e in cw.log.entries() if e.path.endswith("/procurement/catalog")]
    assert len(lookups) > 1
    assert all(len(cw.url + e.path + "?" + e.query) <= MAX_URL_LENGTH for e in lookups)


# -- posting ------------------------------------------------------------------------------------

def test_the_headline_reconciliation_posts_one_addition_of_8(cw: Tenant) -> None:
    adjustment = change(CONTOSO_M365, EXCHANGE, 8, 8, unit_price=Decimal("4.80"),
                        unit_cost=Decimal("4.00"))
    posted = cw.psa.post_adjustment(adjustment)
    assert posted.quantity_after == 8
    [added] = cw.additions(CONTOSO_M365)
    assert str(added["id"]) == posted.record_id
    assert added["quantity"] == 8 and added["billCustomer"] == "Billable"
    assert added["effectiveDate"] == "2026-11-25T00:00:00Z" and added["cancelledDate"] is None
    assert (added["unitPrice"], added["unitCost"]) == (Decimal("4.8"), Decimal("4"))
    assert added["description"] == "Exchange Online (Plan 1) [idsync:key-0001]"
    assert cw.quantity(CONTOSO_M365, EXCHANGE, TODAY) == 8
    assert cw.quantity(CONTOSO_M365, EXCHANGE, TODAY.replace(day=24)) == 0
    assert cw.sent("POST") == 1


def test_a_repost_with_the_same_key_is_found_not_posted_again(cw: Tenant) -> None:
    adjustment = change(CONTOSO_M365, EXCHANGE, 8, 8)
    first = cw.psa.post_adjustment(adjustment)
    again = cw.psa.post_adjustment(adjustment)
    assert again == first and cw.sent("POST") == 1
    found = cw.psa.find_adjustment(adjustment)
    assert found is not None and found.record_id == first.record_id
    assert found.quantity_after == 8
    assert cw.psa.find_adjustment(change(CONTOSO_M365, EXCHANGE, 8, 8, key="key-other")) is None


def test_a_lost_answer_to_the_post_is_outcome_unknown_and_then_found(cw: Tenant) -> None:
    cw.sim.controls.faults.add(Fault(status=502, method="POST", after_handler=True))
    adjustment = change(CONTOSO_M365, EXCHANGE, 8, 8)
    with pytest.raises(OutcomeUnknownError):
        cw.psa.post_adjustment(adjustment)
    assert cw.sent("POST") == 1  # never repeated blindly
    found = cw.psa.find_adjustment(adjustment)
    assert found is not None and found.quantity_after == 8
    cw.psa.post_adjustment(adjustment)
    assert cw.sent("POST") == 1 and len(cw.additions(CONTOSO_M365)) == 1


def test_a_decrease_to_zero_cancels_the_additions_from_the_next_period(cw: Tenant) -> None:
    # Fabrikam's Business Basic subscription was terminated at Ingram: 5 → 0.
    posted = cw.psa.post_adjustment(change(FABRIKAM_M365, BASIC, -5, 0, on=NEXT_PERIOD))
    assert posted.record_id == "3593" and posted.quantity_after == 0
    basic = [a for a in cw.additions(FABRIKAM_M365) if a["product"]["id"] == int(BASIC)]
    assert [(a["id"], a["quantity"], a["cancelledDate"]) for a in basic] == [
        (3593, 5, "2026-12-01T00:00:00Z")]
    assert basic[0]["description"].endswith("[idsync:key-0001]")
    assert cw.quantity(FABRIKAM_M365, BASIC, NEXT_PERIOD) == 0
    assert cw.quantity(FABRIKAM_M365, BASIC, TODAY) == 5  # billed to the end of the period
    assert cw.sent("POST") == 0


def test_a_partial_decrease_re_adds_the_surplus_at_its_own_price(cw: Tenant) -> None:
    # 12 (since 2025-07) + 3 (since 2026-02) = 15 → 13: the newest addition (3) is cancelled
    # and 1 unit re-added from the same date at that addition's price.
    posted = cw.psa.post_adjustment(change(FABRIKAM_M365, PREMIUM, -2, 13, on=NEXT_PERIOD,
                                           unit_price=Decimal("99")))
    assert posted.quantity_after == 13
    premium = {a["id"]: a for a in cw.additions(FABRIKAM_M365)
               if a["product"]["id"] == int(PREMIUM)}
    assert premium[3592]["cancelledDate"] == "2026-12-01T00:00:00Z"
    assert premium[3590]["cancelledDate"] is None
    surplus = premium[int(posted.record_id or 0)]
    assert (surplus["quantity"], surplus["unitPrice"]) == (1, Decimal("26.4"))
    assert surplus["effectiveDate"] == "2026-12-01T00:00:00Z"
    assert cw.quantity(FABRIKAM_M365, PREMIUM, TODAY) == 15


def test_a_stale_plan_posts_nothing(cw: Tenant) -> None:
    with pytest.raises(RejectedError, match="shows 5"):
        cw.psa.post_adjustment(change(FABRIKAM_M365, BASIC, 2, 2))
    assert cw.sent("POST") == 0 and cw.sent("PATCH") == 0


def test_a_price_no_json_number_carries_exactly_posts_nothing(cw: Tenant) -> None:
    inexact = change(CONTOSO_M365, EXCHANGE, 8, 8, unit_price=Decimal("4.80000000000000001"))
    with pytest.raises(RejectedError, match="more significant digits"):
        cw.psa.post_adjustment(inexact)
    assert cw.sent("POST") == 0 and cw.additions(CONTOSO_M365) == []


def test_an_unknown_catalog_item_is_not_found(cw: Tenant) -> None:
    with pytest.raises(NotFoundError):
        cw.psa.post_adjustment(change(CONTOSO_M365, "424242", 1, 1))


def test_the_marker_can_live_in_the_invoice_description(
    tenant: Callable[..., AbstractContextManager[Tenant]],
) -> None:
    with tenant(marker_field="invoiceDescription") as t:
        adjustment = change(CONTOSO_M365, EXCHANGE, 8, 8)
        t.psa.post_adjustment(adjustment)
        [added] = t.additions(CONTOSO_M365)
        assert added["invoiceDescription"] == "Exchange Online (Plan 1) [idsync:key-0001]"
        assert t.psa.find_adjustment(adjustment) is not None


# -- strategy "update" --------------------------------------------------------------------------

def test_update_replaces_the_quantity_of_the_current_addition(
    tenant: Callable[..., AbstractContextManager[Tenant]],
) -> None:
    with tenant(posting_strategy="update") as t:
        posted = t.psa.post_adjustment(change(NORTHWIND_M365, BASIC, 2, 20))
        assert posted.record_id == "3594" and posted.quantity_after == 20
        [only] = t.additions(NORTHWIND_M365)
        assert only["quantity"] == 20 and only["description"].endswith("[idsync:key-0001]")
        assert t.sent("POST") == 0 and t.sent("PATCH") == 1
        t.psa.post_adjustment(change(NORTHWIND_M365, BASIC, -20, 0, key="key-0002"))
        assert t.quantity(NORTHWIND_M365, BASIC, TODAY) == 0


def test_update_refuses_a_decrease_spread_over_several_additions_and_adds_when_missing(
    tenant: Callable[..., AbstractContextManager[Tenant]],
) -> None:
    with tenant(posting_strategy="update") as t:
        with pytest.raises(RejectedError, match="posting_strategy"):
            t.psa.post_adjustment(change(FABRIKAM_M365, PREMIUM, -14, 1))
        t.psa.post_adjustment(change(CONTOSO_M365, EXCHANGE, 8, 8))
        assert t.sent("POST") == 1 and t.quantity(CONTOSO_M365, EXCHANGE, TODAY) == 8


def test_update_detects_a_patch_that_answered_200_without_applying() -> None:
    settings = ConnectWiseSettings.model_validate({
        "site": "https://api-cw.example.test", "company_id": "acme", "public_key": "p",
        "private_key": "k", "client_id": "c", "codebase": "v2025_1",
        "posting_strategy": "update"})
    poster = Poster(ConnectWiseClient(settings, wiring=Wiring(sleep=lambda s: None)), settings)
    additions = "https://api-cw.example.test/v2025_1/apis/3.0/finance/agreements/5/additions"
    row = {"id": 7, "product": {"id": 9}, "quantity": 3, "effectiveDate": "2026-01-01T00:00:00Z",
           "description": "Seats"}
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(additions).respond(200, json=[row], headers={"Link": ""})
        mock.patch(f"{additions}/7").respond(200, json=row)  # unchanged: the "false 200"
        with pytest.raises(ApiError, match="does not show quantity, description"):
            poster.post(change("5", "9", 2, 5))


# -- faults -------------------------------------------------------------------------------------

def test_a_429_storm_and_5xx_are_survived_on_reads(cw: Tenant) -> None:
    faults = cw.sim.controls.faults
    faults.add(Fault(status=429, times=3, retry_after=0, body=CW_429))
    faults.add(Fault(status=503, times=2, path_contains="/additions"))
    faults.add(Fault(kind="html", status=502, times=1, path_contains="/additions"))
    assert cw.quantity(FABRIKAM_M365, PREMIUM, TODAY) == 15
    log = cw.log
    assert log.count(status=429) == 3 and log.count(status=503) == 2
    assert log.count(status=502) == 1


def test_posting_through_a_throttled_server_posts_once(cw: Tenant) -> None:
    cw.sim.controls.faults.add(Fault(status=429, times=2, method="POST", retry_after=0,
                                     body=CW_429))
    posted = cw.psa.post_adjustment(change(CONTOSO_M365, EXCHANGE, 8, 8))
    assert posted.quantity_after == 8
    assert len(cw.additions(CONTOSO_M365)) == 1  # a 429 was refused, not applied: resent


def test_the_server_side_budget_is_waited_out(cw: Tenant) -> None:
    cw.sim.controls.rate_limit = 2
    cw.sim.controls.rate_window = 1.0
    assert len(list(cw.psa.list_agreements(CONTOSO))) == 2
    assert cw.quantity(FABRIKAM_M365, PREMIUM, TODAY) == 15
    assert cw.log.count(status=429) >= 1


def test_a_failing_api_ends_in_a_clear_error(cw: Tenant) -> None:
    cw.sim.controls.faults.add(Fault(status=500, times=50, path_contains="/finance/"))
    with pytest.raises(ApiError, match="after 6 attempts"):
        list(cw.psa.list_agreements(CONTOSO))


def test_requests_are_logged_with_their_query(cw: Tenant) -> None:
    list(cw.psa.list_agreements(CONTOSO))
    [entry] = [e for e in cw.log.entries() if e.path.endswith("/agreements")]
    assert "conditions=company/id=19297" in unquote(entry.query)
    assert "pageSize=1000" in entry.query


# -- reading each thing once per run ------------------------------------------------------------

def test_lines_at_several_dates_read_the_additions_once(cw: Tenant) -> None:
    days = (TODAY, NEXT_PERIOD, date(2026, 2, 1))
    quantities = [{line.catalog_item_id: line.quantity for line in cw.psa.list_lines(
        NORTHWIND_M365, day)} for day in days]
    assert quantities[0] == quantities[1]
    reads = cw.log.count("GET", f"/finance/agreements/{NORTHWIND_M365}/additions")
    assert reads == 1


def test_a_posting_rereads_the_agreement_and_later_lines_come_from_that_read(
        cw: Tenant) -> None:
    assert [line.quantity for line in cw.psa.list_lines(NORTHWIND_M365, TODAY)] == [
        Decimal(18)]
    posted = cw.psa.post_adjustment(change(NORTHWIND_M365, BASIC, 2, 20, key="read-once"))
    assert posted.quantity_after == Decimal(20)
    assert [line.quantity for line in cw.psa.list_lines(NORTHWIND_M365, TODAY)] == [
        Decimal(20)]
    path = f"/finance/agreements/{NORTHWIND_M365}/additions"
    # the plan's read, the poster's read before and after the POST; none for the last lines
    assert cw.log.count("GET", path) == 3
    assert cw.log.count("POST", path) == 1
    assert cw.log.count("GET", "/procurement/catalog") == 1  # the new addition's defaults


def test_agreements_of_many_companies_come_from_one_listing(cw: Tenant) -> None:
    companies = ("19297", "19298", "19299", "19300", "19301")
    found = {c: sorted(a.id for a in cw.psa.list_agreements(c)) for c in companies}
    assert found["19297"] == ["871", "872"] and found["19300"] == ["875", "876"]
    # the first company alone, then every agreement in one page for the others
    assert cw.log.count("GET", "/finance/agreements") == 2
    assert list(cw.psa.list_agreements("19302")) == []  # no agreements: the company exists
    with pytest.raises(NotFoundError):
        list(cw.psa.list_agreements("424242"))


# -- what onboarding matches on ---------------------------------------------------------------

def test_company_custom_fields_and_catalog_part_numbers_are_read(
    tenant: Callable[..., AbstractContextManager[Tenant]],
) -> None:
    seed = copy.deepcopy(example_seed())
    seed["companies"][0]["customFields"] = [
        {"id": 7, "caption": "Ingram ID", "type": "Text", "value": "1000275"},
        {"id": 8, "caption": "Empty", "type": "Text", "value": None}]
    seed["catalog"][0].update(manufacturerPartNumber="CFQ7TTC0LH16:0001", vendorSku="EXO-P1")
    with tenant(seed) as t:
        companies = {c.name: c for c in t.psa.list_companies()}
        assert companies["Contoso Ltd"].custom_fields == {"Ingram ID": "1000275"}
        assert companies["Fabrikam Inc"].custom_fields == {}
        [item] = t.psa.list_catalog(ids=["1201"])
        assert (item.manufacturer_part_number, item.vendor_sku) == ("CFQ7TTC0LH16:0001",
                                                                    "EXO-P1")
        assert item.skus() == ["CFQ7TTC0LH16", "CFQ7TTC0LH16:0001", "EXO-P1"]
        assert next(t.psa.list_agreements("19297")).recurring is None  # CW cannot tell
