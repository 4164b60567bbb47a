"""The request log every simulator keeps, so tests can assert what a client actually sent."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LoggedRequest:
    """One request. ``outcome`` is ``answered`` (``status`` is what the client got) or
    ``reset`` (the connection was dropped before the answer ended; ``status`` is 0)."""

    method: str
    path: str
    query: str
    body: str
    status: int
    at: float
    outcome: str = "answered"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """A thread-safe, append-only list of the requests a simulator answered."""

    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []
        self._lock = threading.Lock()

    def append(self, method: str, path: str, query: str, body: str, status: int, *,
               outcome: str = "answered") -> None:
        with self._lock:
            self._entries.append(LoggedRequest(method, path, query, body, status, time.time(),
                                               outcome))

    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def count(self, method: str | None = None, path_contains: str = "",
              status: int | None = None) -> int:
        return sum(
            1
            for e in self.entries()
            if (method is None or e.method == method)
            and path_contains in e.path
            and (status is None or e.status == status)
        )
