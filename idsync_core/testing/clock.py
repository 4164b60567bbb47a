"""The time the suite gives the connector it builds: sleeping moves it forward, nothing waits.

A connector that accepts ``sleep=`` and ``clock=`` (passed on to its
:class:`~idsync_core.http.ApiClient`, budgets and tokens) gets a :class:`SuiteClock`'s; one whose
constructor has another shape gets it through ``SuiteConfig.connector``. Then a ``Retry-After:
17`` costs no real second, the suite can see what the connector waited (``slept``), and it can
move the clock past a token's lifetime (``advance``) to check that the token is replaced.
"""

from __future__ import annotations

import threading


class SuiteClock:
    """A monotonic clock in seconds whose :meth:`sleep` returns at once and advances it.

    Thread-safe: a connector may sleep from several threads; each sleep is recorded.
    """

    def __init__(self, start: float = 1_000_000.0) -> None:
        self._now = start
        self._slept: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._slept.append(seconds)
            self._now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        """Let time pass without the connector sleeping (a token's lifetime running out)."""
        with self._lock:
            self._now += seconds

    @property
    def slept(self) -> list[float]:
        """Every sleep so far, in order."""
        with self._lock:
            return list(self._slept)
