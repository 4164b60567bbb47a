"""The Autotask simulator as any HTTP client sees it: wire format, query engine, units, limits."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from idsync_autotask.simulator import AutotaskSimulator, create_simulator
from idsync_autotask.simulator.limits import HourlyThreshold
from idsync_autotask.simulator.seed import example_seed
from idsync_core.simulation import LoggedRequest, ServerThread

SEED = example_seed()
V1 = "/ATServicesRest/V1.0"


@pytest.fixture
def http(server: ServerThread, headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=headers) as client:
        yield client


def query(http: httpx.Client, entity: str, *filters: dict[str, Any], **extra: Any) -> Any:
    response = http.post(f"{V1}/{entity}/query", json={"filter": list(filters), **extra})
    assert response.status_code == 200, response.text
    return response.json()


def ids(http: httpx.Client, entity: str, *filters: dict[str, Any]) -> list[int]:
    return [row["id"] for row in query(http, entity, *filters)["items"]]


def units(http: httpx.Client, cs_id: int, day: str) -> int:
    response = http.get("/_sim/autotask/units", params={"contractServiceID": cs_id, "date": day})
    return int(response.json()["units"])


# -- zone, version, auth ----------------------------------------------------------------------

def test_version_and_zone_information_need_no_credentials(sim: AutotaskSimulator,
                                                          server: ServerThread) -> None:
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/atservicesrest/versioninformation").json() == {"apiVersions": ["V1.0"]}
        zone = http.get("/atservicesrest/v1.0/ZoneInformation",
                        params={"user": SEED["apiUsers"][0]["userName"].upper()})
        assert zone.status_code == 200
        assert zone.json()["url"] == f"{server.url}/ATServicesRest/"
        assert zone.json()["ci"] == 30595
        unknown = http.get(f"{V1}/zoneInformation", params={"user": "nobody@x.example"})
        assert unknown.status_code == 500
        assert unknown.json() == {"errors": ["Zone information could not be determined"]}
    assert sim.api.threshold.used() == 124  # zone lookups do not count


@pytest.mark.parametrize(("change", "status", "shape"), [
    ({"UserName": "stranger@x.example"}, 500, "errors"),
    ({"Secret": "wrong"}, 401, "Message"),
    ({"ApiIntegrationCode": "WRONG"}, 500, "errors"),
])
def test_credential_failures_answer_like_autotask(server: ServerThread, headers: dict[str, str],
                                                  change: dict[str, str], status: int,
                                                  shape: str) -> None:
    with httpx.Client(base_url=server.url, headers={**headers, **change}) as http:
        response = http.get(f"{V1}/Companies/101")
    assert response.status_code == status
    assert shape in response.json()


# -- the query engine ---------------------------------------------------------------------------

def f(op: str, field: str, value: Any = None, **more: Any) -> dict[str, Any]:
    item = {"op": op, "field": field, **more}
    if value is not None:
        item["value"] = value
    return item


@pytest.mark.parametrize(("filters", "expected"), [
    ([f("eq", "companyName", "contoso LTD")], [101]),
    ([f("noteq", "isActive", True)], [107]),
    ([f("gt", "id", 105)], [106, 107]),
    ([f("gte", "id", 105)], [105, 106, 107]),
    ([f("lt", "id", 101)], [0]),
    ([f("lte", "id", "101")], [0, 101]),
    ([f("beginsWith", "companyName", "north")], [103]),
    ([f("endsWith", "companyName", "INC")], [102, 106]),
    ([f("contains", "companyName", "works")], [104]),
    ([f("exist", "companyNumber")], [101, 102, 103, 104, 105, 106, 107]),
    ([f("notExist", "companyNumber")], [0]),
    ([f("in", "id", [103, 101, 999])], [101, 103]),
    ([f("notIn", "id", [0, 101, 102, 103, 104])], [105, 106, 107]),
    ([f("eq", "isActive", True), f("contains", "companyName", "in")], [102, 103, 105, 106]),
    ([{"op": "or", "items": [f("eq", "id", 104), {"op": "and", "items": [
        f("contains", "companyName", "inc"), f("eq", "isActive", True)]}]}], [102, 104, 106]),
    ([{"OP": "EQ", "Field": "COMPANYNAME", "Value": "Litware Inc"}], [106]),
])
def test_every_operator(http: httpx.Client, filters: list[dict[str, Any]],
                        expected: list[int]) -> None:
    assert ids(http, "Companies", *filters) == expected


def test_dates_compare_as_instants(http: httpx.Client) -> None:
    assert ids(http, "Contracts", f("gte", "startDate", "2026-01-01")) == [301, 302, 304]
    assert ids(http, "Contracts", f("lt", "endDate", "2025-01-01T00:00:00Z")) == [306]


def test_user_defined_fields(http: httpx.Client) -> None:
    created = http.post(f"{V1}/Companies", json={
        "companyName": "Woodgrove Bank", "companyType": 1, "isActive": True,
        "userDefinedFields": [{"name": "Ranking", "value": "Golden"}]})
    new_id = created.json()["itemId"]
    assert ids(http, "Companies", f("eq", "Ranking", "golden", udf=True)) == [new_id]
    two_udfs = http.post(f"{V1}/Companies/query", json={"filter": [
        f("eq", "Ranking", "x", udf=True), f("eq", "Other", "y", udf=True)]})
    assert two_udfs.status_code == 500


@pytest.mark.parametrize(("body", "words"), [
    ({"filter": [f("eq", "nope", 1)]}, "Unable to find nope"),
    ({"filter": [{"op": "eq", "field": "id", "value": None}]}, "null"),
    ({"filter": [f("eq", "isActive", "true")]}, "not valid for isActive"),
    ({"filter": []}, "filter"),
    ({"filter": [f("in", "id", list(range(501)))]}, "500 or fewer 'OR' conditions"),
    ({"filter": [f("exist", "id")], "MaxRecords": 501}, "MaxRecords"),
    ({"filter": [f("like", "id", 1)]}, "operator"),
])
def test_bad_queries_are_500_with_errors(http: httpx.Client, body: dict[str, Any],
                                         words: str) -> None:
    response = http.post(f"{V1}/Companies/query", json=body)
    assert response.status_code == 500
    assert words in response.json()["errors"][0]


def test_include_fields_and_count(http: httpx.Client) -> None:
    data = query(http, "Companies", f("eq", "id", 101), IncludeFields=["CompanyName"])
    assert data["items"] == [{"id": 101, "companyName": "Contoso Ltd", "userDefinedFields": []}]
    count = http.post(f"{V1}/Companies/query/count", json={"filter": [f("eq", "isActive", True)]})
    assert count.json() == {"queryCount": 7}


# -- paging ---------------------------------------------------------------------------------

def test_next_page_url_must_be_posted_with_the_same_body(http: httpx.Client,
                                                        server: ServerThread) -> None:
    body = {"filter": [f("exist", "id")], "MaxRecords": 3}
    first = http.post(f"{V1}/Companies/query", json=body).json()
    assert [r["id"] for r in first["items"]] == [0, 101, 102]
    assert first["pageDetails"]["count"] == 3 and first["pageDetails"]["requestCount"] == 3
    next_url = first["pageDetails"]["nextPageUrl"]
    assert next_url.startswith(f"{server.url}/ATServicesRest/V1.0/Companies/query/next?paging=")

    wrong_method = http.get(next_url)
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {
        "Message": "The requested resource does not support http method 'GET'."}
    assert http.post(next_url).status_code == 500
    assert http.post(next_url, json={"filter": [f("gt", "id", 0)], "MaxRecords": 3}
                     ).status_code == 500

    second = http.post(next_url, json=body).json()
    assert [r["id"] for r in second["items"]] == [103, 104, 105]
    third = http.post(second["pageDetails"]["nextPageUrl"], json=body).json()
    assert [r["id"] for r in third["items"]] == [106, 107]
    assert third["pageDetails"]["nextPageUrl"] is None


def test_the_next_page_may_spell_the_same_query_differently(http: httpx.Client) -> None:
    first_body = {"filter": [f("gt", "id", 0), f("eq", "isActive", True)],
                  "IncludeFields": ["companyName", "id"], "MaxRecords": 3}
    first = http.post(f"{V1}/Companies/query", json=first_body).json()
    next_url = first["pageDetails"]["nextPageUrl"]
    same = {"Filter": [{"OP": "EQ", "Field": "ISACTIVE", "Value": True},
                       {"op": "gt", "field": "Id", "value": "0"}],
            "includeFields": ["ID", "CompanyName"], "maxRecords": 3}
    second = http.post(next_url, json=same)
    assert second.status_code == 200, second.text
    assert [r["id"] for r in first["items"] + second.json()["items"]] == [
        101, 102, 103, 104, 105, 106]
    for different in ({**first_body, "filter": [f("gt", "id", 1), f("eq", "isActive", True)]},
                      {**first_body, "MaxRecords": 4},
                      {**first_body, "IncludeFields": ["companyName"]}):
        refused = http.post(next_url, json=different)
        assert refused.status_code == 500
        assert "does not match the original query" in refused.json()["errors"][0]


@pytest.mark.parametrize("sim", [{**SEED, "companies": SEED["companies"] + [
    {"id": 1000 + i, "companyName": f"Filler {i:03d}", "companyType": 1} for i in range(520)]}],
    indirect=True)
def test_max_records_left_out_is_the_default_500(http: httpx.Client) -> None:
    first = http.post(f"{V1}/Companies/query", json={"filter": [f("exist", "id")]}).json()
    assert len(first["items"]) == 500 and first["pageDetails"]["requestCount"] == 500
    second = http.post(first["pageDetails"]["nextPageUrl"],
                       json={"filter": [f("exist", "id")], "MaxRecords": 500})
    assert second.status_code == 200, second.text
    assert len(second.json()["items"]) == 528 - 500
    assert second.json()["pageDetails"]["nextPageUrl"] is None


def test_get_queries_page_with_get(http: httpx.Client) -> None:
    search = json.dumps({"filter": [f("exist", "id")], "MaxRecords": 5})
    first = http.get(f"{V1}/Companies/query", params={"search": search}).json()
    second = http.get(first["pageDetails"]["nextPageUrl"]).json()
    assert [r["id"] for r in first["items"] + second["items"]] == [0, *range(101, 108)]
    count = http.get(f"{V1}/Companies/query/count", params={"search": search})
    assert count.json() == {"queryCount": 8}


# -- records ----------------------------------------------------------------------------------

def test_items_writes_and_methods(http: httpx.Client) -> None:
    assert http.get(f"{V1}/Companies/101").json()["item"]["companyName"] == "Contoso Ltd"
    assert http.get(f"{V1}/companies/999").json() == {"item": None}
    created = http.post(f"{V1}/Services", json={
        "name": "Defender for Business", "unitPrice": 3.0, "periodType": 1,
        "billingCodeID": 1}).json()["itemId"]
    assert http.patch(f"{V1}/Services", json={"id": created, "isActive": False}).json() == {
        "itemId": created}
    item = http.get(f"{V1}/Services/{created}").json()["item"]
    assert item["isActive"] is False and item["name"] == "Defender for Business"
    assert http.post(f"{V1}/Services", json={"name": "no price"}).status_code == 500
    assert http.delete(f"{V1}/Companies/101").status_code == 405
    assert http.get(f"{V1}/ContractServiceAdjustments/1000").status_code == 405
    assert http.post(f"{V1}/ContractServiceAdjustments/query",
                     json={"filter": [f("exist", "id")]}).status_code == 404
    assert http.post(f"{V1}/ContractServiceUnits", json={}).status_code == 405
    fields = http.get(f"{V1}/Contracts/entityInformation/fields").json()["fields"]
    period = next(x for x in fields if x["name"] == "contractPeriodType")
    assert {v["label"] for v in period["picklistValues"]} >= {"Monthly", "Yearly"}


class Clock:
    """The simulator's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 20, 9, 0, 0, 123000, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def text(self) -> str:
        return self.moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


