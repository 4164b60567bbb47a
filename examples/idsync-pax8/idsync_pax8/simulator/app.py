"""The Pax8 partner API as the connector sees it: tokens, companies, subscriptions.

* ``POST /v1/token`` takes a JSON body ``{client_id, client_secret, audience, grant_type}`` and
  answers ``{access_token, expires_in, token_type}``; wrong credentials are
  ``401 {"error": "access_denied", "error_description": "Unauthorized"}``. Tokens expire after
  ``token_lifetime_seconds`` on the simulator's clock; an expired or unknown token is a 401.
* ``GET /v1/companies``, ``GET /v1/subscriptions`` (``companyId``, ``status``, ``productId``
  filters) page with ``page`` (from 0) and ``size`` (default 10, at most 200; more is a 422) and
  answer ``{"content": [...], "page": {size, totalElements, totalPages, number}}``.
* ``GET /v1/companies/{id}``, ``GET /v1/subscriptions/{id}``: one row, or a 404.
* A ``companyId`` that is no company of the partner is a 403 ("Invalid companyId").
* Errors are ``{type, message, instance, status, details}``; a 429 has no ``Retry-After``.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

Row = dict[str, Any]
AUDIENCE = "https://api.pax8.com"
MAX_SIZE = 200
DEFAULT_SIZE = 10


def error(status: int, message: str, request: Request | None = None) -> Response:
    """An answer in Pax8's error envelope."""
    return JSONResponse({"type": f"https://api.pax8.com/errors/{status}", "message": message,
                         "instance": request.url.path if request is not None else "",
                         "status": status, "details": []}, status_code=status)


def throttled(retry_after: int) -> Response:
    """A 429 as Pax8 sends it: no Retry-After, whatever the wait (the argument is ignored)."""
    return error(429, "Too many requests")


@dataclass
class Pax8World:
    """The partner's data and the tokens issued, guarded by one lock (the server is threaded
    for the API, the test reads and changes it from another thread)."""

    client_id: str
    client_secret: str
    token_lifetime: float
    companies: list[Row]
    subscriptions: list[Row]
    clock: Callable[[], float]
    tokens: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = self.clock() + self.token_lifetime
        return token

    def valid(self, token: str) -> bool:
        with self.lock:
            expires = self.tokens.get(token)
        return expires is not None and self.clock() < expires

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def company(self, company_id: str) -> Row | None:
        return next((c for c in self.companies if c["id"] == company_id), None)

    def subscription(self, subscription_id: str) -> Row | None:
        return next((s for s in self.subscriptions if s["id"] == subscription_id), None)


def _page(request: Request, rows: list[Row]) -> Response:
    try:
        number = int(request.query_params.get("page", "0"))
        size = int(request.query_params.get("size", str(DEFAULT_SIZE)))
    except ValueError:
        return error(422, "page and size must be integers", request)
    if number < 0 or not 1 <= size <= MAX_SIZE:
        return error(422, f"page must be >= 0 and size between 1 and {MAX_SIZE}", request)
    return JSONResponse({"content": rows[number * size:(number + 1) * size],
                         "page": {"size": size, "totalElements": len(rows),
                                  "totalPages": math.ceil(len(rows) / size), "number": number}})


def build_app(world: Pax8World, control_routes: list[BaseRoute]) -> ASGIApp:
    async def token(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "invalid_request",
                                 "error_description": "grant_type must be client_credentials"},
                                status_code=400)
        if (body.get("client_id"), body.get("client_secret"), body.get("audience")) != (
                world.client_id, world.client_secret, AUDIENCE):
            return JSONResponse({"error": "access_denied", "error_description": "Unauthorized"},
                                status_code=401)
        return JSONResponse({"access_token": world.issue(),
                             "expires_in": int(world.token_lifetime), "token_type": "Bearer"})

    async def companies(request: Request) -> Response:
        return _page(request, world.companies)

    async def company(request: Request) -> Response:
        found = world.company(request.path_params["id"])
        return JSONResponse(found) if found is not None else error(
            404, "Company not found", request)

    async def subscriptions(request: Request) -> Response:
        query = request.query_params
        company_id = query.get("companyId")
        if company_id is not None and world.company(company_id) is None:
            return error(403, "Invalid companyId", request)
        rows = [s for s in world.subscriptions
                if all(query.get(key) in (None, s.get(key))
                       for key in ("companyId", "status", "productId"))]
        return _page(request, rows)

    async def subscription(request: Request) -> Response:
        found = world.subscription(request.path_params["id"])
        return JSONResponse(found) if found is not None else error(
            404, "Subscription not found", request)

    api = Starlette(routes=[
        Route("/v1/token", token, methods=["POST"]),
        Route("/v1/companies", companies), Route("/v1/companies/{id}", company),
        Route("/v1/subscriptions", subscriptions),
        Route("/v1/subscriptions/{id}", subscription),
        *control_routes])

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/v1/") and path != "/v1/token":
            header = Request(scope, receive).headers.get("authorization", "")
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not world.valid(value):
                await error(401, "Unauthorized: the token is missing, unknown or expired")(
                    scope, receive, send)
                return
        await api(scope, receive, send)

    return app
