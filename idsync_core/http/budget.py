"""Client-side limits that keep IDSync under each API's published budget.

Waiting here is cheaper than being throttled (or, for Autotask, locked out) by the server.
Both classes are thread-safe: the engine processes links concurrently in a thread pool.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class Pacing(Protocol):
    """Anything that blocks until one more request may be sent (:class:`RateBudget`, or a
    connector's pacer for one endpoint)."""

    def acquire(self) -> None: ...


class RateBudget:
    """At most ``limit`` requests in any sliding window of ``window`` seconds.

    ConnectWise publishes ~1,000 requests/minute, Autotask 10,000/hour per tenant; a connector
    sets its budget a little under that. The log holds at most ``limit`` timestamps.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate budget needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> None:
        """Block until one more request fits in the window, then count it."""
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.window:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                wait = self.window - (now - self._sent[0])
            self.waited += wait
            self._sleep(wait)

    def used(self) -> int:
        with self._lock:
            now = self._clock()
            return sum(1 for t in self._sent if now - t < self.window)


class ConcurrencyLimiter:
    """At most ``limit`` requests in flight per key (Autotask: 3 per entity endpoint)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a concurrency limit must be >= 1")
        self.limit = limit
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        with self._lock:
            semaphore = self._semaphores.setdefault(key, threading.BoundedSemaphore(self.limit))
        with semaphore:
            yield
