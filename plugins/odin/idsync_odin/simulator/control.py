"""``/_sim/`` control routes shared by both simulators: read the world, change it live.

* ``GET /_sim/state``: the whole world in the seed format;
* ``POST /_sim/subscriptions/{id}/products/{mpn}`` ``{"quantity": 10}``: change a line's
  licence count (``null``: usage-based); ``{id}`` is the marketplace id or the APS id,
  ``{mpn}`` the MPN or the APS resource type id;
* ``POST /_sim/subscriptions/{id}`` ``{"status": "terminated"}``: change a status;
* ``GET``/``POST /_sim/settings``: ``token_lifetime_seconds``, ``detail_requests`` and
  ``detail_window_seconds`` (the subscription detail throttle; 0 requests: none).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from idsync_odin.simulator.state import World


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def control_routes(world: World) -> list[Route]:
    async def state(request: Request) -> Response:
        return JSONResponse(world.to_seed())

    async def product(request: Request) -> Response:
        body = await _json_object(request)
        if body is None or "quantity" not in body:
            return _problem(400, 'send {"quantity": <non-negative integer or null>}')
        quantity = body["quantity"]
        if quantity is not None and (
            isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0
        ):
            return _problem(400, "quantity must be a non-negative integer or null")
        try:
            changed = world.set_quantity(request.path_params["id"], request.path_params["mpn"],
                                         quantity)
        except KeyError as exc:
            return _problem(404, str(exc.args[0]))
        return JSONResponse(changed.to_seed())

    async def subscription(request: Request) -> Response:
        body = await _json_object(request)
        if body is None or not isinstance(body.get("status"), str):
            return _problem(400, 'send {"status": "<pending|active|hold|terminated|removed>"}')
        try:
            changed = world.set_status(request.path_params["id"], body["status"])
        except KeyError as exc:
            return _problem(404, str(exc.args[0]))
        except ValueError as exc:
            return _problem(400, str(exc))
        return JSONResponse(changed.to_seed())

    async def settings(request: Request) -> Response:
        if request.method == "POST":
            body = await _json_object(request)
            if body is None:
                return _problem(400, "send a JSON object")
            with world.lock:
                try:
                    if "token_lifetime_seconds" in body:
                        world.token_lifetime = _positive(body["token_lifetime_seconds"])
                    if "detail_requests" in body:
                        world.detail_throttle.limit = _count(body["detail_requests"])
                    if "detail_window_seconds" in body:
                        world.detail_throttle.window = _positive(body["detail_window_seconds"])
                except (TypeError, ValueError) as exc:
                    return _problem(400, str(exc))
        with world.lock:
            return JSONResponse({"token_lifetime_seconds": world.token_lifetime,
                                 "detail_requests": world.detail_throttle.limit,
                                 "detail_window_seconds": world.detail_throttle.window})

    return [
        Route("/_sim/state", state, methods=["GET"]),
        Route("/_sim/subscriptions/{id}/products/{mpn}", product, methods=["POST"]),
        Route("/_sim/subscriptions/{id}", subscription, methods=["POST"]),
        Route("/_sim/settings", settings, methods=["GET", "POST"]),
    ]


def _positive(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError("must be a positive number")
    return float(value)


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("must be a non-negative integer")
    return value