@pytest.mark.parametrize(("entity", "body", "created", "modified", "change"), [
    ("Companies", {"companyName": "Woodgrove Bank", "companyType": 1}, "createDate",
     "lastTrackedModifiedDateTime", {"phone": "555-0100"}),
    ("Contracts", {"companyID": 101, "contractName": "Woodgrove", "contractType": 7, "status": 1,
                   "startDate": "2026-01-01", "endDate": "2026-12-31"}, None,
     "lastModifiedDateTime", {"description": "renewed"}),
    ("Services", {"name": "Defender for Business", "unitPrice": 3.0, "periodType": 1,
                  "billingCodeID": 1}, "createDate", "lastModifiedDate",
     {"description": "EDR"}),
])
def test_the_api_stamps_creation_and_modification_dates(
        headers: dict[str, str], entity: str, body: dict[str, Any], created: str | None,
        modified: str, change: dict[str, Any]) -> None:
    clock = Clock()
    sim = create_simulator(now=clock)
    seeded_at = clock.text()
    with ServerThread(sim.app) as server, httpx.Client(base_url=server.url,
                                                       headers=headers) as http:
        def item(item_id: int) -> dict[str, Any]:
            found: dict[str, Any] = http.get(f"{V1}/{entity}/{item_id}").json()["item"]
            return found

        def changed_since(stamp: str) -> list[int]:
            return ids(http, entity, f("gt", modified, stamp))

        clock.moment += timedelta(minutes=5)
        posted = http.post(f"{V1}/{entity}", json={**body, modified: "2001-01-01T00:00:00",
                                                   "id": 7})
        new_id = posted.json()["itemId"]
        assert new_id != 7
        row = item(new_id)
        assert row[modified] == clock.text() and row[modified] > seeded_at
        if created:
            assert row[created] == row[modified]
        assert changed_since(seeded_at) == [new_id]

        creation = clock.text()
        clock.moment += timedelta(seconds=90)
        assert http.patch(f"{V1}/{entity}", json={"id": new_id, **change}).status_code == 200
        assert item(new_id)[modified] == clock.text()
        assert changed_since(creation) == [new_id]
        clock.moment += timedelta(seconds=90)
        assert http.put(f"{V1}/{entity}", json={"id": new_id, **body}).status_code == 200
        row = item(new_id)
        assert row[modified] == clock.text()
        if created:
            assert row[created] == creation
    assert all(r[modified] == seeded_at for r in sim.tenant.tables[entity.lower()].values()
               if r["id"] != new_id)


