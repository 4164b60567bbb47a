"""The ConnectWise simulator speaks the wire format to any HTTP client."""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from idsync_connectwise.simulator import (
    ConnectWiseSimulator,
    SeedError,
    create_simulator,
    example_seed,
)
from idsync_core.simulation import RequestLog, ServerThread

LOGIN = example_seed()["login"]
API = "/v2025_1/apis/3.0"


def auth_headers(private_key: str = LOGIN["private_key"], *, client_id: bool = True
                 ) -> dict[str, str]:
    token = base64.b64encode(
        f"{LOGIN['company_id']}+{LOGIN['public_key']}:{private_key}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    if client_id:
        headers["clientId"] = LOGIN["client_id"]
    return headers


def seed_with_companies(count: int) -> dict[str, Any]:
    seed = copy.deepcopy(example_seed())
    seed["companies"] += [{"id": 50_000 + i, "name": f"Filler {i:04d}"} for i in range(count)]
    return seed


@contextmanager
def served(sim: ConnectWiseSimulator, headers: dict[str, str] | None = None
           ) -> Iterator[httpx.Client]:
    """The simulator on loopback, and a plain httpx client for it (any client would do)."""
    with ServerThread(sim.app) as server, httpx.Client(base_url=server.url,
                                                       headers=headers) as client:
        yield client


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    with served(create_simulator(seed_with_companies(1500)), auth_headers()) as client:
        yield client


@pytest.fixture
def anonymous() -> Iterator[httpx.Client]:
    with served(create_simulator()) as client:
        yield client


def query_of(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link).query)


# -- login, auth, codebase ----------------------------------------------------------------------

def test_company_info_needs_no_credentials_and_names_the_codebase(
    anonymous: httpx.Client,
) -> None:
    client = anonymous
    info = client.get(f"/login/companyinfo/{LOGIN['company_id'].upper()}").json()
    assert info["Codebase"] == "v2025_1/" and info["CompanyID"] == LOGIN["company_id"]
    assert client.get("/login/companyinfo/other").status_code == 404


