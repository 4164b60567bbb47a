"""The ``odin`` connector through IDSync's plugin machinery, against its simulators on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from idsync_core.errors import NotFoundError
from idsync_core.http.wiring import Wiring
from idsync_core.models import SubscriptionStatus
from idsync_core.plugins import ProviderConnection, discover_plugins, open_connection
from idsync_core.simulation import ServerThread
from idsync_odin.connector import Odin
from idsync_odin.settings import OdinSettings
from idsync_odin.simulator import (
    OdinSimulator,
    create_aps_simulator,
    create_marketplace_simulator,
)

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


@pytest.fixture(params=["marketplace", "aps"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def served(clock: Clock, backend: str) -> Iterator[tuple[OdinSimulator, str]]:
    factory = create_aps_simulator if backend == "aps" else create_marketplace_simulator
    sim = factory(None, clock=clock)
    with ServerThread(sim.app) as server:
        yield sim, server.url


@pytest.fixture
def connect(served: tuple[OdinSimulator, str],
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., ProviderConnection]]:
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "odin")
    sim, url = served
    opened: list[ProviderConnection] = []

    def open_one(**overrides: Any) -> ProviderConnection:
        raw = {k: v for k, v in {**sim.connection_settings(url), **overrides}.items()
               if v is not None}
        connection = open_connection(SECTION, raw, "provider", discover_plugins())
        assert isinstance(connection, ProviderConnection)
        opened.append(connection)
        return connection

    yield open_one
    for connection in opened:
        connection.close()


def ids(sim: OdinSimulator, backend: str, *seed_ids: str) -> list[str]:
    """The ids a backend uses for seed customers/subscriptions (APS: resource UUIDs)."""
    if backend == "marketplace":
        return list(seed_ids)
    found = []
    for seed_id in seed_ids:
        thing = sim.world.customers.get(seed_id) or sim.world.subscriptions[seed_id]
        found.append(thing.aps_id)
    return found


def test_check_and_accounts(connect: Callable[..., ProviderConnection], backend: str,
                            served: tuple[OdinSimulator, str]) -> None:
    connection = connect()
    line = connection.check()
    if backend == "marketplace":
        assert line.startswith("Ingram Micro Cloud Marketplace at 127.0.0.1:")
        assert line.endswith("(marketplace us) as api-user@msp.example: 5 customers")
    else:
        assert line.startswith("Odin APS bus at 127.0.0.1:")
        assert line.endswith("(OAuth sim-consumer-key): 5 customer accounts")
    assert [a.name for a in connection.list_accounts()] == [
        "Contoso Ltd", "Fabrikam Inc", "Northwind Traders", "Adventure Works", "Tailspin Toys"]
    assert [a.id for a in connection.list_accounts("fabrikam")] == ids(served[0], backend,
                                                                       "1000276")


def test_subscriptions_include_every_status(connect: Callable[..., ProviderConnection],
                                            backend: str,
                                            served: tuple[OdinSimulator, str]) -> None:
    sim = served[0]
    connection = connect()
    fabrikam, tailspin, adventure = ids(sim, backend, "1000276", "1000279", "1000278")
    active, terminated, removed = ids(sim, backend, "1000181", "1000182", "1000196")
    found = {s.id: s for s in connection.list_subscriptions(fabrikam)}
    assert {k: s.status for k, s in found.items()} == {
        active: SubscriptionStatus.ACTIVE, terminated: SubscriptionStatus.TERMINATED}
    assert all(s.account_id == fabrikam for s in found.values())
    assert found[active].name == "Fabrikam - Microsoft 365 Business Premium"
    by_id = {s.id: s.status for s in connection.list_subscriptions(tailspin)}
    assert by_id[removed] is SubscriptionStatus.TERMINATED
    assert [s.status for s in connection.list_subscriptions(adventure)] == [
        SubscriptionStatus.SUSPENDED]
    with pytest.raises(NotFoundError):
        list(connection.list_subscriptions("424242"))


def test_resources_of_the_demo_story(connect: Callable[..., ProviderConnection], backend: str,
                                     served: tuple[OdinSimulator, str]) -> None:
    m365, azure_plan, terminated = ids(served[0], backend, "1000177", "1000178", "1000182")
    connection = connect()
    (exo,) = connection.list_resources(m365)
    assert exo.name == "Exchange Online (Plan 1)" and exo.quantity == Decimal(8)
    if backend == "marketplace":
        assert (exo.id, exo.sku) == ("1000177:CFQ7TTC0LH16", "CFQ7TTC0LH16")
        assert (exo.unit_price, exo.unit_cost) == (Decimal("4.80"), Decimal("4.00"))
    else:
        assert (exo.id, exo.sku) == (f"{m365}:1000401", "1000401")
    (azure,) = connection.list_resources(azure_plan)
    assert (azure.name, azure.seat_based, azure.quantity) == ("Azure plan", False, None)
    (basic,) = connection.list_resources(terminated)
    assert basic.quantity == Decimal(0)
    with pytest.raises(NotFoundError):
        list(connection.list_resources("424242"))


def test_a_quantity_changed_at_the_provider_is_seen_by_the_next_instance(
        served: tuple[OdinSimulator, str], connect: Callable[..., ProviderConnection],
        backend: str) -> None:
    sim, url = served
    (m365,) = ids(sim, backend, "1000177")
    first = connect()
    assert [r.quantity for r in first.list_resources(m365)] == [Decimal(8)]
    answer = httpx.post(f"{url}/_sim/subscriptions/{m365}/products/CFQ7TTC0LH16",
                        json={"quantity": 10})
    assert answer.status_code == 200
    # One run reads each subscription once: the same instance keeps what it read.
    assert [r.quantity for r in first.list_resources(m365)] == [Decimal(8)]
    assert sim.controls.log.count("GET", f"/{m365}") == (1 if backend == "marketplace" else 2)
    assert [r.quantity for r in connect().list_resources(m365)] == [Decimal(10)]
    httpx.post(f"{url}/_sim/subscriptions/{m365}", json={"status": "terminated"})
    assert [r.quantity for r in connect().list_resources(m365)] == [Decimal(0)]


@pytest.mark.parametrize("backend", ["marketplace"])
def test_revoked_and_expired_tokens_are_replaced(served: tuple[OdinSimulator, str],
                                                 connect: Callable[..., ProviderConnection],
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


@pytest.mark.parametrize("backend", ["marketplace"])
def test_the_detail_throttle_is_waited_out(served: tuple[OdinSimulator, str],
                                           clock: Clock) -> None:
    sim, url = served
    sim.world.detail_throttle.limit, sim.world.detail_throttle.window = 2, 30
    raw = {k: v for k, v in sim.connection_settings(url).items() if k != "plugin"}
    connector = Odin(OdinSettings.model_validate(raw), wiring=Wiring(sleep=clock.sleep))
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


@pytest.mark.parametrize("backend", ["marketplace"])
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


@pytest.mark.parametrize("backend", ["aps"])
def test_aps_token_instead_of_oauth(connect: Callable[..., ProviderConnection]) -> None:
    connection = connect(consumer_key=None, consumer_secret=None, aps_token="sim-aps-token")
    assert connection.check().endswith("(APS-Token): 5 customer accounts")
    assert len(list(connection.list_accounts())) == 5


@pytest.mark.parametrize("backend", ["marketplace"])
def test_many_accounts_are_answered_from_one_listing_per_status(
        served: tuple[OdinSimulator, str], connect: Callable[..., ProviderConnection]) -> None:
    sim, _ = served
    connection = connect()
    accounts = ("1000275", "1000276", "1000277", "1000278", "1000279")
    found = {a: sorted(s.id for s in connection.list_subscriptions(a)) for a in accounts}
    assert found["1000275"] == ["1000177", "1000178"] and found["1000278"] == ["1000190"]
    # the first account: its customer and one listing per status; then one listing per status
    # of every customer's subscriptions answers all the others
    assert sim.controls.log.count("GET", "/customers/") == 1
    assert sim.controls.log.count("GET", "/subscriptions") == 10
    # an account asked for again is read afresh: the index hands each account out once
    assert all(s.account_id == "1000276" for s in connection.list_subscriptions("1000276"))
    assert sim.controls.log.count("GET", "/customers/") == 2
    with pytest.raises(NotFoundError):
        list(connection.list_subscriptions("424242"))


@pytest.mark.parametrize("backend", ["marketplace"])
def test_rows_without_a_customer_keep_the_listings_per_account(
        served: tuple[OdinSimulator, str], connect: Callable[..., ProviderConnection],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from idsync_odin.simulator import marketplace

    original = marketplace._row
    monkeypatch.setattr(marketplace, "_row", lambda sub: {
        k: v for k, v in original(sub).items() if k != "customerId"})
    sim, _ = served
    connection = connect()
    assert len(list(connection.list_subscriptions("1000275"))) == 2
    assert len(list(connection.list_subscriptions("1000276"))) == 2
    assert len(list(connection.list_subscriptions("1000279"))) == 2
    # one attempt at the whole listing (given up at its first row), then per account again
    assert sim.controls.log.count("GET", "/customers/") == 3


def test_external_ids_and_terms_are_read(connect: Callable[..., ProviderConnection],
                                         served: tuple[OdinSimulator, str],
                                         backend: str) -> None:
    sim = served[0]
    sim.world.customers["1000275"].external_id = "19297"
    sim.world.subscriptions["1000177"].periods = {
        "subscriptionPeriod": {"type": "Year", "duration": 1},
        "billingPeriod": {"type": "month", "duration": 1}}
    connection = connect()
    [contoso] = connection.list_accounts("contoso")
    subscription = next(s for s in connection.list_subscriptions(contoso.id)
                        if s.id == ids(sim, backend, "1000177")[0])
    if backend == "marketplace":
        assert contoso.external_id == "19297"
        assert (subscription.commitment_term, subscription.billing_term) == ("1y", "1m")
        assert subscription.renewal_date == date(2027, 1, 1)  # its renewalDate
    else:  # UNCONFIRMED where APS keeps either: not read
        assert contoso.external_id is None and subscription.commitment_term is None
        assert subscription.renewal_date is None
