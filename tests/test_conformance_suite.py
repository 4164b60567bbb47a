"""The conformance suite run on the core's fake connectors, and the suite's own tests.

1. The fake connectors (``tests/fakes``, no HTTP: a JSON state file) pass it through
   ``SuiteConfig.settings``; the HTTP checks are skipped as not applicable.
2. ``ToyPsa`` is a complete PSA connector over a tiny JSON API ("Toy PSA": API-key header,
   25-row pages, additions as in ConnectWise) with a simulator on the core's middleware. It
   passes the whole suite, HTTP checks included, and its read checks pass against recorded
   responses (``ReplaySimulator``) too.
3. Broken connectors, each wrong the way real ones are (stops after the first page, posts twice,
   retries a write, ignores Retry-After or never waits, parses HTML as JSON, finds markers
   nobody wrote, makes up ids, returns floats, reads every quantity as 0, hard-codes a status,
   swaps price and cost), and configurations that could not catch them (a large tenant that
   leaves listings out, a simulator whose 429 carries no Retry-After), run in an inner pytest
   (pytester); the tests prove the suite fails each on the check that should, with a message
   that says why.

The inner runs find their connectors through a real entry point: a ``.dist-info`` in pytester's
directory naming classes of this module.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from idsync_core.hookspecs import hookimpl
from idsync_core.http import ApiClient, RetryPolicy, paginate
from idsync_core.http.wiring import REAL, Wiring
from idsync_core.models import (
    Adjustment,
    Agreement,
    AgreementLine,
    CatalogItem,
    Company,
    PostedAdjustment,
    ProviderAccount,
    Resource,
    Subscription,
    SubscriptionStatus,
)
from idsync_core.settings import BaseUrl, ConnectorSettings
from idsync_core.simulation import ServerThread, SimulatorControls, SimulatorMiddleware
from idsync_core.testing import (
    Known,
    LargeTenant,
    Listing,
    ReplaySimulator,
    SuiteConfig,
    TokenRequest,
    WriteRequest,
    get_connector_test_class,
)
from idsync_fakes.provider import FakeProvider
from idsync_fakes.psa import FakePsa
from idsync_fakes.world import PROVIDER_WORLD, PSA_WORLD
from idsync_pax8.connector import Pax8
from idsync_pax8.simulator import Pax8Simulator
from idsync_pax8.simulator import create_simulator as create_pax8_simulator
from idsync_pax8.simulator import example_seed as pax8_example

pytest_plugins = ["pytester", "idsync_core.testing.pytest_plugin"]

PAGE = 25

# -- 1. the fake connectors -------------------------------------------------------------------

NO_CREDENTIALS = "the fake reads a local JSON file and checks no credentials"
NO_PAGES = "the fake reads a local JSON file: there are no pages"


def state_file(plugin: str) -> Any:
    """A settings factory for the fakes: the seed is the fake's whole state, in a file."""
    def build(directory: Path, seed: dict[str, Any]) -> dict[str, Any]:
        path = directory / "state.json"
        path.write_text(json.dumps(seed))
        return {"plugin": plugin, "state_file": str(path)}
    return build


def more_rows(world: dict[str, Any], table: str, count: int) -> dict[str, Any]:
    """The world with ``count`` more rows in ``table``."""
    bigger = copy.deepcopy(world)
    bigger[table] += [{"id": f"X-{n}", "name": f"Bulk customer {n}"} for n in range(count)]
    return bigger


def many_subscriptions(world: dict[str, Any], count: int) -> dict[str, Any]:
    """The world with ``count`` more subscriptions of account A-100."""
    bigger = copy.deepcopy(world)
    bigger["subscriptions"] += [{"id": f"S-X{n}", "account_id": "A-100", "name": f"Bulk {n}",
                                 "status": "active"} for n in range(count)]
    return bigger


PROVIDER_SEED = copy.deepcopy(PROVIDER_WORLD)
PROVIDER_SEED["subscriptions"].append({"id": "S-3", "account_id": "A-200", "name": "Old plan",
                                       "status": "terminated"})
PROVIDER_KNOWN = [
    Known("list_resources", {"subscription_id": "S-1"}, "S-1:CFQ7TTC0LH16",
          {"quantity": 8, "unit_price": "4.50", "unit_cost": "3.90"}),
    Known("list_resources", {"subscription_id": "S-1"}, "S-1:CFQ7TTC0LCHC", {"quantity": 3}),
    Known("list_subscriptions", {"account_id": "A-200"}, "S-2", {"status": "active"}),
    Known("list_subscriptions", {"account_id": "A-200"}, "S-3", {"status": "terminated"}),
]
PROVIDER_UNPAGED = {"list_subscriptions": NO_PAGES, "list_resources": NO_PAGES}

PSA_SEED = copy.deepcopy(PSA_WORLD)
PSA_SEED["postings"] = [
    {"id": "1", "agreement_id": "880", "catalog_item_id": "813", "delta": "4",
     "effective_date": "2025-03-15", "unit_price": "26.40", "unit_cost": "22.00", "marker": ""},
    {"id": "2", "agreement_id": "871", "catalog_item_id": "812", "delta": "8",
     "effective_date": "2026-01-01", "unit_price": "4.80", "unit_cost": "4.00", "marker": ""},
]
ON = date(2026, 2, 1)
PSA_KNOWN = [
    Known("list_lines", {"agreement_id": "880", "as_of": ON}, "880:813",
          {"quantity": 4, "unit_price": "26.40", "unit_cost": "22.00"}),
    Known("list_lines", {"agreement_id": "871", "as_of": ON}, "871:812", {"quantity": 8}),
    Known("list_agreements", {"company_id": "250"}, "871", {"status": "active"}),
    Known("list_agreements", {"company_id": "250"}, "870", {"status": "expired"}),
    Known("list_catalog", {}, "813", {"price": "26.40", "cost": "22.00"}),
]


def fake_provider(plugin: str = "fake-provider", **changes: Any) -> SuiteConfig:
    settings: dict[str, Any] = {
        "plugin": plugin, "seed": PROVIDER_SEED, "settings": state_file(plugin),
        "large_tenant": LargeTenant(more_rows(PROVIDER_SEED, "accounts", 598),
                                    [Listing("list_accounts", 600)], unpaged=PROVIDER_UNPAGED),
        "known": PROVIDER_KNOWN, "missing": {"auth": NO_CREDENTIALS}}
    return SuiteConfig(**{**settings, **changes})


