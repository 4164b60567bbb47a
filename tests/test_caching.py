"""The connectors' shared read-once caches."""

from __future__ import annotations

import threading
import time

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
