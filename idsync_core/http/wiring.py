"""What a connector's HTTP clients are wired to: the network, a retry policy, and time.

The defaults are the real ones, so the engine never passes anything. Tests pass another
transport (a mock, or a simulator in process), a quicker retry policy, and a ``sleep`` and
``clock`` they control, so Retry-After waits, rate windows and token lifetimes pass without
waiting for them. One value threads through a connector's layers (connector, backend, client,
token, pacer) instead of four keyword arguments through each constructor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from idsync_core.http.client import RetryPolicy


@dataclass(frozen=True)
class Wiring:
    transport: httpx.BaseTransport | None = None
    """None: httpx's own (the network)."""
    retry: RetryPolicy | None = None
    """None: the client's default policy."""
    sleep: Callable[[float], None] = time.sleep
    """How the client waits (backoff, Retry-After, rate windows)."""
    clock: Callable[[], float] = time.monotonic
    """What the client measures waits and lifetimes with (seconds, monotonic)."""


REAL = Wiring()
"""The network and real time: what every connector uses outside tests."""
