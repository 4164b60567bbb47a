"""Keeping a tenant under Autotask's hourly request threshold.

Autotask allows 10,000 requests per rolling 60 minutes per tenant, shared by *every* integration
of that tenant; going over suspends API access for all of them. Autotask itself slows requests
down past 50 % and 75 % of the threshold. ``GET /ThresholdInformation`` tells the current count
but counts as a request itself (and is thread-limited), so it is read sparingly: at the start,
then every few hundred requests or minutes (more often once usage is past half). Between
readings the count is estimated as the last reading plus the requests we sent since.

The guard is the client's :class:`~idsync_core.http.RateBudget`, so the core calls
:meth:`ThresholdGuard.acquire` before every request it sends, retries included.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from idsync_core.errors import RateLimitedError
from idsync_core.http import RateBudget

log = logging.getLogger(__name__)

HOURLY_THRESHOLD = 10_000


@dataclass(frozen=True)
class ThresholdReading:
    """``GET /ThresholdInformation``: ``used`` of ``limit`` requests in ``minutes``."""

    limit: int
    used: int
    minutes: int = 60

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.limit if self.limit else 100.0


class ThresholdGuard(RateBudget):
    """Reads the tenant's usage sparingly and stops before the limit."""

    SLOW_DOWN: tuple[tuple[float, float], ...] = ()
    """(usage percent, seconds to wait before each request), highest first. Empty: past 50 %
    and 75 % Autotask itself adds 0.5 s and 1 s to every request, which already paces ours (at
    most 3 in flight per endpoint); waiting as long again on our side only doubled that cost
    (measured: 109 s instead of 93 s for a 10,000-line sync, benchmarks/RESULTS.md) and
    protected nothing the stop at ``threshold_stop_percent`` does not."""

    REFRESH_EVERY: ClassVar[dict[bool, tuple[int, float]]] = {False: (200, 600.0),
                                                              True: (50, 60.0)}
    """Re-read after this many requests or seconds, below / past 50 % usage."""

    def __init__(
        self,
        stop_percent: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        time_scale: float = 1.0,
    ) -> None:
        super().__init__(HOURLY_THRESHOLD, 3600.0 / time_scale, clock=clock, sleep=sleep)
        self.stop_percent = stop_percent
        self.time_scale = time_scale
        """Divides every time constant (a simulator with a scaled clock; 1 for Autotask)."""
        self.read: Callable[[], ThresholdReading] | None = None
        """Set by the client: fetches ``ThresholdInformation`` (through this same guard)."""
        self.reading: ThresholdReading | None = None
        self._read_at = 0.0
        self._sent_since = 0
        self._exhausted = False
        self._state = threading.Lock()
        self._refreshing = threading.Lock()
        self._inside = threading.local()

    def acquire(self) -> None:
        super().acquire()
        if getattr(self._inside, "active", False):
            return  # the ThresholdInformation request itself
        if self._refresh_due():
            self.refresh()
        estimate = self.estimate()
        if estimate is not None and (self._exhausted or estimate.percent >= self.stop_percent):
            raise RateLimitedError(
                f"Autotask API usage for this tenant is at {estimate.used:,} of "
                f"{estimate.limit:,} requests per {estimate.minutes} minutes "
                f"({estimate.percent:.0f}%); IDSync stops at {self.stop_percent:g}% so the "
                "tenant is not locked out (the threshold is shared by every integration)",
                status=429,
                hint="nothing was lost; run again later (the window is a rolling hour), or "
                     "raise threshold_stop_percent in the [psa] table",
            )
        with self._state:
            self._sent_since += 1
        if estimate is None:
            return
        for percent, delay in self.SLOW_DOWN:
            if estimate.percent >= percent:
                self.waited += delay / self.time_scale
                self._sleep(delay / self.time_scale)
                break

    def estimate(self) -> ThresholdReading | None:
        """The last reading plus what we sent since (others' requests are not seen)."""
        with self._state:
            if self.reading is None:
                return None
            return ThresholdReading(self.reading.limit, self.reading.used + self._sent_since,
                                    self.reading.minutes)

    def refresh(self) -> None:
        """Read ``ThresholdInformation`` now, unless another thread already is."""
        if self.read is None or not self._refreshing.acquire(blocking=False):
            return
        self._inside.active = True
        try:
            reading = self.read()
        finally:
            self._inside.active = False
            self._refreshing.release()
        with self._state:
            self.reading = reading
            self._read_at = self._clock()
            self._sent_since = 0
            self._exhausted = False
        log.info("Autotask API usage: %s of %s requests per %s minutes", reading.used,
                 reading.limit, reading.minutes)

    def mark_exhausted(self) -> None:
        """Autotask answered "threshold exceeded": stop every thread until the next reading."""
        with self._state:
            self._exhausted = True

    def _refresh_due(self) -> bool:
        with self._state:
            if self.reading is None:
                return True
            busy = self.reading.percent + 100.0 * self._sent_since / max(1, self.reading.limit)
            count, seconds = self.REFRESH_EVERY[busy >= 50.0]
            return (self._sent_since >= count
                    or self._clock() - self._read_at >= seconds / self.time_scale)
