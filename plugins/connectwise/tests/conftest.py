"""Shared fixtures of the ConnectWise plugin's tests."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from idsync_core.simulation import RequestLog


def settle(log: RequestLog) -> RequestLog:
    """The log once the server has finished writing it.

    The simulator middleware appends an entry only after the response has been sent, so a
    client can hold its last answer before the entry exists; wait until the log stops growing.
    """
    deadline = time.monotonic() + 2.0
    size = -1
    while time.monotonic() < deadline:
        current = len(log.entries())
        if current == size:
            break
        size = current
        time.sleep(0.03)
    return log


@pytest.fixture
def settled() -> Callable[[RequestLog], RequestLog]:
    return settle
