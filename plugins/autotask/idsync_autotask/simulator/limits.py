"""Autotask's two request limits, as the simulator enforces them.

* The **hourly threshold**: requests per rolling 60 minutes for the whole database (10,000 by
  default), shared by every integration. Past 50 % and 75 % Autotask adds latency to each
  request; at 100 % it refuses them. ``others`` stands for other integrations' usage, so tests can
  start near the threshold without sending thousands of requests.
* The **thread limit**: at most ``limit`` requests in flight per (integration code, object
  endpoint); one more is refused at once with "Thread Threshold Exceeded".
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class HourlyThreshold:
    limit: int = 10_000
    others: int = 0
    minutes: int = 60
    latency_ms: dict[int, int] = field(default_factory=lambda: {50: 500, 75: 1000})
    """Usage percent → milliseconds added to each request from that percent on."""
    clock: Callable[[], float] = time.monotonic
    _sent: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def used(self) -> int:
        with self._lock:
            self._expire()
            return self.others + len(self._sent)

    def record(self) -> bool:
        """Count one request; False (and not counted) when the threshold is exhausted."""
        with self._lock:
            self._expire()
            if self.others + len(self._sent) >= self.limit:
                return False
            self._sent.append(self.clock())
            return True

    def delay(self) -> float:
        """Seconds of added latency at the current usage."""
        percent = 100.0 * self.used() / self.limit if self.limit else 100.0
        reached = [ms for tier, ms in self.latency_ms.items() if percent >= tier]
        return max(reached, default=0) / 1000

    def reset(self) -> None:
        with self._lock:
            self._sent.clear()

    def _expire(self) -> None:
        now = self.clock()
        while self._sent and now - self._sent[0] >= self.minutes * 60:
            self._sent.popleft()


@dataclass
class ThreadLimits:
    limit: int = 3
    status: int = 429
    """The status of a thread-limit refusal (Autotask's is UNCONFIRMED; clients must cope with a
    non-429 one, so tests can switch it to 500)."""
    _in_flight: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    refused: int = 0

    def enter(self, key: tuple[str, str]) -> bool:
        with self._lock:
            if self._in_flight[key] >= self.limit:
                self.refused += 1
                return False
            self._in_flight[key] += 1
            return True

    def leave(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._in_flight[key] -= 1
