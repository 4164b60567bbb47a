"""The ConnectWise Manage REST client, on IDSync's shared :class:`ApiClient`.

What is ConnectWise-specific, and why:

* **URLs** are ``{site}/{codebase}apis/3.0/{path}``. The codebase is looked up once, lazily, from
  the unauthenticated ``GET /login/companyinfo/{company_id}``; if that fails the stable alias
  ``v4_6_release/`` is used (it works on cloud and on premise).
* **Headers**: HTTP Basic ``companyId+publicKey:privateKey``, the integration's ``clientId`` and
  an ``Accept`` header pinning the API model version, so a ConnectWise upgrade cannot silently
  rename a field under us.
* **Paging**: lists are bare JSON arrays, 25 rows by default. Full scans use *forward-only*
  paging (header ``pagination-type: forward-only``, ``pageSize=1000``), which is keyed on the id
  and immune to rows inserted or deleted while paging; listings whose order matters use
  *navigable* paging (``page``/``orderBy``). Either way the ``Link`` ``rel="next"`` is followed
  and every parameter of the first request is carried to the next one (a known bug of other
  clients was dropping ``conditions`` after page one). The scan ends on an absent or empty
  ``Link``, an empty page, or a page shorter than the page size in force (the ``pageSize`` of
  the server's own next link, so a server that clamps the size cannot make us stop early).
* **URL length**: ConnectWise refuses URLs over 2,000 characters, so ``id in (...)`` lists are
  split into as many requests as needed (:meth:`iter_in`).
* **Budget**: a client-side sliding window under the ~1,000 requests/minute that ConnectWise
  throttles at; 429 and Retry-After are handled by the core.
* **Errors**: ConnectWise says ``{code, message, errors: [{message, field}]}`` (and
  ``{error, message}`` on a 429); :meth:`error_message` turns both into one line.
* **Numbers** are decoded as ``Decimal`` (the core's :meth:`ApiClient.json_of`) so quantities and
  prices never pass through float.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from idsync_connectwise.conditions import Value, split_in_list
from idsync_connectwise.settings import ConnectWiseSettings, normalize_codebase
from idsync_core.errors import ApiError, IdsyncError, RateLimitedError, UnreachableError
from idsync_core.http import ApiClient, RateBudget, ensure_same_origin, next_link
from idsync_core.http import paginate as paginate_tokens
from idsync_core.http.client import body_snippet
from idsync_core.http.wiring import REAL, Wiring

log = logging.getLogger(__name__)

API_PATH = "apis/3.0"
FALLBACK_CODEBASE = "v4_6_release/"
PAGE_SIZE = 1000
"""ConnectWise's hard maximum; the default (25) is the classic cause of truncated lists."""
MAX_URL_LENGTH = 2000
_PAGE_ID_PLACEHOLDER = "2147483647"
"""The longest ``pageId`` a next page can carry, counted when measuring a URL."""

CREDENTIALS_HINT = (
    "[psa] company_id, public_key, private_key and client_id; on HTTP 403, the API member's "
    "security role (it must read companies, agreements and the product catalog, and edit "
    "agreement additions)"
)

Row = dict[str, Any]


