"""The shared simulator pieces: request log timing, faults in the API's words, rate limits."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from idsync_core.simulation import Fault, ServerThread, SimulatorControls, SimulatorMiddleware


def throttled(retry_after: int) -> Response:
    return JSONResponse({"error": "ConnectWiseAPI", "message": "Too many requests"},
                        status_code=429, headers={"Retry-After": str(retry_after)})


@pytest.fixture
def served() -> Iterator[tuple[str, SimulatorControls]]:
    controls = SimulatorControls(throttle_response=throttled)
    writes: list[int] = []

    async def items(request: Request) -> Response:
        if request.method == "POST":
            writes.append(1)
            return JSONResponse({"id": len(writes)}, status_code=201)
        return JSONResponse([{"id": 1}])

    app = Starlette(routes=[*controls.routes(),
                            Route("/items", items, methods=["GET", "POST"])])
    with ServerThread(SimulatorMiddleware(app, controls)) as server:
        yield server.url, controls


def test_the_log_holds_a_request_before_its_answer_arrives(
        served: tuple[str, SimulatorControls]) -> None:
    url, controls = served
    with httpx.Client() as client:
        for n in range(1, 30):
            client.get(f"{url}/items")
            assert controls.log.count(method="GET") == n  # no waiting, no race


def test_a_scripted_429_answers_in_the_apis_words(served: tuple[str, SimulatorControls]) -> None:
    url, controls = served
    controls.faults.add(Fault(status=429, retry_after=3))
    response = httpx.get(f"{url}/items")
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    assert response.json()["error"] == "ConnectWiseAPI"


def test_server_side_rate_limit_and_control_routes(served: tuple[str, SimulatorControls]) -> None:
    url, _controls = served
    assert httpx.post(f"{url}/_sim/config", json={"rate_limit": 2, "rate_window": 60}).json()[
        "rate_limit"] == 2
    statuses = [httpx.get(f"{url}/items").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert len(httpx.get(f"{url}/_sim/requests").json()) == 3
    httpx.delete(f"{url}/_sim/requests")
    assert httpx.get(f"{url}/_sim/requests").json() == []


def test_a_fault_after_the_handler_loses_the_answer_not_the_write(
        served: tuple[str, SimulatorControls]) -> None:
    url, _controls = served
    httpx.post(f"{url}/_sim/faults", json={"kind": "reset", "method": "POST",
                                          "after_handler": True})
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{url}/items", json={})
    assert httpx.post(f"{url}/items", json={}).json() == {"id": 2}  # the first one landed
    reset, answered = (e.to_json() for e in _controls.log.entries())
    assert (reset["status"], reset["outcome"]) == (0, "reset")  # not the 200 it began with
    assert (answered["status"], answered["outcome"]) == (201, "answered")
    httpx.post(f"{url}/_sim/faults", json={"kind": "reset", "method": "GET"})
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/items")
    logged = httpx.get(f"{url}/_sim/requests").json()[-1]
    assert (logged["method"], logged["status"], logged["outcome"]) == ("GET", 0, "reset")