def test_contract_children(http: httpx.Client) -> None:
    services = http.get(f"{V1}/Contracts/303/Services").json()["items"]
    assert [s["id"] for s in services] == [402, 403]
    added = http.post(f"{V1}/Contracts/301/Services", json={"serviceID": 203}).json()["itemId"]
    row = http.get(f"{V1}/Contracts/301/Services/{added}").json()["item"]
    assert row["unitPrice"] == 7.20 and row["contractID"] == 301
    again = http.post(f"{V1}/Contracts/301/Services", json={"serviceID": 203})
    assert again.status_code == 500
    block = http.post(f"{V1}/Contracts/302/Services", json={"serviceID": 203})
    assert "Recurring Service" in block.json()["errors"][0]


def test_a_contract_service_updates_only_its_invoice_description(http: httpx.Client) -> None:
    services = f"{V1}/Contracts/301/Services"
    patched = http.patch(services, json={"id": 401, "invoiceDescription": "M365 BP",
                                         "unitPrice": 1.0, "serviceID": 201})
    assert patched.status_code == 200 and patched.json() == {"itemId": 401}
    row = http.get(f"{services}/401").json()["item"]
    assert (row["invoiceDescription"], row["unitPrice"], row["serviceID"]) == (
        "M365 BP", 26.4, 202)
    assert http.put(services, json={"id": 401}).status_code == 200
    assert http.get(f"{services}/401").json()["item"]["invoiceDescription"] is None
    elsewhere = http.patch(f"{V1}/Contracts/303/Services", json={"id": 401})
    assert elsewhere.status_code == 500 and elsewhere.json()["errors"]
    assert http.patch(f"{V1}/ContractServices", json={"id": 401}).status_code == 405
    assert http.delete(f"{services}").status_code == 405


