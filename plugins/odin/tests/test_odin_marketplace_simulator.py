"""The marketplace simulator speaks the wire format the connector relies on."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pydantic
import pytest

from idsync_core.simulation import ServerThread
from idsync_odin.simulator import OdinSimulator, create_marketplace_simulator, create_simulator
from idsync_odin.simulator.seed import example_seed

API = "/marketplace/us"
Served = tuple[OdinSimulator, httpx.Client]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


GOOD = {"X-Subscription-Key": "sim-subscription-key",
        "Authorization": basic("api-user@msp.example", "sim-password")}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim_client(clock: Clock) -> Iterator[Served]:
    sim = create_marketplace_simulator(None, clock=clock)
    with ServerThread(sim.app) as server, httpx.Client(base_url=server.url) as http:
        yield sim, http


def login(http: httpx.Client) -> dict[str, str]:
    answer = http.post(f"{API}/token", headers=GOOD, json={"marketplace": "us"})
    assert answer.status_code == 200, answer.text
    return {"X-Subscription-Key": "sim-subscription-key",
            "Authorization": f"Bearer {answer.json()['token']}"}


def test_token_checks_key_user_and_marketplace(sim_client: Served) -> None:
    _, http = sim_client
    missing = http.post(f"{API}/token", headers={"Authorization": GOOD["Authorization"]},
                        json={"marketplace": "us"})
    assert missing.status_code == 401 and "missing subscription key" in missing.json()["message"]
    wrong_key = http.post(f"{API}/token", headers={**GOOD, "X-Subscription-Key": "nope"},
                          json={"marketplace": "us"})
    assert "invalid subscription key" in wrong_key.json()["message"]
    wrong_password = http.post(f"{API}/token", json={"marketplace": "us"},
                               headers={**GOOD, "Authorization": basic("api-user@msp.example",
                                                                       "x")})
    assert wrong_password.status_code == 401
    assert http.post(f"{API}/token", headers=GOOD,
                     json={"marketplace": "eu"}).status_code == 400
    ok = http.post(f"{API}/token", headers=GOOD, json={"marketplace": "us"})
    assert ok.status_code == 200 and ok.json()["expiresInSeconds"] == 1500
    assert ok.json()["token"]


def test_calls_need_key_and_a_live_token(sim_client: Served,
                                         clock: Clock) -> None:
    _, http = sim_client
    headers = login(http)
    assert http.get(f"{API}/customers", headers=headers).status_code == 200
    no_key = http.get(f"{API}/customers", headers={"Authorization": headers["Authorization"]})
    assert no_key.status_code == 401
    assert http.get(f"{API}/customers",
                    headers={"X-Subscription-Key": "sim-subscription-key"}).status_code == 401
    clock.now += 1500
    expired = http.get(f"{API}/customers", headers=headers)
    assert expired.status_code == 401 and "expired" in expired.json()["message"]
    headers = login(http)
    assert http.delete("/_sim/tokens").status_code == 204
    assert http.get(f"{API}/customers", headers=headers).status_code == 401


def test_lists_page_in_data_and_pagination(sim_client: Served) -> None:
    _, http = sim_client
    headers = login(http)
    body = http.get(f"{API}/customers", params={"offset": 1, "limit": 2}, headers=headers).json()
    assert [c["name"] for c in body["data"]] == ["Fabrikam Inc", "Northwind Traders"]
    assert body["pagination"] == {"offset": 1, "limit": 2, "total": 5}
    capped = http.get(f"{API}/customers", params={"limit": 5000}, headers=headers).json()
    assert capped["pagination"]["limit"] == 500 and len(capped["data"]) == 5
    default = http.get(f"{API}/customers", headers=headers).json()
    assert default["pagination"]["limit"] == 10
    assert http.get(f"{API}/customers", params={"offset": -1},
                    headers=headers).status_code == 400


def test_subscription_rows_have_no_quantities_and_one_status(
        sim_client: Served) -> None:
    _, http = sim_client
    headers = login(http)
    rows = http.get(f"{API}/subscriptions", params={"customerId": "1000276", "limit": 50},
                    headers=headers).json()["data"]
    assert {r["id"]: r["status"] for r in rows} == {"1000181": "active",
                                                    "1000182": "terminated"}
    assert all("products" not in r and "quantity" not in r for r in rows)
    only = http.get(f"{API}/subscriptions", params={"status": "terminated", "limit": 50},
                    headers=headers).json()["data"]
    assert {r["id"] for r in only} == {"1000182"}
    for bad in ("active,pending", "bogus"):
        answer = http.get(f"{API}/subscriptions", params={"status": bad}, headers=headers)
        assert answer.status_code == 400, bad
    repeated = http.get(f"{API}/subscriptions?status=active&status=hold", headers=headers)
    assert repeated.status_code == 400


def test_detail_has_products_and_its_own_throttle(sim_client: Served,
                                                  clock: Clock) -> None:
    sim, http = sim_client
    headers = login(http)
    http.post("/_sim/settings", json={"detail_requests": 2, "detail_window_seconds": 10})
    first = http.get(f"{API}/subscriptions/1000177", headers=headers)
    assert first.status_code == 200
    assert first.json()["products"] == [{
        "id": "CFQ7TTC0LH16", "mpn": "CFQ7TTC0LH16", "vendor": "Microsoft",
        "name": "Exchange Online (Plan 1)", "quantity": 8,
        "unitPrice": {"currency": "USD", "amount": "4.80"},
        "unitCost": {"currency": "USD", "amount": "4.00"}}]
    azure = http.get(f"{API}/subscriptions/1000178", headers=headers).json()["products"][0]
    assert "quantity" not in azure
    throttled = http.get(f"{API}/subscriptions/1000177", headers=headers)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "10"
    assert "Rate limit is exceeded" in throttled.json()["message"]
    assert http.get(f"{API}/customers", headers=headers).status_code == 200  # lists unaffected
    clock.now += 10
    assert http.get(f"{API}/subscriptions/1000177", headers=headers).status_code == 200
    assert http.get(f"{API}/subscriptions/999", headers=headers).status_code == 404
    assert sim.controls.log.count("GET", "/subscriptions/1000177", status=429) == 1


def test_control_routes_change_quantities_and_statuses(
        sim_client: Served) -> None:
    _, http = sim_client
    changed = http.post("/_sim/subscriptions/1000177/products/CFQ7TTC0LH16",
                        json={"quantity": 10})
    assert changed.status_code == 200 and changed.json()["quantity"] == 10
    assert http.post("/_sim/subscriptions/1000177", json={"status": "hold"}).status_code == 200
    headers = login(http)
    body = http.get(f"{API}/subscriptions/1000177", headers=headers).json()
    assert body["status"] == "hold" and body["products"][0]["quantity"] == 10
    state = http.get("/_sim/state").json()
    contoso = state["customers"][0]
    assert contoso["name"] == "Contoso Ltd"
    assert contoso["subscriptions"][0]["products"][0]["quantity"] == 10
    for path, payload, status in (
        ("/_sim/subscriptions/1000177/products/NOPE", {"quantity": 1}, 404),
        ("/_sim/subscriptions/1000177/products/CFQ7TTC0LH16", {"quantity": -1}, 400),
        ("/_sim/subscriptions/1000177/products/CFQ7TTC0LH16", {"quantity": "3"}, 400),
        ("/_sim/subscriptions/1000177", {"status": "gone"}, 400),
        ("/_sim/subscriptions/nope", {"status": "active"}, 404),
    ):
        assert http.post(path, json=payload).status_code == status, path


def test_last_modified_date_moves_when_a_subscription_changes() -> None:
    moment = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    sim = create_marketplace_simulator(None, wall_clock=lambda: moment)
    with ServerThread(sim.app) as server, httpx.Client(base_url=server.url) as http:
        headers = login(http)

        def modified() -> dict[str, str]:
            rows = http.get(f"{API}/subscriptions", params={"customerId": "1000275"},
                            headers=headers).json()["data"]
            return {r["id"]: r["lastModifiedDate"] for r in rows}

        assert modified() == {"1000177": "2026-01-01", "1000178": "2026-01-01"}
        http.post("/_sim/subscriptions/1000177/products/CFQ7TTC0LH16", json={"quantity": 8})
        assert modified()["1000177"] == "2026-01-01"  # the same count is no change
        http.post("/_sim/subscriptions/1000177/products/CFQ7TTC0LH16", json={"quantity": 9})
        assert modified() == {"1000177": "2026-11-20", "1000178": "2026-01-01"}
        http.post("/_sim/subscriptions/1000178", json={"status": "hold"})
        assert modified()["1000178"] == "2026-11-20"
        detail = http.get(f"{API}/subscriptions/1000178", headers=headers).json()
        assert detail["lastModifiedDate"] == "2026-11-20"
        reloaded = create_marketplace_simulator(http.get("/_sim/state").json())
    assert reloaded.world.subscriptions["1000177"].last_modified == moment
    assert reloaded.world.subscriptions["1000177"].revision == 2


def test_the_state_reloads_as_a_seed(sim_client: Served) -> None:
    sim, http = sim_client
    http.post("/_sim/subscriptions/1000177/products/CFQ7TTC0LH16", json={"quantity": 3})
    again = create_marketplace_simulator(http.get("/_sim/state").json())
    assert again.world.subscriptions["1000177"].products[0].quantity == 3
    assert again.world.customers["1000275"].aps_id == sim.world.customers["1000275"].aps_id


def test_example_seed_tells_the_demo_story() -> None:
    sim = create_simulator(None)
    assert sim.backend == "marketplace"
    names = {c.name for c in sim.world.customers.values()}
    assert names == {"Contoso Ltd", "Fabrikam Inc", "Northwind Traders", "Adventure Works",
                     "Tailspin Toys"}
    exo = sim.world.subscriptions["1000177"].product("CFQ7TTC0LH16")
    assert exo is not None and exo.quantity == 8 and exo.name == "Exchange Online (Plan 1)"
    assert {s.status for s in sim.world.subscriptions.values()} >= {"terminated", "active"}
    azure = sim.world.subscriptions["1000178"].product("DZH318Z0BQ3Q")
    assert azure is not None and azure.quantity is None


@pytest.mark.parametrize("change", [
    {"customers": [{"id": "1", "name": "A"}, {"id": "1", "name": "B"}]},
    {"customers": [{"id": "1", "name": "A", "typo": True}]},
    {"customers": [{"id": "1", "name": "A", "subscriptions": [
        {"id": "S", "name": "s", "products": [{"mpn": "X", "name": "x", "quantity": -2}]}]}]},
    {"backend": "xmlrpc"},
    {"customers": [{"id": "1", "name": "A", "subscriptions": [
        {"id": "S", "name": "s", "creation_date": "someday"}]}]},
    {"customers": [{"id": "1", "name": "A", "subscriptions": [
        {"id": "S", "name": "s", "last_modified": "later"}]}]},
])
def test_bad_seeds_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        create_simulator({**example_seed(), **change})
