"""What a connector instance keeps of what it read, so one run never repeats a read.

A connector instance lives for one run (the engine opens fresh connections for each), so these
caches never serve data from an earlier run; they only spare the API — and its budget — a second
request for what this run already read.

* :class:`OnceCache` — a thread-safe, size-bounded LRU map that loads each key at most once,
  even when several threads ask at the same moment (the others wait for the first load; a failed
  load is not kept). A poster ``forget``\\ s what it writes to and ``put``\\ s back what its
  confirming re-read found, so a plan never sees rows older than IDSync's own last write. The
  engine's :class:`~idsync_core.engine.reader.Reader` uses one without a bound: what it keeps is
  what the run still plans from, and it forgets that itself.
* :class:`ParentIndex` — children per parent (agreements per company, subscriptions per
  account) answered from one listing of every parent's children, from the second parent asked
  for on; the first is answered by its own request, so a run about one company costs one. Each
  parent's children are handed out once and let go of: the index shrinks as the run goes, and
  the engine keeps what it was given for as long as it plans from it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

Key = TypeVar("Key")
Value = TypeVar("Value")


class OnceCache(Generic[Key, Value]):
    """Load each key once; keep the ``size`` most recently used (memory stays flat), or every
    key when ``size`` is None (the owner forgets what it no longer needs)."""

    def __init__(self, size: int | None = 64) -> None:
        self.size = size
        self._values: OrderedDict[Key, Value] = OrderedDict()
        self._loading: dict[Key, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: Key, load: Callable[[], Value]) -> Value:
        with self._guard:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            lock = self._loading.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._values:
                    return self._values[key]
            value = load()
            self.put(key, value)
            with self._guard:
                self._loading.pop(key, None)
            return value

    def put(self, key: Key, value: Value) -> None:
        with self._guard:
            self._values[key] = value
            self._values.move_to_end(key)
            while self.size is not None and len(self._values) > self.size:
                self._values.popitem(last=False)

    def __contains__(self, key: Key) -> bool:
        with self._guard:
            return key in self._values

    def peek(self, key: Key) -> Value | None:
        """The value kept for ``key``, or None; never loads."""
        with self._guard:
            return self._values.get(key)

    def forget(self, key: Key) -> None:
        with self._guard:
            self._values.pop(key, None)

    def forget_where(self, matches: Callable[[Key], bool]) -> None:
        """Forget every key ``matches`` says yes to (e.g. every date of one agreement)."""
        with self._guard:
            for key in [k for k in self._values if matches(k)]:
                del self._values[key]


class ParentIndex(Generic[Value]):
    """Children per parent from one listing of all of them, from the second parent on.

    ``list_all`` gives ``(parent id, child)`` for every child of every parent, or None when it
    cannot place them all (a row that names no parent): every parent is then asked for on its
    own, for the rest of the run.
    """

    def __init__(self, list_all: Callable[[], Iterable[tuple[str, Value]] | None]) -> None:
        self._list_all = list_all
        self._asked: set[str] = set()
        self._handed_out: set[str] = set()
        self._index: dict[str, list[Value]] | None = None
        self._unplaceable = False
        self._lock = threading.Lock()

    def lookup(self, parent_id: str) -> list[Value] | None:
        """The parent's children from the index, or None: ask the API for this one (also when
        the index already handed them out: what the index read is that old by now)."""
        with self._lock:  # others wait for the one listing, as they would for their own
            self._asked.add(parent_id)
            if self._index is None and not self._unplaceable and len(self._asked) > 1:
                listing = self._list_all()
                if listing is None:
                    self._unplaceable = True
                else:
                    index: dict[str, list[Value]] = {}
                    for owner, value in listing:
                        index.setdefault(owner, []).append(value)
                    self._index = index
            if self._index is None or parent_id in self._handed_out:
                return None
            self._handed_out.add(parent_id)
            return self._index.pop(parent_id, [])
