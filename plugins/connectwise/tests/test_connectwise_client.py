"""The ConnectWise client against respx: URLs, headers, paging, URL splitting, faults, errors."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from pydantic import ValidationError

from idsync_connectwise.client import MAX_URL_LENGTH, ConnectWiseClient, carry_over
from idsync_connectwise.settings import ConnectWiseSettings
from idsync_core.errors import (
    ApiError,
    ConfigurationError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    UnreachableError,
)
from idsync_core.http import RetryPolicy
from idsync_core.http.wiring import Wiring

SITE = "https://api-cw.example.test"
API = f"{SITE}/v2025_1/apis/3.0"
SECRET = "pr1vate-S3CRET"


def settings(**overrides: Any) -> ConnectWiseSettings:
    values: dict[str, Any] = {
        "site": SITE, "company_id": "acme", "public_key": "pub", "private_key": SECRET,
        "client_id": "0f6b9c1e-3c1a-4a51-9d55-6f7f0c1b2a3d", "codebase": "v2025_1",
    }
    values.update(overrides)
    return ConnectWiseSettings.model_validate(values)


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def client(slept: list[float]) -> ConnectWiseClient:
    return ConnectWiseClient(settings(), wiring=Wiring(retry=RetryPolicy(max_attempts=4),
                                                       sleep=slept.append))


def rows(first: int, last: int) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"Company {i}"} for i in range(first, last + 1)]


def forward_only_server(total: int, *, drop_conditions: bool = False, max_page: int = 1000
                        ) -> tuple[list[httpx.Request], Any]:
    """A respx side effect paging ``total`` rows forward-only, as ConnectWise does."""
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        after = int(query.get("pageId", 0))
        size = min(int(query.get("pageSize", 25)), max_page)
        page = [r for r in rows(1, total) if r["id"] > after][:size]
        link = ""
        if page:
            keep = {k: v for k, v in query.items() if k != "pageId"}
            if drop_conditions:
                keep.pop("conditions", None)
            keep["pageId"] = str(page[-1]["id"])
            keep["pageSize"] = str(size)
            link = f'<{httpx.URL(str(request.url).split("?")[0], params=keep)}>; rel="next"'
        return httpx.Response(200, json=page, headers={"Link": link})

    return seen, respond


# -- settings -----------------------------------------------------------------------------------

def test_settings_normalize_the_codebase_and_hide_the_key() -> None:
    s = settings(codebase="/v2025_1/")
    assert s.codebase == "v2025_1/"
    assert SECRET not in repr(s) and SECRET not in str(s.model_dump())
    assert s.posting_strategy == "delta" and s.api_version == "2025.1"


@pytest.mark.parametrize(("key", "value", "words"), [
    ("site", "https://na.myconnectwise.net", "api-na.myconnectwise.net"),
    ("site", "http://cw.example.test", "only allowed for 127.0.0.1"),
    ("codebase", "v2025_1/apis", "one path segment"),
    ("api_version", "latest", "pattern"),
    ("requests_per_minute", 5000, "less than or equal"),
])
def test_settings_refuse_bad_values(key: str, value: object, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        settings(**{key: value})


# -- headers and the codebase -------------------------------------------------------------------

def test_every_call_carries_basic_auth_client_id_and_the_pinned_version(
    client: ConnectWiseClient,
) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(f"{API}/system/info").respond(200, json={"version": "v2025.1"})
        client.get("system/info")
    sent = route.calls.last.request.headers
    assert sent["Authorization"] == "Basic " + base64.b64encode(
        f"acme+pub:{SECRET}".encode()).decode()
    assert sent["clientId"] == "0f6b9c1e-3c1a-4a51-9d55-6f7f0c1b2a3d"
    assert sent["Accept"] == "application/vnd.connectwise.com+json; version=2025.1"


def test_the_codebase_is_discovered_once_from_company_info(slept: list[float]) -> None:
    client = ConnectWiseClient(settings(codebase=None), wiring=Wiring(sleep=slept.append))
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        info = mock.get(f"{SITE}/login/companyinfo/acme").respond(200, json={
            "CompanyName": "Acme", "Codebase": "v2024_3/", "VersionCode": "v2024.3",
            "CompanyID": "acme", "IsCloud": "True"})
        api = mock.get(f"{SITE}/v2024_3/apis/3.0/system/info").respond(200, json={})
        client.get("system/info")
        client.get("system/info")
    assert info.call_count == 1 and api.call_count == 2


@pytest.mark.parametrize("answer", [
    httpx.Response(404, json={"code": "NotFound", "message": "no such company"}),
    httpx.Response(200, html="<html>maintenance</html>"),
    httpx.Response(200, json=None),
])
def test_a_failed_codebase_lookup_falls_back_to_v4_6_release(
    slept: list[float], answer: httpx.Response
) -> None:
    client = ConnectWiseClient(settings(codebase=None), wiring=Wiring(sleep=slept.append))
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{SITE}/login/companyinfo/acme").mock(return_value=answer)
        api = mock.get(f"{SITE}/v4_6_release/apis/3.0/system/info").respond(200, json={})
        client.get("system/info")
    assert api.called


def test_a_site_that_cannot_be_reached_is_reported_as_such_not_guessed_around(
    slept: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    client = ConnectWiseClient(settings(codebase=None), wiring=Wiring(
        retry=RetryPolicy(max_attempts=3), sleep=slept.append))
    with respx.mock(assert_all_mocked=True) as mock, pytest.raises(UnreachableError) as caught:
        lookup = mock.get(f"{SITE}/login/companyinfo/acme").mock(
            side_effect=httpx.ConnectError("refused"))
        client.get("system/info")
    assert caught.value.message.startswith(f"ConnectWise at {SITE} is not reachable (")
    assert lookup.call_count == 3 and len(slept) == 2  # the retries, then no guessed path
    assert "codebase lookup failed" not in caplog.text


# -- paging -------------------------------------------------------------------------------------

def test_forward_only_paging_reads_past_1000_rows_and_carries_every_parameter(
    client: ConnectWiseClient,
) -> None:
    seen, respond = forward_only_server(2345)
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/company/companies").mock(side_effect=respond)
        got = list(client.iter_all("company/companies", conditions="deletedFlag=False",
                                   fields="id,name"))
    assert [r["id"] for r in got] == list(range(1, 2346))
    # two full pages, then a short one ends the scan
    assert len(seen) == 3
    for request, page_id in zip(seen, [None, ["1000"], ["2000"]], strict=True):
        query = parse_qs(request.url.query.decode())
        assert request.headers["pagination-type"] == "forward-only"
        assert query["pageSize"] == ["1000"]
        assert query["conditions"] == ["deletedFlag=False"]
        assert query["fields"] == ["id,name"]
        assert query.get("pageId") == page_id


def test_an_exact_multiple_of_the_page_size_ends_on_an_empty_page(
    client: ConnectWiseClient,
) -> None:
    seen, respond = forward_only_server(2000)
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/company/companies").mock(side_effect=respond)
        assert len(list(client.iter_all("company/companies"))) == 2000
    assert len(seen) == 3


def test_a_server_that_clamps_the_page_size_is_read_to_the_end(
    client: ConnectWiseClient,
) -> None:
    seen, respond = forward_only_server(1200, max_page=500)
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/company/companies").mock(side_effect=respond)
        assert len(list(client.iter_all("company/companies"))) == 1200
    assert len(seen) == 3


def test_more_than_25_rows_come_back_because_page_size_is_always_sent(
    client: ConnectWiseClient,
) -> None:
    seen, respond = forward_only_server(60)
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/company/companies").mock(side_effect=respond)
        assert len(list(client.iter_all("company/companies"))) == 60
    assert parse_qs(seen[0].url.query.decode())["pageSize"] == ["1000"]


def test_conditions_survive_a_next_link_that_dropped_them(client: ConnectWiseClient) -> None:
    seen, respond = forward_only_server(1500, drop_conditions=True)
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/company/companies").mock(side_effect=respond)
        list(client.iter_all("company/companies", conditions='name contains "a"'))
    assert all(parse_qs(r.url.query.decode())["conditions"] == ['name contains "a"']
               for r in seen)


def test_carry_over_matches_parameter_names_case_insensitively() -> None:
    merged = carry_over({"pageSize": 1000, "conditions": "id>1"},
                        "https://x/a?pagesize=500&pageId=9")
    assert merged == {"pageSize": "500", "conditions": "id>1", "pageId": "9"}


def test_navigable_paging_follows_page_links_with_order_by(client: ConnectWiseClient) -> None:
    data = rows(1, 2100)
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        page, size = int(query["page"]), int(query["pageSize"])
        links = [f'<{SITE}/v2025_1/apis/3.0/company/companies?page=1>; rel="first"']
        if page * size < len(data):
            links.append(f'<{SITE}/v2025_1/apis/3.0/company/companies?page={page + 1}'
                         f'&pageSize={size}>; rel="next"')
        return httpx.Response(200, json=data[(page - 1) * size:page * size],
                              headers={"Link": ", ".join(links)})

    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/company/companies").mock(side_effect=respond)
        got = list(client.iter_ordered("company/companies", "name asc",
                                       conditions="deletedFlag=False"))
    assert len(got) == 2100 and len(seen) == 3
    assert [parse_qs(r.url.query.decode())["page"] for r in seen] == [["1"], ["2"], ["3"]]
    assert all(parse_qs(r.url.query.decode())["orderBy"] == ["name asc"] for r in seen)
    assert "pagination-type" not in seen[0].headers


def test_a_next_link_to_another_host_is_refused(client: ConnectWiseClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/company/companies").respond(200, json=rows(1, 3), headers={
            "Link": '<https://evil.test/v2025_1/apis/3.0/company/companies?pageId=3>; '
                    'rel="next"'})
        with pytest.raises(ApiError, match="refusing to send credentials"):
            list(client.iter_all("company/companies"))


def test_a_body_that_is_not_an_array_is_an_api_error(client: ConnectWiseClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/company/companies").respond(200, json={"items": []})
        with pytest.raises(ApiError, match="expected a JSON array"):
            list(client.iter_all("company/companies"))


def test_long_id_lists_are_split_so_every_url_stays_under_2000_chars(
    client: ConnectWiseClient,
) -> None:
    wanted = list(range(100_000, 100_700))
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        condition = parse_qs(request.url.query.decode())["conditions"][0]
        ids = condition.split("in (")[1].rstrip(")").split(",")
        return httpx.Response(200, json=[{"id": int(i)} for i in ids], headers={"Link": ""})

    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/procurement/catalog").mock(side_effect=respond)
        got = list(client.iter_in("procurement/catalog", "id", [*wanted, wanted[0]],
                                  also="inactiveFlag=False"))
    assert sorted(r["id"] for r in got) == wanted  # every id once, the duplicate dropped
    assert len(seen) > 1
    for request in seen:
        assert len(str(request.url)) + len("&pageId=2147483647") <= MAX_URL_LENGTH
        assert parse_qs(request.url.query.decode())["conditions"][0].startswith(
            "(inactiveFlag=False) and (id in (")


# -- faults -------------------------------------------------------------------------------------

def test_429_with_connectwise_body_waits_retry_after(client: ConnectWiseClient,
                                                     slept: list[float]) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(f"{API}/system/info").mock(side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}, json={
                "error": "ConnectWiseAPI",
                "message": "Too many requests. Please try again in 3 seconds."}),
            httpx.Response(429, headers={"Retry-After": "2"},
                           html="<html><title>Just a moment...</title></html>"),
            httpx.Response(200, json={"version": "v2025.1"}),
        ])
        assert client.get("system/info") == {"version": "v2025.1"}
    assert route.call_count == 3 and slept == [3.0, 2.0]


def test_a_429_storm_ends_in_a_clear_rate_limit_error(client: ConnectWiseClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/system/info").respond(429, headers={"Retry-After": "1"})
        with pytest.raises(RateLimitedError, match="throttling"):
            client.get("system/info")


def test_5xx_and_dropped_connections_on_reads_are_retried(client: ConnectWiseClient,
                                                          slept: list[float]) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(f"{API}/system/info").mock(side_effect=[
            httpx.Response(500, json={"code": "InternalError", "message": "timeout expired"}),
            httpx.ReadTimeout("slow"),
            httpx.Response(200, json={}),
        ])
        client.get("system/info")
    assert route.call_count == 3 and len(slept) == 2


def test_a_post_is_never_retried_after_a_5xx(client: ConnectWiseClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.post(f"{API}/finance/agreements/5/additions").respond(
            502, html="<html>Bad gateway</html>")
        with pytest.raises(OutcomeUnknownError, match="Bad gateway"):
            client.create("finance/agreements/5/additions", {"quantity": 1})
    assert route.call_count == 1


def test_a_replace_patch_is_retried_because_it_is_absolute(client: ConnectWiseClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.patch(f"{API}/finance/agreements/5/additions/7").mock(side_effect=[
            httpx.Response(503), httpx.Response(200, json={"id": 7, "quantity": 3})])
        done = client.patch("finance/agreements/5/additions/7",
                            [{"op": "replace", "path": "quantity", "value": 3}])
    assert done["quantity"] == 3 and route.call_count == 2
    assert json.loads(route.calls.last.request.content) == [
        {"op": "replace", "path": "quantity", "value": 3}]


# -- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_name_the_settings_and_never_the_key(
    client: ConnectWiseClient, status: int
) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/system/info").respond(status, json={
            "code": "Unauthorized", "message": "UserNotAuthenticated", "errors": None})
        with pytest.raises(ConfigurationError) as info:
            client.get("system/info")
    text = str(info.value)
    assert "UserNotAuthenticated" in text
    assert "private_key" in text and "client_id" in text
    assert SECRET not in text


def test_400_reports_every_validation_message(client: ConnectWiseClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.post(f"{API}/finance/agreements/5/additions").respond(400, json={
            "code": "InvalidObject", "message": "addition object is invalid",
            "errors": [
                {"code": "Required", "message": "The product field is required.",
                 "resource": "addition", "field": "product"},
                {"code": "OutOfRange", "message": "billCustomer is invalid.",
                 "resource": "addition", "field": "billCustomer"}]})
        with pytest.raises(RejectedError) as info:
            client.create("finance/agreements/5/additions", {})
    assert str(info.value).endswith(
        "addition object is invalid (InvalidObject): The product field is required.; "
        "billCustomer is invalid.")


def test_404_is_not_found(client: ConnectWiseClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/finance/agreements/99").respond(404, json={
            "code": "NotFound", "message": "Agreement Not Found"})
        with pytest.raises(NotFoundError, match="Agreement Not Found"):
            client.get("finance/agreements/99")


def test_an_html_page_instead_of_json_is_reported_as_such(client: ConnectWiseClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/system/info").respond(200, html="<html><body>Sign in</body></html>")
        with pytest.raises(ApiError, match="expected JSON but got text/html"):
            client.get("system/info")


def test_an_html_error_page_is_quoted_in_the_message(client: ConnectWiseClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/system/info").respond(
            400, html="<html><body>Request blocked by firewall</body></html>")
        with pytest.raises(RejectedError, match="Request blocked by firewall"):
            client.get("system/info")


def test_numbers_are_decoded_as_decimals(client: ConnectWiseClient) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/procurement/catalog/3").respond(
            200, text='{"id": 3, "price": 4.80, "cost": 18.7}')
        item = client.get("procurement/catalog/3")
    assert item == {"id": 3, "price": Decimal("4.80"), "cost": Decimal("18.7")}
    assert isinstance(item["price"], Decimal)


def test_the_client_keeps_a_budget_under_connectwise_limit() -> None:
    client = ConnectWiseClient(settings(requests_per_minute=600))
    assert client.budget is not None
    assert (client.budget.limit, client.budget.window) == (600, 60.0)
    assert urlsplit(client.url("company/companies")).path == "/v2025_1/apis/3.0/company/companies"


def test_error_message_reads_both_connectwise_shapes(client: ConnectWiseClient) -> None:
    throttled = httpx.Response(429, json={
        "error": "ConnectWiseAPI", "message": "Too many requests. Please try again in 30 seconds."})
    assert client.error_message(throttled) == (
        "Too many requests. Please try again in 30 seconds. (ConnectWiseAPI)")
    security = httpx.Response(400, json={"code": "Security", "message": "SSL is required.",
                                         "errors": None})
    assert client.error_message(security) == "SSL is required. (Security)"
    assert client.error_message(httpx.Response(502, text="")) == "(an empty body)"


def test_navigable_paging_yields_a_row_shifted_across_pages_once(
    client: ConnectWiseClient,
) -> None:
    pages = {"1": rows(1, 1000), "2": [*rows(1000, 1000), *rows(1001, 1500)]}

    def respond(request: httpx.Request) -> httpx.Response:
        page = parse_qs(request.url.query.decode())["page"][0]
        link = f'<{API}/company/companies?page=2&pageSize=1000>; rel="next"' if page == "1" else ""
        return httpx.Response(200, json=pages[page], headers={"Link": link})

    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{API}/company/companies").mock(side_effect=respond)
        got = [r["id"] for r in client.iter_ordered("company/companies", "name asc")]
    assert got == list(range(1, 1501))
