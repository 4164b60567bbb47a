"""Backend ``marketplace`` against respx: token, paging, statuses, throttling, parsing."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from idsync_core.errors import ConfigurationError, NotFoundError
from idsync_core.http import RetryPolicy
from idsync_core.http.wiring import Wiring
from idsync_core.models import SubscriptionStatus
from idsync_odin.marketplace import mapping
from idsync_odin.marketplace.backend import MarketplaceBackend
from idsync_odin.settings import OdinSettings

BASE = "https://api.cloud.example/marketplace/us"
PASSWORD = "pw-Sup3r-secret"
KEY = "key-Sup3r-secret"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_settings(**overrides: Any) -> OdinSettings:
    values: dict[str, Any] = {"base_url": BASE, "marketplace": "us", "username": "api@msp",
                              "password": PASSWORD, "subscription_key": KEY}
    return OdinSettings(**{**values, **overrides})


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def clock() -> Clock:
    return Clock()


def backend(slept: list[float], clock: Clock, **overrides: Any) -> MarketplaceBackend:
    return MarketplaceBackend(make_settings(**overrides), wiring=Wiring(
        retry=RetryPolicy(max_attempts=4), sleep=slept.append, clock=clock))


def tokens(mock: respx.MockRouter, *values: str, lifetime: int = 1500) -> respx.Route:
    return mock.post(f"{BASE}/token").mock(side_effect=[
        httpx.Response(200, json={"token": v, "expiresInSeconds": lifetime}) for v in values])


def page(rows: list[dict[str, Any]], offset: int = 0, total: int | None = None) -> httpx.Response:
    return httpx.Response(200, json={"data": rows, "pagination": {
        "offset": offset, "limit": 500, "total": len(rows) if total is None else total}})


def detail(sub_id: str, products: list[Any], status: str = "active") -> httpx.Response:
    return httpx.Response(200, json={"id": sub_id, "customerId": "C1", "name": "M365",
                                     "status": status, "products": products})


EXO = {"id": "p-1", "mpn": "CFQ7TTC0LH16", "name": "Exchange Online (Plan 1)", "quantity": 8,
       "vendor": "Microsoft", "unitPrice": {"currency": "USD", "amount": "4.80"},
       "unitCost": {"currency": "USD", "amount": "4.00"}}


# -- token --------------------------------------------------------------------------------------

def test_token_request_and_bearer_on_every_call(slept: list[float], clock: Clock) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        token_route = tokens(mock, "tok-1")
        customers = mock.get(f"{BASE}/customers").mock(return_value=page(
            [{"id": "1000275", "name": "Contoso Ltd"}]))
        accounts = list(backend(slept, clock).accounts(None))
    assert [(a.id, a.name) for a in accounts] == [("1000275", "Contoso Ltd")]
    sent = token_route.calls.last.request
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(
        f"api@msp:{PASSWORD}".encode()).decode()
    assert sent.headers["X-Subscription-Key"] == KEY
    assert json.loads(sent.content) == {"marketplace": "us"}
    listed = customers.calls.last.request
    assert listed.headers["Authorization"] == "Bearer tok-1"
    assert listed.headers["X-Subscription-Key"] == KEY
    assert listed.url.params["limit"] == "500" and listed.url.params["offset"] == "0"


def test_token_is_cached_then_refreshed_before_it_expires(slept: list[float],
                                                          clock: Clock) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        token_route = tokens(mock, "tok-1", "tok-2")
        route = mock.get(f"{BASE}/customers/C1").respond(200, json={"id": "C1", "name": "X"})
        client = backend(slept, clock).client
        client.customer("C1")
        clock.now = 1439.0  # 1500 s lifetime, refreshed 60 s early
        client.customer("C1")
        assert token_route.call_count == 1
        clock.now = 1440.0
        client.customer("C1")
    assert token_route.call_count == 2
    assert [c.request.headers["Authorization"] for c in route.calls] == [
        "Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


def test_short_token_lifetimes_keep_a_proportional_margin(slept: list[float],
                                                          clock: Clock) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        token_route = tokens(mock, "tok-1", "tok-2", lifetime=10)
        mock.get(f"{BASE}/customers/C1").respond(200, json={"id": "C1", "name": "X"})
        client = backend(slept, clock).client
        client.customer("C1")
        clock.now = 8.9
        client.customer("C1")
        assert token_route.call_count == 1
        clock.now = 9.0
        client.customer("C1")
    assert token_route.call_count == 2


def test_a_401_gets_a_new_token_and_repeats_once(slept: list[float], clock: Clock) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        token_route = tokens(mock, "tok-1", "tok-2")
        route = mock.get(f"{BASE}/customers/C1").mock(side_effect=[
            httpx.Response(401, json={"message": "Bearer token has expired"}),
            httpx.Response(200, json={"id": "C1", "name": "X"})])
        backend(slept, clock).client.customer("C1")
    assert token_route.call_count == 2
    assert [c.request.headers["Authorization"] for c in route.calls] == [
        "Bearer tok-1", "Bearer tok-2"]


def test_a_second_401_is_a_configuration_error_without_secrets(slept: list[float],
                                                               clock: Clock) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1", "tok-2")
        route = mock.get(f"{BASE}/customers/C1").respond(401, json={"message": "no"})
        with pytest.raises(ConfigurationError) as info:
            backend(slept, clock).client.customer("C1")
    assert route.call_count == 2
    message = str(info.value)
    assert "subscription_key" in message
    assert PASSWORD not in message and KEY not in message and "tok-" not in message


def test_refused_credentials_at_the_token_endpoint(slept: list[float], clock: Clock) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.post(f"{BASE}/token").respond(401, json={"message": "Invalid username or password"})
        with pytest.raises(ConfigurationError, match="Invalid username or password") as info:
            list(backend(slept, clock).accounts(None))
    assert "username, password" in str(info.value)
    assert PASSWORD not in str(info.value)


def test_secrets_stay_out_of_repr(slept: list[float], clock: Clock) -> None:
    settings = make_settings()
    assert PASSWORD not in repr(settings) and KEY not in repr(settings)
    assert PASSWORD not in str(settings.model_dump())


# -- paging ---------------------------------------------------------------------------------------

def test_paging_follows_pagination_total(slept: list[float], clock: Clock) -> None:
    rows = [{"id": str(n), "name": f"Customer {n}"} for n in range(5)]
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1")
        route = mock.get(f"{BASE}/customers").mock(side_effect=[
            page(rows[0:2], 0, 5), page(rows[2:4], 2, 5), page(rows[4:5], 4, 5)])
        found = list(backend(slept, clock, page_size=2).accounts(None))
    assert [a.id for a in found] == ["0", "1", "2", "3", "4"]
    assert [c.request.url.params["offset"] for c in route.calls] == ["0", "2", "4"]
    assert {c.request.url.params["limit"] for c in route.calls} == {"2"}


def test_paging_without_total_stops_at_a_short_page(slept: list[float], clock: Clock) -> None:
    def body(rows: list[dict[str, Any]]) -> httpx.Response:
        return httpx.Response(200, json={"data": rows})

    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1")
        route = mock.get(f"{BASE}/customers").mock(side_effect=[
            body([{"id": "1", "name": "A"}, {"id": "2", "name": "B"}]),
            body([{"id": "3", "name": "C"}])])
        found = list(backend(slept, clock, page_size=2).accounts(None))
    assert [a.id for a in found] == ["1", "2", "3"] and route.call_count == 2


def test_account_search_and_odd_customer_rows(slept: list[float], clock: Clock,
                                              caplog: pytest.LogCaptureFixture) -> None:
    rows: list[Any] = [{"id": "1", "name": "Contoso Ltd"}, {"id": "2"}, "garbage",
                       {"id": "3", "name": "Northwind CONTOSO branch"}, {"name": "No id"}]
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1")
        mock.get(f"{BASE}/customers").mock(return_value=page(rows))
        with caplog.at_level(logging.WARNING, logger="idsync_odin"):
            found = list(backend(slept, clock).accounts("contoso"))
    assert [a.id for a in found] == ["1", "3"]
    warnings = [r.getMessage() for r in caplog.records]
    assert any("Ingram customer 2" in w and "`name` is missing" in w for w in warnings)
    assert any("expected an object" in w for w in warnings)
    assert any("No id" in w and "`id` is missing" in w for w in warnings)


# -- subscriptions --------------------------------------------------------------------------------

def test_subscriptions_one_status_per_call_all_statuses(slept: list[float], clock: Clock,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    by_status = {
        "active": [{"id": "S1", "customerId": "C1", "name": "M365", "status": "active"}],
        "hold": [{"id": "S2", "customerId": "C1", "name": "Held", "status": "hold"}],
        "terminated": [{"id": "S3", "customerId": "C1", "name": "Old", "status": "terminated"},
                       {"id": "S9", "customerId": "OTHER", "name": "Not ours",
                        "status": "terminated"}],
        "removed": [{"id": "S4", "customerId": "C1", "status": "removed"},
                    {"id": "S1", "customerId": "C1", "name": "M365", "status": "active"}],
    }

    def answer(request: httpx.Request) -> httpx.Response:
        statuses = request.url.params.get_list("status")
        assert len(statuses) == 1 and "," not in statuses[0]
        assert request.url.params["customerId"] == "C1"
        return page(by_status.get(statuses[0], []))

    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1")
        mock.get(f"{BASE}/customers/C1").respond(200, json={"id": "C1", "name": "Contoso"})
        route = mock.get(f"{BASE}/subscriptions").mock(side_effect=answer)
        with caplog.at_level(logging.WARNING, logger="idsync_odin"):
            subs = list(backend(slept, clock).subscriptions("C1"))
    assert sorted(c.request.url.params["status"] for c in route.calls) == sorted(
        ["pending", "active", "hold", "terminated", "removed"])
    assert [(s.id, s.status) for s in subs] == [
        ("S1", SubscriptionStatus.ACTIVE), ("S2", SubscriptionStatus.SUSPENDED),
        ("S3", SubscriptionStatus.TERMINATED), ("S4", SubscriptionStatus.TERMINATED)]
    assert subs[3].name == "Subscription S4"
    assert all(s.account_id == "C1" for s in subs)
    assert any("S9" in r.getMessage() and "customer OTHER" in r.getMessage()
               for r in caplog.records)


def test_unknown_account_and_subscription_are_not_found(slept: list[float],
                                                        clock: Clock) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1")
        mock.get(f"{BASE}/customers/NOPE").respond(404, json={"message": "not found"})
        mock.get(f"{BASE}/subscriptions/NOPE").respond(404, json={"message": "not found"})
        b = backend(slept, clock)
        with pytest.raises(NotFoundError, match="customer NOPE does not exist"):
            b.subscriptions("NOPE")
        with pytest.raises(NotFoundError, match="subscription NOPE does not exist"):
            b.resources("NOPE")


# -- subscription detail ---------------------------------------------------------------------------

def test_detail_429_waits_retry_after_then_succeeds(slept: list[float], clock: Clock) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1")
        route = mock.get(f"{BASE}/subscriptions/S1").mock(side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"},
                           json={"statusCode": 429, "message": "Rate limit is exceeded."}),
            httpx.Response(429, headers={"Retry-After": "1"}, json={}),
            detail("S1", [EXO])])
        lines = backend(slept, clock).resources("S1")
    assert route.call_count == 3 and slept == [3.0, 1.0]
    assert [line.quantity for line in lines] == [Decimal(8)]


def test_a_detail_sent_again_after_a_429_takes_a_pacer_slot_of_its_own(slept: list[float],
                                                                        clock: Clock) -> None:
    """Sent again outside the pacer, it would arrive in the slot given to the next request and
    get that one throttled in turn (on the simulator: one detail in eight answered 429)."""
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1")
        route = mock.get(f"{BASE}/subscriptions/S1").mock(side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}, json={}),
            detail("S1", [EXO])])
        backend(slept, clock, detail_rate_limit=4, detail_rate_window=1.0).resources("S1")
    # the clock stands still here: the second attempt waits for the pacer's next slot
    assert route.call_count == 2 and slept == [3.0, 0.2525]


def test_detail_is_fetched_once_per_instance_even_from_many_threads(slept: list[float],
                                                                   clock: Clock) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1", "tok-2")

        def slow(request: httpx.Request) -> httpx.Response:
            time.sleep(0.05)
            return detail("S1", [EXO])

        route = mock.get(f"{BASE}/subscriptions/S1").mock(side_effect=slow)
        b = backend(slept, clock)
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: b.resources("S1"), range(8)))
        assert route.call_count == 1
        assert all(r == results[0] for r in results)
        backend(slept, clock).resources("S1")  # a new instance (the next run) reads again
    assert route.call_count == 2


def test_detail_concurrency_is_bounded(slept: list[float], clock: Clock) -> None:
    in_flight, peak = [0], [0]
    lock = threading.Lock()

    def slow(request: httpx.Request) -> httpx.Response:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.03)
        with lock:
            in_flight[0] -= 1
        return detail(request.url.path.rsplit("/", 1)[1], [EXO])

    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1")
        mock.get(url__regex=rf"{BASE}/subscriptions/S\d$").mock(side_effect=slow)
        b = backend(slept, clock, detail_concurrency=2)
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(b.resources, [f"S{n}" for n in range(6)]))
    assert peak[0] == 2


def test_prices_and_quantities_are_exact_decimals(slept: list[float], clock: Clock) -> None:
    float_priced = {**EXO, "mpn": "CFQ7TTC0LCHC", "quantity": 15,
                    "unitPrice": {"currency": "USD", "amount": 26.4},
                    "unitCost": {"currency": "USD", "amount": "22.00"}}
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1")
        mock.get(f"{BASE}/subscriptions/S1").mock(return_value=detail("S1", [EXO, float_priced]))
        exo, premium = backend(slept, clock).resources("S1")
    assert exo.id == "S1:CFQ7TTC0LH16" and exo.sku == "CFQ7TTC0LH16"
    assert exo.name == "Exchange Online (Plan 1)" and exo.seat_based
    assert exo.quantity == Decimal(8)
    assert (exo.unit_price, exo.unit_cost) == (Decimal("4.80"), Decimal("4.00"))
    assert str(exo.unit_price) == "4.80" and type(exo.unit_price) is Decimal
    assert str(premium.unit_price) == "26.4" and str(premium.unit_cost) == "22.00"
    assert exo.model_extra == {"product_id": "p-1", "vendor": "Microsoft"}
    assert exo.currency == "USD"  # the currency of its price amounts


def test_odd_product_rows_are_skipped_with_a_warning(slept: list[float], clock: Clock,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    products: list[Any] = [
        EXO,
        {"name": "no part number", "quantity": 1},
        {"mpn": "BAD1", "name": "words", "quantity": "eight"},
        {"mpn": "BAD2", "name": "negative", "quantity": -1},
        {"mpn": "BAD3", "name": "boolean", "quantity": True},
        {"mpn": "BAD4", "name": "infinite", "quantity": "Infinity"},
        ["not", "an", "object"],
        {"mpn": "PRICE", "name": "bad price", "quantity": 2, "unitPrice": {"amount": "4,80"}},
    ]
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1")
        mock.get(f"{BASE}/subscriptions/S1").mock(return_value=detail("S1", products))
        with caplog.at_level(logging.WARNING, logger="idsync_odin"):
            lines = backend(slept, clock).resources("S1")
    assert [(line.sku, line.quantity, line.unit_price) for line in lines] == [
        ("CFQ7TTC0LH16", Decimal(8), Decimal("4.80")), ("PRICE", Decimal(2), None)]
    text = "\n".join(r.getMessage() for r in caplog.records)
    for expected in ("neither `mpn` nor `id`", "BAD1: `quantity` is not a number",
                     "BAD2: `quantity` is negative", "BAD3: `quantity` is a boolean",
                     "BAD4: `quantity` is not a finite number", "expected an object, got list",
                     "product PRICE: ignoring the price"):
        assert expected in text


def test_usage_based_lines_have_no_seat_count(slept: list[float], clock: Clock) -> None:
    products = [{"id": "p-9", "name": "usage thing"},
                {"mpn": "DZH318Z0BQ3Q", "name": "Azure plan", "quantity": 1}]
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1", "tok-2")
        mock.get(f"{BASE}/subscriptions/S1").mock(return_value=detail("S1", products))
        mock.get(f"{BASE}/subscriptions/S2").mock(return_value=detail("S2", products))
        usage, azure = backend(slept, clock).resources("S1")
        _, azure_as_seats = backend(slept, clock, usage_based_mpns=[]).resources("S2")
    assert usage.id == "S1:p-9" and usage.sku == ""
    assert (usage.seat_based, usage.quantity) == (False, None)
    assert (azure.seat_based, azure.quantity) == (False, None)
    assert (azure_as_seats.seat_based, azure_as_seats.quantity) == (True, Decimal(1))


@pytest.mark.parametrize("status", ["terminated", "removed"])
def test_terminated_subscriptions_report_zero(slept: list[float], clock: Clock,
                                              status: str) -> None:
    products = [EXO, {"mpn": "DZH318Z0BQ3Q", "name": "Azure plan"}]
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1")
        mock.get(f"{BASE}/subscriptions/S1").mock(return_value=detail("S1", products, status))
        exo, azure = backend(slept, clock).resources("S1")
    assert exo.quantity == Decimal(0) and exo.unit_price == Decimal("4.80")
    assert azure.quantity is None and not azure.seat_based


def test_lines_sharing_an_id_are_ambiguous_and_skipped(slept: list[float], clock: Clock,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    products = [EXO, {**EXO, "id": "p-2", "quantity": 3},
                {"mpn": "CFQ7TTC0LH18", "name": "Basic", "quantity": 2}]
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1")
        mock.get(f"{BASE}/subscriptions/S1").mock(return_value=detail("S1", products))
        with caplog.at_level(logging.WARNING, logger="idsync_odin"):
            lines = backend(slept, clock).resources("S1")
    assert [line.id for line in lines] == ["S1:CFQ7TTC0LH18"]
    assert "share the id S1:CFQ7TTC0LH16" in caplog.text


def test_check_names_host_marketplace_and_user(slept: list[float], clock: Clock) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1")
        mock.get(f"{BASE}/customers").mock(return_value=page([{"id": "1", "name": "A"}],
                                                             total=42))
        line = backend(slept, clock).check()
    assert line == ("Ingram Micro Cloud Marketplace at api.cloud.example (marketplace us) as "
                    "api@msp: 42 customers")
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens(mock, "tok-1")
        mock.get(f"{BASE}/customers").respond(200, json={"data": [], "pagination": "?"})
        assert backend(slept, clock).check().endswith("as api@msp: customers readable")


def test_the_detail_pacer_spaces_requests_evenly() -> None:
    from idsync_odin.marketplace.client import Pacer

    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    pacer = Pacer(4, 1.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        pacer.acquire()
    # no burst of 4, then one every 0.25 s and its arrival margin: five sends span more than
    # the window, so a server counting their arrivals never sees five in one
    assert slept == [0.2525] * 4
    now[0] += 10  # idle: the next one goes at once
    pacer.acquire()
    assert len(slept) == 4


@pytest.mark.parametrize(("renewal", "expected"), [
    ("2027-01-01", date(2027, 1, 1)), ("2027-01-01T00:00:00Z", date(2027, 1, 1)),
    ("soon", None), (None, None)])
def test_a_renewal_date_is_read_and_one_that_is_no_date_is_left_out(
        renewal: str | None, expected: date | None) -> None:
    row = {"id": "S1", "customerId": "C1", "status": "active", "renewalDate": renewal}
    assert mapping.subscription(row, account_id="C1", queried="active").renewal_date == expected
