"""One HTTP client for every connector: retries, Retry-After, budgets and error mapping.

What it guarantees, so connectors do not each re-learn it:

* **Idempotent calls** (GET/PUT/DELETE, or a POST the connector marks ``idempotent=True``, such as
  an Autotask query) are retried on 5xx, timeouts and dropped connections, with exponential
  backoff and full jitter.
* **Writes are never retried blindly.** A POST that may have reached the server (a read timeout,
  a reset, a 5xx) raises :class:`OutcomeUnknownError`; the engine then re-reads the PSA. A POST
  that certainly did not reach it (the connection could not be opened, or a 429) is retried.
* **429** waits ``Retry-After`` (seconds or an HTTP date) as long as one request's waits stay
  within ``max_retry_after`` in all; without the header it backs off, at most ``max_attempts``
  times. Beyond that it raises :class:`RateLimitedError`.
* **A host that does not answer** (connection refused, DNS, timeouts) after ``max_attempts``
  raises :class:`UnreachableError`, naming the service and its origin: the whole connection is
  down, so the caller stops instead of trying every other request against it.
* **Budgets**: an optional :class:`RateBudget` and per-endpoint :class:`ConcurrencyLimiter`.
* **Errors** become :mod:`idsync_core.errors` exceptions with messages naming the service, the
  method and the path (never the query string, headers or body, which may carry secrets).
* **JSON** is checked: an HTML page (a proxy's error or login page) is reported as such.
  Numbers with a fraction are decoded as ``Decimal``, and ``Decimal`` values in a request body
  are sent as exact JSON numbers (:mod:`idsync_core.numbers`).
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from idsync_core.errors import (
    ApiError,
    ConfigurationError,
    IdsyncError,
    MissingRecordError,
    OutcomeUnknownError,
    RateLimitedError,
    RejectedError,
    UnreachableError,
)
from idsync_core.http.budget import ConcurrencyLimiter, Pacing, RateBudget
from idsync_core.numbers import json_body

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. The defaults suit a background sync (DG "Retry Policy")."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    """The longest wait one request accepts, in one Retry-After and in all of them together."""
    default_retry_after: float = 5.0

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for retry number ``attempt`` (1-based)."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def body_snippet(response: httpx.Response, limit: int = 160) -> str:
    text = " ".join(response.text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ApiClient:
    """A synchronous, thread-safe httpx client with IDSync's fault handling.

    Subclass it per API and override :meth:`error_message` (how the API words its errors),
    :meth:`classify` (statuses the API uses unusually) and :meth:`on_unauthorized` (refresh a
    token or rediscover a zone once).

    ``service`` names the API in messages; ``credentials_hint`` names the settings to check when
    the API refuses the credentials.
    """

    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        credentials_hint: str,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        budget: RateBudget | None = None,
        concurrency: ConcurrencyLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.credentials_hint = credentials_hint
        self.retry = retry or RetryPolicy()
        self.budget = budget
        self.concurrency = concurrency
        self._sleep = sleep
        self._http = httpx.Client(
            auth=auth,
            headers=dict(headers or {}),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,  # a redirect must not carry our credentials elsewhere
        )

    # -- hooks for subclasses -------------------------------------------------------------

    def error_message(self, response: httpx.Response) -> str:
        """The API's own words for an error response (default: a JSON ``message`` or a snippet)."""
        try:
            data = response.json()
        except ValueError:
            return body_snippet(response)
        if isinstance(data, dict):
            for key in ("message", "error", "detail", "title"):
                if isinstance(data.get(key), str):
                    return str(data[key])
        return body_snippet(response)

    def classify(self, response: httpx.Response) -> type[IdsyncError] | None:
        """Map an error response to an exception class, or None for "transient, retry".

        An ``ApiError`` subclass gets the status; any other ``IdsyncError`` (a
        ``ConfigurationError`` for an API that reports bad credentials as a 500) gets the
        credentials hint.
        """
        status = response.status_code
        if status in (400, 409, 422):
            return RejectedError
        if status in TRANSIENT_STATUSES:
            return None
        return ApiError

    def on_unauthorized(self, response: httpx.Response) -> bool:
        """Called once per request on 401; return True to retry it once (after a refresh).

        The retry re-sends the same per-request ``headers``: a token refreshed here must reach
        the request through the client's ``httpx.Auth`` (or its default headers), not through
        headers the caller passed to :meth:`request`.
        """
        return False

    def endpoint_key(self, method: str, url: str) -> str:
        """Which concurrency slot a request takes (default: its path without ids)."""
        return urlsplit(url).path

    # -- the request loop -----------------------------------------------------------------

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

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
        """Send a request with retries; return the 2xx response or raise a mapped error.

        ``pacer`` paces this request's endpoint on top of the client's budget (an endpoint
        with a throttle of its own). Like the budget it is acquired before every attempt: a
        request sent again after a 429 takes a slot of its own, or it would arrive in a slot
        the pacer gave another request and be the reason that one is throttled in turn.

        ``json`` may hold ``Decimal`` values; one that a JSON number cannot carry exactly is
        refused (:class:`RejectedError`) before anything is sent.
        """
        method = method.upper()
        json = json_body(json)
        safe_to_repeat = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        refreshed = False
        attempt = 0
        throttled_for = 0.0  # seconds this request has waited as Retry-After asked
        while True:
            attempt += 1
            url = self.url(path)  # again each time: a refresh may have moved the base URL
            where = f"{self.service} {method} {urlsplit(url).path}"
            if pacer is not None:
                pacer.acquire()
            response = self._send(method, url, params, json, headers, where, safe_to_repeat,
                                  attempt)
            if response is None:  # a retryable network failure; _send already waited
                continue
            status = response.status_code
            if status < 400:
                return response
            if status == 401 and not refreshed and self.on_unauthorized(response):
                refreshed = True
                attempt -= 1
                continue
            if status in (401, 403):
                raise ConfigurationError(
                    f"{where}: {self.service} refused the credentials (HTTP {status}): "
                    f"{self.error_message(response)}",
                    hint=f"check {self.credentials_hint}",
                )
            if status == 404:
                raise MissingRecordError(
                    f"{where}: not found (HTTP 404): {self.error_message(response)}")
            if status == 429:
                waited, asked = self._wait_for_rate_limit(response, where, attempt,
                                                          throttled_for)
                if asked:  # an API that says how long to wait is obeyed, not counted as a
                    throttled_for += waited  # failed attempt: its budget is the total wait
                    attempt -= 1
                continue
            error = self.classify(response)
            message = f"{where} failed (HTTP {status}): {self.error_message(response)}"
            if error is not None and issubclass(error, ApiError):
                raise error(message, status=status)
            if error is not None:  # e.g. ConfigurationError for an API that says 500 to a bad key
                raise error(message, hint=f"check {self.credentials_hint}")
            if not safe_to_repeat:
                raise OutcomeUnknownError(
                    message + " — the write may or may not have been applied",
                    status=status,
                    hint="IDSync will re-read the PSA before deciding anything",
                )
            if attempt >= self.retry.max_attempts:
                raise ApiError(message + f" after {attempt} attempts", status=status,
                               hint="the API is failing; try again later")
            delay = self.retry.backoff(attempt)
            log.info("%s: HTTP %s, retrying in %.1fs", where, status, delay)
            self._sleep(delay)

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
        where: str,
        safe_to_repeat: bool,
        attempt: int,
    ) -> httpx.Response | None:
        if self.budget is not None:
            self.budget.acquire()
        slot = self.concurrency.slot(self.endpoint_key(method, url)) \
            if self.concurrency is not None else contextlib.nullcontext()
        try:
            with slot:
                started = time.perf_counter()
                response = self._http.request(method, url, params=params, json=json,
                                              headers=headers)
            # --debug: method, path, status and time; never the query, headers or body.
            log.debug("%s → HTTP %d in %.0f ms", where, response.status_code,
                      (time.perf_counter() - started) * 1000)
            return response
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # The request never left this machine: repeating it is safe even for a POST.
            failure = f"{where}: cannot connect ({type(exc).__name__})"
        except httpx.TransportError as exc:
            failure = f"{where}: the connection failed mid-request ({type(exc).__name__})"
            if not safe_to_repeat:
                raise OutcomeUnknownError(
                    failure + " — the write may or may not have been applied",
                    hint="IDSync will re-read the PSA before deciding anything",
                ) from None
        if attempt >= self.retry.max_attempts:
            parts = urlsplit(url)
            raise UnreachableError(
                f"{self.service} at {parts.scheme}://{parts.netloc} is not reachable "
                f"({failure}, {attempt} attempts)",
                hint=f"check the network and the {self.service} base URL; nothing was lost, "
                     "run again once it answers") from None
        delay = self.retry.backoff(attempt)
        log.info("%s, retrying in %.1fs", failure, delay)
        self._sleep(delay)
        return None

    def _wait_for_rate_limit(self, response: httpx.Response, where: str, attempt: int,
                             throttled_for: float) -> tuple[float, bool]:
        """Wait as a 429 asks; return (seconds waited, whether Retry-After said so).

        With ``Retry-After`` the request goes on as long as the waits together stay within
        ``max_retry_after``: a client paced right at an API's limit meets a 429 now and then,
        and giving up after a few of them would leave a line unread for nothing. Without it the
        wait is our own backoff, bounded by ``max_attempts``.
        """
        asked = parse_retry_after(response.headers.get("Retry-After"))
        # Without Retry-After the wait is our own choice, and the messages say so.
        wait = asked if asked is not None else max(self.retry.default_retry_after,
                                                    self.retry.backoff(attempt))
        why = (f"Retry-After asks for {wait:.0f} s" if asked is not None
               else f"no Retry-After; backing off {wait:.0f} s")
        too_long = (throttled_for + wait > self.retry.max_retry_after if asked is not None
                    else attempt >= self.retry.max_attempts)
        if wait > self.retry.max_retry_after or too_long:
            raise RateLimitedError(
                f"{where}: {self.service} is throttling (HTTP 429, {why}, attempt {attempt}"
                + (f", {throttled_for:.0f} s waited already" if throttled_for else "")
                + f"): {self.error_message(response)}",
                status=429,
                hint="nothing was lost; run again later or lower the request rate",
            )
        log.info("%s: throttled, %s", where, why)
        self._sleep(wait)
        return wait, asked is not None

    # -- JSON -------------------------------------------------------------------------------

    def json_of(self, response: httpx.Response) -> Any:
        """The decoded body (numbers with a fraction as ``Decimal``), or a clear error when the
        API sent HTML or garbage instead."""
        where = f"{self.service} {response.request.method} {response.request.url.path}"
        content_type = response.headers.get("content-type", "")
        try:
            # parse_float=Decimal: money in JSON bodies never passes through a binary float.
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            kind = content_type.split(";")[0] or "an unlabelled body"
            raise ApiError(
                f"{where}: expected JSON but got {kind} (HTTP {response.status_code}): "
                f"{body_snippet(response)!r}",
                status=response.status_code,
                hint="a proxy or login page may stand in front of the API; check the base URL",
            ) from None

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None, pacer: Pacing | None = None) -> Any:
        return self.json_of(self.request("GET", path, params=params, headers=headers,
                                         pacer=pacer))

    def close(self) -> None:
        self._http.close()
