"""The Autotask REST client: zone, authentication, queries with paging, limits.

* **Zone**: discovered lazily from the user name (or taken from ``zone_url``) and cached; on a
  401 it is looked up once more, because a tenant can move zones, and the request is repeated
  once (against the new zone if it moved). A second refusal is a ``ConfigurationError``.
* **Version**: pinned to ``V1.0``; Autotask now also advertises ``V2.0``, which is not the same
  API.
* **Credentials** are three headers added by :class:`AutotaskAuth` only to requests for the
  zone's own origin; the zone lookup carries none.
* **Queries** are POSTs marked idempotent (retried like reads). They page by id (``id > last``,
  stateless and retry-safe) while Autotask returns rows in id order, and otherwise by POSTing
  the same body to ``nextPageUrl`` after checking it points at the zone.
* **Limits**: at most 3 requests in flight per entity endpoint, the hourly threshold watched by
  :class:`ThresholdGuard`, throttling answers translated by :class:`ThrottleDialect`.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from idsync_autotask.dialect import AUTOTASK_RETRY, AutotaskHttp, ThrottleDialect
from idsync_autotask.endpoints import endpoint_of
from idsync_autotask.query import MAX_RECORDS, Filter, cond
from idsync_autotask.settings import AutotaskSettings
from idsync_autotask.threshold import HOURLY_THRESHOLD, ThresholdGuard, ThresholdReading
from idsync_autotask.zone import Zone, ZoneLocator
from idsync_core.errors import ApiError, ConfigurationError, MissingRecordError, RejectedError
from idsync_core.http import ConcurrencyLimiter, ensure_same_origin, paginate
from idsync_core.http.budget import Pacing
from idsync_core.http.wiring import REAL, Wiring

log = logging.getLogger(__name__)

THREADS_PER_ENDPOINT = 3
"""Integrations created since Autotask 2023.1 get 3 concurrent requests per object endpoint."""

CREDENTIALS_HINT = ("[psa] username, secret and integration_code (and zone_url when set); the "
                    "API user must be an API-only user with access to contracts")

CREDENTIAL_WORDS = re.compile(
    r"integration ?code|api ?user|user ?name|secret|authenticat|credential|permission",
    re.IGNORECASE)
"""Autotask refuses a wrong user name or integration code, and missing permissions, with HTTP
500 and ``errors[]``; the exact wording is UNCONFIRMED, so these words are matched."""

_QUERY_SUFFIXES = ("/query", "/query/count", "/query/next")


class PageToken:
    """Where the next page of a query starts."""


@dataclass(frozen=True)
class AfterId(PageToken):
    """Keyset paging: the next page is the rows with ``id > last``."""

    last: int


@dataclass(frozen=True)
class Cursor(PageToken):
    """Autotask's own paging: POST ``body`` (the query that produced the cursor) to ``url``."""

    url: str
    body: str


class _ZoneMoved(Exception):
    """Raised from ``on_unauthorized`` when the tenant's zone changed: repeat at the new one."""

    def __init__(self, old_root: str) -> None:
        super().__init__(old_root)
        self.old_root = old_root


def _is_query(path: str) -> bool:
    return urlsplit(path).path.rstrip("/").lower().endswith(_QUERY_SUFFIXES)


class AutotaskAuth(httpx.Auth):
    """Adds Autotask's credential headers, and only to the current zone's origin."""

    def __init__(self, settings: AutotaskSettings, zone: Callable[[], Zone | None]) -> None:
        self._settings = settings
        self._zone = zone

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        zone = self._zone()
        if zone is not None and _same_origin(str(request.url), zone.url):
            request.headers["ApiIntegrationCode"] = (
                self._settings.integration_code.get_secret_value())
            request.headers["UserName"] = self._settings.username
            request.headers["Secret"] = self._settings.secret.get_secret_value()
            resource = self._settings.impersonation_resource_id
            # Impersonation attributes *writes* to a resource; queries run as the API user.
            if resource is not None and request.method != "GET" and not _is_query(
                    request.url.path):
                request.headers["ImpersonationResourceId"] = str(resource)
        yield request


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


