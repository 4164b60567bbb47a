"""The connector against its simulator: what the example seed reads as, and the mapping rules
(statuses, one resource per subscription, currency, usage-based products, a token expiring in
the middle of a run)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from idsync_core.errors import NotFoundError
from idsync_core.models import SubscriptionStatus
from idsync_core.plugins import ProviderConnection, discover_plugins, open_connection
from idsync_core.simulation import ServerThread
from idsync_core.testing import SuiteClock
from idsync_pax8.simulator import Pax8Simulator, create_simulator

CONTOSO = "3f1d2c4e-5a6b-4c7d-8e9f-0a1b2c3d4e01"
FABRIKAM = "3f1d2c4e-5a6b-4c7d-8e9f-0a1b2c3d4e02"
NORTHWIND = "3f1d2c4e-5a6b-4c7d-8e9f-0a1b2c3d4e03"
AZURE = "7e2b9c1a-0004-4d2e-9f3a-1b2c3d4e5f04"


Served = tuple[Pax8Simulator, str, SuiteClock]
"""The simulator, its URL, and the clock its tokens expire by."""


def sub(n: int) -> str:
    return f"a0c4e6f8-1000-4b2d-8c3e-{n:012d}"


@pytest.fixture(autouse=True)
def only_pax8(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "pax8")


@pytest.fixture
def served() -> Iterator[Served]:
    clock = SuiteClock()
    simulator = create_simulator(None, clock=clock.monotonic)
    with ServerThread(simulator.app) as server:
        yield simulator, server.url, clock


def connect(simulator: Pax8Simulator, url: str, **settings: Any) -> ProviderConnection:
    connection = open_connection("providers.pax8", {**simulator.connection_settings(url),
                                                    **settings}, "provider", discover_plugins())
    assert isinstance(connection, ProviderConnection)
    return connection


def test_the_example_seed_reads_as_documented(served: Served) -> None:
    simulator, url, _ = served
    pax8 = connect(simulator, url)
    assert [a.name for a in pax8.list_accounts()] == [
        "Contoso Ltd", "Fabrikam Inc", "Northwind Traders", "Tailspin Toys"]
    assert [a.name for a in pax8.list_accounts("north")] == ["Northwind Traders"]
    assert [(s.id, s.name, s.status) for s in pax8.list_subscriptions(FABRIKAM)] == [
        (sub(3), "Microsoft 365 Business Basic", SubscriptionStatus.TERMINATED),
        (sub(4), "Microsoft 365 Business Basic", SubscriptionStatus.PENDING)]
    [exchange] = pax8.list_resources(sub(1))
    assert (exchange.id, exchange.subscription_id, exchange.sku, exchange.name,
            exchange.quantity, exchange.unit_price, exchange.unit_cost, exchange.seat_based) == (
        sub(1), sub(1), "CFQ7TTC0LH16", "Exchange Online (Plan 1)", Decimal(8), Decimal("4.8"),
        Decimal("4.0"), True)
    assert pax8.check().endswith("as application idsync-demo-app: 4 companies")


def test_a_price_in_another_currency_is_not_passed_on(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    simulator, url, _ = served
    with caplog.at_level(logging.WARNING, logger="idsync_pax8"):
        [tailspin] = connect(simulator, url).list_resources(sub(7))
    assert (tailspin.quantity, tailspin.unit_price, tailspin.unit_cost) == (6, None, None)
    assert caplog.messages == [f"Pax8 subscription {sub(7)} is priced in EUR, the connection "
                               "bills in USD: its price and cost are not used"]
    [euros] = connect(simulator, url, currency="EUR").list_resources(sub(7))
    assert (euros.unit_price, euros.unit_cost) == (Decimal("4.5"), Decimal("3.8"))


def test_usage_based_products_are_listed_without_a_seat_count(
        served: Served) -> None:
    simulator, url, _ = served
    [azure] = connect(simulator, url, usage_based_products=[AZURE]).list_resources(sub(5))
    assert (azure.seat_based, azure.quantity) == (False, None)
    [counted] = connect(simulator, url).list_resources(sub(5))
    assert (counted.seat_based, counted.quantity) == (True, 1)


def test_an_unknown_status_is_skipped_not_guessed(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    simulator, url, _ = served
    httpx.post(f"{url}/_sim/subscriptions/{sub(2)}", json={"status": "Frozen"}).raise_for_status()
    with caplog.at_level(logging.WARNING, logger="idsync_pax8"):
        listed = [s.id for s in connect(simulator, url).list_subscriptions(CONTOSO)]
    assert listed == [sub(1)]
    assert caplog.messages == [f"skipping Pax8 subscription {sub(2)}: unknown status 'Frozen'"]


def test_unknown_ids_are_not_found(served: Served) -> None:
    simulator, url, _ = served
    pax8 = connect(simulator, url)
    with pytest.raises(NotFoundError, match="Pax8 company no-such-company does not exist"):
        list(pax8.list_subscriptions("no-such-company"))
    with pytest.raises(NotFoundError, match="Pax8 subscription no-such-sub does not exist"):
        list(pax8.list_resources("no-such-sub"))


def test_a_change_at_pax8_is_read_by_the_next_listing(
        served: Served) -> None:
    simulator, url, _ = served
    httpx.post(f"{url}/_sim/subscriptions/{sub(1)}", json={"quantity": 11}).raise_for_status()
    [exchange] = connect(simulator, url).list_resources(sub(1))
    assert exchange.quantity == 11


def test_a_token_expiring_mid_run_is_renewed_once(
        served: Served) -> None:
    """The server's clock passes the token's 24 hours while the connector's does not (clocks
    drift, tokens are revoked): the next request is refused, one new token is fetched, and the
    run goes on."""
    simulator, url, clock = served
    pax8 = connect(simulator, url)
    assert len(list(pax8.list_accounts())) == 4
    clock.advance(86400)
    assert len(list(pax8.list_subscriptions(CONTOSO))) == 2
    log = simulator.controls.log
    assert log.count("POST", "/v1/token") == 2
    assert log.count("GET", "/v1/companies/" + CONTOSO, status=401) == 1
    assert log.count(status=401) == 1
