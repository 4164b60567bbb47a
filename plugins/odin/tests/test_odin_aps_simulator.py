"""The APS simulator: OAuth 1.0a / APS-Token, RQL, Content-Range, subscription resources."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from idsync_core.simulation import ServerThread
from idsync_odin.aps.auth import OAuth1
from idsync_odin.aps.rql import ACCOUNT_TYPE, SUBSCRIPTION_TYPE
from idsync_odin.simulator import OdinSimulator, create_aps_simulator, create_simulator
from idsync_odin.simulator.seed import example_seed

RESOURCES = "/aps/2/resources"


def oauth(secret: str = "sim-consumer-secret", **kwargs: Any) -> OAuth1:
    return OAuth1("sim-consumer-key", SecretStr(secret), **kwargs)


@pytest.fixture
def served() -> Iterator[tuple[OdinSimulator, str]]:
    sim = create_aps_simulator(None)
    with ServerThread(sim.app) as server:
        yield sim, server.url


@pytest.fixture
def http(served: tuple[OdinSimulator, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[1], auth=oauth()) as client:
        yield client


def query(http: httpx.Client, rql: str) -> httpx.Response:
    return http.get(f"{RESOURCES}?{rql}")


def test_oauth_signatures_are_checked(served: tuple[OdinSimulator, str]) -> None:
    _, url = served
    path = f"{url}{RESOURCES}?implementing({ACCOUNT_TYPE})"
    assert httpx.get(path).status_code == 401
    assert httpx.get(path, auth=oauth("wrong")).status_code == 401
    assert httpx.get(path, auth=oauth()).status_code == 200
    assert httpx.get(path, auth=oauth(clock=lambda: time.time() - 3600)).status_code == 401
    fixed = oauth(nonce=lambda: "same-nonce")
    assert httpx.get(path, auth=fixed).status_code == 200
    replay = httpx.get(path, auth=fixed)
    assert replay.status_code == 401 and "nonce" in replay.json()["message"]


def test_aps_token_is_an_alternative(served: tuple[OdinSimulator, str]) -> None:
    _, url = served
    path = f"{url}{RESOURCES}?implementing({ACCOUNT_TYPE})"
    assert httpx.get(path, headers={"APS-Token": "sim-aps-token"}).status_code == 200
    assert httpx.get(path, headers={"APS-Token": "other"}).status_code == 401


def test_accounts_by_rql_with_content_range(http: httpx.Client) -> None:
    everything = query(http, f"implementing({ACCOUNT_TYPE})")
    assert everything.headers["Content-Range"] == "items 0-6/7"
    assert {a["type"] for a in everything.json()} == {"PROVIDER", "RESELLER", "CUSTOMER"}
    page = query(http, f"implementing({ACCOUNT_TYPE}),eq(type,CUSTOMER),limit(1,2)")
    assert page.headers["Content-Range"] == "items 1-2/5"
    assert [a["companyName"] for a in page.json()] == ["Fabrikam Inc", "Northwind Traders"]
    contoso = page.json()[0]
    assert contoso["aps"]["type"] == ACCOUNT_TYPE and contoso["id"] == 1000276
    past_end = query(http, f"implementing({ACCOUNT_TYPE}),eq(type,CUSTOMER),limit(9,2)")
    assert past_end.json() == [] and past_end.headers["Content-Range"] == "items */5"
    named = query(http, f"implementing({ACCOUNT_TYPE}),eq(companyName,Contoso%20Ltd)")
    assert [a["companyName"] for a in named.json()] == ["Contoso Ltd"]


def test_rql_errors_are_400(http: httpx.Client) -> None:
    for bad in ("eq(type,CUSTOMER)", f"implementing({ACCOUNT_TYPE}),sort(+name)",
                f"implementing({ACCOUNT_TYPE}),eq(companyName,Contoso,Ltd)",
                f"implementing({ACCOUNT_TYPE}),and(eq(a,b))", f"implementing({ACCOUNT_TYPE}"):
        answer = query(http, bad)
        assert answer.status_code == 400, bad
        assert answer.json()["message"].startswith("RQL:")


def test_subscriptions_of_an_account_and_the_account_relation(
        served: tuple[OdinSimulator, str], http: httpx.Client) -> None:
    sim, _ = served
    fabrikam = sim.world.customers["1000276"].aps_id
    plain = query(http, f"implementing({SUBSCRIPTION_TYPE}),eq(account.aps.id,{fabrikam})")
    rows = plain.json()
    assert [(r["subscriptionId"], r["isTerminated"], r["disabled"]) for r in rows] == [
        (1000181, False, False), (1000182, True, True)]
    assert all("account" not in r for r in rows)
    selected = query(http, f"implementing({SUBSCRIPTION_TYPE}),eq(account.aps.id,{fabrikam}),"
                           "select(account)")
    assert {r["account"]["aps"]["id"] for r in selected.json()} == {fabrikam}
    pending = query(http, f"implementing({SUBSCRIPTION_TYPE}),eq(subscriptionId,1000186)")
    assert pending.json()[0]["aps"]["status"] == "aps:provisioning"


def test_subscription_resources_and_a_live_quantity_change(
        served: tuple[OdinSimulator, str], http: httpx.Client) -> None:
    sim, _ = served
    contoso_m365 = sim.world.subscriptions["1000177"].aps_id
    azure = sim.world.subscriptions["1000178"].aps_id
    (exo,) = http.get(f"{RESOURCES}/{contoso_m365}/resources").json()
    assert {k: exo[k] for k in ("title", "limit", "usage", "unit")} == {
        "title": "Exchange Online (Plan 1)", "limit": 8, "usage": 8, "unit": "unit"}
    (plan,) = http.get(f"{RESOURCES}/{azure}/resources").json()
    assert "limit" not in plan
    changed = httpx.post(f"{served[1]}/_sim/subscriptions/{contoso_m365}/products/CFQ7TTC0LH16",
                         json={"quantity": 10})
    assert changed.status_code == 200
    (exo,) = http.get(f"{RESOURCES}/{contoso_m365}/resources").json()
    assert exo["limit"] == 10
    by_type_id = f"{served[1]}/_sim/subscriptions/{contoso_m365}/products/{exo['id']}"
    assert httpx.post(by_type_id, json={"quantity": 11}).status_code == 200
    assert http.get(f"{RESOURCES}/{contoso_m365}/resources").json()[0]["limit"] == 11
    single = http.get(f"{RESOURCES}/{contoso_m365}").json()
    assert single["name"] == "Contoso - Microsoft 365" and "account" not in single
    assert http.get(f"{RESOURCES}/not-a-resource").status_code == 404
    assert http.get(f"{RESOURCES}/not-a-resource/resources").status_code == 404


def test_aps_modified_and_revision_move_when_a_subscription_changes() -> None:
    moment = datetime(2026, 11, 20, 9, 30, 15, tzinfo=UTC)
    sim = create_aps_simulator(None, wall_clock=lambda: moment)
    contoso_m365 = sim.world.subscriptions["1000177"].aps_id
    with ServerThread(sim.app) as server, httpx.Client(base_url=server.url,
                                                       auth=oauth()) as http:
        def meta() -> dict[str, Any]:
            listed = query(http, f"implementing({SUBSCRIPTION_TYPE}),eq(subscriptionId,1000177)")
            single = http.get(f"{RESOURCES}/{contoso_m365}").json()
            assert listed.json()[0]["aps"] == single["aps"]
            found: dict[str, Any] = single["aps"]
            return found

        before = meta()
        assert (before["modified"], before["revision"]) == ("2026-01-01T00:00:00Z", 1)
        httpx.post(f"{server.url}/_sim/subscriptions/{contoso_m365}/products/CFQ7TTC0LH16",
                   json={"quantity": 10})
        after = meta()
        assert (after["modified"], after["revision"]) == ("2026-11-20T09:30:15Z", 2)
        httpx.post(f"{server.url}/_sim/subscriptions/{contoso_m365}", json={"status": "hold"})
        assert meta()["revision"] == 3


def test_the_seed_chooses_the_simulator() -> None:
    assert create_simulator({**example_seed(), "backend": "aps"}).backend == "aps"
    sim = create_aps_simulator(None)
    settings = sim.connection_settings("http://127.0.0.1:9/")
    assert settings == {"plugin": "odin", "backend": "aps", "base_url": "http://127.0.0.1:9",
                        "consumer_key": "sim-consumer-key",
                        "consumer_secret": "sim-consumer-secret"}
