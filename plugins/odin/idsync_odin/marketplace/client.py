"""HTTP client of the Ingram Micro Cloud Marketplace API: auth headers, paging, throttling.

Wire facts (research notes §2d, OpenAPI "Marketplace API" 1.6):

* every call sends ``Authorization: Bearer <token>`` and ``X-Subscription-Key``;
* lists page with ``offset``/``limit`` (at most 500) and answer
  ``{"data": [...], "pagination": {"offset", "limit", "total"}}`` with no cursor: we walk
  ``offset`` until ``total`` is covered, or a page comes back short or empty when ``total`` is
  missing;
* ``GET /subscriptions/{id}`` (the only place quantities are) has a time-window rate limit and
  answers 429: the core client waits ``Retry-After`` (or backs off) and retries, and a
  :class:`ConcurrencyLimiter` keeps at most ``detail_concurrency`` of them in flight.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from idsync_core.errors import ApiError, NotFoundError
from idsync_core.http import ApiClient, BearerToken, ConcurrencyLimiter, paginate
from idsync_core.http.wiring import REAL, Wiring
from idsync_odin.marketplace.token import TokenIssuer
from idsync_odin.settings import OdinSettings

SERVICE = "Ingram Micro Marketplace API"
CREDENTIALS_HINT = ("the connection's username, password, subscription_key and marketplace "
                    "settings (and that base_url ends with /marketplace/<region>)")
MAX_PAGE_SIZE = 500
DETAIL_PATH = re.compile(r"/subscriptions/[^/]+$")
DETAIL_SLOT = "GET /subscriptions/{id}"


class MarketplaceClient(ApiClient):
    def __init__(
        self,
        settings: OdinSettings,
        *,
        wiring: Wiring = REAL,
    ) -> None:
        assert settings.username and settings.password and settings.subscription_key
        assert settings.marketplace
        key_header = {"X-Subscription-Key": settings.subscription_key.get_secret_value()}
        token_client = ApiClient(
            settings.base_url, service=SERVICE, credentials_hint=CREDENTIALS_HINT,
            auth=httpx.BasicAuth(settings.username, settings.password.get_secret_value()),
            headers=key_header, timeout=settings.timeout, retry=wiring.retry,
            transport=wiring.transport, sleep=wiring.sleep)
        self.bearer = BearerToken(TokenIssuer(token_client, settings.marketplace).issue,
                                  clock=wiring.clock)
        self._token_client = token_client
        self.page_size = min(settings.page_size, MAX_PAGE_SIZE)
        self.detail_budget = (Pacer(settings.detail_rate_limit, settings.detail_rate_window,
                                    clock=wiring.clock, sleep=wiring.sleep)
                              if settings.detail_rate_limit else None)
        super().__init__(
            settings.base_url, service=SERVICE, credentials_hint=CREDENTIALS_HINT,
            auth=self.bearer, headers=key_header, timeout=settings.timeout, retry=wiring.retry,
            concurrency=ConcurrencyLimiter(settings.detail_concurrency),
            transport=wiring.transport, sleep=wiring.sleep)

    # -- ApiClient hooks ----------------------------------------------------------------------

    def on_unauthorized(self, response: httpx.Response) -> bool:
        """A 401 with a token we believed valid: it was revoked or expired early; get a new
        one and repeat the request once (the core does not call this a second time)."""
        return self.bearer.renew_after(response)

    def endpoint_key(self, method: str, url: str) -> str:
        path = urlsplit(url).path
        return DETAIL_SLOT if DETAIL_PATH.search(path) else f"{method} {path}"

    def close(self) -> None:
        super().close()
        self._token_client.close()

    # -- calls ---------------------------------------------------------------------------------

    def list_all(self, path: str, params: Mapping[str, str] | None = None) -> Iterator[object]:
        """Every row of a paged list, following ``pagination.total``."""
        where = f"{SERVICE} GET {path}"

        def fetch(offset: int | None) -> tuple[Iterable[object], int | None]:
            start = offset or 0
            body = self.get_json(path, params={**(params or {}), "offset": start,
                                               "limit": self.page_size})
            rows, total = _page(body, where)
            following = start + len(rows)
            if not rows:
                return rows, None
            if total is not None:
                return rows, following if following < total else None
            return rows, following if len(rows) >= self.page_size else None

        return paginate(fetch, what=where)

    def total(self, path: str) -> int | None:
        """``pagination.total`` of a list, read with a one-row page."""
        body = self.get_json(path, params={"offset": 0, "limit": 1})
        return _page(body, f"{SERVICE} GET {path}")[1]

    def customer(self, customer_id: str) -> Any:
        try:
            return self.get_json(f"/customers/{quote(customer_id, safe='')}")
        except NotFoundError:
            raise NotFoundError(f"Ingram customer {customer_id} does not exist",
                                hint="list them with `idsync companies provider`") from None

    def subscription(self, subscription_id: str) -> Any:
        try:  # paced when the limit is known: it spares the 429 round trips
            return self.get_json(f"/subscriptions/{quote(subscription_id, safe='')}",
                                 pacer=self.detail_budget)
        except NotFoundError:
            raise NotFoundError(f"Ingram subscription {subscription_id} does not exist",
                                hint="list an account's subscriptions with "
                                     "`idsync subscriptions ACCOUNT`") from None


ARRIVAL_MARGIN = 0.01
"""The pacer's spacing above ``window / limit``. A sliding-window throttle counts arrivals, and
requests sent exactly ``window / limit`` apart arrive a millisecond or so closer or further
apart: at the bare limit one request in twenty was answered 429 (measured on the simulator,
each 0.1-1.2 ms early), and each costs a whole ``Retry-After`` second and a slot. One percent
of a second's window is 10 ms: every one of them arrives in time."""


class Pacer:
    """At most ``limit`` requests per ``window`` seconds, sent evenly spaced (one every
    ``window / limit`` seconds, :data:`ARRIVAL_MARGIN` more) rather than in bursts: a burst at
    the start of each window is what a server's sliding-window throttle, counting arrivals a
    little later than we count sends, answers with 429 (and a whole ``Retry-After`` second)."""

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.spacing = window / limit * (1 + ARRIVAL_MARGIN)
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.spacing
        if slot > now:
            self.waited += slot - now
            self._sleep(slot - now)


def _page(body: Any, where: str) -> tuple[list[object], int | None]:
    """The rows and ``pagination.total`` of one list answer."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ApiError(f"{where}: expected a {{data, pagination}} object, got "
                       f"{type(body).__name__}", hint="check base_url")
    pagination = body.get("pagination")
    total = pagination.get("total") if isinstance(pagination, dict) else None
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        total = None
    return body["data"], total
