"""The runtime opens each connection once, whichever of a run's threads asks first."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

import idsync_core.plugins
from idsync_core.engine.runtime import Runtime
from idsync_core.settings import IdsyncSettings


class Connection:
    closed = False

    def __init__(self) -> None:
        self.dry_run = SimpleNamespace(enabled=False)  # the runtime arms it in dry runs

    def close(self) -> None:
        self.closed = True


def test_threads_asking_for_the_psa_at_once_share_one_connection(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Python 3.12 dropped the lock of ``functools.cached_property``: without a lock of the
    runtime's own, every thread that arrives while the first one is still opening the
    connection would open another. The first opening waits (a bounded while) for a second
    one to start; with the lock none can, and the threads behind it get the first's."""
    opened: list[Connection] = []
    second = threading.Event()

    def open_connection(*_: Any) -> Connection:
        opened.append(Connection())
        if len(opened) == 1:
            second.wait(timeout=1.0)
        else:
            second.set()
        return opened[-1]

    monkeypatch.setattr(idsync_core.plugins, "open_connection", open_connection)
    monkeypatch.setattr(idsync_core.plugins, "PsaConnection", Connection)
    runtime = Runtime(IdsyncSettings(psa={"plugin": "any"}))
    monkeypatch.setattr(Runtime, "plugins", {})
    start = threading.Barrier(6)
    got: list[object] = []

    def ask() -> None:
        start.wait()
        got.append(runtime.psa)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) == 1 and got == opened * 6
    runtime.close_connections()
    assert opened[0].closed
    assert runtime.psa is not opened[0]  # the next use opens a fresh one
