"""Simulators of both backends' APIs, serving one seeded world (see plugins/odin/README.md).

``create_simulator(seed)`` (the connector's ``simulator`` factory) builds the simulator the seed
names with ``"backend"`` (``"marketplace"``, the default, or ``"aps"``);
``create_marketplace_simulator`` and ``create_aps_simulator`` build one regardless of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from starlette.types import ASGIApp

from idsync_core.simulation import SimulatorControls, SimulatorMiddleware
from idsync_odin.simulator import aps, marketplace
from idsync_odin.simulator.control import control_routes
from idsync_odin.simulator.seed import build_world, example_seed
from idsync_odin.simulator.state import World, utc_now

Clock = Callable[[], float]
WallClock = Callable[[], datetime]


@dataclass
class OdinSimulator:
    """One simulator: ``app`` (wrapped in the core's middleware), its ``controls`` and the
    ``world`` it serves, which tests may read and change directly."""

    backend: Literal["marketplace", "aps"]
    app: ASGIApp
    controls: SimulatorControls
    world: World

    def connection_settings(self, base_url: str) -> dict[str, Any]:
        base_url = base_url.rstrip("/")
        creds = self.world.credentials
        if self.backend == "aps":
            return {"plugin": "odin", "backend": "aps", "base_url": base_url,
                    "consumer_key": creds.consumer_key,
                    "consumer_secret": creds.consumer_secret}
        return {"plugin": "odin", "backend": "marketplace",
                "base_url": f"{base_url}/marketplace/{self.world.marketplace}",
                "marketplace": self.world.marketplace, "username": creds.username,
                "password": creds.password, "subscription_key": creds.subscription_key}


def create_marketplace_simulator(seed: dict[str, Any] | None = None, *,
                                 clock: Clock = time.monotonic,
                                 wall_clock: WallClock = utc_now) -> OdinSimulator:
    _, world = build_world(seed, clock, wall_clock)
    controls = SimulatorControls(throttle_response=marketplace.throttled)
    api = marketplace.MarketplaceApi(world)
    app = marketplace.build_app(api, [*controls.routes(), *control_routes(world)])
    return OdinSimulator("marketplace", SimulatorMiddleware(app, controls), controls, world)


def create_aps_simulator(seed: dict[str, Any] | None = None, *,
                         clock: Clock = time.monotonic,
                         wall_clock: WallClock = utc_now) -> OdinSimulator:
    _, world = build_world(seed, clock, wall_clock)
    controls = SimulatorControls()
    app = aps.build_app(aps.ApsApi(world), [*controls.routes(), *control_routes(world)])
    return OdinSimulator("aps", SimulatorMiddleware(app, controls), controls, world)


def create_simulator(seed: dict[str, Any] | None = None, *,
                     clock: Clock = time.monotonic,
                     wall_clock: WallClock = utc_now) -> OdinSimulator:
    """The simulator the seed's ``backend`` names (None: the example seed, marketplace).

    ``clock`` (monotonic seconds) times tokens and throttles; ``wall_clock`` (UTC) dates the
    changes made through ``world`` or the control routes.
    """
    backend = (example_seed() if seed is None else seed).get("backend", "marketplace")
    factory = create_aps_simulator if backend == "aps" else create_marketplace_simulator
    return factory(seed, clock=clock, wall_clock=wall_clock)
