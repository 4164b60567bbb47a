"""Simulator of an Odin / CloudBlue Commerce APS REST bus (the subset IDSync reads).

It serves the world's customers as ``pa/account/1.2`` resources (plus the provider's own
account and a reseller's, which a client must filter out with ``eq(type,CUSTOMER)`` and must not
take for a customer when given their ids), their subscriptions as
``pa/subscription/1.0`` resources linked to the account by the ``account`` relation, and each
subscription's ``SubscriptionResource[]``: ``limit`` is the licence count and is omitted for
a usage-based (unlimited) product, as the bus does.

* ``GET /aps/2/resources?<rql>``: ``implementing()`` (required), ``eq(prop,value)`` on dotted
  properties including relations (``account.aps.id``), ``select(relation)``, and
  ``limit(start,count)`` (default 1000); answers a JSON array with
  ``Content-Range: items <first>-<last>/<total>``;
* ``GET /aps/2/resources/{id}`` and ``GET /aps/2/resources/{id}/resources``;
* auth: an OAuth 1.0a HMAC-SHA1 signature by the seed's consumer key and secret (timestamp
  within 5 minutes, each nonce once), or the seed's ``APS-Token``.
"""

from __future__ import annotations

import hmac
import threading
import time
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from idsync_odin.aps.auth import hmac_sha1, parse_authorization, signature_base_string
from idsync_odin.aps.rql import ACCOUNT_TYPE, SUBSCRIPTION_TYPE
from idsync_odin.simulator.rql import Call, RqlError, parse
from idsync_odin.simulator.state import Customer, SimSubscription, World, aps_id

DEFAULT_LIMIT = 1000
TIMESTAMP_WINDOW = 300
SERVICE_TEMPLATE_ID = 12
PROVIDER = Customer("1", "Provider", "active", aps_id("account", "provider"))
RESELLER = Customer("2", "Reseller", "active", aps_id("account", "reseller"))
OTHER_ACCOUNTS = {PROVIDER.aps_id: (PROVIDER, "PROVIDER"), RESELLER.aps_id: (RESELLER, "RESELLER")}


def error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"code": status, "type": kind, "message": message}, status_code=status)


def account_view(customer: Customer, kind: str = "CUSTOMER") -> dict[str, Any]:
    return {"aps": {"id": customer.aps_id, "type": ACCOUNT_TYPE, "status": "aps:ready",
                    "revision": 1},
            "id": customer.account_number, "type": kind, "companyName": customer.name,
            "personal": False}


def subscription_view(sub: SimSubscription, world: World) -> dict[str, Any]:
    """The subscription with its ``account`` relation (shown only when selected)."""
    customer = world.customers[sub.customer_id]
    return {"aps": {"id": sub.aps_id, "type": SUBSCRIPTION_TYPE,
                    "status": "aps:provisioning" if sub.status == "pending" else "aps:ready",
                    "revision": sub.revision,
                    "modified": sub.last_modified.strftime("%Y-%m-%dT%H:%M:%SZ")},
            "subscriptionId": int(sub.id) if sub.id.isdigit() else sub.id,
            "name": sub.name, "description": "", "trial": False,
            "disabled": sub.status in ("hold", "terminated", "removed"),
            "isTerminated": sub.status in ("terminated", "removed"),
            "serviceTemplateId": SERVICE_TEMPLATE_ID,
            "account": {"aps": {"id": customer.aps_id, "type": ACCOUNT_TYPE}}}


RELATIONS = {SUBSCRIPTION_TYPE: ("account",), ACCOUNT_TYPE: ()}


