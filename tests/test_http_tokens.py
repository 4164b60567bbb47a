"""Bearer tokens and the OAuth 2.0 client-credentials grant (idsync_core.http.tokens, .oauth2)."""

from __future__ import annotations

import json
import logging
import threading
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from pydantic import SecretStr

from idsync_core.errors import ApiError, ConfigurationError, RejectedError
from idsync_core.http import ApiClient, BearerToken, ClientCredentials, IssuedToken, RetryPolicy
from idsync_core.http.wiring import Wiring
from idsync_core.testing import SuiteClock

TOKEN_URL = "https://login.example.test/oauth/token"
API = "https://api.example.test/v1"
SECRET = "s3cret-value-never-shown"
HINT = "[providers.vendor] client_id and client_secret"


def grant(body: str = "form", **kwargs: object) -> ClientCredentials:
    return ClientCredentials(TOKEN_URL, client_id="my-app", client_secret=SecretStr(SECRET),
                             service="Vendor", credentials_hint=HINT, body=body,  # type: ignore[arg-type]
                             wiring=Wiring(retry=RetryPolicy(max_attempts=3),
                                           sleep=lambda s: None),
                             **kwargs)  # type: ignore[arg-type]


def answer(token: str, expires_in: object = 3600) -> httpx.Response:
    return httpx.Response(200, json={"access_token": token, "token_type": "Bearer",
                                     "expires_in": expires_in})


class VendorClient(ApiClient):
    """An API client as a connector writes one: the bearer as auth, one renewal on 401."""

    def __init__(self, bearer: BearerToken) -> None:
        self.bearer = bearer
        super().__init__(API, service="Vendor", credentials_hint=HINT, auth=bearer,
                         sleep=lambda s: None)

    def on_unauthorized(self, response: httpx.Response) -> bool:
        return self.bearer.renew_after(response)


def test_form_encoded_grant_as_rfc_6749_sends_it() -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.post(TOKEN_URL).mock(return_value=answer("tok-1", 7200))
        issued = grant(scope="read").issue()
    request = route.calls.last.request
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["client_credentials"], "client_id": ["my-app"],
        "client_secret": [SECRET], "scope": ["read"]}
    assert (issued.value, issued.lifetime) == ("tok-1", 7200.0)


def test_json_grant_with_an_audience_as_pax8_takes_it() -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.post(TOKEN_URL).mock(return_value=answer("tok-1", "86400"))
        issued = grant("json", audience="https://api.example.test").issue()
    request = route.calls.last.request
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "grant_type": "client_credentials", "client_id": "my-app", "client_secret": SECRET,
        "audience": "https://api.example.test"}
    assert issued.lifetime == 86400.0


@pytest.mark.parametrize("expires_in", [None, 0, -5, "soon", True, "inf"])
def test_a_missing_or_odd_lifetime_falls_back_to_the_default(expires_in: object) -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        mock.post(TOKEN_URL).mock(return_value=answer("tok", expires_in))
        assert grant(default_lifetime=900).issue().lifetime == 900.0


