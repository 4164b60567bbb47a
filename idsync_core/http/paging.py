"""Paging helpers: follow every page, detect loops, and never send credentials elsewhere."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

from idsync_core.errors import ApiError

Item = TypeVar("Item")
Token = TypeVar("Token", bound=Hashable)


def paginate(
    fetch: Callable[[Token | None], tuple[Iterable[Item], Token | None]],
    *,
    what: str,
    max_pages: int = 100_000,
) -> Iterator[Item]:
    """Yield the items of every page. ``fetch(token)`` returns a page and the next token
    (None on the last page; the first call gets None).

    A token seen twice means the API (or our paging) is looping: that is an error, not an
    endless run. ``what`` names the listing in that message.
    """
    token: Token | None = None
    seen: set[Token] = set()
    for _ in range(max_pages):
        items, token = fetch(token)
        yield from items
        if token is None:
            return
        if token in seen:
            raise ApiError(f"paging {what} looped back to an earlier page; stopping")
        seen.add(token)
    raise ApiError(f"paging {what} went past {max_pages} pages; stopping")


def next_link(response: httpx.Response) -> str | None:
    """The ``rel="next"`` URL of an RFC 8288 ``Link`` header, if any (an empty header: None)."""
    url = response.links.get("next", {}).get("url")
    return url or None


def ensure_same_origin(url: str, base_url: str, *, what: str) -> str:
    """Refuse a server-supplied URL (a next-page link) that points at another host.

    Credentials travel with every request, so following a link to a foreign origin would hand
    them to that host.
    """
    got, want = urlsplit(url), urlsplit(base_url)
    if (got.scheme, got.hostname, got.port) != (want.scheme, want.hostname, want.port):
        raise ApiError(
            f"{what} points at {got.scheme}://{got.netloc.rpartition('@')[2]}, "
            f"not the configured {want.scheme}://{want.netloc}; refusing to send credentials there"
        )
    return url
