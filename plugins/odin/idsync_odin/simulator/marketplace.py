"""Simulator of the Ingram Micro Cloud Marketplace API (the subset IDSync reads).

Served under ``/marketplace/<code>`` like the real base URL. What it enforces, as the real API
does (research notes §2d):

* ``POST /token``: Basic auth of the API user, ``X-Subscription-Key`` and
  ``{"marketplace": "<code>"}``; answers ``{"token", "expiresInSeconds"}``. Tokens expire after
  the seed's ``token_lifetime_seconds`` on the world's clock;
* every other call: a valid ``X-Subscription-Key`` (else the gateway's 401) and a live bearer
  token (else 401);
* lists page with ``offset``/``limit`` (``limit`` capped at 500) in ``{data, pagination}``;
  subscription rows carry no quantities;
* ``GET /subscriptions`` takes a single ``status`` value: a comma list, a repeated parameter or
  an unknown status is answered 400;
* ``GET /subscriptions/{id}`` has its own time-window throttle (``detail_throttle``) answering
  429 with ``Retry-After``.
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from idsync_odin.simulator.state import STATUSES, Customer, SimSubscription, World

MAX_LIMIT = 500
DEFAULT_LIMIT = 10


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"statusCode": status, "message": message}, status_code=status,
                        headers=headers)


def throttled(retry_after: int) -> Response:
    """A 429 in the API gateway's words."""
    return error(429, f"Rate limit is exceeded. Try again in {retry_after} seconds.",
                 {"Retry-After": str(retry_after)})


class MarketplaceApi:
    def __init__(self, world: World) -> None:
        self.world = world
        self.tokens: dict[str, float] = {}  # token -> expiry on the world's clock
        self.tokens_issued = 0

    # -- checks ---------------------------------------------------------------------------------

    def _key_problem(self, request: Request) -> Response | None:
        key = request.headers.get("x-subscription-key")
        if not key:
            return error(401, "Access denied due to missing subscription key. Make sure to "
                              "include subscription key when making requests to an API.")
        if not secrets.compare_digest(key, self.world.credentials.subscription_key):
            return error(401, "Access denied due to invalid subscription key. Make sure to "
                              "provide a valid key for an active subscription.")
        return None

    def _auth_problem(self, request: Request) -> Response | None:
        problem = self._key_problem(request)
        if problem is not None:
            return problem
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return error(401, "Bearer token is missing")
        with self.world.lock:
            expires = self.tokens.get(token)
            if expires is None:
                return error(401, "Bearer token is invalid")
            if self.world.now() >= expires:
                del self.tokens[token]
                return error(401, "Bearer token has expired")
        return None

    # -- endpoints ------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        problem = self._key_problem(request)
        if problem is not None:
            return problem
        creds = self.world.credentials
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        if scheme.lower() != "basic" or not (
            secrets.compare_digest(user, creds.username)
            and secrets.compare_digest(password, creds.password)
        ):
            return error(401, "Invalid username or password")
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("marketplace") != self.world.marketplace:
            return error(400, f"Unknown marketplace; this API serves {self.world.marketplace!r}")
        value = secrets.token_urlsafe(24)
        with self.world.lock:
            self.tokens[value] = self.world.now() + self.world.token_lifetime
            self.tokens_issued += 1
        return JSONResponse({"token": value,
                             "expiresInSeconds": math.floor(self.world.token_lifetime)})

    async def customers(self, request: Request) -> Response:
        problem = self._auth_problem(request) or _paging_problem(request)
        if problem is not None:
            return problem
        with self.world.lock:
            rows = [_customer(c) for c in self.world.customers.values()]
        return _page(request, rows)

    async def customer(self, request: Request) -> Response:
        problem = self._auth_problem(request)
        if problem is not None:
            return problem
        with self.world.lock:
            found = self.world.customers.get(request.path_params["id"])
        if found is None:
            return error(404, f"Customer {request.path_params['id']} not found")
        return JSONResponse(_customer(found))

    async def subscriptions(self, request: Request) -> Response:
        problem = self._auth_problem(request) or _paging_problem(request)
        if problem is not None:
            return problem
        statuses = request.query_params.getlist("status")
        if len(statuses) > 1 or any(s not in STATUSES for s in statuses):
            return error(400, "Invalid value of the parameter 'status': expected one of "
                              f"{', '.join(STATUSES)}")
        customer_id = request.query_params.get("customerId")
        with self.world.lock:
            rows = [_row(s) for s in self.world.subscriptions.values()
                    if (customer_id is None or s.customer_id == customer_id)
                    and (not statuses or s.status == statuses[0])]
        return _page(request, rows)

    async def subscription(self, request: Request) -> Response:
        problem = self._auth_problem(request)
        if problem is not None:
            return problem
        with self.world.lock:
            wait = self.world.detail_throttle.wait(self.world.now())
        if wait is not None:
            return throttled(max(1, math.ceil(wait)))
        with self.world.lock:
            found = self.world.subscriptions.get(request.path_params["id"])
            if found is None:
                return error(404, f"Subscription {request.path_params['id']} not found")
            return JSONResponse(_detail(found))

    def routes(self) -> list[Route]:
        return [
            Route("/token", self.token, methods=["POST"]),
            Route("/customers", self.customers, methods=["GET"]),
            Route("/customers/{id}", self.customer, methods=["GET"]),
            Route("/subscriptions", self.subscriptions, methods=["GET"]),
            Route("/subscriptions/{id}", self.subscription, methods=["GET"]),
        ]

    def control_routes(self) -> list[Route]:
        async def revoke(request: Request) -> Response:
            with self.world.lock:
                self.tokens.clear()
            return Response(status_code=204)

        return [Route("/_sim/tokens", revoke, methods=["DELETE"])]