def fake_psa(plugin: str = "fake-psa") -> SuiteConfig:
    return SuiteConfig(plugin=plugin, seed=PSA_SEED, settings=state_file(plugin),
                       large_tenant=LargeTenant(
                           more_rows(PSA_SEED, "companies", 510),
                           [Listing("list_companies", 513)],
                           unpaged=dict.fromkeys(("list_agreements", "list_lines",
                                                  "list_catalog"), NO_PAGES)),
                       known=PSA_KNOWN, missing={"auth": NO_CREDENTIALS})


TestFakeProviderConformance = get_connector_test_class(fake_provider())
TestFakePsaConformance = get_connector_test_class(fake_psa())

# -- 2. the Toy PSA over HTTP -----------------------------------------------------------------

# -- the Toy PSA simulator --------------------------------------------------------------------


def example_seed(companies: int = 3) -> dict[str, Any]:
    names = ["Contoso Ltd", "Fabrikam Inc", "Litware Inc"]
    return {
        "api_key": "toy-key-0123456789",
        "companies": [{"id": n + 1, "name": names[n] if n < 3 else f"Customer {n + 1:04}"}
                      for n in range(companies)],
        "agreements": [
            {"id": 871, "company_id": 1, "name": "Contoso - Microsoft 365", "active": True,
             "start": "2026-01-01"},
            {"id": 870, "company_id": 1, "name": "Contoso - 2024", "active": False,
             "start": "2024-01-01"},
            {"id": 880, "company_id": 2, "name": "Fabrikam - Cloud", "active": True,
             "start": "2025-03-15"},
        ],
        "catalog": [
            {"id": 812, "sku": "CFQ7TTC0LH16", "name": "Exchange Online (Plan 1)",
             "price": "4.80", "cost": "4.00"},
            {"id": 813, "sku": "CFQ7TTC0LCHC", "name": "Microsoft 365 Business Premium",
             "price": "26.40", "cost": "22.00"},
        ],
        "additions": [
            {"id": 1, "agreement_id": 880, "item_id": 813, "quantity": "4",
             "start": "2025-03-15", "price": "26.40", "cost": "22.00", "note": ""},
            {"id": 2, "agreement_id": 880, "item_id": 812, "quantity": "6",
             "start": "2025-03-15", "price": "4.80", "cost": "4.00", "note": ""},
        ],
    }


BULK = 2 * PAGE + 7


def large_seed() -> dict[str, Any]:
    """More than two pages of every listing: companies, one company's agreements, the catalog,
    and one agreement with an addition of each catalog item."""
    seed = example_seed(companies=BULK)
    seed["agreements"] += [{"id": 5000 + n, "company_id": 3, "name": f"Bulk {n}",
                            "active": True, "start": "2026-01-01"} for n in range(BULK)]
    seed["catalog"] += [{"id": 6000 + n, "sku": f"BULK-{n}", "name": f"Bulk item {n}",
                         "price": "1.00", "cost": "0.50"} for n in range(BULK)]
    seed["additions"] += [{"id": 7000 + n, "agreement_id": 5000, "item_id": 6000 + n,
                           "quantity": "1", "start": "2026-01-01", "price": "1.00",
                           "cost": "0.50", "note": ""} for n in range(BULK)]
    return seed


