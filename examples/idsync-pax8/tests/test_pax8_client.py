"""The Pax8 client against respx: the token grant, page/size paging, 429 without Retry-After,
Pax8's error bodies."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
import respx

from idsync_core.errors import ApiError, ConfigurationError, RejectedError
from idsync_core.http.wiring import Wiring
from idsync_pax8.client import Pax8Client
from idsync_pax8.settings import Pax8Settings

BASE = "https://api.pax8.test/v1"
SECRET = "a-client-secret-never-shown"


def settings(**changes: Any) -> Pax8Settings:
    return Pax8Settings.model_validate({"client_id": "app-1", "client_secret": SECRET,
                                        "base_url": BASE, "token_url": f"{BASE}/token",
                                        **changes})


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def client(slept: list[float]) -> Pax8Client:
    return Pax8Client(settings(page_size=2), wiring=Wiring(sleep=slept.append))


def token(mock: respx.MockRouter, *values: str) -> respx.Route:
    return mock.post(f"{BASE}/token").mock(side_effect=[
        httpx.Response(200, json={"access_token": v, "expires_in": 86400,
                                  "token_type": "Bearer"}) for v in values])


def page(rows: list[Any], number: int, total_pages: int | None, size: int = 2) -> httpx.Response:
    body: dict[str, Any] = {"content": rows}
    if total_pages is not None:
        body["page"] = {"size": size, "totalElements": 0, "totalPages": total_pages,
                        "number": number}
    return httpx.Response(200, json=body)


def test_the_token_is_asked_for_as_pax8_documents_it(client: Pax8Client) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = token(mock, "tok-1")
        api = mock.get(f"{BASE}/companies").mock(return_value=page([], 0, 0))
        assert list(client.rows("/companies")) == []
    assert json.loads(route.calls.last.request.content) == {
        "grant_type": "client_credentials", "client_id": "app-1", "client_secret": SECRET,
        "audience": "https://api.pax8.com"}
    assert api.calls.last.request.headers["Authorization"] == "Bearer tok-1"


def test_pages_are_read_from_0_until_total_pages(client: Pax8Client) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        token(mock, "tok-1")
        api = mock.get(f"{BASE}/subscriptions").mock(side_effect=[
            page([{"id": 1}, {"id": 2}], 0, 3), page([{"id": 3}, {"id": 4}], 1, 3),
            page([{"id": 5}], 2, 3)])
        rows = list(client.rows("/subscriptions", {"companyId": "C-1"}))
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5]
    assert [dict(c.request.url.params) for c in api.calls] == [
        {"companyId": "C-1", "page": str(n), "size": "2"} for n in range(3)]


def test_without_a_page_block_a_short_page_is_the_last(client: Pax8Client) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        token(mock, "tok-1")
        api = mock.get(f"{BASE}/companies").mock(side_effect=[
            page([{"id": 1}, {"id": 2}], 0, None), page([{"id": 3}], 1, None)])
        assert len(list(client.rows("/companies"))) == 3
    assert api.call_count == 2


def test_a_body_that_is_not_a_page_is_an_api_error(client: Pax8Client) -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        token(mock, "tok-1")
        mock.get(f"{BASE}/companies").respond(200, json=[{"id": 1}])
        with pytest.raises(ApiError, match=r"expected a \{content, page\} object, got list"):
            list(client.rows("/companies"))


def test_a_429_without_retry_after_is_backed_off_and_said_so(
        client: Pax8Client, slept: list[float], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="idsync_core.http.client")
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        token(mock, "tok-1")
        mock.get(f"{BASE}/companies").mock(side_effect=[
            httpx.Response(429, json={"message": "Too many requests"}), page([], 0, 0)])
        assert list(client.rows("/companies")) == []
    assert slept == [5.0]
    assert "Pax8 API GET /v1/companies: throttled, no Retry-After; backing off 5 s" in (
        caplog.messages)


def test_an_expired_token_is_renewed_once(client: Pax8Client) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens = token(mock, "tok-1", "tok-2")
        api = mock.get(f"{BASE}/companies").mock(side_effect=[
            page([], 0, 0), httpx.Response(401, json={"message": "Unauthorized"}),
            page([], 0, 0)])
        list(client.rows("/companies"))
        list(client.rows("/companies"))
    assert tokens.call_count == 2
    assert [c.request.headers["Authorization"] for c in api.calls] == [
        "Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


def test_refused_credentials_name_the_settings_and_hide_the_secret(client: Pax8Client) -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        mock.post(f"{BASE}/token").respond(401, json={"error": "access_denied",
                                                      "error_description": "Unauthorized"})
        with pytest.raises(ConfigurationError) as caught:
            list(client.rows("/companies"))
    assert "access_denied: Unauthorized" in str(caught.value)
    assert "client_id and client_secret" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_pax8_error_bodies_are_quoted_with_their_details(client: Pax8Client) -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        token(mock, "tok-1")
        mock.get(f"{BASE}/companies").respond(422, json={
            "type": "about:blank", "message": "Validation failed", "instance": "/companies",
            "status": 422, "details": [{"message": "size must be at most 200"}]})
        with pytest.raises(RejectedError, match="Validation failed; size must be at most 200"):
            list(client.rows("/companies"))


def test_page_size_is_capped_at_200() -> None:
    with pytest.raises(ValueError, match="less than or equal to 200"):
        settings(page_size=500)
