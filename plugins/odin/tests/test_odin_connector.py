"""The ``odin`` connector through IDSync's plugin machinery, against its simulators on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from idsync_core.errors import NotFoundError
from idsync_core.models import SubscriptionStatus
from idsync_core.plugins import ProviderConnection, discover_plugins, open_connection
from idsync_core.simulation import ServerThread
from idsync_odin.connector import Odin
from idsync_odin.settings import OdinSettings
from idsync_odin.simulator import OdinSimulator, create_marketplace_simulator

SECTION = "providers.ingram"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def served(clock: Clock) -> Iterator[tuple[OdinSimulator, str]]:
    sim = create_marketplace_simulator(None, clock=clock)
    with ServerThread(sim.app) as server:
        yield sim, server.url


@pytest.fixture
def connect(served: tuple[OdinSimulator, str],
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], ProviderConnection]]:
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "odin")
    sim, url = served
    opened: list[ProviderConnection] = []

    def open_one() -> ProviderConnection:
        connection = open_connection(SECTION, sim.connection_settings(url), "provider",
                                     discover_plugins())
        assert isinstance(connection, ProviderConnection)
        opened.append(connection)
        return connection

    yield open_one
    for connection in opened:
        connection.close()


def test_check_and_accounts(connect: Callable[[], ProviderConnection]) -> None:
    connection = connect()
    line = connection.check()
    assert line.startswith("Ingram Micro Cloud Marketplace at 127.0.0.1:")
    assert line.endswith("(marketplace us) as api-user@msp.example: 5 customers")
    assert [a.name for a in connection.list_accounts()] == [
        "Contoso Ltd", "Fabrikam Inc", "Northwind Traders", "Adventure Works", "Tailspin Toys"]
    assert [a.id for a in connection.list_accounts("fabrikam")] == ["1000276"]


def test_subscriptions_include_every_status(connect: Callable[[], ProviderConnection]) -> None:
    connection = connect()
    fabrikam = {s.id: s for s in connection.list_subscriptions("1000276")}
    assert {k: s.status for k, s in fabrikam.items()} == {
        "1000181": SubscriptionStatus.ACTIVE, "1000182": SubscriptionStatus.TERMINATED}
    tailspin = {s.id: s.status for s in connection.list_subscriptions("1000279")}
    assert tailspin["1000196"] is SubscriptionStatus.TERMINATED
    adventure = [s.status for s in connection.list_subscriptions("1000278")]
    assert adventure == [SubscriptionStatus.SUSPENDED]
    with pytest.raises(NotFoundError):
        list(connection.list_subscriptions("424242"))


def test_resources_of_the_demo_story(connect: Callable[[], ProviderConnection]) -> None:
    connection = connect()
    (exo,) = connection.list_resources("1000177")
    assert (exo.id, exo.name, exo.sku) == ("1000177:CFQ7TTC0LH16", "Exchange Online (Plan 1)",
                                           "CFQ7TTC0LH16")
    assert (exo.quantity, exo.unit_price, exo.unit_cost) == (
        Decimal(8), Decimal("4.80"), Decimal("4.00"))
    (azure,) = connection.list_resources("1000178")
    assert (azure.seat_based, azure.quantity) == (False, None)
    (basic,) = connection.list_resources("1000182")
    assert basic.quantity == Decimal(0)
    with pytest.raises(NotFoundError):
        list(connection.list_resources("424242"))


def test_a_quantity_changed_at_the_provider_is_seen_by_the_next_instance(
        served: tuple[OdinSimulator, str], connect: Callable[[], ProviderConnection]) -> None:
    sim, url = served
    first = connect()
    assert [r.quantity for r in first.list_resources("1000177")] == [Decimal(8)]
    answer = httpx.post(f"{url}/_sim/subscriptions/1000177/products/CFQ7TTC0LH16",
                        json={"quantity": 10})
    assert answer.status_code == 200
    # One run reads each subscription once: the same instance keeps what it read.
    assert [r.quantity for r in first.list_resources("1000177")] == [Decimal(8)]
    assert sim.controls.log.count("GET", "/subscriptions/1000177") == 1
    assert [r.quantity for r in connect().list_resources("1000177")] == [Decimal(10)]
    httpx.post(f"{url}/_sim/subscriptions/1000177", json={"status": "terminated"})
    assert [r.quantity for r in connect().list_resources("1000177")] == [Decimal(0)]


def test_revoked_and_expired_tokens_are_replaced(served: tuple[OdinSimulator, str],
                                                 connect: Callable[[], ProviderConnection],
                                                 clock: Clock) -> None:
    sim, url = served
    connection = connect()
    assert len(list(connection.list_accounts())) == 5
    httpx.delete(f"{url}/_sim/tokens")
    assert len(list(connection.list_subscriptions("1000275"))) == 2
    clock.now += 1500  # the simulator's clock: the token expired early for the client
    assert len(list(connection.list_resources("1000177"))) == 1
    assert sim.controls.log.count("POST", "/token", status=200) == 3
    assert sim.controls.log.count(status=401) == 2


def test_the_detail_throttle_is_waited_out(served: tuple[OdinSimulator, str],
                                           clock: Clock) -> None:
    sim, url = served
    sim.world.detail_throttle.limit, sim.world.detail_throttle.window = 2, 30
    raw = {k: v for k, v in sim.connection_settings(url).items() if k != "plugin"}
    connector = Odin(OdinSettings.model_validate(raw), sleep=clock.sleep)
    try:
        ids = [s.id for a in ("1000275", "1000276") for s in
               connector.idsync_list_subscriptions(a)]
        found = {i: [r.quantity for r in connector.idsync_list_resources(i)] for i in ids}
    finally:
        connector.idsync_close()
    assert found == {"1000177": [Decimal(8)], "1000178": [None], "1000181": [Decimal(15)],
                     "1000182": [Decimal(0)]}
    assert sim.controls.log.count("GET", "/subscriptions/", status=429) == 1
    assert clock.now == 1030.0


def test_settings_errors_name_the_keys(monkeypatch: pytest.MonkeyPatch,
                                       served: tuple[OdinSimulator, str]) -> None:
    from idsync_core.errors import ConfigurationError

    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "odin")
    sim, url = served
    raw: dict[str, Any] = {**sim.connection_settings(url), "consumer_key": "k"}
    del raw["username"]
    with pytest.raises(ConfigurationError) as info:
        open_connection(SECTION, raw, "provider", discover_plugins())
    message = str(info.value)
    assert "backend 'marketplace' needs username" in message
    assert "consumer_key only apply to the other backend" in message
    assert "sim-password" not in message