def build_app(api: MarketplaceApi, extra_routes: list[Route]) -> Starlette:
    return Starlette(routes=[
        Mount(f"/marketplace/{api.world.marketplace}", routes=api.routes()),
        *extra_routes,
        *api.control_routes(),
    ])


def _paging_problem(request: Request) -> Response | None:
    for name, minimum in (("offset", 0), ("limit", 1)):
        raw = request.query_params.get(name)
        if raw is not None and (not raw.isdigit() or int(raw) < minimum):
            return error(400, f"Invalid value of the parameter '{name}'")
    return None


def _page(request: Request, rows: list[dict[str, Any]]) -> Response:
    offset = int(request.query_params.get("offset", 0))
    limit = min(int(request.query_params.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
    return JSONResponse({"data": rows[offset:offset + limit],
                         "pagination": {"offset": offset, "limit": limit, "total": len(rows)}})


def _customer(customer: Customer) -> dict[str, Any]:
    row = {"id": customer.id, "name": customer.name, "status": customer.status}
    if customer.external_id:
        row["externalId"] = customer.external_id
    return row


def _row(sub: SimSubscription) -> dict[str, Any]:
    """A list row: no products, no quantities (as the real list endpoint); the API dates the
    last change itself (``lastModifiedDate``)."""
    return {"id": sub.id, "name": sub.name, "customerId": sub.customer_id, "status": sub.status,
            "renewalStatus": sub.status == "active", "creationDate": sub.creation_date,
            "renewalDate": sub.renewal_date,
            "lastModifiedDate": sub.last_modified.date().isoformat(), "attributes": {},
            **sub.periods}


def _detail(sub: SimSubscription) -> dict[str, Any]:
    products = []
    for p in sub.products:
        product: dict[str, Any] = {"id": p.id, "mpn": p.mpn, "vendor": p.vendor, "name": p.name}
        if p.quantity is not None:
            product["quantity"] = p.quantity
        for key, value in (("unitPrice", p.unit_price), ("unitCost", p.unit_cost)):
            if value is not None:
                product[key] = {"currency": p.currency, "amount": str(value)}
        products.append(product)
    return {**_row(sub), "products": products}