# -- units ----------------------------------------------------------------------------------

def test_adjustment_mid_period_splits_the_period(http: httpx.Client) -> None:
    response = http.post(f"{V1}/ContractServiceAdjustments", json={
        "contractID": 301, "contractServiceID": 401, "unitChange": 3,
        "effectiveDate": "2026-11-10T00:00:00Z", "adjustedUnitPrice": 26.4})
    assert response.status_code == 200 and response.json()["itemId"] > 0
    given_id = http.post(f"{V1}/ContractServiceAdjustments", json={
        "id": 5, "contractServiceID": 401, "unitChange": 0, "effectiveDate": "2026-11-10"})
    assert given_id.json()["itemId"] not in (5, response.json()["itemId"])
    rows = query(http, "ContractServiceUnits", f("eq", "contractServiceID", 401),
                 f("gte", "startDate", "2026-10-01"), f("lte", "startDate", "2026-12-01"))
    assert [(r["startDate"][:10], r["endDate"][:10], r["units"]) for r in rows["items"]
            ] == [("2026-10-01", "2026-10-31", 12), ("2026-11-01", "2026-11-09", 12),
                  ("2026-12-01", "2026-12-31", 15), ("2026-11-10", "2026-11-30", 15)]
    assert [r["id"] for r in rows["items"]] == sorted(r["id"] for r in rows["items"])
    assert (units(http, 401, "2026-11-09"), units(http, 401, "2026-11-10"),
            units(http, 401, "2027-06-01")) == (12, 15, 15)


def test_a_decrease_on_the_next_period_leaves_this_one(http: httpx.Client) -> None:
    http.post(f"{V1}/Contracts/303/ServiceAdjustments", json={
        "contractServiceID": 402, "unitChange": -8, "effectiveDate": "2026-12-01"})
    assert (units(http, 402, "2026-11-30"), units(http, 402, "2026-12-01")) == (28, 20)


