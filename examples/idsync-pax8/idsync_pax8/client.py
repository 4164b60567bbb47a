"""HTTP client of the Pax8 partner API: a bearer token, page/size paging, Pax8's error bodies.

Wire facts (see README.md, "API facts", for sources and what is UNCONFIRMED):

* tokens come from the OAuth 2.0 client-credentials grant (a JSON body with ``client_id``,
  ``client_secret``, ``audience`` and ``grant_type``), live 86,400 s, and go out as
  ``Authorization: Bearer``: the core's :class:`~idsync_core.http.ClientCredentials` and
  :class:`~idsync_core.http.BearerToken` do all of it, including one renewal on a 401;
* lists take ``page`` (from 0) and ``size`` (at most 200) and answer
  ``{"content": [...], "page": {"size", "totalElements", "totalPages", "number"}}``;
* errors are ``{"type", "message", "instance", "status", "details": [{"message"}...]}``;
* a 429 carries no ``Retry-After``: the core client backs off on its own (5 s, then more),
  which its messages say.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx

from idsync_core.errors import ApiError
from idsync_core.http import ApiClient, BearerToken, ClientCredentials, paginate
from idsync_core.http.wiring import REAL, Wiring
from idsync_pax8.settings import Pax8Settings

SERVICE = "Pax8 API"
CREDENTIALS_HINT = "the connection's client_id and client_secret (a Pax8 developer application)"


class Pax8Client(ApiClient):
    """One Pax8 partner. Thread-safe; built without I/O, the token is fetched on first use.

    ``wiring`` is for tests: another transport, a retry policy, what waits after a 429 and
    what times the token (:class:`idsync_core.http.wiring.Wiring`).
    """

    def __init__(self, settings: Pax8Settings, *, wiring: Wiring = REAL) -> None:
        self.grant = ClientCredentials(
            settings.token_url, client_id=settings.client_id,
            client_secret=settings.client_secret, audience=settings.audience, body="json",
            service=SERVICE, credentials_hint=CREDENTIALS_HINT, default_lifetime=86400.0,
            timeout=settings.timeout, wiring=wiring)
        self.bearer = BearerToken(self.grant.issue, clock=wiring.clock)
        self.page_size = settings.page_size
        super().__init__(settings.base_url, service=SERVICE, credentials_hint=CREDENTIALS_HINT,
                         auth=self.bearer, headers={"Accept": "application/json"},
                         timeout=settings.timeout, retry=wiring.retry,
                         transport=wiring.transport, sleep=wiring.sleep)

    def on_unauthorized(self, response: httpx.Response) -> bool:
        """A token that worked was refused (expired or revoked early): one new token, then
        the request again."""
        return self.bearer.renew_after(response)

    def error_message(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return super().error_message(response)
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            details = [d["message"] for d in body.get("details") or []
                       if isinstance(d, dict) and isinstance(d.get("message"), str)]
            return "; ".join([body["message"], *details])
        return super().error_message(response)

    def rows(self, path: str, params: Mapping[str, str] | None = None) -> Iterator[Any]:
        """Every row of a paged list, page 0 first, until ``page.totalPages`` is reached (or,
        without a ``page`` block, until a page comes back short)."""
        where = f"{SERVICE} GET {path}"

        def fetch(number: int | None) -> tuple[Iterable[Any], int | None]:
            current = number or 0
            body = self.get_json(path, params={**(params or {}), "page": current,
                                               "size": self.page_size})
            if not isinstance(body, dict) or not isinstance(body.get("content"), list):
                raise ApiError(f"{where}: expected a {{content, page}} object, got "
                               f"{type(body).__name__}", hint="check base_url")
            content: list[Any] = body["content"]
            if not content:
                return content, None
            pages = (body.get("page") or {}).get("totalPages")
            if isinstance(pages, int) and not isinstance(pages, bool):
                return content, current + 1 if current + 1 < pages else None
            return content, current + 1 if len(content) >= self.page_size else None

        return paginate(fetch, what=where)

    def close(self) -> None:
        super().close()
        self.grant.close()
