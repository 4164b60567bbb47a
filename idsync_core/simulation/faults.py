"""Injectable faults: scripted ones for exact test scenarios, random ones for storms."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["status", "html", "reset", "delay", "hold"]


@dataclass
class Fault:
    """Answer the next ``times`` matching requests with this fault instead of the real answer.

    ``kind``: ``status`` (``status`` with a JSON ``body``), ``html`` (an HTML page, as a
    proxy in front of the API sends), ``reset`` (drop the connection without an answer),
    ``delay`` (wait ``delay_ms`` then answer normally), ``hold`` (keep the request — its body
    already read — until :meth:`FaultPlan.release_holds`, or at most ``delay_ms`` when set, then
    process it: a write the client gave up on lands when the test says so, not when a timer
    guesses). ``after_handler=True`` applies the fault
    *after* the request was processed (the write happened, the answer is lost), which is how a
    crash between a POST and its reply looks to the client.
    """

    kind: FaultKind = "status"
    status: int = 500
    times: int = 1
    method: str | None = None
    path_contains: str = ""
    retry_after: float | None = None
    body: str | None = None
    delay_ms: int = 0
    after_handler: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path_contains in path
        )


@dataclass
class FaultPlan:
    """Scripted faults (consumed in order) plus a random fault rate with a seeded generator."""

    scripted: list[Fault] = field(default_factory=list)
    fault_rate: float = 0.0
    random_statuses: tuple[int, ...] = (429, 500, 503)
    seed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _gate: threading.Event = field(default_factory=threading.Event, repr=False)
    held: int = 0
    """Requests a ``hold`` fault is keeping right now."""

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    def hold(self, fault: Fault) -> None:
        """Block (in a worker thread) until the holds are released or ``delay_ms`` passed."""
        with self._lock:
            gate = self._gate
            self.held += 1
        try:
            gate.wait(fault.delay_ms / 1000 if fault.delay_ms else None)
        finally:
            with self._lock:
                self.held -= 1

    def release_holds(self) -> None:
        """Let every held request go on; later holds wait for the next release."""
        with self._lock:
            self._gate.set()
            self._gate = threading.Event()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self.scripted.append(fault)

    def clear(self) -> None:
        with self._lock:
            self.scripted.clear()
            self.fault_rate = 0.0

    def take(self, method: str, path: str, *, after_handler: bool) -> Fault | None:
        """The fault to apply to this request now, if any (scripted first, then random)."""
        with self._lock:
            for fault in self.scripted:
                if fault.after_handler == after_handler and fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.scripted.remove(fault)
                    return fault
            if not after_handler and self.fault_rate and self._rng.random() < self.fault_rate:
                status = self._rng.choice(self.random_statuses)
                return Fault(status=status, retry_after=1 if status == 429 else None)
        return None