def test_the_token_is_cached_and_replaced_a_margin_before_it_expires() -> None:
    clock = SuiteClock()
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens = mock.post(TOKEN_URL).mock(side_effect=[answer("tok-1", 600),
                                                        answer("tok-2", 600)])
        api = mock.get(f"{API}/items").respond(200, json=[])
        client = VendorClient(BearerToken(grant().issue, clock=clock.monotonic))
        client.get_json("/items")
        clock.advance(539)  # 600 s lifetime, refreshed 60 s early at most, a tenth here: 60 s
        client.get_json("/items")
        assert tokens.call_count == 1
        clock.advance(1)
        client.get_json("/items")
    assert tokens.call_count == 2
    assert [c.request.headers["Authorization"] for c in api.calls] == [
        "Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


def test_a_401_after_success_renews_once_then_the_request_succeeds() -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        tokens = mock.post(TOKEN_URL).mock(side_effect=[answer("tok-1"), answer("tok-2")])
        api = mock.get(f"{API}/items").mock(side_effect=[
            httpx.Response(200, json=[1]),
            httpx.Response(401, json={"message": "token expired"}),
            httpx.Response(200, json=[2])])
        client = VendorClient(BearerToken(grant().issue))
        assert client.get_json("/items") == [1]
        assert client.get_json("/items") == [2]
    assert tokens.call_count == 2
    assert [c.request.headers["Authorization"] for c in api.calls] == [
        "Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


def test_a_second_401_is_a_configuration_error_not_a_loop() -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        tokens = mock.post(TOKEN_URL).mock(side_effect=[answer("tok-1"), answer("tok-2")])
        mock.get(f"{API}/items").respond(401, json={"message": "not for this app"})
        with pytest.raises(ConfigurationError, match="refused the credentials") as caught:
            VendorClient(BearerToken(grant().issue)).get_json("/items")
    assert tokens.call_count == 2
    assert caught.value.hint == f"check {HINT}"


def test_a_token_another_thread_already_replaced_is_kept() -> None:
    issued = iter(["tok-1", "tok-2", "tok-3"])
    bearer = BearerToken(lambda: IssuedToken(next(issued), 3600))
    assert bearer.current() == "tok-1"
    bearer.invalidate("Bearer tok-1")
    assert bearer.current() == "tok-2"
    bearer.invalidate("Bearer tok-1")  # a late 401 for the old token
    assert bearer.current() == "tok-2" and bearer.issued == 2


def test_concurrent_requests_share_one_issued_token() -> None:
    started = threading.Barrier(8)
    calls: list[int] = []

    def issue() -> IssuedToken:
        calls.append(1)
        return IssuedToken("tok", 3600)

    bearer = BearerToken(issue)
    seen: list[str] = []

    def worker() -> None:
        started.wait()
        seen.append(bearer.current())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == ["tok"] * 8 and len(calls) == 1


@pytest.mark.parametrize(("status", "body", "error"), [
    (401, {"error": "access_denied", "error_description": "Unauthorized"}, ConfigurationError),
    (400, {"error": "invalid_client", "error_description": "unknown client"}, ConfigurationError),
    (400, {"error": "invalid_request", "error_description": "grant_type missing"},
     RejectedError),
])
def test_refusals_at_the_token_endpoint(status: int, body: dict[str, str],
                                        error: type[Exception]) -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        route = mock.post(TOKEN_URL).respond(status, json=body)
        with pytest.raises(error) as caught:
            grant().issue()
    assert route.call_count == 1, "a refusal is not retried"
    message = str(caught.value)
    assert f"{body['error']}: {body['error_description']}" in message
    assert "Vendor token endpoint POST /oauth/token" in message
    assert SECRET not in message


def test_a_failing_token_endpoint_is_retried_like_a_read() -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.post(TOKEN_URL).mock(side_effect=[httpx.Response(503, text="busy"),
                                                       answer("tok")])
        assert grant().issue().value == "tok"
    assert route.call_count == 2


@pytest.mark.parametrize(("body", "message"), [
    ({"token_type": "Bearer"}, "answered without an access_token"),
    ({"access_token": "t", "token_type": "mac"}, "issued a 'mac' token"),
])
def test_unusable_answers_are_api_errors(body: dict[str, str], message: str) -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        mock.post(TOKEN_URL).respond(200, json=body)
        with pytest.raises(ApiError, match=message):
            grant().issue()


def test_neither_the_secret_nor_a_token_reaches_a_log_or_a_repr(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = grant()
    with respx.mock(assert_all_mocked=True) as mock:
        mock.post(TOKEN_URL).mock(side_effect=[httpx.Response(503, text="busy"),
                                               answer("tok-visible-nowhere"),
                                               answer("tok-second-nowhere"),
                                               answer("tok-third-nowhere")])
        mock.get(f"{API}/items").mock(side_effect=[
            httpx.Response(401, json={"message": "expired"}), httpx.Response(200, json=[])])
        bearer = BearerToken(credentials.issue)
        VendorClient(bearer).get_json("/items")
        issued = credentials.issue()
    shown = caplog.text + repr(credentials) + repr(issued)
    for secret in (SECRET, "tok-visible-nowhere", "tok-second-nowhere", "tok-third-nowhere"):
        assert secret not in shown
    assert "busy" in caplog.text or "503" in caplog.text  # the log did record the retry