@pytest.mark.parametrize(("headers", "words"), [
    ({}, "UserNotAuthenticated"),
    (auth_headers("wrong"), "UserNotAuthenticated"),
    ({"Authorization": "Basic !!!"}, "UserNotAuthenticated"),
    (auth_headers(client_id=False), "clientId"),
])
def test_bad_credentials_get_a_401_in_connectwise_words(
    anonymous: httpx.Client, headers: dict[str, str], words: str
) -> None:
    response = anonymous.get(f"{API}/system/info", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "Unauthorized" and words in body["message"] and "errors" in body


def test_both_codebases_answer_and_others_do_not(api: httpx.Client) -> None:
    assert api.get(f"{API}/system/info").status_code == 200
    assert api.get("/v4_6_release/apis/3.0/system/info").status_code == 200
    missing = api.get("/v2019_1/apis/3.0/system/info")
    assert missing.status_code == 404 and missing.json()["code"] == "NotFound"
    assert api.get(f"{API}/system/info").headers["api-current-version"] == "2025.1"


# -- lists and paging ---------------------------------------------------------------------------

def test_lists_are_bare_arrays_of_25_by_default_and_1000_at_most(api: httpx.Client) -> None:
    response = api.get(f"{API}/company/companies")
    assert isinstance(response.json(), list) and len(response.json()) == 25
    assert len(api.get(f"{API}/company/companies", params={"pageSize": 5000}).json()) == 1000
    assert len(api.get(f"{API}/company/companies", params={"PAGESIZE": 7}).json()) == 7


def test_navigable_paging_links_keep_every_parameter(api: httpx.Client) -> None:
    params = {"conditions": 'name contains "filler"', "orderBy": "name desc", "pageSize": 400}
    first = api.get(f"{API}/company/companies", params=params)
    links = httpx.Response(200, headers={"Link": first.headers["Link"]}).links
    assert set(links) == {"first", "next", "last"}
    assert query_of(links["next"]["url"])["page"] == ["2"]
    assert query_of(links["next"]["url"])["conditions"] == ['name contains "filler"']
    assert query_of(links["last"]["url"])["page"] == ["4"]
    assert first.json()[0]["name"] == "Filler 1499"
    third = api.get(links["next"]["url"].replace("page=2", "page=4"))
    last_links = httpx.Response(200, headers={"Link": third.headers["Link"]}).links
    assert "next" not in last_links and "prev" in last_links
    assert len(third.json()) == 300
    assert api.get(f"{API}/company/companies", params={**params, "page": 9}).json() == []


def test_links_end_with_the_page_number_as_the_real_api_writes_them(api: httpx.Client) -> None:
    params = {"conditions": 'name contains "filler"', "pageSize": 10, "page": 2}
    header = api.get(f"{API}/company/companies", params=params).headers["Link"]
    assert '&pageSize=10&page=3>; rel="next"' in header
    # how pyconnectwise reads the header: it only sees links whose last parameter is `page`
    pages = {rel: int(number) for number, rel in re.findall(r'page=(\d+)>; rel="(.*?)"', header)}
    assert pages == {"first": 1, "prev": 1, "next": 3, "last": 150}
    forward = api.get(f"{API}/company/companies", params={"pageSize": 10},
                      headers={"pagination-type": "forward-only"})
    last_id = forward.json()[-1]["id"]
    assert forward.headers["Link"].endswith(f'?pageSize=10&pageId={last_id}>; rel="next"')


def test_a_trailing_slash_is_the_same_path(fresh: httpx.Client) -> None:
    listed = fresh.get(f"{API}/company/companies/", params={"pageSize": 3})
    assert listed.status_code == 200
    assert listed.json() == fresh.get(f"{API}/company/companies", params={"pageSize": 3}).json()
    assert fresh.get(f"{API}/company/companies/19297/").json()["id"] == 19297
    created = fresh.post(f"{ADDITIONS}/", json={"product": {"id": 1201}, "quantity": 1,
                                                "billCustomer": "Billable"})
    assert created.status_code == 201
    assert fresh.get(f"{API}/company/companies/count/").json() == {"count": 7}


def test_forward_only_paging_walks_by_id_and_ends_with_an_empty_link(api: httpx.Client) -> None:
    headers = {"pagination-type": "forward-only"}
    seen: list[int] = []
    url = f"{API}/company/companies?pageSize=1000&conditions=deletedFlag%3Dfalse"
    requests = 0
    while url:
        response = api.get(url, headers=headers)
        requests += 1
        seen += [row["id"] for row in response.json()]
        next_link = httpx.Response(200, headers={"Link": response.headers["Link"]}).links
        url = next_link.get("next", {}).get("url", "")
        assert "Link" in response.headers
    assert seen == sorted(seen) and len(seen) == 1506  # 1,500 fillers and 6 live companies
    assert requests == 3
    refused = api.get(f"{API}/company/companies", params={"orderBy": "name"}, headers=headers)
    assert refused.status_code == 400 and refused.json()["code"] == "InvalidObject"


def test_count_fields_and_order_by(api: httpx.Client) -> None:
    count = api.get(f"{API}/company/companies/count", params={"conditions": "deletedFlag=true"})
    assert count.json() == {"count": 1}
    rows = api.get(f"{API}/finance/agreements", params={
        "conditions": "company/name = \"Adventure Works\"", "fields": "id,agreementStatus",
        "orderBy": "id desc"}).json()
    assert rows == [{"id": 876, "agreementStatus": "Active"},
                    {"id": 875, "agreementStatus": "Expired"}]
    one = api.get(f"{API}/procurement/catalog/1201", params={"fields": "identifier,price"})
    assert one.json() == {"identifier": "CFQ7TTC0LH16", "price": 4.8}


def test_bad_conditions_are_a_400_with_a_connectwise_body(api: httpx.Client) -> None:
    response = api.get(f"{API}/company/companies", params={"conditions": "name = "})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidObject" and "ends too early" in body["message"]
    assert len(body["errors"]) == 1
    assert body["errors"][0]["field"] == "conditions" and body["errors"][0]["message"]


@pytest.mark.parametrize(("params", "headers", "field"), [
    ({"childconditions": "x in"}, {}, "childConditions"),
    ({"customFieldConditions": "("}, {}, "customFieldConditions"),
    ({"orderBy": "name sideways"}, {}, "orderBy"),
    ({"pageSize": "many"}, {}, "pageSize"),
    ({"page": "2.5"}, {}, "page"),
    ({"pageId": "x"}, {"pagination-type": "forward-only"}, "pageId"),
    ({"orderBy": "name"}, {"pagination-type": "forward-only"}, "orderBy"),
])
def test_every_refused_query_lists_its_error(api: httpx.Client, params: dict[str, str],
                                             headers: dict[str, str], field: str) -> None:
    response = api.get(f"{API}/company/companies", params=params, headers=headers)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidObject"
    assert [e["field"] for e in body["errors"]] == [field]


def test_last_updated_is_a_condition_field_on_every_entity() -> None:
    seed = copy.deepcopy(example_seed())
    old = seed["companies"][0]
    old["_info"] = {"lastUpdated": "2016-08-20T18:04:26Z", "updatedBy": "someone"}
    with served(create_simulator(seed), auth_headers()) as client:
        def ids(path: str, conditions: str, **more: str) -> list[int]:
            response = client.get(f"{API}/{path}", params={"conditions": conditions, **more})
            assert response.status_code == 200, response.text
            return [row["id"] for row in response.json()]

        everyone = ids("company/companies", "id > 0")
        assert ids("company/companies", "lastUpdated < [2020-01-01T00:00:00Z]") == [old["id"]]
        assert ids("company/companies", "LastUpdated > [2020-01-01T00:00:00Z]") == [
            i for i in everyone if i != old["id"]]
        assert ids("company/companies", "_info/lastUpdated < [2020-01-01T00:00:00Z]") == [
            old["id"]]
        assert ids("company/companies", "updatedBy = 'someone'") == [old["id"]]
        assert ids("company/companies", "id > 0", orderBy="lastUpdated asc")[0] == old["id"]
        added = client.post(ADDITIONS, json={"product": {"id": 1201}, "quantity": 1,
                                             "billCustomer": "Billable"}).json()
        stamp = added["_info"]["lastUpdated"]
        assert ids("finance/agreements/871/additions", f"lastUpdated >= [{stamp}]") == [
            added["id"]]
        assert ids("finance/agreements/871/additions", f"lastUpdated < [{stamp}]") == []
        assert ids("finance/agreements", f"lastUpdated > [{stamp}]") == []


def test_unknown_ids_are_404(api: httpx.Client) -> None:
    assert api.get(f"{API}/finance/agreements/1").json()["code"] == "NotFound"
    assert api.get(f"{API}/finance/agreements/1/additions").status_code == 404
    assert api.delete(f"{API}/company/companies/19297").status_code == 405


# -- additions ----------------------------------------------------------------------------------

@pytest.fixture
def fresh() -> Iterator[httpx.Client]:
    with served(create_simulator(), auth_headers()) as client:
        yield client


ADDITIONS = f"{API}/finance/agreements/871/additions"


def test_post_creates_an_addition_with_catalog_defaults_and_derived_fields(
    fresh: httpx.Client,
) -> None:
    response = fresh.post(ADDITIONS, json={
        "product": {"identifier": "cfq7ttc0lh16"}, "quantity": 8, "billCustomer": "Billable",
        "effectiveDate": "2026-11-25T00:00:00Z", "description": "x [idsync:k1]"})
    assert response.status_code == 201
    created = response.json()
    assert created["product"] == {"id": 1201, "identifier": "CFQ7TTC0LH16"}
    assert (created["unitPrice"], created["unitCost"]) == (4.8, 4.0)
    assert (created["extPrice"], created["billedQuantity"]) == (38.4, 8.0)
    assert created["agreementId"] == 871 and created["cancelledDate"] is None
    assert created["invoiceDescription"] == "Exchange Online (Plan 1)"
    state = fresh.get("/_sim/agreements/871/additions").json()
    assert [a["id"] for a in state] == [created["id"]]


def test_post_validation_errors_list_every_field(fresh: httpx.Client) -> None:
    response = fresh.post(ADDITIONS, json={"quantity": "many", "effectiveDate": "someday",
                                           "billCustomer": "Sometimes"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidObject" and body["message"] == "addition object is invalid"
    assert {e["field"]: e["code"] for e in body["errors"]} == {
        "product": "MissingRequiredField", "quantity": "InvalidValue",
        "effectiveDate": "UnsupportedFormat", "billCustomer": "OutOfRange"}
    too_long = fresh.post(ADDITIONS, json={"product": {"id": 1201}, "billCustomer": "Billable",
                                           "serialNumber": "x" * 51}).json()
    assert [(e["field"], e["code"]) for e in too_long["errors"]] == [
        ("serialNumber", "MaxLengthField")]
    unreadable = fresh.post(ADDITIONS, content=b"not json")
    assert unreadable.status_code == 400 and len(unreadable.json()["errors"]) == 1


def test_patch_replaces_fields_and_reproduces_the_false_200(fresh: httpx.Client) -> None:
    added = fresh.post(ADDITIONS, json={"product": {"id": 1201}, "quantity": 8,
                                        "billCustomer": "Billable"}).json()
    item = f"{ADDITIONS}/{added['id']}"
    done = fresh.patch(item, json=[{"op": "replace", "path": "quantity", "value": 10},
                                   {"op": "replace", "path": "/cancelledDate",
                                    "value": "2026-12-01T00:00:00Z"}])
    assert done.status_code == 200
    assert done.json()["quantity"] == 10 and done.json()["extPrice"] == 48.0
    assert done.json()["cancelledDate"] == "2026-12-01T00:00:00Z"
    ignored = fresh.patch(item, json=[{"op": "replace", "path": "Quantity", "value": 3}])
    assert ignored.status_code == 200 and ignored.json()["quantity"] == 10  # the false 200
    deep = fresh.patch(item, json=[{"op": "replace", "path": "product/id", "value": 1202}])
    assert deep.status_code == 400 and deep.json()["errors"][0]["field"] == "product/id"
    invalid = fresh.patch(item, json=[{"op": "replace", "path": "billCustomer", "value": "X"}])
    assert invalid.status_code == 400 and invalid.json()["errors"][0]["field"] == "billCustomer"
    not_a_list = fresh.patch(item, json={"op": "replace"})
    assert not_a_list.status_code == 400 and len(not_a_list.json()["errors"]) == 1


def test_put_resets_omitted_fields_and_delete_removes(fresh: httpx.Client) -> None:
    added = fresh.post(ADDITIONS, json={"product": {"id": 1201}, "quantity": 8,
                                        "billCustomer": "Billable",
                                        "effectiveDate": "2026-11-25T00:00:00Z"}).json()
    item = f"{ADDITIONS}/{added['id']}"
    replaced = fresh.put(item, json={"product": {"id": 1201}, "billCustomer": "NoCharge"}).json()
    assert replaced["effectiveDate"] is None and replaced["unitPrice"] is None
    assert replaced["quantity"] is None and replaced["billCustomer"] == "NoCharge"
    assert fresh.delete(item).status_code == 204
    assert fresh.get(item).status_code == 404


def test_the_budget_answers_429_with_retry_after_in_connectwise_words(
    settled: Callable[[RequestLog], RequestLog],
) -> None:
    sim = create_simulator()
    sim.controls.rate_limit = 2
    with served(sim, auth_headers()) as client:
        statuses = [client.get(f"{API}/system/info").status_code for _ in range(3)]
        throttled = client.get(f"{API}/system/info")
    assert statuses == [200, 200, 429]
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.json()["error"] == "ConnectWiseAPI"
    assert "Too many requests" in throttled.json()["message"]
    assert settled(sim.controls.log).count(status=429) == 2


# -- seeds --------------------------------------------------------------------------------------

def test_the_example_seed_tells_the_demo_story() -> None:
    sim = create_simulator()
    tenant = sim.tenant
    names = {c["name"]: c["id"] for c in tenant.companies.values() if not c["deletedFlag"]}
    assert {"Contoso Ltd", "Fabrikam Inc", "Northwind Traders", "Adventure Works",
            "Tailspin Toys", "Litware Inc"} <= set(names)
    contoso = next(a for a in tenant.agreements.values() if a["name"] == "Contoso - Microsoft 365")
    assert contoso["startDate"] == "2026-01-01T00:00:00Z"
    assert contoso["billingCycle"]["name"] == "Monthly"
    assert tenant.additions_of(contoso["id"]) == []
    assert not [a for a in tenant.agreements.values()
                if a["company"]["id"] == names["Litware Inc"]]
    assert any(a["agreementStatus"] == "Expired" for a in tenant.agreements.values())
    assert {c["identifier"] for c in tenant.catalog.values()} >= {
        "CFQ7TTC0LH16", "CFQ7TTC0LCHC", "CFQ7TTC0LH18", "DZH318Z0BQ3Q"}
    assert sim.connection_settings("http://127.0.0.1:1")["plugin"] == "connectwise"


@pytest.mark.parametrize(("change", "words"), [
    (lambda s: s.pop("login"), "login"),
    (lambda s: s["agreements"][0].update(company={"id": 1}), "not seeded"),
    (lambda s: s["additions"][0].update(agreementId=1), "not a seeded agreement"),
    (lambda s: s["additions"][0].update(product={"id": 1}), "was not found"),
    (lambda s: s["companies"].append(dict(s["companies"][0])), "twice"),
    (lambda s: s["catalog"][0].update(id="1201"), "integer id"),
])
def test_bad_seeds_are_refused_with_a_reason(change: Any, words: str) -> None:
    seed = copy.deepcopy(example_seed())
    change(seed)
    with pytest.raises(SeedError, match=words):
        create_simulator(seed)