@dataclass
class ToyState:
    seed: dict[str, Any]
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))

    def table(self, name: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.seed[name]
        return rows


def _page(request: Request, rows: list[dict[str, Any]]) -> Response:
    page = int(request.query_params.get("page", "1"))
    chunk = rows[(page - 1) * PAGE: page * PAGE]
    more = page * PAGE < len(rows)
    return JSONResponse({"items": chunk, "next": page + 1 if more else None})


def _missing(what: str) -> Response:
    return JSONResponse({"error": f"no such {what}"}, status_code=404)


def toy_app(state: ToyState, controls: SimulatorControls) -> ASGIApp:
    def authorised(request: Request) -> bool:
        return request.headers.get("x-api-key") == state.seed["api_key"]

    def search(rows: list[dict[str, Any]], text: str | None, *keys: str) -> list[dict[str, Any]]:
        if not text:
            return rows
        return [r for r in rows if any(text.lower() in str(r[k]).lower() for k in keys)]

    async def me(request: Request) -> Response:
        return JSONResponse({"name": "toy", "version": "1.0"})

    async def companies(request: Request) -> Response:
        return _page(request, search(state.table("companies"), request.query_params.get(
            "search"), "name"))

    async def agreements(request: Request) -> Response:
        company = int(request.path_params["id"])
        if not any(c["id"] == company for c in state.table("companies")):
            return _missing("company")
        return _page(request, [a for a in state.table("agreements")
                               if a["company_id"] == company])

    async def additions(request: Request) -> Response:
        agreement = int(request.path_params["id"])
        if not any(a["id"] == agreement for a in state.table("agreements")):
            return _missing("agreement")
        if request.method == "POST":
            body = await request.json()
            row = {"id": next(state.ids), "agreement_id": agreement, **body}
            state.table("additions").append(row)
            return JSONResponse(row, status_code=201)
        return _page(request, [a for a in state.table("additions")
                               if a["agreement_id"] == agreement])

    async def by_note(request: Request) -> Response:
        note = request.query_params.get("note", "")
        return _page(request, [a for a in state.table("additions") if note and a["note"] == note])

    async def catalog(request: Request) -> Response:
        return _page(request, search(state.table("catalog"), request.query_params.get("search"),
                                     "sku", "name"))

    api = Starlette(routes=[
        Route("/api/me", me), Route("/api/companies", companies),
        Route("/api/companies/{id:int}/agreements", agreements),
        Route("/api/agreements/{id:int}/additions", additions, methods=["GET", "POST"]),
        Route("/api/additions", by_note), Route("/api/catalog", catalog),
        *controls.routes()])

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_sim/"):
            request = Request(scope, receive)
            if not authorised(request):
                await JSONResponse({"error": "bad API key"}, status_code=401)(scope, receive, send)
                return
        await api(scope, receive, send)

    return app


@dataclass
class ToySimulator:
    app: ASGIApp
    controls: SimulatorControls
    plugin: str
    api_key: str

    def connection_settings(self, base_url: str) -> dict[str, Any]:
        return {"plugin": self.plugin, "base_url": base_url, "api_key": self.api_key}


def throttled_without_retry_after(retry_after: int) -> Response:
    return JSONResponse({"error": "slow down"}, status_code=429)


def create_simulator(seed: dict[str, Any] | None = None, *, plugin: str = "toy") -> ToySimulator:
    state = ToyState(json.loads(json.dumps(seed or example_seed())))
    controls = SimulatorControls()
    if not state.seed.get("throttle_retry_after", True):  # an API that never says how long
        controls.throttle_response = throttled_without_retry_after
    app = SimulatorMiddleware(toy_app(state, controls), controls)
    return ToySimulator(app, controls, plugin, state.seed["api_key"])


# -- the Toy PSA connector --------------------------------------------------------------------


class ToySettings(ConnectorSettings):
    base_url: BaseUrl
    api_key: SecretStr


class ToyClient(ApiClient):
    def __init__(self, settings: ToySettings, *, sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None):
        super().__init__(settings.base_url, service="Toy PSA", credentials_hint="[psa] api_key",
                         headers={"X-Api-Key": settings.api_key.get_secret_value()},
                         retry=RetryPolicy(base_delay=0.05, max_delay=0.2), sleep=sleep,
                         transport=transport)

    def error_message(self, response: Any) -> str:
        try:
            return str(response.json()["error"])
        except (ValueError, KeyError, TypeError):
            return super().error_message(response)

    def rows(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        def fetch(page: int | None) -> tuple[list[dict[str, Any]], int | None]:
            body = self.get_json(path, params={**params, "page": page or 1})
            return body["items"], body["next"]
        return paginate(fetch, what=path)


class ToyPsa:
    kind = "psa"
    settings_model = ToySettings
    simulator = staticmethod(create_simulator)

    def __init__(self, settings: ToySettings, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = self.make_client(settings, sleep)

    def make_client(self, settings: ToySettings, sleep: Callable[[float], None]) -> ToyClient:
        return ToyClient(settings, sleep=sleep)

    @hookimpl
    def idsync_check(self) -> str:
        me = self.client.get_json("/api/me")
        return f"Toy PSA {me['version']} at {self.client.base_url}"

    @hookimpl
    def idsync_close(self) -> None:
        self.client.close()

    @hookimpl
    def idsync_list_companies(self, search: str | None) -> Iterator[Company]:
        params = {"search": search} if search else {}
        for row in self.client.rows("/api/companies", **params):
            yield Company(id=row["id"], name=row["name"])

    @hookimpl
    def idsync_list_agreements(self, company_id: str) -> Iterator[Agreement]:
        for row in self.client.rows(f"/api/companies/{company_id}/agreements"):
            yield Agreement(id=row["id"], company_id=company_id, name=row["name"],
                            status="active" if row["active"] else "expired",
                            start_date=row["start"], billing_cycle="monthly")

    @hookimpl
    def idsync_list_lines(self, agreement_id: str, as_of: date) -> list[AgreementLine]:
        additions = list(self.client.rows(f"/api/agreements/{agreement_id}/additions"))
        by_item: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in additions:
            by_item[str(row["item_id"])].append(row)
        return [AgreementLine(
            id=f"{agreement_id}:{item}", agreement_id=agreement_id, catalog_item_id=item,
            quantity=sum((Decimal(r["quantity"]) for r in rows
                          if date.fromisoformat(r["start"]) <= as_of), Decimal(0)),
            as_of=as_of, unit_price=rows[0]["price"], unit_cost=rows[0]["cost"])
            for item, rows in by_item.items()]

    @hookimpl
    def idsync_list_catalog(self, search: str | None,
                            ids: list[str] | None) -> Iterator[CatalogItem]:
        params = {"search": search} if search else {}
        for row in self.client.rows("/api/catalog", **params):
            if ids is None or str(row["id"]) in ids:
                yield CatalogItem(id=row["id"], identifier=row["sku"], name=row["name"],
                                  price=row["price"], cost=row["cost"])

    def write(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.client.json_of(self.client.request("POST", path, json=body))
        return result

    @hookimpl
    def idsync_post_adjustment(self, adjustment: Adjustment) -> PostedAdjustment:
        record = self.write(f"/api/agreements/{adjustment.agreement_id}/additions", {
            "item_id": int(adjustment.catalog_item_id), "quantity": str(adjustment.delta),
            "start": adjustment.effective_date.isoformat(),
            "price": str(adjustment.unit_price), "cost": str(adjustment.unit_cost),
            "note": adjustment.marker})
        after = sum((line.quantity for line in self.idsync_list_lines(
            adjustment.agreement_id, adjustment.effective_date)
            if line.catalog_item_id == adjustment.catalog_item_id), Decimal(0))
        return PostedAdjustment(record_id=record["id"], quantity_after=after)

    @hookimpl
    def idsync_find_adjustment(self, adjustment: Adjustment) -> PostedAdjustment | None:
        for row in self.client.rows("/api/additions", note=adjustment.marker):
            return PostedAdjustment(record_id=row["id"])
        return None


def simulator_named(plugin: str) -> Any:
    """A variant's simulator factory: its settings name the variant's entry point."""
    return staticmethod(partial(create_simulator, plugin=plugin))


class Truncating(ToyPsa):
    """Reads one page only: the classic "25 rows" bug."""

    simulator = simulator_named("toy-truncating")

    @hookimpl
    def idsync_list_companies(self, search: str | None) -> Iterator[Company]:
        params = {"search": search} if search else {}
        body = self.client.get_json("/api/companies", params={**params, "page": 1})
        return iter([Company(id=row["id"], name=row["name"]) for row in body["items"]])


class BlindRetry(ToyPsa):
    """Marks its write idempotent, so the client repeats it when the answer is lost."""

    simulator = simulator_named("toy-blind-retry")

    def write(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.request("POST", path, json=body, idempotent=True)
        result: dict[str, Any] = self.client.json_of(response)
        return result


class NoWait(ToyPsa):
    """Its client never sleeps: Retry-After is ignored and the request is hammered again."""

    simulator = simulator_named("toy-no-wait")

    def make_client(self, settings: ToySettings, sleep: Callable[[float], None]) -> ToyClient:
        return ToyClient(settings, sleep=lambda seconds: None)


class WithoutRetryAfter(httpx.BaseTransport):
    """A transport that drops every Retry-After header, as a client that never reads it."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.headers.pop("Retry-After", None)
        return response


class IgnoresRetryAfter(ToyPsa):
    """Waits its own default backoff (5 s) after every 429, whatever Retry-After says."""

    simulator = simulator_named("toy-ignores-retry-after")

    def make_client(self, settings: ToySettings, sleep: Callable[[float], None]) -> ToyClient:
        return ToyClient(settings, sleep=sleep, transport=WithoutRetryAfter())


class HtmlCrashClient(ToyClient):
    def json_of(self, response: Any) -> Any:
        return response.json()


class HtmlCrash(ToyPsa):
    """Parses every answer with response.json(), so a proxy's HTML page crashes it."""

    simulator = simulator_named("toy-html-crash")

    def make_client(self, settings: ToySettings, sleep: Callable[[float], None]) -> ToyClient:
        return HtmlCrashClient(settings, sleep=sleep)


class Truncates25(FakeProvider):
    """Stops at the first 25 accounts."""

    @hookimpl
    def idsync_list_accounts(self, search: str | None) -> list[ProviderAccount]:
        return list(super().idsync_list_accounts(search))[:25]


class MakesUpIds(FakeProvider):
    """Gives resources a new id on every read (a row number, a random UUID...)."""

    @hookimpl
    def idsync_list_resources(self, subscription_id: str) -> list[Resource]:
        return [r.model_copy(update={"id": f"{r.id}-{uuid.uuid4().hex[:6]}"})
                for r in super().idsync_list_resources(subscription_id)]


class ReturnsFloats(FakeProvider):
    """Builds resources without validation, so JSON floats stay floats."""

    @hookimpl
    def idsync_list_resources(self, subscription_id: str) -> list[Resource]:
        return [Resource.model_construct(**{**r.model_dump(), "unit_price": 4.8})
                for r in super().idsync_list_resources(subscription_id)]


class TruncatesSubscriptions(FakeProvider):
    """Returns only the first page (25) of an account's subscriptions."""

    @hookimpl
    def idsync_list_subscriptions(self, account_id: str) -> list[Subscription]:
        return list(super().idsync_list_subscriptions(account_id))[:25]


class QuantityZero(FakeProvider):
    """Reads every quantity as 0 (the field name misspelt, a default taken)."""

    @hookimpl
    def idsync_list_resources(self, subscription_id: str) -> list[Resource]:
        return [r.model_copy(update={"quantity": Decimal(0)} if r.seat_based else {})
                for r in super().idsync_list_resources(subscription_id)]


class StatusActive(FakeProvider):
    """Maps every subscription status to active."""

    @hookimpl
    def idsync_list_subscriptions(self, account_id: str) -> list[Subscription]:
        return [s.model_copy(update={"status": SubscriptionStatus.ACTIVE})
                for s in super().idsync_list_subscriptions(account_id)]


class SwapsPrices(FakeProvider):
    """Reads the cost into unit_price and the price into unit_cost."""

    @hookimpl
    def idsync_list_resources(self, subscription_id: str) -> list[Resource]:
        return [r.model_copy(update={"unit_price": r.unit_cost, "unit_cost": r.unit_price})
                for r in super().idsync_list_resources(subscription_id)]


@dataclass
class Renamed:
    """A simulator whose settings name a variant's entry point instead of its connector's."""

    inner: Pax8Simulator
    plugin: str

    @property
    def app(self) -> ASGIApp:
        return self.inner.app

    @property
    def controls(self) -> SimulatorControls:
        return self.inner.controls

    def connection_settings(self, base_url: str) -> dict[str, Any]:
        return {**self.inner.connection_settings(base_url), "plugin": self.plugin}


def pax8_variant(plugin: str) -> Any:
    return staticmethod(lambda seed: Renamed(create_pax8_simulator(seed), plugin))


class Pax8NoRenewal(Pax8):
    """The Pax8 example, but a 401 is final: the token is never renewed."""

    simulator = pax8_variant("pax8-no-renewal")

    def __init__(self, settings: Any, *, wiring: Wiring = REAL) -> None:
        super().__init__(settings, wiring=wiring)
        self.client.on_unauthorized = lambda response: False  # type: ignore[method-assign]


class Pax8FirstPageOnly(Pax8):
    """The Pax8 example, but a company's subscriptions are read from page 0 only."""

    simulator = pax8_variant("pax8-first-page")

    @hookimpl
    def idsync_list_subscriptions(self, account_id: str) -> Iterator[Subscription]:
        body = self.client.get_json("/subscriptions", params={
            "companyId": account_id, "page": 0, "size": self.client.page_size})
        return iter([Subscription(id=r["id"], account_id=account_id, name=r["productName"])
                     for r in body["content"]])


def pax8_large_seed() -> dict[str, Any]:
    """More than a 200-row page of companies, and of one company's subscriptions."""
    seed = pax8_example()
    seed["companies"] += [{"id": f"bulk-{n}", "name": f"Bulk {n}"} for n in range(250)]
    seed["subscriptions"] += [{"id": f"bulk-sub-{n}", "companyId": "bulk-0",
                               "productName": "Exchange Online (Plan 1)", "quantity": 1,
                               "status": "Active"} for n in range(250)]
    return seed


class PostsTwice(FakePsa):
    """Sends every adjustment twice."""

    @hookimpl
    def idsync_post_adjustment(self, adjustment: Adjustment) -> PostedAdjustment:
        super().idsync_post_adjustment(adjustment)
        return super().idsync_post_adjustment(adjustment)


class FindsAnything(FakePsa):
    """Answers every marker search with the first posting it has."""

    @hookimpl
    def idsync_find_adjustment(self, adjustment: Adjustment) -> PostedAdjustment | None:
        return PostedAdjustment(record_id="1")


CONNECTORS: dict[str, type] = {
    "toy": ToyPsa, "toy-truncating": Truncating, "toy-blind-retry": BlindRetry,
    "toy-no-wait": NoWait, "toy-ignores-retry-after": IgnoresRetryAfter,
    "toy-html-crash": HtmlCrash, "truncates-25": Truncates25,
    "truncates-subscriptions": TruncatesSubscriptions, "quantity-zero": QuantityZero,
    "status-active": StatusActive, "swaps-prices": SwapsPrices,
    "makes-up-ids": MakesUpIds, "returns-floats": ReturnsFloats, "posts-twice": PostsTwice,
    "finds-anything": FindsAnything, "pax8-no-renewal": Pax8NoRenewal,
    "pax8-first-page": Pax8FirstPageOnly}


TOY_KNOWN = [
    Known("list_lines", {"agreement_id": "880", "as_of": ON}, "880:813",
          {"quantity": 4, "unit_price": "26.40", "unit_cost": "22.00"}),
    Known("list_lines", {"agreement_id": "880", "as_of": ON}, "880:812", {"quantity": 6}),
    Known("list_agreements", {"company_id": "1"}, "871", {"status": "active"}),
    Known("list_agreements", {"company_id": "1"}, "870", {"status": "expired"}),
    Known("list_catalog", {}, "812", {"price": "4.80", "cost": "4.00"}),
]
API_KEY_ONLY = "the Toy API takes its API key on every request; there is no token"


def suite_config(plugin: str = "toy", **changes: Any) -> SuiteConfig:
    """The Toy PSA's conformance configuration, as a connector author writes it."""
    settings: dict[str, Any] = {
        "plugin": plugin,
        "large_tenant": LargeTenant(large_seed(), [
            Listing("list_companies", BULK),
            Listing("list_agreements", BULK, {"company_id": "3"}),
            Listing("list_lines", BULK, {"agreement_id": "5000", "as_of": ON}),
            Listing("list_catalog", BULK + 2)]),
        "known": TOY_KNOWN,
        "write_request": WriteRequest("POST", r"/api/agreements/\d+/additions"),
        "missing": {"token_renewal": API_KEY_ONLY},
    }
    return SuiteConfig(**{**settings, **changes})


# -- 3. running the suite on broken connectors, in pytester ----------------------------------


def publish(pytester: pytest.Pytester) -> None:
    """Install the toy connectors for the inner run: a dist-info naming this module's classes."""
    info = pytester.path / "idsync_toy-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: idsync-toy\nVersion: 1.0\n")
    lines = [f"{name} = {__name__}:{cls.__name__}" for name, cls in CONNECTORS.items()]
    (info / "entry_points.txt").write_text("[idsync]\n" + "\n".join(lines) + "\n")
    pytester.syspathinsert()


def run_suite(pytester: pytest.Pytester, config: str, *args: str,
              extra: str = "") -> dict[str, Any]:
    """Run the suite with ``CONFIGS[config]`` in-process; return test name → its report.
    ``extra`` is appended to the inner test module."""
    publish(pytester)
    pytester.makepyfile(test_inner=f"""
        from {__name__} import CONFIGS
        from idsync_core.testing import get_connector_test_class

        pytest_plugins = ["idsync_core.testing.pytest_plugin"]

        TestInner = get_connector_test_class(CONFIGS[{config!r}])
        """ + extra)
    recorder = pytester.inline_run("-p", "no:cacheprovider", *args)
    reports = [r for r in recorder.getreports("pytest_runtest_logreport")
               if r.when == "call" or r.outcome != "passed"]
    return {r.nodeid.split("::")[-1]: r for r in reports}


def failed(reports: dict[str, Any]) -> dict[str, str]:
    return {name: r.longreprtext for name, r in reports.items() if r.outcome == "failed"}


def recording() -> dict[str, Any]:
    """Recorded answers of the Toy PSA for the read-only checks (as a cassette would hold)."""
    seed = example_seed()

    def get(path: str, items: list[dict[str, Any]], **query: str) -> dict[str, Any]:
        return {"request": {"method": "GET", "path": path, "query": {"page": "1", **query}},
                "response": {"json": {"items": items, "next": None}}}

    contoso = seed["companies"][0]
    return {
        "settings": {"plugin": "toy", "base_url": "{base_url}", "api_key": "recorded-key-42"},
        "require_headers": {"X-Api-Key": "recorded-key-42"},
        "exchanges": [
            {"request": {"method": "GET", "path": "/api/me"},
             "response": {"json": {"name": "toy", "version": "1.0"}}},
            get("/api/companies", seed["companies"]),
            get("/api/companies", [contoso], search=contoso["name"][1:-1]),
            get("/api/companies", [], search="zq-no-such-name-xk"),
        ],
    }


CONFIGS: dict[str, SuiteConfig] = {
    "good": suite_config(),
    "truncating": suite_config("toy-truncating"),
    "blind-retry": suite_config("toy-blind-retry"),
    "no-wait": suite_config("toy-no-wait"),
    "ignores-retry-after": suite_config("toy-ignores-retry-after"),
    "no-retry-after-header": suite_config(seed={**example_seed(),
                                                "throttle_retry_after": False}),
    "html-crash": suite_config("toy-html-crash"),
    "undeclared": SuiteConfig(plugin="toy"),
    "declared": SuiteConfig(plugin="toy", missing={
        "paging": "the Toy API returns 25 rows a page, but this config tests no large tenant",
        "lost_answer": "not configured here"}),
    "replay": SuiteConfig(plugin="toy", simulator=ReplaySimulator, seed=recording()),
    "fake": fake_provider(),
    "truncates-25": fake_provider("truncates-25"),
    "accounts-only": fake_provider("truncates-subscriptions", large_tenant=LargeTenant(
        more_rows(PROVIDER_SEED, "accounts", 598), [Listing("list_accounts", 600)])),
    "truncates-subscriptions": fake_provider("truncates-subscriptions", large_tenant=LargeTenant(
        many_subscriptions(PROVIDER_SEED, 40), [Listing("list_accounts", 2),
                                               Listing("list_subscriptions", 41,
                                                       {"account_id": "A-100"})],
        unpaged={"list_resources": NO_PAGES})),
    "quantity-zero": fake_provider("quantity-zero"),
    "status-active": fake_provider("status-active"),
    "swaps-prices": fake_provider("swaps-prices"),
    "one-quantity": fake_provider(known=[PROVIDER_KNOWN[0]]),
    "pax8-no-renewal": SuiteConfig(plugin="pax8-no-renewal",
                                   token_request=TokenRequest("POST", "/v1/token")),
    "pax8-first-page": SuiteConfig(plugin="pax8-first-page", large_tenant=LargeTenant(
        pax8_large_seed(), [Listing("list_accounts", 254)])),
    "pax8-first-page-named": SuiteConfig(plugin="pax8-first-page", large_tenant=LargeTenant(
        pax8_large_seed(), [Listing("list_accounts", 254),
                            Listing("list_subscriptions", 250, {"account_id": "bulk-0"})],
        unpaged={"list_resources": "one GET per subscription"})),
    "makes-up-ids": fake_provider("makes-up-ids"),
    "returns-floats": fake_provider("returns-floats"),
    "posts-twice": fake_psa("posts-twice"),
    "finds-anything": fake_psa("finds-anything"),
}

# -- the tests ------------------------------------------------------------------------------


def test_a_correct_http_connector_passes_the_whole_suite(pytester: pytest.Pytester) -> None:
    reports = run_suite(pytester, "good")
    assert failed(reports) == {}
    outcomes = {name: r.outcome for name, r in reports.items()}
    assert {name for name, outcome in outcomes.items() if outcome != "passed"} == {
        "test_a_refused_token_is_renewed_once", "test_a_token_is_replaced_before_it_expires"}
    for check in ("test_retry_after_is_honoured", "test_429_without_retry_after_is_backed_off",
                  "test_quantities_read_as_seeded", "test_statuses_read_as_seeded",
                  "test_prices_and_costs_read_as_seeded", "test_server_errors_on_reads_are_retried",
                  "test_html_page_instead_of_json_is_an_api_error",
                  "test_html_error_page_is_retried_like_any_5xx",
                  "test_bad_settings_are_a_configuration_error",
                  "test_lost_answer_to_a_write_is_not_repeated[502]",
                  "test_lost_answer_to_a_write_is_not_repeated[reset]",
                  "test_listings_are_complete_across_pages",
                  "test_find_adjustment_finds_only_what_was_posted"):
        assert outcomes[check] == "passed", check


def test_a_listing_stopping_after_one_page_fails_the_paging_check(
        pytester: pytest.Pytester) -> None:
    failures = failed(run_suite(pytester, "truncating", "-k", "pages or stable or companies"))
    assert set(failures) == {"test_listings_are_complete_across_pages"}
    assert "list_companies() returned 25 rows, the large tenant has 57" in failures[
        "test_listings_are_complete_across_pages"]
    assert "common page size" in failures["test_listings_are_complete_across_pages"]


def test_a_write_retried_after_a_lost_answer_fails(pytester: pytest.Pytester) -> None:
    failures = failed(run_suite(pytester, "blind-retry", "-k", "lost_answer or post"))
    assert set(failures) == {"test_lost_answer_to_a_write_is_not_repeated[502]",
                             "test_lost_answer_to_a_write_is_not_repeated[reset]"}
    for message in failures.values():
        assert "must raise OutcomeUnknownError" in message


def test_a_client_that_never_waits_fails_both_throttle_checks(
        pytester: pytest.Pytester) -> None:
    failures = failed(run_suite(pytester, "no-wait", "-k", "retry_after or server_errors"))
    assert set(failures) == {"test_retry_after_is_honoured",
                             "test_429_without_retry_after_is_backed_off"}
    assert ("after a 429 asking for Retry-After: 17 the connector waited 0 s before repeating "
            "the request (its sleeps: [])") in failures["test_retry_after_is_honoured"]
    assert "repeated the request at once" in failures[
        "test_429_without_retry_after_is_backed_off"]


def test_a_client_ignoring_retry_after_fails_though_it_backs_off(
        pytester: pytest.Pytester) -> None:
    """The case a check of "it waited at all" lets through: the client waits its own 5 s."""
    reports = run_suite(pytester, "ignores-retry-after", "-k", "retry_after")
    assert set(failed(reports)) == {"test_retry_after_is_honoured"}
    assert ("after a 429 asking for Retry-After: 17 the connector waited 5 s before repeating "
            "the request (its sleeps: [5.0])") in failed(reports)["test_retry_after_is_honoured"]
    assert reports["test_429_without_retry_after_is_backed_off"].outcome == "passed"


def test_a_simulator_429_without_the_header_cannot_pass_the_retry_after_check(
        pytester: pytest.Pytester) -> None:
    failures = failed(run_suite(pytester, "no-retry-after-header", "-k", "retry_after"))
    assert set(failures) == {"test_retry_after_is_honoured"}
    assert ("the 429 the suite scripted reached the client with Retry-After: None, not 17"
            in failures["test_retry_after_is_honoured"])
    assert "declare missing={'retry_after'" in failures["test_retry_after_is_honoured"]


def test_the_throttle_checks_wait_on_the_suites_clock_not_for_real(
        pytester: pytest.Pytester) -> None:
    """The Retry-After (17 s) and the backoff (5 s) are slept on the suite's clock: the
    connector's sleeps land there, so no real second passes."""
    extra = """

        class TestClock(TestInner):
            def test_retry_after_sleeps_on_the_suite_clock(self, idsync_conformance):
                self.test_retry_after_is_honoured(idsync_conformance)
                assert idsync_conformance.clock.slept == [17]

            def test_backoff_sleeps_on_the_suite_clock(self, idsync_conformance):
                self.test_429_without_retry_after_is_backed_off(idsync_conformance)
                assert idsync_conformance.clock.slept == [5.0]
        """
    reports = run_suite(pytester, "good", "-k", "suite_clock", extra=extra)
    assert {name: r.outcome for name, r in reports.items()} == {
        "test_retry_after_sleeps_on_the_suite_clock": "passed",
        "test_backoff_sleeps_on_the_suite_clock": "passed"}


def test_parsing_html_as_json_fails(pytester: pytest.Pytester) -> None:
    failures = failed(run_suite(pytester, "html-crash", "-k", "html"))
    assert set(failures) == {"test_html_page_instead_of_json_is_an_api_error"}
    assert "crashed the connector with JSONDecodeError" in failures[
        "test_html_page_instead_of_json_is_an_api_error"]


def test_checks_without_their_configuration_fail_with_instructions(
        pytester: pytest.Pytester) -> None:
    failures = failed(run_suite(pytester, "undeclared", "-k",
                                "pages or lost_answer or token or seeded"))
    assert set(failures) == {"test_listings_are_complete_across_pages",
                             "test_lost_answer_to_a_write_is_not_repeated[502]",
                             "test_lost_answer_to_a_write_is_not_repeated[reset]",
                             "test_a_refused_token_is_renewed_once",
                             "test_a_token_is_replaced_before_it_expires",
                             "test_quantities_read_as_seeded", "test_statuses_read_as_seeded",
                             "test_prices_and_costs_read_as_seeded"}
    assert "large_tenant is not given" in failures["test_listings_are_complete_across_pages"]
    assert "write_request is not given" in failures[
        "test_lost_answer_to_a_write_is_not_repeated[502]"]
    assert "token_request is not given" in failures["test_a_refused_token_is_renewed_once"]
    assert ("SuiteConfig.known names no row with its quantities: add rows with at least two "
            "different quantities") in failures["test_quantities_read_as_seeded"]


def test_declared_missing_capabilities_are_skipped_with_their_reason(
        pytester: pytest.Pytester) -> None:
    reports = run_suite(pytester, "declared", "-k", "pages or lost_answer")
    assert {name: r.outcome for name, r in reports.items()} == {
        "test_listings_are_complete_across_pages": "skipped",
        "test_lost_answer_to_a_write_is_not_repeated[502]": "skipped",
        "test_lost_answer_to_a_write_is_not_repeated[reset]": "skipped"}
    reason = reports["test_listings_are_complete_across_pages"].longrepr[2]
    assert reason == ("Skipped: toy declares 'paging' missing: the Toy API returns 25 rows a "
                      "page, but this config tests no large tenant")


def test_read_checks_pass_against_recorded_responses(pytester: pytest.Pytester) -> None:
    reports = run_suite(pytester, "replay", "-k", "check_reports or bad_settings or search_finds "
                        "or companies_are or retry_after or server_errors or html")
    assert failed(reports) == {}
    assert len(reports) == 9, sorted(reports)


def test_a_replay_names_a_request_it_has_no_recording_for() -> None:
    simulator = ReplaySimulator(recording())
    key = {"X-Api-Key": "recorded-key-42"}
    with ServerThread(simulator.app) as server:
        answer = httpx.get(f"{server.url}/api/companies", params={"page": "7"}, headers=key)
        refused = httpx.get(f"{server.url}/api/me")
    assert answer.status_code == 501
    assert answer.json() == {"message": "no recorded response for GET /api/companies?page=7"}
    assert refused.status_code == 401
    assert simulator.connection_settings("http://127.0.0.1:5/")["base_url"] == (
        "http://127.0.0.1:5")


def test_a_replay_answers_one_request_in_recorded_order_then_repeats_the_last() -> None:
    simulator = ReplaySimulator({"settings": {}, "exchanges": [
        {"request": {"method": "GET", "path": "/n"}, "response": {"json": n}} for n in (1, 2)]})
    with ServerThread(simulator.app) as server:
        got = [httpx.get(f"{server.url}/n", params={"any": "query"}).json() for _ in range(3)]
    assert got == [1, 2, 2]
    assert simulator.controls.log.count("GET", "/n") == 3


def test_the_marker_selects_suite_checks_and_subclasses_add_their_own(
        pytester: pytest.Pytester) -> None:
    extra = """

        def test_check_outside_the_suite():
            pass


        class TestMore(get_connector_test_class(CONFIGS["fake"])):
            def test_an_extra_check(self, idsync_conformance):
                assert idsync_conformance.provider().check().startswith("fake provider")
        """
    reports = run_suite(pytester, "fake", "-m", "idsync_conformance", "-k", "check",
                        extra=extra)
    assert {name: r.outcome for name, r in reports.items()} == {
        "test_check_reports_one_line_without_secrets": "passed",
        "test_an_extra_check": "passed"}


def test_the_suite_refuses_unknown_capability_names() -> None:
    with pytest.raises(ValueError, match=r"unknown capabilities \['pagin'\]"):
        SuiteConfig(plugin="toy", missing={"pagin": "typo"})
    with pytest.raises(ValueError, match="needs a reason"):
        SuiteConfig(plugin="toy", missing={"paging": " "})


def test_a_provider_truncating_at_25_rows_fails_the_paging_check(
        pytester: pytest.Pytester) -> None:
    failures = failed(run_suite(pytester, "truncates-25"))
    assert set(failures) == {"test_listings_are_complete_across_pages"}
    assert ("list_accounts() returned 25 rows, the large tenant has 600 — exactly a common page "
            "size") in failures["test_listings_are_complete_across_pages"]


def test_ids_that_change_between_reads_fail(pytester: pytest.Pytester) -> None:
    failures = failed(run_suite(pytester, "makes-up-ids"))
    # the known rows are not found under their ids either
    assert set(failures) == {"test_ids_are_stable_between_reads",
                             "test_quantities_read_as_seeded",
                             "test_prices_and_costs_read_as_seeded"}
    assert ("list_resources(subscription_id='S-1') has no row 'S-1:CFQ7TTC0LH16'"
            in failures["test_quantities_read_as_seeded"])
    assert "two reads gave different ids: [('resources', 'S-1', 'S-1:" in failures[
        "test_ids_are_stable_between_reads"]


def test_a_float_in_a_model_fails(pytester: pytest.Pytester) -> None:
    failures = failed(run_suite(pytester, "returns-floats", "-k", "resources"))
    assert set(failures) == {"test_resources_belong_to_their_subscription"}
    assert ("Resource.unit_price is 4.8 (float); a valid model holds Decimal('4.8') (Decimal)"
            in failures["test_resources_belong_to_their_subscription"])


def test_a_connector_posting_twice_fails_the_posting_checks(pytester: pytest.Pytester) -> None:
    failures = failed(run_suite(pytester, "posts-twice", "-k", "post or find or decrease"))
    assert set(failures) == {"test_post_then_reread_shows_the_target",
                             "test_decrease_then_reread_shows_the_target",
                             "test_engine_recovery_after_a_post",
                             "test_find_adjustment_finds_only_what_was_posted"}
    assert "post_adjustment says the quantity is now 14, the target is 11" in failures[
        "test_post_then_reread_shows_the_target"]
    assert "find_adjustment found record 3, the post made 4" in failures[
        "test_find_adjustment_finds_only_what_was_posted"]


def test_a_marker_search_finding_anything_fails(pytester: pytest.Pytester) -> None:
    failures = failed(run_suite(pytester, "finds-anything", "-k", "post or find"))
    assert set(failures) == {"test_find_adjustment_finds_only_what_was_posted",
                             "test_engine_recovery_after_a_post"}
    assert ("for a posting that never landed the engine decides 'posted', not 'failed'"
            in failures["test_engine_recovery_after_a_post"])


def test_a_large_tenant_leaving_listings_out_fails_naming_them(
        pytester: pytest.Pytester) -> None:
    """The shape the guide once suggested: only list_accounts in the large tenant. The
    connector returns one page of subscriptions; the suite fails naming what it did not check."""
    failures = failed(run_suite(pytester, "accounts-only", "-k", "pages"))
    assert set(failures) == {"test_listings_are_complete_across_pages"}
    assert ("the large tenant checks ['list_accounts'] across pages but not list_subscriptions, "
            "list_resources: a listing that stops after its first page would pass"
            ) in failures["test_listings_are_complete_across_pages"]


def test_a_listing_named_in_the_large_tenant_that_stops_after_a_page_fails(
        pytester: pytest.Pytester) -> None:
    failures = failed(run_suite(pytester, "truncates-subscriptions", "-k", "pages"))
    assert ("list_subscriptions(account_id='A-100') returned 25 rows, the large tenant has 41"
            in failures["test_listings_are_complete_across_pages"])


def test_unpaged_listings_need_a_reason_and_cannot_also_be_paged() -> None:
    with pytest.raises(ValueError, match=r"unpaged needs a reason for \['list_resources'\]"):
        LargeTenant({}, [Listing("list_accounts", 1)], unpaged={"list_resources": " "})
    with pytest.raises(ValueError, match="both as paged listings and as unpaged"):
        LargeTenant({}, [Listing("list_accounts", 1)], unpaged={"idsync_list_accounts": "x"})


def test_quantities_always_zero_fail(pytester: pytest.Pytester) -> None:
    failures = failed(run_suite(pytester, "quantity-zero", "-k", "seeded"))
    assert set(failures) == {"test_quantities_read_as_seeded"}
    assert ("list_resources(subscription_id='S-1') row S-1:CFQ7TTC0LH16: quantity is "
            "Decimal('0'), the seed has Decimal('8')") in failures["test_quantities_read_as_seeded"]
    assert "every quantity reads as 0: is the API's quantity field read at all?" in failures[
        "test_quantities_read_as_seeded"]


def test_a_hard_coded_status_fails(pytester: pytest.Pytester) -> None:
    failures = failed(run_suite(pytester, "status-active", "-k", "seeded"))
    assert set(failures) == {"test_statuses_read_as_seeded"}
    assert ("row S-3: status is <SubscriptionStatus.ACTIVE: 'active'>, the seed has "
            "<SubscriptionStatus.TERMINATED: 'terminated'>") in failures[
        "test_statuses_read_as_seeded"]
    assert "hard-coded?" in failures["test_statuses_read_as_seeded"]


def test_price_and_cost_swapped_fail(pytester: pytest.Pytester) -> None:
    failures = failed(run_suite(pytester, "swaps-prices", "-k", "seeded"))
    assert set(failures) == {"test_prices_and_costs_read_as_seeded"}
    assert ("unit_price is Decimal('3.90'), the seed has Decimal('4.50')"
            in failures["test_prices_and_costs_read_as_seeded"])
    assert failures["test_prices_and_costs_read_as_seeded"].rstrip().endswith(
        "— price and cost are swapped")


def test_known_rows_that_cannot_tell_a_bug_from_a_coincidence_fail(
        pytester: pytest.Pytester) -> None:
    """One known quantity cannot tell "always 8" from right; one status, a hard-coded one."""
    failures = failed(run_suite(pytester, "one-quantity", "-k", "seeded"))
    assert set(failures) == {"test_quantities_read_as_seeded", "test_statuses_read_as_seeded"}
    assert ("SuiteConfig.known cannot catch a wrong quantity: add rows with at least two "
            "different quantities") in failures["test_quantities_read_as_seeded"]
    assert "names no row with its statuses" in failures["test_statuses_read_as_seeded"]


def test_known_rows_refuse_fields_the_checks_do_not_compare() -> None:
    with pytest.raises(ValueError, match="values may name"):
        Known("list_resources", {"subscription_id": "S-1"}, "S-1:X", {"name": "Exchange"})


def test_a_token_never_renewed_fails_the_renewal_check(pytester: pytest.Pytester) -> None:
    """A connector on the Pax8 example's simulator whose 401s are final: the renewal check
    fails; the lifetime check (the token replaced before it expires, no 401 needed) passes."""
    reports = run_suite(pytester, "pax8-no-renewal", "-k", "token")
    failures = failed(reports)
    assert set(failures) == {"test_a_refused_token_is_renewed_once"}
    assert ("after a 401 to a request whose token had worked a moment before, the listing "
            "raised ConfigurationError: Pax8 API GET /v1/companies: Pax8 API refused the "
            "credentials (HTTP 401)") in failures["test_a_refused_token_is_renewed_once"]
    assert reports["test_a_token_is_replaced_before_it_expires"].outcome == "passed"


def test_an_http_listing_returning_its_first_page_fails_whether_named_or_not(
        pytester: pytest.Pytester) -> None:
    """The case of the issue: the large tenant named only list_accounts, and the connector's
    subscriptions stopped after one page. Now the suite names what it did not check; named,
    the truncation itself is found."""
    unnamed = failed(run_suite(pytester, "pax8-first-page", "-k", "pages"))
    assert "but not list_subscriptions, list_resources" in unnamed[
        "test_listings_are_complete_across_pages"]
    named = failed(run_suite(pytester, "pax8-first-page-named", "-k", "pages"))
    assert ("list_subscriptions(account_id='bulk-0') returned 200 rows, the large tenant has "
            "250 — exactly a common page size") in named["test_listings_are_complete_across_pages"]
