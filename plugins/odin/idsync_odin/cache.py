"""A per-key, load-once cache for one connector instance.

Ingram's subscription detail endpoint throttles, and the engine may ask for one subscription's
resources from several threads (links share subscriptions). Each key is loaded at most once
per connector instance; concurrent askers wait for the first load instead of sending their own.
A failed load is not cached, so a later call tries again. A new connector instance (the next
run) starts empty, so it sees what the provider says now. The most recently used ``size`` keys
are kept, so memory stays flat on large tenants (the engine asks for each subscription once per
run and keeps what it needs itself).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

Key = TypeVar("Key")
Value = TypeVar("Value")


class OnceCache(Generic[Key, Value]):
    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._values: OrderedDict[Key, Value] = OrderedDict()
        self._locks: dict[Key, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: Key, load: Callable[[], Value]) -> Value:
        with self._guard:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._values:
                    return self._values[key]
            value = load()
            with self._guard:
                self._values[key] = value
                self._locks.pop(key, None)
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
            return value
