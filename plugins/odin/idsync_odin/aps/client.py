"""HTTP client of the APS REST bus: RQL listings with ``Content-Range`` paging, resources.

* ``GET /aps/2/resources?<rql>`` answers a JSON array; a page is asked for with
  ``limit(start,count)`` (the server's default is 1000) and the answer's
  ``Content-Range: items <first>-<last>/<total>`` says where it ends. When the header is
  missing, a page shorter than asked is the last one, and one longer than asked means the
  server ignored ``limit()`` and sent everything;
* ``GET /aps/2/resources/{id}`` one resource; ``GET /aps/2/resources/{id}/resources`` the
  ``SubscriptionResource[]`` of a subscription (``usage``, ``limit``, ``unit``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

import httpx

from idsync_core.errors import ApiError, NotFoundError
from idsync_core.http import ApiClient, paginate
from idsync_core.http.wiring import REAL, Wiring
from idsync_odin.aps import rql
from idsync_odin.aps.auth import ApsToken, OAuth1
from idsync_odin.settings import OdinSettings

SERVICE = "Odin APS REST"
CONTENT_RANGE = re.compile(r"^\s*items\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*$", re.IGNORECASE)


def content_range(header: str | None) -> tuple[int, int | None] | None:
    """(index after the last item sent, total or None) of ``items a-b/N``; None if absent or
    unreadable. ``items */0`` (nothing) gives (0, 0)."""
    match = CONTENT_RANGE.match(header or "")
    if match is None:
        return None
    _, last, total = match.groups()
    return (int(last) + 1 if last is not None else 0,
            int(total) if total != "*" else None)


class ApsClient(ApiClient):
    def __init__(
        self,
        settings: OdinSettings,
        *,
        wiring: Wiring = REAL,
    ) -> None:
        auth: httpx.Auth
        if settings.aps_token is not None:
            auth = ApsToken(settings.aps_token)
            hint = "the connection's aps_token (tokens from pem.APS.getUserToken expire)"
        else:
            assert settings.consumer_key and settings.consumer_secret
            auth = OAuth1(settings.consumer_key, settings.consumer_secret)
            hint = ("the connection's consumer_key and consumer_secret (APS Bus Access of the "
                    "staff member) and the machine's clock (OAuth signatures are timed)")
        self.page_size = settings.page_size
        super().__init__(settings.base_url, service=SERVICE, credentials_hint=hint, auth=auth,
                         headers={"Accept": "application/json"}, timeout=settings.timeout,
                         retry=wiring.retry, transport=wiring.transport, sleep=wiring.sleep)

    def list_all(self, *terms: str) -> Iterator[object]:
        """Every resource the RQL ``terms`` select, page by page."""
        where = f"{SERVICE} GET /aps/2/resources"

        def fetch(start: int | None) -> tuple[Iterable[object], int | None]:
            first = start or 0
            query = rql.query(*terms, rql.limit(first, self.page_size))
            response = self.request("GET", f"/aps/2/resources?{query}")
            rows = self.json_of(response)
            if not isinstance(rows, list):
                raise ApiError(f"{where}: expected a JSON array, got {type(rows).__name__}",
                               hint="check base_url: it must be the APS endpoint's root")
            span = content_range(response.headers.get("Content-Range"))
            if not rows:
                return rows, None
            if span is not None:
                following, total = span
                more = following > first and (total is None or following < total)
                return rows, following if more else None
            return rows, first + len(rows) if len(rows) == self.page_size else None

        return paginate(fetch, what=where)

    def resource(self, aps_id: str, what: str) -> Any:
        try:
            return self.get_json(f"/aps/2/resources/{quote(aps_id, safe='')}")
        except NotFoundError:
            raise NotFoundError(f"the APS {what} {aps_id} does not exist",
                                hint="ids of the aps backend are APS resource ids (UUIDs)"
                                ) from None

    def subscription_resources(self, aps_id: str) -> Any:
        try:
            return self.get_json(f"/aps/2/resources/{quote(aps_id, safe='')}/resources")
        except NotFoundError:
            raise NotFoundError(f"the APS subscription {aps_id} does not exist") from None