class AutotaskClient(AutotaskHttp):
    """One tenant's API. Thread-safe; build it without I/O, the zone is found on first use."""

    def __init__(
        self,
        settings: AutotaskSettings,
        *,
        wiring: Wiring = REAL,
    ) -> None:
        self.settings = settings
        timeout = settings.timeout
        self.guard = ThresholdGuard(settings.threshold_stop_percent, clock=wiring.clock,
                                    sleep=wiring.sleep, time_scale=settings.time_scale)
        self._zone: Zone | None = None
        self._zone_lock = threading.Lock()
        self._second_try = threading.local()
        super().__init__(
            settings.zone_lookup_url,  # replaced by the zone's API root before any request
            service="Autotask",
            credentials_hint=CREDENTIALS_HINT,
            auth=AutotaskAuth(settings, lambda: self._zone),
            headers={"Accept": "application/json"},
            timeout=timeout,
            retry=wiring.retry or AUTOTASK_RETRY,
            budget=self.guard,
            concurrency=ConcurrencyLimiter(THREADS_PER_ENDPOINT),
            transport=ThrottleDialect(wiring.transport or httpx.HTTPTransport(),
                                      on_hourly_limit=self.guard.mark_exhausted),
            sleep=wiring.sleep,
        )
        self.guard.read = self.read_threshold
        self._locator = ZoneLocator(
            AutotaskHttp(settings.zone_lookup_url, service="Autotask zone lookup",
                         credentials_hint=CREDENTIALS_HINT,
                         retry=wiring.retry or AUTOTASK_RETRY,
                         transport=ThrottleDialect(wiring.transport or httpx.HTTPTransport()),
                         timeout=timeout, sleep=wiring.sleep),
            settings.username)

    # -- zone ---------------------------------------------------------------------------

    def zone(self) -> Zone:
        """The tenant's zone, looked up once (or taken from ``zone_url``)."""
        with self._zone_lock:
            if self._zone is None:
                self._set_zone(self._find_zone())
            assert self._zone is not None
            return self._zone

    def _find_zone(self) -> Zone:
        if self.settings.zone_url:
            return Zone(url=self.settings.zone_url)
        return self._locator.lookup()

    def _set_zone(self, zone: Zone) -> None:
        if self._zone is not None and zone.url != self._zone.url:
            log.warning("the Autotask tenant moved from %s to %s", self._zone.host, zone.host)
        self._zone = zone
        self.base_url = zone.api_root

    def on_unauthorized(self, response: httpx.Response) -> bool:
        """Look the zone up again once; repeat the request (at the new zone if it moved)."""
        if self.settings.zone_url or getattr(self._second_try, "active", False):
            return False
        failed = str(response.request.url)
        with self._zone_lock:
            old_root = self.base_url
            if not failed.startswith(old_root + "/"):
                raise _ZoneMoved(self._root_of(failed))  # another thread found the new zone
            self._set_zone(self._locator.lookup())
            if self.base_url != old_root:
                raise _ZoneMoved(old_root)
        return True

    @staticmethod
    def _root_of(url: str) -> str:
        lowered = url.lower()
        return url[: lowered.index("/v1.0/") + len("/v1.0")] if "/v1.0/" in lowered else url

    def endpoint_key(self, method: str, url: str) -> str:
        return endpoint_of(url) or urlsplit(url).path

    def close(self) -> None:
        super().close()
        self._locator.http.close()

    # -- requests -----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        pacer: Pacing | None = None,
    ) -> httpx.Response:
        """As :meth:`ApiClient.request`, in the tenant's zone, with Autotask's error words."""
        self.zone()
        try:
            try:
                return super().request(method, path, params=params, json=json,
                                       headers=headers, idempotent=idempotent, pacer=pacer)
            except _ZoneMoved as moved:
                rebased = path
                if path.startswith(moved.old_root):
                    rebased = self.base_url + path[len(moved.old_root):]
                self._second_try.active = True
                try:
                    return super().request(method, rebased, params=params, json=json,
                                           headers=headers, idempotent=idempotent, pacer=pacer)
                finally:
                    self._second_try.active = False
        except RejectedError as exc:
            if CREDENTIAL_WORDS.search(exc.message):
                raise ConfigurationError(exc.message, hint=f"check {CREDENTIALS_HINT}") from None
            raise

    def get_item(self, entity: str, item_id: int | str) -> dict[str, Any]:
        """``GET /{entity}/{id}``; Autotask answers an unknown id with ``{"item": null}``."""
        data = self.get_json(f"{entity}/{item_id}")
        item = data.get("item") if isinstance(data, dict) else None
        if not isinstance(item, dict):
            raise MissingRecordError(f"Autotask has no {entity} record with id {item_id}")
        return item

    def create(self, path: str, body: Mapping[str, Any]) -> int | None:
        """POST a new record (never retried blindly); Autotask answers ``{"itemId": n}``."""
        data = self.json_of(self.request("POST", path, json=dict(body)))
        item_id = data.get("itemId") if isinstance(data, dict) else None
        return item_id if isinstance(item_id, int) and item_id > 0 else None

    def read_threshold(self) -> ThresholdReading:
        data = self.get_json("ThresholdInformation")
        if not isinstance(data, dict):
            raise ApiError("Autotask ThresholdInformation answered without figures")
        return ThresholdReading(
            limit=int(data.get("externalRequestThreshold") or HOURLY_THRESHOLD),
            used=int(data.get("currentTimeframeRequestCount") or 0),
            minutes=int(data.get("requestThresholdTimeframe") or 60))

    # -- queries ------------------------------------------------------------------------

    @staticmethod
    def query_body(filters: Sequence[Filter], fields: Iterable[str] | None,
                   page_size: int) -> dict[str, Any]:
        body: dict[str, Any] = {"filter": list(filters) or [cond("exist", "id")]}
        if fields is not None:
            wanted = list(dict.fromkeys(fields))
            if "id" not in (f.lower() for f in wanted):
                wanted.insert(0, "id")  # paging by id, and Autotask wants it past 500 rows
            body["IncludeFields"] = wanted
        body["MaxRecords"] = page_size
        return body

    def count(self, entity: str, filters: Sequence[Filter]) -> int:
        data = self.json_of(self.request("POST", f"{entity}/query/count",
                                         json={"filter": list(filters) or [cond("exist", "id")]},
                                         idempotent=True))
        if not isinstance(data, dict) or not isinstance(data.get("queryCount"), int):
            raise ApiError(f"Autotask {entity}/query/count answered without a queryCount")
        return int(data["queryCount"])

    def query(
        self,
        entity: str,
        filters: Sequence[Filter],
        *,
        fields: Iterable[str] | None = None,
        page_size: int = MAX_RECORDS,
        paging: str = "id",
    ) -> Iterator[dict[str, Any]]:
        """Every row of ``entity`` matching ``filters`` (ANDed), all pages, in id order.

        ``paging="id"`` re-queries with ``id > last`` (the default: stateless, and safe to
        retry); ``"next"`` follows Autotask's ``nextPageUrl``. Keyset paging falls back to the
        cursor when a page is not in ascending id order, since it would then skip rows.
        """
        if not 1 <= page_size <= MAX_RECORDS:
            raise ValueError(f"page_size must be 1..{MAX_RECORDS}")
        if paging not in ("id", "next"):
            raise ValueError("paging is 'id' or 'next'")
        field_list = list(fields) if fields is not None else None

        def fetch(token: PageToken | None) -> tuple[list[dict[str, Any]], PageToken | None]:
            if isinstance(token, Cursor):
                url = ensure_same_origin(token.url, self.base_url,
                                         what=f"Autotask's nextPageUrl for {entity}")
                body = json.loads(token.body)
            else:
                extra = [cond("gt", "id", token.last)] if isinstance(token, AfterId) else []
                url = f"{entity}/query"
                body = self.query_body([*filters, *extra], field_list, page_size)
            items, next_url = self._page(entity, url, body)
            if next_url is None:
                return items, None
            cursor = Cursor(next_url, json.dumps(body, sort_keys=True))
            if paging == "next" or isinstance(token, Cursor):
                return items, cursor
            if len(items) < page_size:
                return items, None
            floor = token.last if isinstance(token, AfterId) else None
            return items, _after_last_id(items, floor) or cursor

        return paginate(fetch, what=f"Autotask {entity}")

    def _page(self, entity: str, url: str,
              body: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        data = self.json_of(self.request("POST", url, json=body, idempotent=True))
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ApiError(f"Autotask {entity}/query answered without an items list")
        details = data.get("pageDetails") or {}
        next_url = details.get("nextPageUrl") if isinstance(details, dict) else None
        return items, next_url if isinstance(next_url, str) and next_url else None


def _after_last_id(items: list[dict[str, Any]], floor: int | None) -> AfterId | None:
    """Keyset paging past this page, or None when the rows are not in ascending id order
    (keyset paging would then skip rows; the caller follows Autotask's cursor instead)."""
    ids = [item.get("id") for item in items]
    ints = [i for i in ids if isinstance(i, int)]
    if len(ints) != len(ids) or any(a >= b for a, b in itertools.pairwise(ints)) or (
            floor is not None and ints[0] <= floor):
        log.info("Autotask returned rows out of id order; following nextPageUrl instead")
        return None
    return AfterId(ints[-1])
