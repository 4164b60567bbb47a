"""Failed logins: slowed, then locked for a while — per user name and per address.

Counting both keeps a password guesser from trying many passwords on one name (from many
addresses) and many names from one address. The first failures cost nothing (people mistype);
after :data:`FREE` failures each further attempt must wait twice as long as the one before
(1 s, 2 s, 4 s … at most a minute), and after :data:`LOCK_AFTER` failures the key is locked
for :data:`LOCK_SECONDS`. An attempt made too early is refused without checking the
password, so waiting is the only way on. Failures older than :data:`WINDOW` are forgotten; a
successful login forgets its name's and its address's.

In the console's memory: one console process, and a restart forgets (it also ends every
session). The clock is injected, so tests wait for nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

FREE = 3
LOCK_AFTER = 10
LOCK_SECONDS = 15 * 60
WINDOW = 15 * 60
MAX_DELAY = 60.0


@dataclass
class _Failures:
    count: int
    last: float


class LoginThrottle:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._failures: dict[tuple[str, str], _Failures] = {}
        self._lock = threading.Lock()

    def wait(self, keys: Iterable[tuple[str, str]]) -> tuple[float, bool]:
        """(seconds to wait before an attempt is allowed, locked?) — the longest of the keys."""
        now = self.clock()
        longest, locked = 0.0, False
        with self._lock:
            for key in keys:
                failures = self._live(key, now)
                if failures is None or failures.count < FREE:
                    continue
                if failures.count >= LOCK_AFTER:
                    wait, is_lock = failures.last + LOCK_SECONDS - now, True
                else:
                    delay = min(MAX_DELAY, 2.0 ** (failures.count - FREE))
                    wait, is_lock = failures.last + delay - now, False
                if wait > longest:
                    longest, locked = wait, is_lock
        return max(0.0, longest), locked

    def failed(self, keys: Iterable[tuple[str, str]]) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                failures = self._live(key, now)
                self._failures[key] = _Failures((failures.count if failures else 0) + 1, now)

    def succeeded(self, keys: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _live(self, key: tuple[str, str], now: float) -> _Failures | None:
        failures = self._failures.get(key)
        horizon = LOCK_SECONDS if failures and failures.count >= LOCK_AFTER else WINDOW
        if failures is not None and now - failures.last > horizon:
            del self._failures[key]
            return None
        return failures


def keys_for(user: str, address: str) -> list[tuple[str, str]]:
    return [("user", user.strip().casefold()), ("address", address)]
