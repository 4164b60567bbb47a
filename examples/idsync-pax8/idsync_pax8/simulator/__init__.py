"""A simulator of the Pax8 partner API, seeded from JSON (format in README.md, example in
``seed_example.json`` beside this module).

``create_simulator(seed)`` is the connector's ``simulator`` attribute: ``idsync simulator serve
pax8``, the conformance suite and the tests use it. Besides the core's ``/_sim/`` routes
(request log, faults, config) it has ``POST /_sim/subscriptions/{id}`` (``{"quantity": 10}``,
``{"status": "Cancelled"}``: what a change at Pax8 looks like) and ``DELETE /_sim/tokens``
(every token issued so far expires now).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from idsync_core.simulation import SimulatorControls, SimulatorMiddleware
from idsync_pax8.simulator.app import Pax8World, build_app, error, throttled


class SeedError(ValueError):
    """The seed is not in the documented format; the message says where."""


def example_seed() -> dict[str, Any]:
    text = resources.files(__name__).joinpath("seed_example.json").read_text(encoding="utf-8")
    seed: dict[str, Any] = json.loads(text)
    return seed


def build_world(seed: dict[str, Any], clock: Callable[[], float]) -> Pax8World:
    unknown = sorted(set(seed) - {"description", "credentials", "token_lifetime_seconds",
                                  "companies", "subscriptions"})
    if unknown:
        raise SeedError(f"unknown seed keys {unknown}")
    credentials = seed.get("credentials") or {}
    companies = copy.deepcopy(seed.get("companies", []))
    subscriptions = copy.deepcopy(seed.get("subscriptions", []))
    company_ids = [c.get("id") for c in companies]
    if not all(isinstance(i, str) and i for i in company_ids) or len(set(company_ids)) != len(
            company_ids):
        raise SeedError("companies need unique string ids")
    subscription_ids = [s.get("id") for s in subscriptions]
    if len(set(subscription_ids)) != len(subscription_ids):
        raise SeedError("subscriptions need unique ids")
    strays = [s.get("id") for s in subscriptions if s.get("companyId") not in set(company_ids)]
    if strays:
        raise SeedError(f"subscriptions {strays[:5]} name no seeded companyId")
    lifetime = seed.get("token_lifetime_seconds", 86400)
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
        raise SeedError("token_lifetime_seconds must be a positive number")
    return Pax8World(client_id=str(credentials.get("client_id", "sim-client")),
                     client_secret=str(credentials.get("client_secret", "sim-secret")),
                     token_lifetime=float(lifetime), companies=companies,
                     subscriptions=subscriptions, clock=clock)


def control_routes(world: Pax8World) -> list[Route]:
    async def change(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        allowed = {"quantity", "status"}
        if not isinstance(body, dict) or not body or set(body) - allowed:
            return error(400, 'send {"quantity": <number>} and/or {"status": "<Pax8 status>"}')
        with world.lock:
            row = world.subscription(request.path_params["id"])
            if row is None:
                return error(404, f"no subscription {request.path_params['id']}")
            row.update(body)
            return JSONResponse(row)

    async def tokens(request: Request) -> Response:
        world.expire_tokens()
        return Response(status_code=204)

    return [Route("/_sim/subscriptions/{id}", change, methods=["POST"]),
            Route("/_sim/tokens", tokens, methods=["DELETE"])]


@dataclass
class Pax8Simulator:
    """``app`` (wrapped in the core's middleware), its ``controls`` and the ``world`` it
    serves, which tests may read and change directly."""

    app: ASGIApp
    controls: SimulatorControls
    world: Pax8World

    def connection_settings(self, base_url: str) -> dict[str, Any]:
        base_url = base_url.rstrip("/")
        return {"plugin": "pax8", "base_url": f"{base_url}/v1",
                "token_url": f"{base_url}/v1/token", "client_id": self.world.client_id,
                "client_secret": self.world.client_secret}


def create_simulator(seed: dict[str, Any] | None = None, *,
                     clock: Callable[[], float] = time.monotonic) -> Pax8Simulator:
    """The simulator of ``seed`` (None: the example). ``clock`` times token lifetimes."""
    world = build_world(seed if seed is not None else example_seed(), clock)
    controls = SimulatorControls(throttle_response=throttled)
    app = build_app(world, [*controls.routes(), *control_routes(world)])
    return Pax8Simulator(SimulatorMiddleware(app, controls), controls, world)
