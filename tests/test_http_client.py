"""The shared HTTP client: retries, Retry-After, write safety, error mapping, JSON checks."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
import respx

from idsync_core.errors import (
    ApiError,
    ConfigurationError,
    IdsyncError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
)
from idsync_core.http import ApiClient, RetryPolicy, ensure_same_origin, paginate, parse_retry_after

BASE = "https://api.example.test/v1"


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def client(slept: list[float]) -> ApiClient:
    return ApiClient(BASE, service="Example", credentials_hint="[psa] private_key",
                     retry=RetryPolicy(max_attempts=4, max_retry_after=60), sleep=slept.append)


def test_429_waits_retry_after_then_succeeds(client: ApiClient, slept: list[float]) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(f"{BASE}/items").mock(side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow down"}),
            httpx.Response(200, json=[1, 2]),
        ])
        assert client.get_json("/items") == [1, 2]
    assert route.call_count == 2
    assert slept == [7.0]


def test_many_short_retry_afters_are_waited_out_within_the_total_bound(
        client: ApiClient, slept: list[float]) -> None:
    """A client paced at an API's limit meets a 429 now and then: ten in a row, each asking for
    a second, are ten seconds of waiting (within max_retry_after 60), not a failed read after
    max_attempts (4)."""
    throttled = httpx.Response(429, headers={"Retry-After": "1"}, json={"message": "slow"})
    with respx.mock(assert_all_mocked=True) as mock:
        mock.get(f"{BASE}/items").mock(side_effect=[throttled] * 10 + [
            httpx.Response(200, json=[1])])
        assert client.get_json("/items") == [1]
    assert slept == [1.0] * 10


def test_retry_afters_that_add_up_past_the_bound_fail(client: ApiClient,
                                                      slept: list[float]) -> None:
    throttled = httpx.Response(429, headers={"Retry-After": "25"}, json={"message": "slow"})
    with respx.mock(assert_all_mocked=True) as mock:
        mock.get(f"{BASE}/items").mock(side_effect=[throttled] * 5)
        with pytest.raises(RateLimitedError, match="50 s waited already"):
            client.get_json("/items")
    assert slept == [25.0, 25.0]  # a third 25 s would pass max_retry_after (60)


@respx.mock
def test_429_beyond_the_bound_fails_clearly(client: ApiClient, slept: list[float]) -> None:
    respx.get(f"{BASE}/items").respond(429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimitedError, match="throttling"):
        client.get_json("/items")
    assert slept == []


@respx.mock
def test_5xx_on_get_is_retried_then_reported(client: ApiClient, slept: list[float]) -> None:
    route = respx.get(f"{BASE}/items").respond(503, text="busy")
    with pytest.raises(ApiError, match="after 4 attempts"):
        client.get_json("/items")
    assert route.call_count == 4
    assert len(slept) == 3


@respx.mock
def test_post_with_5xx_is_not_retried(client: ApiClient) -> None:
    route = respx.post(f"{BASE}/items").respond(500, json={"message": "boom"})
    with pytest.raises(OutcomeUnknownError, match="may or may not"):
        client.request("POST", "/items", json={"q": 1})
    assert route.call_count == 1


@respx.mock
def test_post_read_timeout_is_outcome_unknown(client: ApiClient) -> None:
    route = respx.post(f"{BASE}/items").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(OutcomeUnknownError):
        client.request("POST", "/items", json={})
    assert route.call_count == 1


@respx.mock
def test_post_connect_error_is_retried_because_nothing_was_sent(client: ApiClient) -> None:
    route = respx.post(f"{BASE}/items").mock(side_effect=[
        httpx.ConnectError("refused"), httpx.Response(201, json={"id": 5})])
    assert client.json_of(client.request("POST", "/items", json={})) == {"id": 5}
    assert route.call_count == 2


@respx.mock
def test_idempotent_post_query_is_retried(client: ApiClient) -> None:
    route = respx.post(f"{BASE}/query").mock(side_effect=[
        httpx.Response(502), httpx.Response(200, json={"items": []})])
    assert client.json_of(client.request("POST", "/query", json={}, idempotent=True)) == {
        "items": []}
    assert route.call_count == 2


@respx.mock
def test_get_connection_reset_is_retried(client: ApiClient) -> None:
    respx.get(f"{BASE}/items").mock(side_effect=[
        httpx.RemoteProtocolError("reset"), httpx.Response(200, json=[])])
    assert client.get_json("/items") == []


@pytest.mark.parametrize("status", [401, 403])
@respx.mock
def test_auth_failure_is_a_configuration_error_naming_the_setting(
    client: ApiClient, status: int
) -> None:
    respx.get(f"{BASE}/items").respond(status, json={"message": "bad key"})
    with pytest.raises(ConfigurationError) as info:
        client.get_json("/items")
    assert "[psa] private_key" in str(info.value)


@respx.mock
def test_unauthorized_refresh_retries_once(client: ApiClient) -> None:
    refreshes = []
    client.on_unauthorized = lambda response: refreshes.append(1) or True  # type: ignore[method-assign]
    route = respx.get(f"{BASE}/items").mock(side_effect=[
        httpx.Response(401), httpx.Response(200, json=[])])
    assert client.get_json("/items") == []
    assert refreshes == [1] and route.call_count == 2


@respx.mock
def test_404_and_400_are_mapped(client: ApiClient) -> None:
    respx.get(f"{BASE}/items/9").respond(404, json={"message": "no such item"})
    respx.post(f"{BASE}/items").respond(400, json={"message": "quantity is invalid"})
    with pytest.raises(NotFoundError, match="no such item"):
        client.get_json("/items/9")
    with pytest.raises(RejectedError, match="quantity is invalid"):
        client.request("POST", "/items", json={})


@respx.mock
def test_html_instead_of_json_is_reported(client: ApiClient) -> None:
    respx.get(f"{BASE}/items").respond(200, html="<html><body>Login</body></html>")
    with pytest.raises(ApiError, match="expected JSON but got text/html"):
        client.get_json("/items")


@respx.mock
def test_error_messages_never_carry_the_query_string(client: ApiClient) -> None:
    respx.get(f"{BASE}/items").respond(400, json={"message": "bad"})
    with pytest.raises(RejectedError) as info:
        client.get_json("/items", params={"token": "s3cret"})
    assert "s3cret" not in str(info.value)


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_paginate_follows_tokens_and_stops_on_loops() -> None:
    pages = {None: ([1, 2], "b"), "b": ([3], "c"), "c": ([4], None)}
    assert list(paginate(lambda t: pages[t], what="numbers")) == [1, 2, 3, 4]
    looping = {None: ([1], "b"), "b": ([2], "b")}
    with pytest.raises(ApiError, match="looped"):
        list(paginate(lambda t: looping[t], what="numbers"))


def test_same_origin_check() -> None:
    assert ensure_same_origin(f"{BASE}/next?page=2", BASE, what="next page")
    with pytest.raises(ApiError, match="refusing to send credentials"):
        ensure_same_origin("https://evil.test/v1/next", BASE, what="next page")


def test_a_refresh_that_moves_the_base_url_is_followed(slept: list[float]) -> None:
    class Moving(ApiClient):
        def on_unauthorized(self, response: httpx.Response) -> bool:
            self.base_url = "https://zone2.example.test/v1"
            return True

    client = Moving(BASE, service="Example", credentials_hint="x", sleep=slept.append)
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{BASE}/items").respond(401)
        mock.get("https://zone2.example.test/v1/items").respond(200, json=[7])
        assert client.get_json("/items") == [7]


def test_classify_may_name_a_configuration_error(slept: list[float]) -> None:
    class Odd(ApiClient):
        def classify(self, response: httpx.Response) -> type[IdsyncError] | None:
            return ConfigurationError

    client = Odd(BASE, service="Example", credentials_hint="[psa] secret", sleep=slept.append)
    with respx.mock() as mock:
        mock.post(f"{BASE}/query").respond(500, json={"message": "user is not an API user"})
        with pytest.raises(ConfigurationError, match="not an API user") as info:
            client.request("POST", "/query", json={}, idempotent=True)
    assert "[psa] secret" in str(info.value)


@respx.mock
def test_fractions_are_decoded_as_decimals(client: ApiClient) -> None:
    respx.get(f"{BASE}/price").respond(200, text='{"price": 26.40, "qty": 3}')
    body = client.get_json("/price")
    assert body == {"price": Decimal("26.40"), "qty": 3}
    assert str(body["price"]) == "26.40"
