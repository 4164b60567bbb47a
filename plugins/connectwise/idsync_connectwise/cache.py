"""What one connector instance (one IDSync run) keeps of what it read, so no read is repeated.

The engine asks for an agreement's lines at two dates (today and the next period start) and asks
again after every posting on that agreement, and it asks for each company's agreements one
company at a time. ConnectWise has no "as of" parameter, so every such question is answered from
the same rows; re-reading them would only spend the tenant's request budget.

* :class:`AdditionsCache`: an agreement's additions, read once and kept (the most recently used
  ``size`` agreements, so memory stays flat on large tenants). The poster takes an agreement out
  before it writes to it and puts back what its confirming re-read found, so a plan never sees
  additions older than IDSync's own last write. Nothing else invalidates it: like the engine's
  own memo, it lives for one run (a connector instance), and the poster still re-reads the
  agreement before every write.
* :class:`CompanyIndex`: after the agreements of a second company are asked for, all agreements
  are listed at once (1,000 a page) and every company is answered from that listing, instead of
  one request per company.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

Key = TypeVar("Key")
Value = TypeVar("Value")


class AdditionsCache(Generic[Key, Value]):
    """A thread-safe LRU map loading each key once, even when several threads ask at once."""

    def __init__(self, size: int = 64) -> None:
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
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def forget(self, key: Key) -> None:
        with self._guard:
            self._values.pop(key, None)


class CompanyIndex(Generic[Value]):
    """Per-company lists answered from one listing of every company, from the second company
    asked for on (the first is answered by its own request: one company costs one request)."""

    def __init__(self, list_all: Callable[[], Iterable[tuple[str, Value]]]) -> None:
        self._list_all = list_all
        self._asked: set[str] = set()
        self._index: dict[str, list[Value]] | None = None
        self._lock = threading.Lock()

    def lookup(self, company_id: str) -> list[Value] | None:
        """The company's values from the index, or None: ask the API for this one."""
        with self._lock:  # others wait for the one listing, as they would for their own
            self._asked.add(company_id)
            if self._index is None and len(self._asked) > 1:
                index: dict[str, list[Value]] = {}
                for owner, value in self._list_all():
                    index.setdefault(owner, []).append(value)
                self._index = index
            if self._index is None:
                return None
            return list(self._index.get(company_id, ()))
