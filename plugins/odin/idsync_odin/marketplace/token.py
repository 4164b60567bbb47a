"""The marketplace bearer token: issued by ``POST {base}/token``, cached, refreshed early.

``POST /token`` takes Basic auth (the API user), the ``X-Subscription-Key`` header and
``{"marketplace": "<code>"}``, and answers ``{"token": "<JWT>", "expiresInSeconds": 1500}``.
Every other call sends ``Authorization: Bearer <token>`` (added by :class:`BearerToken`, an
``httpx.Auth``, so a retried request always carries the token current at that moment).

The token is refreshed a margin before it expires (a tenth of its lifetime, at most 60 s, so
a call that starts just before the deadline still lands in time) and once more when the API
answers 401 anyway (a token revoked early).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx

from idsync_core.errors import ApiError
from idsync_core.http import ApiClient

DEFAULT_LIFETIME = 1500.0
"""25 minutes: what the API documents, used when an answer omits ``expiresInSeconds``."""


@dataclass(frozen=True)
class IssuedToken:
    value: str
    lifetime: float

    def __repr__(self) -> str:
        return f"IssuedToken(value=<hidden>, lifetime={self.lifetime})"


def refresh_margin(lifetime: float) -> float:
    return min(60.0, lifetime / 10)


class TokenIssuer:
    """Asks ``POST /token`` for a new token through an :class:`ApiClient` of its own (Basic
    auth instead of the bearer), so the request gets the core's retries and error mapping:
    refused credentials become a ``ConfigurationError`` naming the settings to check."""

    def __init__(self, client: ApiClient, marketplace: str) -> None:
        self._client = client
        self._marketplace = marketplace

    def issue(self) -> IssuedToken:
        # Asking for a token changes nothing on the server: safe to repeat after a failure.
        response = self._client.request("POST", "/token", json={"marketplace": self._marketplace},
                                        idempotent=True)
        body = self._client.json_of(response)
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ApiError("Ingram Micro Marketplace API POST /token answered without a token",
                           status=response.status_code,
                           hint="check base_url: it must end with /marketplace/<region>")
        lifetime = body.get("expiresInSeconds")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_LIFETIME
        return IssuedToken(token, float(lifetime))

    def close(self) -> None:
        self._client.close()


class BearerToken(httpx.Auth):
    """Adds the current bearer token to each request, issuing a new one when needed.

    Thread-safe: concurrent requests share one token and one refresh.
    """

    def __init__(self, issuer: TokenIssuer, *, clock: Callable[[], float] = time.monotonic):
        self._issuer = issuer
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self.issued = 0

    def current(self) -> str:
        with self._lock:
            now = self._clock()
            if self._token is None or now >= self._refresh_at:
                issued = self._issuer.issue()
                self._token = issued.value
                self._refresh_at = now + issued.lifetime - refresh_margin(issued.lifetime)
                self.issued += 1
            return self._token

    def invalidate(self, refused_header: str | None) -> None:
        """Forget the token the API refused, unless another thread already replaced it."""
        with self._lock:
            if self._token is not None and refused_header == f"Bearer {self._token}":
                self._token = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.current()}"
        yield request
