"""The ConnectWise Manage REST API, simulated: routes, auth, paging, query parameters, errors.

Wire format as the research notes (§7.2) describe the real API:

* ``GET /login/companyinfo/{companyId}`` (no auth) names the codebase; the API lives under
  ``/{codebase}apis/3.0/`` for the tenant's codebase and the ``v4_6_release`` alias;
* every API call needs Basic ``companyId+publicKey:privateKey`` and a ``clientId`` header,
  else 401 ``{code, message, errors}``;
* lists are bare JSON arrays; ``pageSize`` defaults to 25 and is clamped to 1,000; navigable
  paging (``page``, ``orderBy``) answers a ``Link`` header with first/prev/next/last; the
  ``pagination-type: forward-only`` header switches to keyset paging on ``pageId`` (``orderBy``
  refused) with a ``Link`` to the next ``pageId`` on every page that has rows and an empty
  ``Link`` after the last;
* query parameter names are case-insensitive; ``conditions``, ``childConditions``,
  ``customFieldConditions``, ``orderBy`` and ``fields`` are honoured;
* ``.../count`` answers ``{"count": n}``;
* a path with a trailing slash (``/company/companies/``) is answered as the path without it;
* errors are ``{code, message, errors}``, and every 400 ``InvalidObject`` lists what is wrong in
  ``errors`` (clients read ``len(errors)``); a 429 is ``{error, message}`` with ``Retry-After``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from idsync_connectwise.simulator.query import (
    QueryError,
    order_by,
    parse_conditions,
    project,
)
from idsync_connectwise.simulator.state import (
    PatchFailure,
    Record,
    Tenant,
    ValidationFailure,
)
from idsync_core.simulation import SimulatorControls

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000
ALIAS_CODEBASE = "v4_6_release"
API = "/{codebase}/apis/3.0"

Handler = Callable[[Request], Awaitable[Response]]


def _encode(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def cw_response(tenant: Tenant, body: object, status: int = 200,
                headers: dict[str, str] | None = None) -> Response:
    """A JSON answer with the headers ConnectWise sends on every API response."""
    return Response(
        json.dumps(body, default=_encode), status_code=status,
        media_type="application/json; charset=utf-8",
        headers={"api-current-version": tenant.api_version, "x-cw-request-id": str(uuid.uuid4()),
                 "Cache-Control": "no-cache", "Pragma": "no-cache", **(headers or {})})


def cw_error(tenant: Tenant, status: int, code: str, message: str) -> Response:
    """An error other than a refused request (401, 404, 405): ``errors`` is null, as in the
    Developer Guide's ``{"code":"Security","message":"SSL is required.","errors":null}``."""
    return cw_response(tenant, {"code": code, "message": message, "errors": None}, status)


def invalid(tenant: Tenant, message: str, *, resource: str, field: str | None = None) -> Response:
    """A refused request: 400 ``InvalidObject`` whose ``errors`` names the culprit.

    ConnectWise's documented 400 bodies always carry an ``errors`` array of ``{code, message,
    resource, field}``; the nested ``InvalidValue`` code here is the simulator's own.
    """
    error: Record = {"code": "InvalidValue", "message": message, "resource": resource}
    if field is not None:
        error["field"] = field
    return cw_response(tenant, {"code": "InvalidObject", "message": message,
                                "errors": [error]}, 400)


class BadParameter(Exception):
    """A query parameter the simulator cannot read (answered with :func:`invalid`)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


def throttle_response(retry_after: int) -> Response:
    """ConnectWise's 429, in its own (different) error shape."""
    return Response(
        json.dumps({"error": "ConnectWiseAPI",
                    "message": f"Too many requests. Please try again in {retry_after} seconds."}),
        status_code=429, media_type="application/json; charset=utf-8",
        headers={"Retry-After": str(retry_after)})


