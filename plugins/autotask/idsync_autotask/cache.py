"""What one connector instance (one IDSync run) keeps of what it read, so no read is repeated.

The engine asks for a contract's lines at two dates (today and the next period start) and again
after every posting on that contract, and it asks for each company's contracts one company at a
time. Autotask counts every request against the tenant's hourly threshold (shared by all its
integrations, and slowed down past half of it), so each of these is read once:

* :class:`OnceLru`: a contract's services, and all its ContractServiceUnits rows, each read once
  and kept (the most recently used ``size`` contracts (64), so memory stays flat on large tenants);
  the quantity as of any date is computed from those rows. The poster takes a contract's units
  out before it writes to it and puts back what its confirming re-read found, so a plan never
  sees units older than IDSync's own last write. Nothing else invalidates it: like the
  engine's own memo, it lives for one run (a connector instance), and the poster still re-reads
  the units before every write.
* :class:`CompanyIndex`: after the contracts of a second company are asked for, every recurring
  service contract is listed at once (500 a page) and every company is answered from that
  listing, instead of one query per company.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

Key = TypeVar("Key")
Value = TypeVar("Value")


class OnceLru(Generic[Key, Value]):
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

    def peek(self, key: Key) -> Value | None:
        with self._guard:
            return self._values.get(key)

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
