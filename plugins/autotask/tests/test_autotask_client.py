"""The Autotask REST client against respx: zone, auth, paging, errors and limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from idsync_autotask.client import AutotaskClient
from idsync_autotask.dialect import ThrottleDialect
from idsync_autotask.endpoints import endpoint_of
from idsync_autotask.query import cond, eq, in_batches, or_conditions
from idsync_autotask.settings import AutotaskSettings
from idsync_autotask.threshold import ThresholdGuard
from idsync_core.errors import (
    ApiError,
    ConfigurationError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
)
from idsync_core.http.wiring import Wiring

LOOKUP = "https://webservices.autotask.net/ATServicesRest/V1.0/zoneInformation"
ZONE5 = "https://webservices5.autotask.net/ATServicesRest"
ZONE14 = "https://webservices14.autotask.net/ATServicesRest"
API = f"{ZONE5}/V1.0"
USER = "api-user@msp.example"


def zone_answer(url: str = ZONE5) -> httpx.Response:
    return httpx.Response(200, json={"zoneName": "America West", "url": f"{url}/",
                                     "webUrl": "https://ww5.autotask.net/", "ci": 30595})


def threshold_answer(used: int = 100, limit: int = 10_000) -> httpx.Response:
    return httpx.Response(200, json={"externalRequestThreshold": limit,
                                     "requestThresholdTimeframe": 60,
                                     "currentTimeframeRequestCount": used})


def page(items: list[dict[str, Any]], next_url: str | None = None) -> httpx.Response:
    return httpx.Response(200, json={"items": items, "pageDetails": {
        "count": len(items), "requestCount": 500, "prevPageUrl": None, "nextPageUrl": next_url}})


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


@pytest.fixture
def slept() -> list[float]:
    return []


def make_client(slept: list[float], **settings: Any) -> AutotaskClient:
    values: dict[str, Any] = {"username": USER, "secret": "s3cret-value",
                              "integration_code": "INTEGRATION-CODE-XYZ"}
    values.update(settings)
    return AutotaskClient(AutotaskSettings(**values), wiring=Wiring(sleep=slept.append))


@pytest.fixture
def client(slept: list[float]) -> Iterator[AutotaskClient]:
    c = make_client(slept)
    yield c
    c.close()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        yield router


def with_zone_and_threshold(mock: respx.MockRouter, used: int = 100) -> respx.Route:
    mock.get(LOOKUP).mock(return_value=zone_answer())
    return mock.get(f"{API}/ThresholdInformation").mock(return_value=threshold_answer(used))


# -- zone -----------------------------------------------------------------------------------

def test_zone_is_discovered_once_and_credentials_go_only_to_the_zone(
        client: AutotaskClient, mock: respx.MockRouter) -> None:
    lookup = mock.get(LOOKUP, params={"user": USER}).mock(return_value=zone_answer())
    mock.get(f"{API}/ThresholdInformation").mock(return_value=threshold_answer())
    query = mock.post(f"{API}/Companies/query").mock(return_value=page([{"id": 1}]))
    assert list(client.query("Companies", [eq("isActive", True)])) == [{"id": 1}]
    list(client.query("Companies", [eq("isActive", True)]))
    assert lookup.call_count == 1
    assert "Secret" not in lookup.calls[0].request.headers
    sent = query.calls[0].request.headers
    assert sent["Secret"] == "s3cret-value"
    assert sent["ApiIntegrationCode"] == "INTEGRATION-CODE-XYZ"
    assert sent["UserName"] == USER
    assert client.zone().ci == 30595 and client.zone().name == "America West"


def test_unknown_user_at_zone_lookup_is_a_configuration_error(
        client: AutotaskClient, mock: respx.MockRouter) -> None:
    mock.get(LOOKUP).respond(500, json={"errors": ["Zone information could not be determined"]})
    with pytest.raises(ConfigurationError, match="username") as info:
        client.zone()
    assert "Zone information could not be determined" in str(info.value)


def test_zone_on_another_site_is_refused(client: AutotaskClient,
                                         mock: respx.MockRouter) -> None:
    mock.get(LOOKUP).mock(return_value=zone_answer("https://collector.evil.example/x"))
    with pytest.raises(ApiError, match="refusing to send credentials"):
        client.zone()


def test_401_rediscovers_the_zone_once_and_follows_a_move(
        client: AutotaskClient, mock: respx.MockRouter) -> None:
    lookup = mock.get(LOOKUP).mock(side_effect=[zone_answer(ZONE5), zone_answer(ZONE14)])
    mock.get(f"{API}/ThresholdInformation").mock(return_value=threshold_answer())
    old = mock.post(f"{API}/Companies/query").respond(
        401, json={"Message": "Authorization has been denied for this request."})
    new = mock.post(f"{ZONE14}/V1.0/Companies/query").mock(return_value=page([{"id": 7}]))
    assert [r["id"] for r in client.query("Companies", [])] == [7]
    assert lookup.call_count == 2 and old.call_count == 1 and new.call_count == 1
    assert client.base_url == f"{ZONE14}/V1.0"


def test_second_401_is_a_configuration_error_naming_the_settings(
        client: AutotaskClient, mock: respx.MockRouter) -> None:
    lookup = mock.get(LOOKUP).mock(return_value=zone_answer())
    mock.get(f"{API}/ThresholdInformation").mock(return_value=threshold_answer())
    query = mock.post(f"{API}/Companies/query").respond(
        401, json={"Message": "Authorization has been denied for this request."})
    with pytest.raises(ConfigurationError) as info:
        list(client.query("Companies", []))
    text = str(info.value)
    assert "secret" in text and "integration_code" in text and "username" in text
    assert "s3cret-value" not in text
    assert lookup.call_count == 2 and query.call_count == 2


def test_fixed_zone_url_skips_discovery(slept: list[float], mock: respx.MockRouter) -> None:
    client = make_client(slept, zone_url=f"{ZONE5}/V1.0")
    mock.get(f"{API}/ThresholdInformation").mock(return_value=threshold_answer())
    query = mock.post(f"{API}/Companies/query").respond(401, json={"Message": "denied"})
    with pytest.raises(ConfigurationError):
        list(client.query("Companies", []))
    assert query.call_count == 1  # nothing to rediscover: no retry


def test_credential_words_in_a_500_are_a_configuration_error(
        client: AutotaskClient, mock: respx.MockRouter) -> None:
    with_zone_and_threshold(mock)
    mock.post(f"{API}/Companies/query").respond(
        500, json={"errors": ["The logged in Resource does not have the adequate permissions"]})
    with pytest.raises(ConfigurationError, match="adequate permissions"):
        list(client.query("Companies", []))


# -- paging ---------------------------------------------------------------------------------

def test_keyset_paging_asks_for_ids_above_the_last(client: AutotaskClient,
                                                   mock: respx.MockRouter) -> None:
    with_zone_and_threshold(mock)
    route = mock.post(f"{API}/Contracts/query").mock(side_effect=[
        page([{"id": 3}, {"id": 5}], f"{API}/Contracts/query/next?paging=a"),
        page([{"id": 9}], None),
    ])
    rows = list(client.query("Contracts", [eq("companyID", 1)], fields=["contractName"],
                             page_size=2))
    assert [r["id"] for r in rows] == [3, 5, 9]
    first, second = (body_of(c.request) for c in route.calls)
    assert first == {"filter": [eq("companyID", 1)], "IncludeFields": ["id", "contractName"],
                     "MaxRecords": 2}
    assert second["filter"] == [eq("companyID", 1), cond("gt", "id", 5)]


def test_cursor_paging_posts_the_same_body_to_next_page_url(
        client: AutotaskClient, mock: respx.MockRouter) -> None:
    with_zone_and_threshold(mock)
    next_url = f"{API}/Services/query/next?paging=%7B%22pageSize%22%3A2%7D"
    first = mock.post(f"{API}/Services/query").mock(
        return_value=page([{"id": 1}, {"id": 2}], next_url))
    nxt = mock.post(next_url).mock(return_value=page([{"id": 4}]))
    rows = list(client.query("Services", [cond("exist", "id")], page_size=2, paging="next"))
    assert [r["id"] for r in rows] == [1, 2, 4]
    assert body_of(nxt.calls[0].request) == body_of(first.calls[0].request)
    assert nxt.calls[0].request.headers["Secret"] == "s3cret-value"


def test_rows_out_of_id_order_fall_back_to_the_cursor(client: AutotaskClient,
                                                      mock: respx.MockRouter) -> None:
    with_zone_and_threshold(mock)
    next_url = f"{API}/Companies/query/next?paging=b"
    mock.post(f"{API}/Companies/query").mock(return_value=page([{"id": 8}, {"id": 2}], next_url))
    nxt = mock.post(next_url).mock(return_value=page([{"id": 5}]))
    assert [r["id"] for r in client.query("Companies", [], page_size=2)] == [8, 2, 5]
    assert nxt.call_count == 1


def test_next_page_url_on_another_origin_is_refused(client: AutotaskClient,
                                                    mock: respx.MockRouter) -> None:
    with_zone_and_threshold(mock)
    mock.post(f"{API}/Companies/query").mock(return_value=page(
        [{"id": 1}], "https://evil.example/ATServicesRest/V1.0/Companies/query/next?paging=x"))
    with pytest.raises(ApiError, match="refusing to send credentials"):
        list(client.query("Companies", [], paging="next"))


def test_count_uses_query_count(client: AutotaskClient, mock: respx.MockRouter) -> None:
    with_zone_and_threshold(mock)
    route = mock.post(f"{API}/Companies/query/count").respond(200, json={"queryCount": 7})
    assert client.count("Companies", [eq("id", 3)]) == 7
    assert body_of(route.calls[0].request) == {"filter": [eq("id", 3)]}


def test_in_lists_are_split_within_the_or_limit() -> None:
    base = [cond("in", "contractID", [1, 2])]
    batches = list(in_batches("id", [*range(1, 1201), 5], base=base))
    assert [len(b[-1]["value"]) for b in batches] == [498, 498, 204]
    assert all(or_conditions(b) <= 500 for b in batches)
    assert sorted(v for b in batches for v in b[-1]["value"]) == list(range(1, 1201))
    assert list(in_batches("id", [])) == []


def test_filter_builder_refuses_what_autotask_refuses() -> None:
    with pytest.raises(ValueError, match="null"):
        cond("eq", "name", None)
    with pytest.raises(ValueError, match="list"):
        cond("in", "id", 3)
    with pytest.raises(ValueError, match="operator"):
        cond("like", "name", "x")
    assert cond("exist", "id") == {"op": "exist", "field": "id"}
    assert cond("eq", "Ranking", "Gold", udf=True)["udf"] is True


# -- errors ---------------------------------------------------------------------------------

def test_500_with_errors_is_a_rejection_with_autotask_words(
        client: AutotaskClient, mock: respx.MockRouter) -> None:
    with_zone_and_threshold(mock)
    route = mock.post(f"{API}/ContractServiceAdjustments").respond(
        500, json={"errors": ["effectiveDate is required.", "unitChange is invalid."]})
    with pytest.raises(RejectedError) as info:
        client.create("ContractServiceAdjustments", {"unitChange": 1})
    assert "effectiveDate is required.; unitChange is invalid." in str(info.value)
    assert route.call_count == 1


def test_unexpected_error_on_a_create_is_outcome_unknown(
        client: AutotaskClient, mock: respx.MockRouter) -> None:
    with_zone_and_threshold(mock)
    route = mock.post(f"{API}/ContractServiceAdjustments").respond(500, json={
        "errors": ["An unexpected error has occurred. Error ID: 54634."], "errorId": 54634})
    with pytest.raises(OutcomeUnknownError):
        client.create("ContractServiceAdjustments", {"unitChange": 1})
    assert route.call_count == 1


def test_unexpected_error_on_a_query_is_retried(client: AutotaskClient,
                                                mock: respx.MockRouter) -> None:
    with_zone_and_threshold(mock)
    route = mock.post(f"{API}/Companies/query").mock(side_effect=[
        httpx.Response(500, json={"errors": ["An unexpected error has occurred."]}),
        page([{"id": 1}])])
    assert len(list(client.query("Companies", []))) == 1
    assert route.call_count == 2


def test_item_null_is_not_found(client: AutotaskClient, mock: respx.MockRouter) -> None:
    with_zone_and_threshold(mock)
    mock.get(f"{API}/Contracts/42").respond(200, json={"item": None})
    mock.get(f"{API}/Contracts/43").respond(200, json={"item": {"id": 43}})
    with pytest.raises(NotFoundError, match="Contracts record with id 42"):
        client.get_item("Contracts", 42)
    assert client.get_item("Contracts", 43) == {"id": 43}


def test_create_returns_the_item_id_and_impersonates_only_writes(
        slept: list[float], mock: respx.MockRouter) -> None:
    client = make_client(slept, impersonation_resource_id=29682885)
    with_zone_and_threshold(mock)
    query = mock.post(f"{API}/Companies/query").mock(return_value=page([]))
    create = mock.post(f"{API}/ContractServiceAdjustments").respond(200, json={"itemId": 88})
    list(client.query("Companies", []))
    assert client.create("ContractServiceAdjustments", {"unitChange": 1}) == 88
    assert "ImpersonationResourceId" not in query.calls[0].request.headers
    assert create.calls[0].request.headers["ImpersonationResourceId"] == "29682885"


def test_secrets_stay_out_of_repr() -> None:
    settings = AutotaskSettings(username=USER, secret="s3cret-value",
                                integration_code="INTEGRATION-CODE-XYZ")
    assert "s3cret-value" not in repr(settings)
    assert "INTEGRATION-CODE-XYZ" not in repr(settings)


# -- limits ---------------------------------------------------------------------------------

@pytest.mark.parametrize("used", [4_000, 6_000, 8_000])
def test_no_pause_of_our_own_past_half_of_the_threshold(
        client: AutotaskClient, mock: respx.MockRouter, slept: list[float], used: int) -> None:
    """Autotask adds its own latency past 50 % and 75 %; the client adds none on top."""
    with_zone_and_threshold(mock, used=used)
    mock.post(f"{API}/Companies/query").mock(return_value=page([]))
    list(client.query("Companies", []))
    list(client.query("Companies", []))
    assert slept == []


def test_a_pause_past_half_can_still_be_configured(slept: list[float],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ThresholdGuard, "SLOW_DOWN", ((75.0, 1.0), (50.0, 0.5)))
    client = make_client(slept)
    with respx.mock(assert_all_mocked=True) as mock:
        with_zone_and_threshold(mock, used=6_000)
        mock.post(f"{API}/Companies/query").mock(return_value=page([]))
        list(client.query("Companies", []))
    assert slept == [0.5]


def test_stopping_before_the_tenant_is_locked_out(slept: list[float]) -> None:
    client = make_client(slept, threshold_stop_percent=90)
    with respx.mock(assert_all_mocked=True) as mock:
        with_zone_and_threshold(mock, used=8_999)
        route = mock.post(f"{API}/Companies/query").mock(return_value=page([]))
        list(client.query("Companies", []))  # 9,000 with this one: the last allowed
        with pytest.raises(RateLimitedError, match=r"9,00\d of 10,000 .*stops at 90%") as info:
            list(client.query("Companies", []))
    assert route.call_count == 1
    assert "run again later" in str(info.value)


def test_threshold_is_read_sparingly(client: AutotaskClient, mock: respx.MockRouter,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ThresholdGuard, "REFRESH_EVERY", {False: (5, 600.0), True: (2, 60.0)})
    reads = with_zone_and_threshold(mock)
    mock.post(f"{API}/Companies/query").mock(return_value=page([]))
    for _ in range(11):
        list(client.query("Companies", []))
    assert reads.call_count == 3  # at the start, then after every 5 requests


def test_thread_threshold_is_backed_off_even_for_a_post(
        client: AutotaskClient, mock: respx.MockRouter, slept: list[float],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ThrottleDialect, "thread_retry_after", (1.0, 1.0))
    with_zone_and_threshold(mock)
    busy = {"errors": ["Thread Threshold Exceeded: 3 requests in progress (Itgenatr005)"]}
    route = mock.post(f"{API}/ContractServiceAdjustments").mock(side_effect=[
        httpx.Response(500, json=busy), httpx.Response(429, json=busy),
        httpx.Response(200, json={"itemId": 5})])
    assert client.create("ContractServiceAdjustments", {"unitChange": 1}) == 5
    assert route.call_count == 3
    assert slept == [1.0, 1.0]


def test_hourly_429_stops_every_later_request(client: AutotaskClient,
                                              mock: respx.MockRouter) -> None:
    with_zone_and_threshold(mock)
    route = mock.post(f"{API}/Companies/query").respond(
        429, json={"errors": ["Request threshold exceeded"]})
    with pytest.raises(RateLimitedError, match="429"):
        list(client.query("Companies", []))
    with pytest.raises(RateLimitedError, match="stops at"):
        list(client.query("Companies", []))
    assert route.call_count == 1


def test_endpoint_keys_follow_autotask_entities() -> None:
    assert endpoint_of(f"{API}/Companies/query") == "companies"
    assert endpoint_of(f"{API}/Companies/query/next?paging=x") == "companies"
    assert endpoint_of(f"{API}/Contracts/12/Services") == "contractservices"
    assert endpoint_of(f"{API}/contracts/12/serviceAdjustments") == "contractserviceadjustments"
    assert endpoint_of(f"{API}/Contracts/12") == "contracts"
    assert endpoint_of("https://x.test/other") == ""
