"""The simulated Autotask REST API (Starlette), speaking Autotask's wire format.

Routes are matched case-insensitively under ``/ATServicesRest``: ``versioninformation``,
``V1.0/zoneInformation`` (no authentication), and the authenticated ``V1.0/...`` entity routes
(item, query, query/count, query/next, entityInformation, create/update, contract children,
``ThresholdInformation``). Every authenticated request counts toward the hourly threshold and
holds one of the integration's thread slots on its endpoint while it runs.

Wording the research could not confirm (the messages of credential, threshold and validation
errors) is the simulator's own; the shapes and status codes follow the research notes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from idsync_autotask.endpoints import endpoint_of
from idsync_autotask.simulator.filters import (
    Query,
    QueryError,
    fingerprint,
    lower_keys,
    parse_query,
    project,
    select,
)
from idsync_autotask.simulator.limits import HourlyThreshold, ThreadLimits
from idsync_autotask.simulator.schema import ENTITIES, PLAIN_WRITES, Entity
from idsync_autotask.simulator.seed import Seed
from idsync_autotask.simulator.state import Refused, Tenant

METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]
UNAUTHORIZED = "Authorization has been denied for this request."


def errors(status: int, *messages: str) -> JSONResponse:
    return JSONResponse({"errors": list(messages)}, status_code=status)


def message(status: int, text: str) -> JSONResponse:
    """ASP.NET's own answers (unknown route, wrong method) carry ``Message``, not ``errors``."""
    return JSONResponse({"Message": text}, status_code=status)


def not_allowed(method: str) -> JSONResponse:
    return message(405, f"The requested resource does not support http method '{method}'.")


def no_route(request: Request) -> JSONResponse:
    return message(404, f"No HTTP resource was found that matches the request URI "
                        f"'{request.url}'.")


def threshold_exceeded(limit: int, minutes: int) -> JSONResponse:
    return errors(429, f"Request threshold exceeded: this database has used its {limit} "
                       f"requests per {minutes} minutes; API access is suspended until usage "
                       "falls below the threshold.")


@dataclass
class Cursor:
    """What a ``nextPageUrl`` carries: where the previous page ended, and which query it was."""

    page_size: int
    last_id: int
    query_hash: str


