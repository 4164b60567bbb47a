"""The connectors' shared read-once caches."""

from __future__ import annotations

import threading
import time
from functools import partial

import pytest

from idsync_core.caching import OnceCache, ParentIndex


def test_once_cache_loads_each_key_once_across_threads_and_stays_bounded() -> None:
    loads: list[int] = []

    def load(key: int) -> str:
        time.sleep(0.01)
        loads.append(key)
        return f"v{key}"

    cache: OnceCache[int, str] = OnceCache(size=2)
    threads = [threading.Thread(target=cache.get, args=(1, lambda: load(1))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == [1]
    cache.get(2, lambda: load(2))
    cache.get(3, lambda: load(3))  # evicts 1, the least recently used
    assert cache.get(1, lambda: load(1)) == "v1" and loads == [1, 2, 3, 1]
    cache.forget(1)
    cache.put(1, "written")
    assert cache.get(1, lambda: load(1)) == "written"


def test_a_failed_load_is_not_kept() -> None:
    cache: OnceCache[str, int] = OnceCache()

    def boom() -> int:
        raise RuntimeError("API down")

    with pytest.raises(RuntimeError):
        cache.get("k", boom)
    assert cache.get("k", lambda: 7) == 7


def test_an_unbounded_cache_keeps_every_key_until_its_owner_forgets_it() -> None:
    loads: list[tuple[str, int]] = []

    def load(key: tuple[str, int]) -> str:
        loads.append(key)
        return str(key)

    cache: OnceCache[tuple[str, int], str] = OnceCache(size=None)
    for key in [("lines", day) for day in range(100)] + [("other", 1)]:
        cache.get(key, partial(load, key))
    assert len(loads) == 101 and ("lines", 0) in cache  # nothing evicted
    cache.forget_where(lambda key: key[0] == "lines")
    assert ("lines", 0) not in cache and cache.peek(("lines", 99)) is None
    assert cache.peek(("other", 1)) == "('other', 1)" and len(loads) == 101  # peek never loads


def test_parent_index_lists_everything_once_from_the_second_parent() -> None:
    listings: list[int] = []

    def every_child() -> list[tuple[str, str]]:
        listings.append(1)
        return [("c1", "a1"), ("c2", "a2"), ("c2", "a3")]

    index: ParentIndex[str] = ParentIndex(every_child)
    assert index.lookup("c1") is None  # the first parent: its own request
    assert index.lookup("c2") == ["a2", "a3"]
    assert index.lookup("c9") == [] and listings == [1]
    assert index.lookup("c2") is None  # handed out and let go of: asked again, the API answers
    assert index.lookup("c1") == ["a1"] and listings == [1]  # never handed out from the index


def test_parent_index_whose_listing_cannot_place_every_child_asks_per_parent() -> None:
    listings: list[int] = []

    def unplaceable() -> None:
        listings.append(1)  # e.g. a row that names no parent

    index: ParentIndex[str] = ParentIndex(unplaceable)
    assert index.lookup("c1") is None and index.lookup("c2") is None
    assert index.lookup("c3") is None and listings == [1]  # tried once, not per parent
