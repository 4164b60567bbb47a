"""The state of the tenant at a glance: what the web console's dashboard shows.

Connection health (the check of ``idsync check``), the last runs with their counts (each run
that posts writes one ``run.ORIGIN`` audit entry: :func:`sync.sync_all`), the postings that
failed and those whose outcome is still awaited, and who holds the ``sync`` lock if a run is
active. Everything but the connection check comes from the store alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from idsync_core.engine.runtime import ConnectionCheck, Runtime
from idsync_core.journal import OPEN, JournalStatus

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.store import JournalEntry, RunLock

RUN_ORIGINS = ("sync", "apply", "retry", "approve")


@dataclass(frozen=True)
class RunRecord:
    at: datetime
    origin: str
    actor: str
    counts: dict[str, Any]


@dataclass
class Overview:
    connections: list[ConnectionCheck]
    runs: list[RunRecord]
    failures: list[JournalEntry]
    waiting: list[JournalEntry]
    lock: RunLock | None


def last_runs(runtime: Runtime, limit: int = 10) -> list[RunRecord]:
    entries = runtime.store.audit_entries(limit, actions=[f"run.{o}" for o in RUN_ORIGINS])
    return [RunRecord(entry.at, entry.action.removeprefix("run."), entry.actor,
                      json.loads(entry.details)) for entry in entries]


def overview(runtime: Runtime, *, check: bool = True) -> Overview:
    """``check``: also reach every connection (the only part that leaves the store)."""
    store = runtime.store
    return Overview(
        connections=runtime.check_connections() if check else [],
        runs=last_runs(runtime),
        failures=list(store.journal_entries([JournalStatus.FAILED], limit=50)),
        waiting=list(store.journal_entries(OPEN, limit=50)),
        lock=store.lock_holder("sync"))