class AutotaskApi:
    """The API's behaviour over one :class:`Tenant`; ``app`` is its Starlette application."""

    def __init__(self, seed: Seed, tenant: Tenant) -> None:
        self.seed = seed
        self.tenant = tenant
        self.users = {u.user_name.lower(): u for u in seed.api_users}
        self.codes = set(seed.integration_codes)
        self.threshold = HourlyThreshold(limit=seed.threshold.limit, others=seed.threshold.used,
                                         latency_ms=dict(seed.threshold.latency_ms))
        self.threads = ThreadLimits(limit=seed.thread_limit)
        self.processing_ms = 0
        """Time every authenticated request holds its thread slot (tests of the thread limit)."""

    def routes(self) -> list[Route]:
        return [
            Route("/_sim/autotask/state", self.sim_state, methods=["GET"]),
            Route("/_sim/autotask/units", self.sim_units, methods=["GET"]),
            Route("/_sim/autotask/limits", self.sim_limits, methods=["POST"]),
            Route("/{path:path}", self.dispatch, methods=METHODS),
        ]

    # -- /_sim ----------------------------------------------------------------------------

    async def sim_state(self, request: Request) -> Response:
        """Every table (adjustments included, which the API itself never shows)."""
        with self.tenant.lock:
            tables = {ENTITIES[name].name: sorted(rows.values(), key=lambda r: r["id"])
                      for name, rows in self.tenant.tables.items()}
        return JSONResponse({**tables, "threshold": self._threshold_json(),
                             "threadRefusals": self.threads.refused})

    async def sim_units(self, request: Request) -> Response:
        """``?contractServiceID=&date=``: the units of that contract service on that date."""
        try:
            cs_id = int(request.query_params["contractServiceID"])
            day = date.fromisoformat(request.query_params["date"])
        except (KeyError, ValueError):
            return errors(400, "contractServiceID and date (YYYY-MM-DD) are required")
        with self.tenant.lock:
            return JSONResponse({"units": self.tenant.units_on(cs_id, day)})

    async def sim_limits(self, request: Request) -> Response:
        """Change limits while running: ``threadLimit``, ``threadStatus``, ``processingMs``,
        ``thresholdLimit``, ``thresholdUsed`` (others' usage; ours is reset), ``latencyMs``."""
        body = await request.json()
        if "threadLimit" in body:
            self.threads.limit = int(body["threadLimit"])
        if "threadStatus" in body:
            self.threads.status = int(body["threadStatus"])
        if "processingMs" in body:
            self.processing_ms = int(body["processingMs"])
        if "thresholdLimit" in body:
            self.threshold.limit = int(body["thresholdLimit"])
        if "thresholdUsed" in body:
            self.threshold.others = int(body["thresholdUsed"])
            self.threshold.reset()
        if "latencyMs" in body:
            self.threshold.latency_ms = {int(k): int(v) for k, v in body["latencyMs"].items()}
        return JSONResponse({"threadLimit": self.threads.limit,
                             "threadStatus": self.threads.status,
                             "processingMs": self.processing_ms,
                             "threshold": self._threshold_json()})

    def _threshold_json(self) -> dict[str, Any]:
        return {"externalRequestThreshold": self.threshold.limit,
                "requestThresholdTimeframe": self.threshold.minutes,
                "currentTimeframeRequestCount": self.threshold.used()}

    # -- the API --------------------------------------------------------------------------

    async def dispatch(self, request: Request) -> Response:
        parts = [p for p in request.url.path.split("/") if p]
        lowered = [p.lower() for p in parts]
        if lowered[:1] != ["atservicesrest"]:
            return no_route(request)
        if lowered[1:] == ["versioninformation"]:
            return JSONResponse({"apiVersions": ["V1.0"]})
        if lowered[1:2] != ["v1.0"] or len(lowered) < 3:
            return no_route(request)
        api = lowered[2:]
        if api == ["zoneinformation"]:
            return self.zone_information(request)
        code = self.authenticate(request)
        if isinstance(code, Response):
            return code
        if not self.threshold.record():
            return threshold_exceeded(self.threshold.limit, self.threshold.minutes)
        key = (code, endpoint_of(request.url.path))
        if not self.threads.enter(key):
            name = ENTITIES[key[1]].name if key[1] in ENTITIES else parts[2]
            return errors(self.threads.status,
                          f"Thread Threshold Exceeded: this integration already has "
                          f"{self.threads.limit} requests in progress on the {name} endpoint.")
        try:
            delay = self.threshold.delay() + self.processing_ms / 1000
            if delay:
                await asyncio.sleep(delay)
            raw = await request.body()
            try:
                body = json.loads(raw) if raw.strip() else None
            except ValueError:
                return message(400, "The request is invalid.")
            with self.tenant.lock:
                return self.route(request, api, body)
        except (Refused, QueryError) as exc:
            return errors(500, str(exc))
        finally:
            self.threads.leave(key)

    def zone_information(self, request: Request) -> Response:
        user = request.query_params.get("user", "")
        if user.lower() not in self.users:
            return errors(500, "Zone information could not be determined")
        return JSONResponse({"zoneName": self.seed.zone.zone_name,
                             "url": f"{self._origin(request)}/ATServicesRest/",
                             "webUrl": f"{self._origin(request)}/",
                             "ci": self.seed.zone.ci})

    @staticmethod
    def _origin(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    def authenticate(self, request: Request) -> str | Response:
        """Autotask's answers: unknown user 500, wrong secret 401, unknown integration 500."""
        account = self.users.get(request.headers.get("UserName", "").lower())
        if account is None:
            return errors(500, "Unable to authenticate: the user name is not an API user of "
                               "this database.")
        if request.headers.get("Secret") != account.secret:
            return message(401, UNAUTHORIZED)
        code = request.headers.get("ApiIntegrationCode", "")
        if code not in self.codes:
            return errors(500, "The API integration code (ApiIntegrationCode) is not valid.")
        return code

    def route(self, request: Request, api: list[str], body: Any) -> Response:
        method = request.method
        if api == ["thresholdinformation"]:
            return self._threshold_info(method)
        entity = ENTITIES.get(api[0])
        if entity is None:
            return no_route(request)
        rest = api[1:]
        if not rest:
            return self._root(entity, method, body)
        if rest[0] == "query" and entity.can_query:
            return self._query_route(request, entity, rest[1:], body)
        if rest[0] == "entityinformation":
            if rest[1:] == []:
                return JSONResponse({"info": entity.info()})
            if rest[1:] == ["fields"]:
                return JSONResponse({"fields": [f.to_json() for f in entity.fields]})
            if rest[1:] == ["userdefinedfields"]:
                return JSONResponse({"fields": []})
        if rest[0].isdigit():
            if len(rest) == 1:
                if method != "GET" or not entity.can_query:
                    return not_allowed(method)
                return JSONResponse({"item": self.tenant.get(entity.name, int(rest[0]))})
            if entity.name == "Contracts":
                return self._child(request, int(rest[0]), rest[1:], body)
        return no_route(request)

    def _threshold_info(self, method: str) -> Response:
        if method != "GET":
            return not_allowed(method)
        return JSONResponse(self._threshold_json())

    def _root(self, entity: Entity, method: str, body: Any) -> Response:
        """POST creates, PATCH/PUT update (the id in the body); nothing is ever deleted."""
        if not isinstance(body, dict) and method in ("POST", "PATCH", "PUT"):
            raise Refused("The request body must be a JSON object.")
        key = entity.name.lower()
        if method == "POST" and key == "contractserviceadjustments":
            return JSONResponse({"itemId": self.tenant.adjust(entity.writable(body))["id"]})
        if key in PLAIN_WRITES:
            if method == "POST":
                return JSONResponse({"itemId": self.tenant.insert(
                    entity, entity.writable(body))["id"]})
            if method in ("PATCH", "PUT"):
                return JSONResponse({"itemId": self.tenant.update(
                    entity, body, replace=method == "PUT")})
        return not_allowed(method)

    def _child(self, request: Request, contract_id: int, rest: list[str],
               body: Any) -> Response:
        """``/Contracts/{id}/Services|ServiceUnits|ServiceAdjustments[/{childId}]``: GET lists
        or reads, POST creates, PATCH/PUT update a contract service (the id in the body)."""
        method = request.method
        if self.tenant.get("Contracts", contract_id) is None:
            raise Refused(f"No matching Contracts record found for id {contract_id}.")
        table = {"services": "contractservices", "serviceunits": "contractserviceunits",
                 "serviceadjustments": "contractserviceadjustments"}.get(rest[0])
        if table is None:
            return no_route(request)
        entity = ENTITIES[table]
        if len(rest) == 2 and rest[1].isdigit() and table != "contractserviceadjustments":
            if method != "GET":
                return not_allowed(method)
            row = self.tenant.get(entity.name, int(rest[1]))
            ok = row is not None and row["contractID"] == contract_id
            return JSONResponse({"item": row if ok else None})
        if len(rest) != 1:
            return no_route(request)
        if method == "GET" and entity.can_query:
            rows = select(entity, self.tenant.entity_rows(entity),
                          [{"op": "eq", "field": "contractID", "value": contract_id}])
            return JSONResponse({"items": rows, "pageDetails": {
                "count": len(rows), "requestCount": 500, "prevPageUrl": None,
                "nextPageUrl": None}})
        if method in ("PATCH", "PUT") and table == "contractservices":
            given = lower_keys(body) if isinstance(body, dict) else {}
            row = self.tenant.get(entity.name, given.get("id"))
            if row is None or row["contractID"] != contract_id:
                raise Refused(f"No matching ContractServices record found for id "
                              f"{given.get('id')} on contract {contract_id}.")
            return JSONResponse({"itemId": self.tenant.update(entity, given,
                                                              replace=method == "PUT")})
        if method == "POST" and isinstance(body, dict) and table != "contractserviceunits":
            values = {**entity.writable(body), "contractID": contract_id}
            if table == "contractservices":
                return JSONResponse({"itemId": self.tenant.add_contract_service(values)["id"]})
            return JSONResponse({"itemId": self.tenant.adjust(values)["id"]})
        return not_allowed(method)

    # -- queries --------------------------------------------------------------------------

    def _query_route(self, request: Request, entity: Entity, rest: list[str],
                     body: Any) -> Response:
        method = request.method
        search = request.query_params.get("search")
        if method == "GET":
            if search is None:
                return not_allowed(method) if rest == ["next"] else errors(
                    500, "A search parameter with the query is required.")
            try:
                body = json.loads(search)
            except ValueError:
                raise QueryError("The search parameter is not valid JSON.") from None
        elif method != "POST":
            return not_allowed(method)
        if rest == ["count"]:
            query = parse_query(entity, body)
            count = len(select(entity, self.tenant.candidates(entity, query.filters),
                               query.filters))
            return JSONResponse({"queryCount": count})
        if rest not in ([], ["next"]):
            return no_route(request)
        if body is None and rest == ["next"]:
            raise QueryError("The paging request needs the original query in its body.")
        query = parse_query(entity, body)
        cursor = self._cursor(request, entity, query) if rest == ["next"] else None
        return JSONResponse(self._page(request, entity, query, cursor, search))

    @staticmethod
    def _hash(entity: Entity, query: Query) -> str:
        """The query's meaning, hashed: a next page may spell the same query differently."""
        return hashlib.sha256(fingerprint(entity, query).encode()).hexdigest()[:16]

    def _cursor(self, request: Request, entity: Entity, query: Query) -> Cursor:
        try:
            token = json.loads(request.query_params["paging"])
            cursor = Cursor(int(token["pageSize"]), int(token["nextIds"][0]),
                            str(token["queryHash"]))
        except (KeyError, ValueError, TypeError, IndexError):
            raise QueryError("The paging parameter is not valid.") from None
        if cursor.query_hash != self._hash(entity, query):
            raise QueryError("The paging request does not match the original query.")
        return cursor

    def _page(self, request: Request, entity: Entity, query: Query, cursor: Cursor | None,
              search: str | None) -> dict[str, Any]:
        rows = select(entity, self.tenant.candidates(entity, query.filters), query.filters)
        if cursor is not None:
            rows = [r for r in rows if r["id"] > cursor.last_id]
        page = rows[: query.max_records]
        next_url = None
        if len(rows) > len(page):
            token = {"pageSize": query.max_records, "previousIds": [page[0]["id"]],
                     "nextIds": [page[-1]["id"]], "queryHash": self._hash(entity, query)}
            next_url = (f"{self._origin(request)}/ATServicesRest/V1.0/{entity.name}/query/next"
                        f"?paging={quote(json.dumps(token, separators=(',', ':')))}")
            if search is not None:
                next_url += f"&search={quote(search)}"
        return {"items": [project(r, query.include) for r in page],
                "pageDetails": {"count": len(page), "requestCount": query.max_records,
                                "prevPageUrl": None, "nextPageUrl": next_url}}
