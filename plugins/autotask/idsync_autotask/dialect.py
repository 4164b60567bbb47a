"""How Autotask words errors and throttling, translated for :class:`idsync_core.http.ApiClient`.

Autotask answers most business and validation failures with HTTP 500 and ``{"errors": [...]}``
(not 400), "not found" with ``200 {"item": null}``, a wrong method with ``{"Message": ...}``, and
throttles in two ways: the per-endpoint thread limit ("Thread Threshold Exceeded", which may arrive
with a non-429 status) and the hourly request threshold of the tenant.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

import httpx

from idsync_core.errors import IdsyncError, RejectedError
from idsync_core.http import ApiClient, RetryPolicy

AUTOTASK_RETRY = RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=60.0,
                             max_retry_after=120.0, default_retry_after=5.0)
"""Backoff from 1 s, capped at 60 s (what field-tested Autotask clients use)."""

THREAD_THRESHOLD = re.compile(r"thread\s*threshold", re.IGNORECASE)
UNEXPECTED = re.compile(r"unexpected error", re.IGNORECASE)

HOURLY_RETRY_AFTER = "3600"
"""What a throttled request is told to wait when Autotask gives no Retry-After: the threshold is
a rolling hour, and retrying into a locked-out tenant only prolongs the lock-out."""


def api_errors(response: httpx.Response) -> list[str]:
    """The ``errors`` array of an Autotask error body (empty when there is none)."""
    try:
        data: Any = response.json()
    except ValueError:
        return []
    if isinstance(data, dict) and isinstance(data.get("errors"), list):
        return [str(e) for e in data["errors"] if e]
    return []


class ThrottleDialect(httpx.BaseTransport):
    """Turns Autotask's throttling answers into plain HTTP 429s the core client understands.

    * a "Thread Threshold Exceeded" answer, whatever its status, becomes a 429 with a short,
      jittered ``Retry-After``: the request was refused before it ran (even a POST), and a slot
      frees as soon as one of our other requests to that endpoint finishes;
    * any other 429 without ``Retry-After`` is the hourly threshold: it gets a ``Retry-After`` of
      an hour, so the core stops at once instead of hammering a locked-out tenant, and
      ``on_hourly_limit`` is told, so other threads stop before sending.
    """

    thread_retry_after: tuple[float, float] = (1.0, 3.0)

    def __init__(self, inner: httpx.BaseTransport,
                 on_hourly_limit: Callable[[], None] | None = None) -> None:
        self.inner = inner
        self.on_hourly_limit = on_hourly_limit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if response.status_code < 400:
            return response
        response.read()
        headers = dict(response.headers)
        headers.pop("content-length", None)
        headers.pop("content-encoding", None)
        if THREAD_THRESHOLD.search(response.text):
            low, high = self.thread_retry_after
            headers.setdefault("retry-after", f"{random.uniform(low, high):.2f}")
            return httpx.Response(429, headers=headers, content=response.content,
                                  request=request)
        if response.status_code == 429 and "retry-after" not in response.headers:
            if self.on_hourly_limit is not None:
                self.on_hourly_limit()
            headers["retry-after"] = HOURLY_RETRY_AFTER
            return httpx.Response(429, headers=headers, content=response.content,
                                  request=request)
        return response

    def close(self) -> None:
        self.inner.close()


class AutotaskHttp(ApiClient):
    """:class:`ApiClient` speaking Autotask's error dialect."""

    def error_message(self, response: httpx.Response) -> str:
        errors = api_errors(response)
        if errors:
            return "; ".join(errors)
        try:
            data: Any = response.json()
        except ValueError:
            return super().error_message(response)
        if isinstance(data, dict) and isinstance(data.get("Message"), str):
            return str(data["Message"])
        return super().error_message(response)

    def classify(self, response: httpx.Response) -> type[IdsyncError] | None:
        """A 500 with ``errors[]`` is Autotask refusing the request (validation, permissions),
        except its "unexpected error … Error ID" answer, which says nothing about whether a
        write happened: that one stays transient (retried when safe, outcome unknown for a
        POST)."""
        errors = api_errors(response)
        if response.status_code == 500 and errors:
            if any(UNEXPECTED.search(e) for e in errors):
                return None
            return RejectedError
        return super().classify(response)
