"""The simulator speaks Pax8's wire format: token grant and its refusals, bearer checks, paging
limits, filters, error envelopes, a 429 without Retry-After, the seed checks."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from idsync_core.simulation import Fault, ServerThread
from idsync_pax8.simulator import SeedError, create_simulator, example_seed

CONTOSO = "3f1d2c4e-5a6b-4c7d-8e9f-0a1b2c3d4e01"
GRANT = {"grant_type": "client_credentials", "client_id": "idsync-demo-app",
         "client_secret": "pax8-sim-secret-0123456789", "audience": "https://api.pax8.com"}


@pytest.fixture
def api() -> Iterator[httpx.Client]:
    simulator = create_simulator()
    with ServerThread(simulator.app) as server, httpx.Client(base_url=server.url) as client:
        token = client.post("/v1/token", json=GRANT).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        client.simulator = simulator  # type: ignore[attr-defined]
        yield client


def test_the_token_grant_and_its_refusals(api: httpx.Client) -> None:
    answer = api.post("/v1/token", json=GRANT, headers={"Authorization": ""})
    assert answer.status_code == 200
    assert set(answer.json()) == {"access_token", "expires_in", "token_type"}
    assert (answer.json()["expires_in"], answer.json()["token_type"]) == (86400, "Bearer")
    wrong = api.post("/v1/token", json={**GRANT, "client_secret": "nope"})
    assert (wrong.status_code, wrong.json()) == (401, {"error": "access_denied",
                                                       "error_description": "Unauthorized"})
    assert api.post("/v1/token", json={**GRANT, "audience": "api://other"}).status_code == 401
    assert api.post("/v1/token", json={**GRANT, "grant_type": "password"}).status_code == 400


def test_every_api_call_needs_a_valid_bearer(api: httpx.Client) -> None:
    for header in ("", "Bearer made-up", "Basic abc"):
        answer = api.get("/v1/companies", headers={"Authorization": header})
        assert answer.status_code == 401
        assert answer.json()["status"] == 401 and "token" in answer.json()["message"]
    api.delete("/_sim/tokens")
    assert api.get("/v1/companies").status_code == 401


def test_lists_page_from_0_with_at_most_200_rows(api: httpx.Client) -> None:
    body = api.get("/v1/companies", params={"page": 1, "size": 3}).json()
    assert [c["name"] for c in body["content"]] == ["Tailspin Toys"]
    assert body["page"] == {"size": 3, "totalElements": 4, "totalPages": 2, "number": 1}
    assert len(api.get("/v1/companies").json()["content"]) == 4  # default size 10
    for bad in ({"size": 201}, {"size": 0}, {"page": -1}, {"page": "x"}):
        answer = api.get("/v1/companies", params=bad)
        assert answer.status_code == 422
        assert set(answer.json()) == {"type", "message", "instance", "status", "details"}


def test_subscriptions_filter_by_company_and_status(api: httpx.Client) -> None:
    rows = api.get("/v1/subscriptions", params={"companyId": CONTOSO}).json()["content"]
    assert [r["productName"] for r in rows] == ["Exchange Online (Plan 1)",
                                                "Microsoft 365 Business Premium"]
    cancelled = api.get("/v1/subscriptions", params={"status": "Cancelled"}).json()["content"]
    assert [r["status"] for r in cancelled] == ["Cancelled"]
    assert api.get("/v1/subscriptions", params={"companyId": "nope"}).status_code == 403
    assert api.get(f"/v1/subscriptions/{rows[0]['id']}").json() == rows[0]
    assert api.get("/v1/subscriptions/nope").status_code == 404
    assert api.get("/v1/companies/nope").status_code == 404


def test_a_throttled_answer_carries_no_retry_after(api: httpx.Client) -> None:
    api.simulator.controls.faults.add(Fault(status=429, retry_after=3))  # type: ignore[attr-defined]
    answer = api.get("/v1/companies")
    assert answer.status_code == 429 and "retry-after" not in answer.headers
    assert answer.json()["message"] == "Too many requests"


def test_a_subscription_can_be_changed_as_at_pax8(api: httpx.Client) -> None:
    [first, *_] = api.get("/v1/subscriptions").json()["content"]
    assert api.post(f"/_sim/subscriptions/{first['id']}", json={"quantity": 9}).json()[
        "quantity"] == 9
    assert api.get(f"/v1/subscriptions/{first['id']}").json()["quantity"] == 9
    assert api.post(f"/_sim/subscriptions/{first['id']}", json={"price": 1}).status_code == 400
    assert api.post("/_sim/subscriptions/nope", json={"quantity": 1}).status_code == 404


@pytest.mark.parametrize(("change", "message"), [
    ({"companies": [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]}, "unique string ids"),
    ({"subscriptions": [{"id": "s", "companyId": "nobody"}]}, "name no seeded companyId"),
    ({"token_lifetime_seconds": 0}, "positive number"),
    ({"tokens": []}, "unknown seed keys ['tokens']"),
])
def test_a_seed_not_in_the_format_is_refused(change: dict[str, Any], message: str) -> None:
    seed = {**copy.deepcopy(example_seed()), **change}
    with pytest.raises(SeedError, match=message.replace("[", r"\[").replace("]", r"\]")):
        create_simulator(seed)