def test_adjustments_refused_like_autotask(http: httpx.Client) -> None:
    below_zero = http.post(f"{V1}/ContractServiceAdjustments", json={
        "contractServiceID": 403, "unitChange": -6, "effectiveDate": "2026-11-01"})
    outside = http.post(f"{V1}/ContractServiceAdjustments", json={
        "contractServiceID": 403, "unitChange": 1, "effectiveDate": "2030-01-01"})
    undated = http.post(f"{V1}/ContractServiceAdjustments", json={
        "contractServiceID": 403, "unitChange": 1})
    for response in (below_zero, outside, undated):
        assert response.status_code == 500 and response.json()["errors"]
    assert units(http, 403, "2026-11-01") == 5


def test_adjusting_a_service_not_on_the_contract_adds_it(http: httpx.Client,
                                                         sim: AutotaskSimulator) -> None:
    http.post(f"{V1}/ContractServiceAdjustments", json={
        "contractID": 301, "serviceID": 201, "unitChange": 8,
        "effectiveDate": "2026-11-25T00:00:00Z"})
    cs = query(http, "ContractServices", f("eq", "contractID", 301), f("eq", "serviceID", 201))
    cs_id = cs["items"][0]["id"]
    assert (units(http, cs_id, "2026-11-24"), units(http, cs_id, "2026-11-25"),
            units(http, cs_id, "2027-12-31")) == (0, 8, 8)
    state = http.get("/_sim/autotask/state").json()
    assert state["ContractServiceAdjustments"][-1]["unitChange"] == 8


# -- limits ---------------------------------------------------------------------------------

def test_threshold_information_counts_itself_and_the_limit_refuses(
        http: httpx.Client, sim: AutotaskSimulator) -> None:
    first = http.get(f"{V1}/ThresholdInformation").json()
    second = http.get(f"{V1}/ThresholdInformation").json()
    assert first == {"externalRequestThreshold": 10000, "requestThresholdTimeframe": 60,
                     "currentTimeframeRequestCount": 125}
    assert second["currentTimeframeRequestCount"] == 126
    http.post("/_sim/autotask/limits", json={"thresholdLimit": 200, "thresholdUsed": 200})
    refused = http.get(f"{V1}/Companies/101")
    assert refused.status_code == 429 and "threshold" in refused.json()["errors"][0]


def test_added_latency_tiers() -> None:
    clock = [0.0]
    threshold = HourlyThreshold(limit=100, others=49, clock=lambda: clock[0])
    assert threshold.delay() == 0
    assert threshold.record() and threshold.delay() == 0.5
    threshold.others = 75
    assert threshold.delay() == 1.0
    clock[0] = 3600.0
    threshold.others = 0
    assert threshold.used() == 0  # the window rolls


def test_three_requests_in_flight_per_endpoint(sim: AutotaskSimulator, server: ServerThread,
                                               headers: dict[str, str]) -> None:
    sim.api.processing_ms = 400
    statuses: list[tuple[str, int, str]] = []
    with httpx.Client(base_url=server.url, headers=headers) as client:
        def call(entity: str) -> None:
            r = client.post(f"{V1}/{entity}/query", json={"filter": [f("exist", "id")]})
            statuses.append((entity, r.status_code, r.text))

        threads = [threading.Thread(target=call, args=(e,))
                   for e in ["Companies"] * 5 + ["Services"]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    companies = sorted(s for e, s, _ in statuses if e == "Companies")
    assert companies == [200, 200, 200, 429, 429]
    assert [s for e, s, _ in statuses if e == "Services"] == [200]
    assert any("Thread Threshold Exceeded" in text for _, _, text in statuses)
    assert sim.api.threads.refused == 2


def test_request_log_and_faults(http: httpx.Client,
                                logged: Callable[..., list[LoggedRequest]]) -> None:
    http.post("/_sim/faults", json={"status": 503, "path_contains": "/Companies/101"})
    assert http.get(f"{V1}/Companies/101").status_code == 503
    assert http.get(f"{V1}/Companies/101").status_code == 200
    assert [e.status for e in logged("GET", "/Companies/101", expect=2)] == [503, 200]


def test_seed_is_validated() -> None:
    with pytest.raises(ValueError, match="apiUsers"):
        create_simulator({"integrationCodes": ["X"]})
    broken = {**SEED, "contractServices": [{"id": 1, "contractID": 999, "serviceID": 201}]}
    with pytest.raises(ValueError, match="Recurring Service"):
        create_simulator(broken)
