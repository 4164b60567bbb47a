"""A stateful simulator of the ConnectWise Manage REST API (see ``app.py`` for the wire format).

``create_simulator(seed)`` builds one from a seed in the format documented in
``plugins/connectwise/README.md`` (None: the shipped ``seed_example.json``). It answers any HTTP
client as ConnectWise would, with IDSync's shared controls on top: latency, scripted and random
faults, a per-minute request budget answered with ConnectWise's own 429, and a request log.
"""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources
from typing import Any

from starlette.types import ASGIApp

from idsync_connectwise.simulator.app import create_app, throttle_response
from idsync_connectwise.simulator.state import SeedError, Tenant
from idsync_core.simulation import SimulatorControls, SimulatorMiddleware

__all__ = ["ConnectWiseSimulator", "SeedError", "create_simulator", "example_seed"]

DEFAULT_RATE_LIMIT = 1000
"""Requests per minute before the simulator throttles, ConnectWise's published figure."""


def example_seed() -> dict[str, Any]:
    """The shipped example tenant (the shared demo story)."""
    text = resources.files(__package__).joinpath("seed_example.json").read_text("utf-8")
    seed: dict[str, Any] = json.loads(text, parse_float=Decimal)
    return seed


class ConnectWiseSimulator:
    """The simulated tenant, its ASGI app and its controls."""

    def __init__(self, seed: dict[str, Any]) -> None:
        self.tenant = Tenant(seed)
        self.controls = SimulatorControls(rate_limit=DEFAULT_RATE_LIMIT, rate_window=60.0,
                                          throttle_response=throttle_response)
        self.app: ASGIApp = SimulatorMiddleware(create_app(self.tenant, self.controls),
                                                self.controls)

    def connection_settings(self, base_url: str) -> dict[str, Any]:
        """A ``[psa]`` table pointing at this simulator, with the credentials it accepts.

        The codebase is left out on purpose, so a connection discovers it as on a real tenant.
        """
        login = self.tenant.login
        return {"plugin": "connectwise", "site": base_url, "company_id": login.company_id,
                "public_key": login.public_key, "private_key": login.private_key,
                "client_id": login.client_id}


def create_simulator(seed: dict[str, Any] | None = None) -> ConnectWiseSimulator:
    return ConnectWiseSimulator(seed if seed is not None else example_seed())