class ConnectWiseClient(ApiClient):
    """One ConnectWise tenant. Thread-safe; build it without I/O, it connects on first use."""

    def __init__(
        self,
        settings: ConnectWiseSettings,
        *,
        wiring: Wiring = REAL,
    ) -> None:
        self.settings = settings
        super().__init__(
            settings.site,
            service="ConnectWise",
            credentials_hint=CREDENTIALS_HINT,
            auth=httpx.BasicAuth(f"{settings.company_id}+{settings.public_key}",
                                 settings.private_key.get_secret_value()),
            headers={
                "clientId": settings.client_id,
                "Accept": f"application/vnd.connectwise.com+json; version={settings.api_version}",
            },
            timeout=settings.timeout,
            retry=wiring.retry,
            budget=RateBudget(settings.requests_per_minute, settings.budget_window_seconds,
                              clock=wiring.clock, sleep=wiring.sleep),
            transport=wiring.transport,
            sleep=wiring.sleep,
        )
        self._codebase = settings.codebase
        self._codebase_lock = threading.Lock()

    # -- URLs and the codebase ----------------------------------------------------------------

    @property
    def codebase(self) -> str:
        """The release path segment (``v2025_1/``), looked up on first use."""
        with self._codebase_lock:
            if self._codebase is None:
                self._codebase = self._discover_codebase()
            return self._codebase

    def _discover_codebase(self) -> str:
        company = quote(self.settings.company_id, safe="")
        try:
            info = self.get_json(f"{self.base_url}/login/companyinfo/{company}")
            found = normalize_codebase(info.get("Codebase")) if isinstance(info, dict) else None
        except (UnreachableError, RateLimitedError):
            raise  # no API to talk to: guessing a codebase would only repeat the failure
        except (IdsyncError, ValueError) as exc:
            log.warning("ConnectWise: the codebase lookup failed (%s); using %s",
                        getattr(exc, "message", exc), FALLBACK_CODEBASE)
            return FALLBACK_CODEBASE
        if found is None:
            log.warning("ConnectWise: company info named no codebase; using %s",
                        FALLBACK_CODEBASE)
            return FALLBACK_CODEBASE
        return found

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{self.codebase}{API_PATH}/{path.lstrip('/')}"

    # -- responses ----------------------------------------------------------------------------

    def error_message(self, response: httpx.Response) -> str:
        """``message (code): errors[].message; ...`` from either of ConnectWise's error shapes."""
        try:
            data = json.loads(response.content)
        except ValueError:
            return body_snippet(response) or "(an empty body)"
        if not isinstance(data, dict):
            return body_snippet(response)
        message = data.get("message")
        code = data.get("code") or data.get("error")
        text = str(message) if message else body_snippet(response)
        if code and str(code) not in text:
            text = f"{text} ({code})"
        details = [
            str(item["message"]) for item in data.get("errors") or ()
            if isinstance(item, dict) and item.get("message")
        ]
        return f"{text}: {'; '.join(details)}" if details else text

    def _entity(self, response: httpx.Response) -> Row:
        body = self.json_of(response)
        if not isinstance(body, dict):
            raise ApiError(f"ConnectWise {response.request.method} {response.request.url.path}: "
                           f"expected a JSON object, got {type(body).__name__}")
        return body

    # -- reading ------------------------------------------------------------------------------

    def get(self, path: str, *, fields: str | None = None) -> Row:
        """One entity, e.g. ``get("finance/agreements/5")``; ``NotFoundError`` if absent."""
        params = {"fields": fields} if fields else None
        return self._entity(self.request("GET", path, params=params))

    def iter_all(self, path: str, *, conditions: str | None = None,
                 fields: str | None = None) -> Iterator[Row]:
        """Every row of a collection, by forward-only paging (ordered by id)."""
        params = _list_params(conditions, fields)
        return self._pages(path, params, {"pagination-type": "forward-only"})

    def iter_ordered(self, path: str, order_by: str, *, conditions: str | None = None,
                     fields: str | None = None) -> Iterator[Row]:
        """Every row in ``order_by`` order, by navigable paging (``page``/``orderBy``).

        Forward-only paging cannot sort, so this is used where the order is the point (a list
        an operator picks from). Rows inserted while paging can shift a row across a page
        boundary; a row seen twice is yielded once.
        """
        params = {**_list_params(conditions, fields), "orderBy": order_by, "page": 1}
        seen: set[object] = set()
        for row in self._pages(path, params, None):
            key = row.get("id")
            if key is None or key not in seen:
                seen.add(key)
                yield row

    def iter_in(self, path: str, field: str, values: Iterable[Value], *,
                also: str | None = None, fields: str | None = None) -> Iterator[Row]:
        """Rows whose ``field`` is one of ``values`` (and match ``also``), in as many
        ``field in (...)`` requests as it takes to keep every URL within 2,000 characters."""
        def fits(conditions: str) -> bool:
            params = {**_list_params(conditions, fields), "pageId": _PAGE_ID_PLACEHOLDER}
            return len(str(httpx.URL(self.url(path), params=params))) <= MAX_URL_LENGTH

        for conditions in split_in_list(field, values, fits, also=also):
            yield from self.iter_all(path, conditions=conditions, fields=fields)

    def _pages(self, path: str, params: Mapping[str, Any],
               headers: Mapping[str, str] | None) -> Iterator[Row]:
        def fetch(token: tuple[tuple[str, str], ...] | None
                  ) -> tuple[list[Row], tuple[tuple[str, str], ...] | None]:
            query: Mapping[str, Any] = dict(token) if token is not None else params
            response = self.request("GET", path, params=query, headers=headers)
            rows = self.json_of(response)
            if not isinstance(rows, list):
                raise ApiError(f"ConnectWise GET {urlsplit(self.url(path)).path}: expected a "
                               f"JSON array, got {type(rows).__name__}")
            link = next_link(response)
            if not rows or link is None:
                return rows, None
            ensure_same_origin(link, self.base_url, what=f"ConnectWise's next-page link of {path}")
            following = carry_over(query, link)
            if len(rows) < _page_size(following):
                return rows, None  # a short page is the last: spare the request for an empty one
            return rows, tuple(following.items())

        return paginate_tokens(fetch, what=f"ConnectWise {path}")

    # -- writing ------------------------------------------------------------------------------

    def create(self, path: str, body: Mapping[str, Any]) -> Row:
        """POST a new entity and return it. Never retried once it may have reached the server:
        the core raises ``OutcomeUnknownError`` instead."""
        return self._entity(self.request("POST", path, json=dict(body)))

    def patch(self, path: str, operations: list[dict[str, Any]]) -> Row:
        """PATCH with JSON-Patch operations and return the updated entity.

        Only ``replace`` operations are sent: they set absolute values, so repeating one after a
        lost answer is harmless and the core may retry it like a PUT.
        """
        if any(op.get("op") != "replace" for op in operations):
            raise ValueError("only `replace` patches are sent to ConnectWise")
        return self._entity(self.request("PATCH", path, json=operations, idempotent=True))


def _list_params(conditions: str | None, fields: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"pageSize": PAGE_SIZE}
    if conditions:
        params["conditions"] = conditions
    if fields:
        params["fields"] = fields
    return params


def _page_size(params: Mapping[str, str]) -> int:
    """The page size in force: the server's next link states it (clamped, if it clamped)."""
    size = next((v for k, v in params.items() if k.lower() == "pagesize"), "")
    return int(size) if size.isdigit() else PAGE_SIZE


def carry_over(params: Mapping[str, Any], link: str) -> dict[str, str]:
    """The next page's parameters: ours, updated with those of the server's next link.

    The link decides the paging values (``page``, ``pageId``, a clamped ``pageSize``); our own
    parameters fill in anything it left out, so ``conditions`` survive even if a server (or a
    proxy) drops them. Parameter names are matched case-insensitively, as ConnectWise does.
    """
    merged = {key: str(value) for key, value in params.items()}
    spelled = {key.lower(): key for key in merged}
    for key, value in parse_qsl(urlsplit(link).query, keep_blank_values=True):
        merged[spelled.get(key.lower(), key)] = value
    return merged