def _lookup(view: dict[str, Any], dotted: str) -> object:
    value: object = view
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _as_rql_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ApsApi:
    def __init__(self, world: World) -> None:
        self.world = world
        self._nonces: set[str] = set()  # every nonce once, whatever its timestamp
        self._lock = threading.Lock()

    # -- auth ---------------------------------------------------------------------------------

    def _auth_problem(self, request: Request) -> Response | None:
        creds = self.world.credentials
        token = request.headers.get("aps-token")
        if token is not None:
            if hmac.compare_digest(token, creds.aps_token):
                return None
            return error(401, "The APS token is invalid or expired", "APS::Security::Unauthorized")
        oauth = parse_authorization(request.headers.get("authorization", ""))
        if oauth is None:
            return error(401, "Authentication required", "APS::Security::Unauthorized")
        signature = oauth.pop("oauth_signature", "")
        problem = None
        if oauth.get("oauth_consumer_key") != creds.consumer_key:
            problem = "unknown consumer key"
        elif oauth.get("oauth_signature_method") != "HMAC-SHA1":
            problem = "unsupported signature method"
        elif not oauth.get("oauth_timestamp", "").isdigit() or abs(
                int(oauth["oauth_timestamp"]) - time.time()) > TIMESTAMP_WINDOW:
            problem = "timestamp out of range"
        else:
            url = httpx.URL(str(request.url))
            expected = hmac_sha1(signature_base_string(request.method, url, oauth),
                                 creds.consumer_secret)
            if not hmac.compare_digest(signature, expected):
                problem = "invalid signature"
        if problem is None:
            nonce = oauth.get("oauth_nonce", "")
            with self._lock:
                if not nonce or nonce in self._nonces:
                    problem = "nonce already used"
                self._nonces.add(nonce)
        if problem is not None:
            return error(401, f"OAuth: {problem}", "APS::Security::Unauthorized")
        return None

    # -- views --------------------------------------------------------------------------------

    def _of_type(self, type_uri: str) -> list[dict[str, Any]]:
        with self.world.lock:
            if type_uri == ACCOUNT_TYPE:
                return [*(account_view(*other) for other in OTHER_ACCOUNTS.values()),
                        *(account_view(c) for c in self.world.customers.values())]
            if type_uri == SUBSCRIPTION_TYPE:
                return [subscription_view(s, self.world)
                        for s in self.world.subscriptions.values()]
        return []

    def _by_id(self, key: str) -> dict[str, Any] | None:
        if key in OTHER_ACCOUNTS:
            return account_view(*OTHER_ACCOUNTS[key])
        with self.world.lock:
            customer = self.world.customer(key)
            if customer is not None and customer.aps_id == key:
                return account_view(customer)
            sub = self.world.subscription(key)
            if sub is not None and sub.aps_id == key:
                view = subscription_view(sub, self.world)
                del view["account"]
                return view
        return None

    # -- endpoints ----------------------------------------------------------------------------

    async def query(self, request: Request) -> Response:
        problem = self._auth_problem(request)
        if problem is not None:
            return problem
        try:
            type_uri, rows, start, count, selected = self._select(parse(request.url.query))
        except RqlError as exc:
            return error(400, f"RQL: {exc}", "APS::Util::InvalidRql")
        page = rows[start:start + count]
        hidden = set(RELATIONS.get(type_uri, ())) - selected
        shown = [{k: v for k, v in row.items() if k not in hidden} for row in page]
        header = (f"items {start}-{start + len(page) - 1}/{len(rows)}" if page
                  else f"items */{len(rows)}")
        return JSONResponse(shown, headers={"Content-Range": header})

    def _select(self, calls: list[Call]) -> tuple[str, list[dict[str, Any]], int, int, set[str]]:
        """(type, matching rows with their relations, start, count, selected relations)."""
        types = [c.args[0] for c in calls if c.name == "implementing" and len(c.args) == 1]
        if len(types) != 1:
            raise RqlError("give exactly one implementing(<type>)")
        rows = self._of_type(types[0])
        start, count = 0, DEFAULT_LIMIT
        selected: set[str] = set()
        for call in calls:
            if call.name == "implementing":
                continue
            if call.name == "eq" and len(call.args) == 2:
                prop, wanted = call.args
                rows = [r for r in rows if _as_rql_text(_lookup(r, prop)) == wanted]
            elif call.name == "select":
                selected.update(call.args)
            elif call.name == "limit" and all(a.isdigit() for a in call.args) and call.args:
                start, count = (0, int(call.args[0])) if len(call.args) == 1 else (
                    int(call.args[0]), int(call.args[1]))
            else:
                raise RqlError(f"unsupported term {call.name}({','.join(call.args)})")
        return types[0], rows, start, count, selected

    async def resource(self, request: Request) -> Response:
        problem = self._auth_problem(request)
        if problem is not None:
            return problem
        view = self._by_id(request.path_params["id"])
        if view is None:
            return error(404, f"Resource {request.path_params['id']} not found",
                         "APS::Util::ResourceNotFound")
        return JSONResponse(view)

    async def subscription_resources(self, request: Request) -> Response:
        problem = self._auth_problem(request)
        if problem is not None:
            return problem
        key = request.path_params["id"]
        with self.world.lock:
            sub = self.world.subscription(key)
            if sub is None or sub.aps_id != key:
                return error(404, f"Resource {key} not found", "APS::Util::ResourceNotFound")
            rows = []
            for p in sub.products:
                row: dict[str, Any] = {
                    "id": p.resource_type_id, "title": p.name,
                    "apsType": f"http://aps.example/app/{p.vendor.lower()}/{p.mpn}/1.0",
                    "usage": p.usage if p.usage is not None else (p.quantity or 0),
                    "unit": "unit"}
                if p.quantity is not None:
                    row["limit"] = p.quantity
                rows.append(row)
        return JSONResponse(rows)

    def routes(self) -> list[Route]:
        return [
            Route("/aps/2/resources", self.query, methods=["GET"]),
            Route("/aps/2/resources/{id}", self.resource, methods=["GET"]),
            Route("/aps/2/resources/{id}/resources", self.subscription_resources,
                  methods=["GET"]),
        ]


def build_app(api: ApsApi, extra_routes: list[Route]) -> Starlette:
    return Starlette(routes=[*api.routes(), *extra_routes])