class WithoutTrailingSlash:
    """Answers ``/company/companies/`` as ``/company/companies``, as ConnectWise does.

    Left alone, Starlette would redirect (307), which a client that does not follow redirects
    (httpx's default) takes for an error.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            trimmed = path.rstrip("/") or "/"
            raw = scope.get("raw_path")
            raw_trimmed = (raw.rstrip(b"/") or b"/") if raw else trimmed.encode()
            scope = {**scope, "path": trimmed, "raw_path": raw_trimmed}
        await self.app(scope, receive, send)


def create_app(tenant: Tenant, controls: SimulatorControls) -> ASGIApp:
    """The API plus the control routes (``controls.routes()`` and ``/_sim/...`` state reads)."""

    def authenticated(handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            codebase = request.path_params["codebase"]
            if codebase not in (tenant.codebase.rstrip("/"), ALIAS_CODEBASE):
                return cw_error(tenant, 404, "NotFound", f"No codebase {codebase!r} here")
            refusal = _refuse(tenant, request)
            if refusal is not None:
                return refusal
            try:
                return await handler(request)
            except BadParameter as exc:
                return invalid(tenant, f"Invalid {exc.parameter}: {exc}", resource="query",
                               field=exc.parameter)
        return guarded

    # -- reads -------------------------------------------------------------------------------

    def collection(rows: Callable[[Request], list[Record] | None]) -> Handler:
        async def handler(request: Request) -> Response:
            found = rows(request)
            if found is None:
                return _not_found(tenant, request)
            return _list(tenant, request, found)
        return authenticated(handler)

    def counter(rows: Callable[[Request], list[Record] | None]) -> Handler:
        async def handler(request: Request) -> Response:
            found = rows(request)
            if found is None:
                return _not_found(tenant, request)
            return cw_response(tenant, {"count": len(_filtered(request, found))})
        return authenticated(handler)

    def single(table: dict[int, Record]) -> Handler:
        async def handler(request: Request) -> Response:
            record = table.get(request.path_params["id"])
            if record is None:
                return _not_found(tenant, request)
            return cw_response(tenant, project(record, _params(request).get("fields")))
        return authenticated(handler)

    def additions_rows(request: Request) -> list[Record] | None:
        agreement_id = request.path_params["parent"]
        if agreement_id not in tenant.agreements:
            return None
        return tenant.additions_of(agreement_id)

    # -- additions: writes ---------------------------------------------------------------------

    @authenticated
    async def create_addition(request: Request) -> Response:
        if request.path_params["parent"] not in tenant.agreements:
            return _not_found(tenant, request)
        body = await _json_body(request)
        if not isinstance(body, dict):
            return invalid(tenant, "The request body must be an addition object.",
                           resource="addition")
        try:
            created = tenant.create_addition(request.path_params["parent"], body)
        except ValidationFailure as exc:
            return cw_response(tenant, exc.body(), 400)
        return cw_response(tenant, created, 201)

    @authenticated
    async def addition(request: Request) -> Response:
        record = tenant.additions.get(request.path_params["id"])
        if record is None or record["agreementId"] != request.path_params["parent"]:
            return _not_found(tenant, request)
        if request.method == "GET":
            return cw_response(tenant, project(record, _params(request).get("fields")))
        if request.method == "DELETE":
            tenant.delete_addition(record)
            return Response(status_code=204)
        body = await _json_body(request)
        try:
            if request.method == "PATCH":
                updated = tenant.patch_addition(record, body)
            elif isinstance(body, dict):
                updated = tenant.replace_addition(record, body)
            else:
                return invalid(tenant, "The request body must be an addition object.",
                               resource="addition")
        except PatchFailure as exc:
            return invalid(tenant, str(exc), resource="addition", field=exc.field)
        except ValidationFailure as exc:
            return cw_response(tenant, exc.body(), 400)
        return cw_response(tenant, updated)

    # -- other routes --------------------------------------------------------------------------

    async def company_info(request: Request) -> Response:
        if request.path_params["company"].casefold() != tenant.login.company_id.casefold():
            return cw_error(tenant, 404, "NotFound", "Company not found")
        version = tenant.api_version
        return cw_response(tenant, {
            "CompanyName": tenant.login.company_id, "Codebase": tenant.codebase,
            "VersionCode": f"v{version}", "VersionNumber": "v4.6.12345",
            "CompanyID": tenant.login.company_id, "IsCloud": "True"})

    @authenticated
    async def system_info(request: Request) -> Response:
        return cw_response(tenant, {"version": f"v{tenant.api_version}.0", "isCloud": True,
                                    "serverTimeZone": "Eastern Standard Time",
                                    "licenseBits": [], "cloudRegion": "NA"})

    async def sim_state(request: Request) -> Response:
        return cw_response(tenant, tenant.snapshot())

    async def sim_additions(request: Request) -> Response:
        found = additions_rows(request)
        if found is None:
            return _not_found(tenant, request)
        return cw_response(tenant, sorted(found, key=lambda a: a["id"]))

    def rows_of(table: dict[int, Record]) -> Callable[[Request], list[Record]]:
        return lambda _: list(table.values())

    routes = [
        Route("/login/companyinfo/{company}", company_info),
        Route(f"{API}/system/info", system_info),
        Route(f"{API}/company/companies", collection(rows_of(tenant.companies))),
        Route(f"{API}/company/companies/count", counter(rows_of(tenant.companies))),
        Route(f"{API}/company/companies/{{id:int}}", single(tenant.companies)),
        Route(f"{API}/finance/agreements", collection(rows_of(tenant.agreements))),
        Route(f"{API}/finance/agreements/count", counter(rows_of(tenant.agreements))),
        Route(f"{API}/finance/agreements/{{id:int}}", single(tenant.agreements)),
        Route(f"{API}/finance/agreements/{{parent:int}}/additions", collection(additions_rows)),
        Route(f"{API}/finance/agreements/{{parent:int}}/additions", create_addition,
              methods=["POST"]),
        Route(f"{API}/finance/agreements/{{parent:int}}/additions/count",
              counter(additions_rows)),
        Route(f"{API}/finance/agreements/{{parent:int}}/additions/{{id:int}}", addition,
              methods=["GET", "PATCH", "PUT", "DELETE"]),
        Route(f"{API}/procurement/catalog", collection(rows_of(tenant.catalog))),
        Route(f"{API}/procurement/catalog/count", counter(rows_of(tenant.catalog))),
        Route(f"{API}/procurement/catalog/{{id:int}}", single(tenant.catalog)),
        Route("/_sim/state", sim_state),
        Route("/_sim/agreements/{parent:int}/additions", sim_additions),
        *controls.routes(),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(status, "Error")
        message = exc.detail if isinstance(exc, HTTPException) else "An error has occurred."
        return cw_error(tenant, status, code, str(message))

    return WithoutTrailingSlash(
        Starlette(routes=routes, exception_handlers={HTTPException: http_error}))


# -- helpers ------------------------------------------------------------------------------------

def _params(request: Request) -> dict[str, str]:
    """Query parameters by lower-case name: ConnectWise reads ``pagesize`` as ``pageSize``."""
    return {key.lower(): value for key, value in request.query_params.items()}


def _refuse(tenant: Tenant, request: Request) -> Response | None:
    """401 unless the Basic credentials and the clientId header are right."""
    login = tenant.login
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    user, _, password = decoded.partition(":")
    company, plus, public = user.partition("+")
    valid = (scheme.lower() == "basic" and bool(plus)
             and company.casefold() == login.company_id.casefold()
             and hmac.compare_digest(public.encode(), login.public_key.encode())
             and hmac.compare_digest(password.encode(), login.private_key.encode()))
    if not valid:
        return cw_error(tenant, 401, "Unauthorized", "UserNotAuthenticated")
    if login.require_client_id and not request.headers.get("clientid"):
        return cw_error(tenant, 401, "Unauthorized",
                        "A clientId header is required; see developer.connectwise.com/ClientID")
    return None


def _not_found(tenant: Tenant, request: Request) -> Response:
    return cw_error(tenant, 404, "NotFound", f"{request.url.path} was not found")


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body(), parse_float=Decimal)
    except ValueError:
        return None


def _parsed(params: dict[str, str], name: str, parse: Callable[[str | None], Any]) -> Any:
    """``parse(params[name])``, a :class:`QueryError` becoming a :class:`BadParameter` that names
    the parameter by its documented spelling."""
    try:
        return parse(params.get(name.lower()))
    except QueryError as exc:
        raise BadParameter(name, str(exc)) from None


def _filtered(request: Request, rows: list[Record]) -> list[Record]:
    params = _params(request)
    where = _parsed(params, "conditions", parse_conditions)
    child = _parsed(params, "childConditions", parse_conditions)
    custom = _parsed(params, "customFieldConditions", parse_conditions)
    custom_given = bool(params.get("customfieldconditions", "").strip())
    return [r for r in rows if where(r) and child(r) and (
        not custom_given or any(custom(f) for f in r.get("customFields") or ()))]


def _list(tenant: Tenant, request: Request, rows: list[Record]) -> Response:
    params = _params(request)
    size = _int_param(params, "pageSize", DEFAULT_PAGE_SIZE)
    size = max(1, min(size, MAX_PAGE_SIZE))
    found = _filtered(request, rows)
    fields = params.get("fields")
    if request.headers.get("pagination-type", "").lower() == "forward-only":
        if params.get("orderby"):
            return invalid(tenant, "orderBy cannot be used with forward-only pagination",
                           resource="query", field="orderBy")
        after = _int_param(params, "pageId", 0)
        page = [r for r in order_by(found, None) if r["id"] > after][:size]
        link = f'{_link(request, size, pageId=page[-1]["id"])}; rel="next"' if page else ""
        return cw_response(tenant, [project(r, fields) for r in page], headers={"Link": link})
    number = max(1, _int_param(params, "page", 1))
    ordered = _parsed(params, "orderBy", lambda text: order_by(found, text))
    last = max(1, math.ceil(len(ordered) / size))
    links = [f'{_link(request, size, page=1)}; rel="first"']
    if number > 1:
        links.append(f'{_link(request, size, page=min(number - 1, last))}; rel="prev"')
    if number < last:
        links.append(f'{_link(request, size, page=number + 1)}; rel="next"')
    links.append(f'{_link(request, size, page=last)}; rel="last"')
    page = ordered[(number - 1) * size:number * size]
    return cw_response(tenant, [project(r, fields) for r in page],
                       headers={"Link": ", ".join(links)})


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name.lower())
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadParameter(name, f"{name} must be a whole number, not {raw!r}") from None


PAGING = ("pagesize", "page", "pageid")


def _link(request: Request, size: int, **position: int) -> str:
    """``<url>`` of this request for another page: every other parameter kept in its place,
    then ``pageSize``, then the page's position (``page`` or ``pageId``) last.

    That order is the real API's (``…?pageSize=50&page=2>; rel="next"`` in the Developer Guide
    and in headers captured from real tenants), and clients depend on it: some read the page
    number with ``page=(\\d+)>; rel=``. Forward-only links follow the same order by analogy
    (no real one is documented).
    """
    query = [(k, v) for k, v in request.query_params.multi_items() if k.lower() not in PAGING]
    query += [("pageSize", str(size)), *((k, str(v)) for k, v in position.items())]
    return f"<{request.url.replace(query=urlencode(query))}>"
