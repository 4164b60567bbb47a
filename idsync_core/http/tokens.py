"""A bearer token kept current: issued on first use, refreshed before it expires, renewed once
when the API refuses it anyway.

Most token-based APIs work the same way from the client's side, whatever the grant: ask a token
endpoint for a token and its lifetime, send ``Authorization: Bearer <token>`` until shortly
before the lifetime is over, and get a new one when a call is answered 401 (a token revoked or
expired early). :class:`BearerToken` does exactly that for any ``issue`` function; the OAuth 2.0
client-credentials grant is one such function (:class:`idsync_core.http.oauth2.ClientCredentials`),
a vendor's own token endpoint another.

Hook it into an :class:`~idsync_core.http.ApiClient` as its ``auth`` (so a retried request
carries the token current at that moment) and answer the client's 401 hook with
:meth:`BearerToken.renew_after`::

    class VendorClient(ApiClient):
        def __init__(self, settings, *, clock=time.monotonic, **kwargs):
            self.bearer = BearerToken(ClientCredentials(...).issue, clock=clock)
            super().__init__(settings.base_url, auth=self.bearer, ..., **kwargs)

        def on_unauthorized(self, response):
            return self.bearer.renew_after(response)   # one renewal, then the request again
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx


@dataclass(frozen=True, repr=False)
class IssuedToken:
    """A token and how many seconds it is valid from now. Its ``repr`` hides the value, so a
    token never reaches a log line or a traceback by way of a variable dump."""

    value: str
    lifetime: float

    def __repr__(self) -> str:
        return f"IssuedToken(value=<hidden>, lifetime={self.lifetime})"


def refresh_margin(lifetime: float) -> float:
    """How long before the end of its lifetime a token is replaced: a tenth of the lifetime, at
    most a minute, so a call that starts just before the deadline still lands in time (and a
    25-minute token is not thrown away after 22)."""
    return min(60.0, lifetime / 10)


class BearerToken(httpx.Auth):
    """Adds ``Authorization: Bearer <token>`` to each request, issuing a token when there is
    none or the current one is about to expire.

    ``issue()`` asks the API for a new token; ``clock`` is a monotonic clock in seconds (tests
    pass a fake one to expire tokens without waiting). Thread-safe: concurrent requests share
    one token, and one thread issues while the others wait for it.
    """

    def __init__(self, issue: Callable[[], IssuedToken], *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._issue = issue
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self.issued = 0
        """How many tokens were issued (tests and ``check`` lines count them)."""

    def current(self) -> str:
        """The token to send now, issued first when needed."""
        with self._lock:
            now = self._clock()
            if self._token is None or now >= self._refresh_at:
                issued = self._issue()
                self._token = issued.value
                self._refresh_at = now + issued.lifetime - refresh_margin(issued.lifetime)
                self.issued += 1
            return self._token

    def invalidate(self, refused_header: str | None) -> None:
        """Forget the token the API refused (the ``Authorization`` header it was sent in),
        unless another thread already replaced it: that one is fresh and stays."""
        with self._lock:
            if self._token is not None and refused_header == f"Bearer {self._token}":
                self._token = None

    def renew_after(self, response: httpx.Response) -> bool:
        """For :meth:`ApiClient.on_unauthorized`: drop the refused token and ask for the request
        to be sent again, which issues a new one. The client does this once per request, so
        credentials the token endpoint accepts but the API refuses end as a configuration
        error instead of a loop."""
        self.invalidate(response.request.headers.get("Authorization"))
        return True

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.current()}"
        yield request
