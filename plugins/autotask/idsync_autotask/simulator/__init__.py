"""A stateful simulator of the Autotask REST API, for tests, ``idsync demo`` and ``serve``.

``create_simulator(seed)`` builds it from a seed (the parsed JSON documented in
plugins/autotask/README.md; None for the shipped ``seed_example.json``). Serve ``app`` on
127.0.0.1 and point a connection at it with ``connection_settings(base_url)``; the zone lookup
then goes through the simulator too. ``now`` (UTC ``datetime.now`` by default) is the clock of the
creation and modification dates it stamps on records, so tests can move it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.types import ASGIApp

from idsync_autotask.simulator.app import AutotaskApi, threshold_exceeded
from idsync_autotask.simulator.seed import build_tenant, load_seed
from idsync_autotask.simulator.state import Tenant, utc_now
from idsync_core.simulation import SimulatorControls, SimulatorMiddleware


@dataclass
class AutotaskSimulator:
    app: ASGIApp
    controls: SimulatorControls
    api: AutotaskApi

    @property
    def tenant(self) -> Tenant:
        return self.api.tenant

    def connection_settings(self, base_url: str) -> dict[str, Any]:
        user = self.api.seed.api_users[0]
        return {
            "plugin": "autotask",
            "username": user.user_name,
            "secret": user.secret,
            "integration_code": self.api.seed.integration_codes[0],
            "zone_lookup_url": f"{base_url.rstrip('/')}/ATServicesRest",
        }


def create_simulator(seed: dict[str, Any] | None = None, *,
                     now: Callable[[], datetime] = utc_now) -> AutotaskSimulator:
    parsed = load_seed(seed)
    api = AutotaskApi(parsed, build_tenant(parsed, now))

    def throttle(retry_after: int) -> Response:
        response = threshold_exceeded(api.threshold.limit, api.threshold.minutes)
        response.headers["Retry-After"] = str(retry_after)
        return response

    controls = SimulatorControls(throttle_response=throttle)
    app = Starlette(routes=[*controls.routes(), *api.routes()])
    return AutotaskSimulator(app=SimulatorMiddleware(app, controls), controls=controls,
                             api=api)


__all__ = ["AutotaskSimulator", "create_simulator"]
