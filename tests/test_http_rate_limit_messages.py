"""A 429 is reported as what it is: a wait the API asked for, or a backoff of our own."""

from __future__ import annotations

import logging

import httpx
import pytest
import respx

from idsync_core.errors import RateLimitedError
from idsync_core.http import ApiClient, RetryPolicy

BASE = "https://api.example.test/v1"


def client(slept: list[float], **retry: float) -> ApiClient:
    return ApiClient(BASE, service="Example", credentials_hint="[psa] api_key",
                     retry=RetryPolicy(**retry), sleep=slept.append)  # type: ignore[arg-type]


@pytest.mark.parametrize(("headers", "said", "waited"), [
    ({"Retry-After": "7"}, "throttled, Retry-After asks for 7 s", 7.0),
    ({}, "throttled, no Retry-After; backing off 5 s", 5.0),
])
def test_the_log_says_whose_wait_it_is(caplog: pytest.LogCaptureFixture,
                                       headers: dict[str, str], said: str,
                                       waited: float) -> None:
    slept: list[float] = []
    caplog.set_level(logging.INFO, logger="idsync_core.http.client")
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{BASE}/items").mock(side_effect=[
            httpx.Response(429, headers=headers, json={"message": "slow down"}),
            httpx.Response(200, json=[])])
        client(slept, base_delay=0.01).get_json("/items")
    assert slept == [waited]
    assert [r.getMessage() for r in caplog.records] == [f"Example GET /v1/items: {said}"]


def test_giving_up_without_retry_after_does_not_claim_the_api_asked() -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        mock.get(f"{BASE}/items").respond(429, json={"message": "slow down"})
        with pytest.raises(RateLimitedError) as caught:
            client([], max_attempts=1).get_json("/items")
    assert caught.value.message == (
        "Example GET /v1/items: Example is throttling (HTTP 429, no Retry-After; backing off "
        "5 s, attempt 1): slow down")


def test_giving_up_on_a_wait_too_long_names_the_retry_after() -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        mock.get(f"{BASE}/items").respond(429, headers={"Retry-After": "3600"})
        with pytest.raises(RateLimitedError, match=r"HTTP 429, Retry-After asks for 3600 s, "
                                                   r"attempt 1"):
            client([], max_retry_after=60).get_json("/items")
