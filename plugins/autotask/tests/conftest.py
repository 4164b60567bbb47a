"""Fixtures shared by the Autotask plugin's tests: a simulator and one loopback server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from idsync_autotask.simulator import AutotaskSimulator, create_simulator
from idsync_core.simulation import LoggedRequest, ServerThread


class CurrentApp:
    """One loopback server per module, serving each test's own simulator: starting and
    stopping uvicorn for every test would cost more than the tests themselves."""

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@pytest.fixture
def sim(request: pytest.FixtureRequest) -> AutotaskSimulator:
    """A fresh simulator: the example tenant, or the seed given by indirect parametrization."""
    return create_simulator(getattr(request, "param", None))


@pytest.fixture(scope="module")
def shared_server() -> Iterator[tuple[ServerThread, CurrentApp]]:
    current = CurrentApp()
    with ServerThread(current) as running:
        yield running, current


@pytest.fixture
def server(sim: AutotaskSimulator,
           shared_server: tuple[ServerThread, CurrentApp]) -> ServerThread:
    """The loopback server, now answering with this test's simulator."""
    running, current = shared_server
    current.app = sim.app
    return running


@pytest.fixture
def headers(sim: AutotaskSimulator) -> dict[str, str]:
    """Credential headers the simulator accepts."""
    settings = sim.connection_settings("http://127.0.0.1")
    return {"UserName": settings["username"], "Secret": settings["secret"],
            "ApiIntegrationCode": settings["integration_code"]}


Logged = Callable[..., list[LoggedRequest]]


@pytest.fixture
def logged(sim: AutotaskSimulator) -> Logged:
    """``logged(method, path_contains, status=None, expect=n)``: the simulator's log entries
    that match, once ``n`` of them are there (or after a second).

    The shared middleware records a request *after* its answer went out, so a client can read
    the answer before the entry exists; polling avoids that race without sleeping blindly.
    """

    def entries(method: str, path_contains: str, status: int | None = None, *,
                expect: int) -> list[LoggedRequest]:
        deadline = time.monotonic() + 1.0
        while True:
            found = [e for e in sim.controls.log.entries()
                     if e.method == method and path_contains in e.path
                     and (status is None or e.status == status)]
            if len(found) >= expect or time.monotonic() > deadline:
                return found
            time.sleep(0.005)

    return entries
