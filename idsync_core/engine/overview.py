"""The state of the tenant at a glance: what the web console's dashboard shows.

Connection health (the check of ``idsync check``), the last runs with their counts (the runs
:func:`runs.recorded` keeps, as ``idsync status`` reads them), the postings that failed and
those whose outcome is still awaited, and who holds the ``sync`` lock if a run is active.
Everything but the connection check comes from the store alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from idsync_core.engine.runtime import ConnectionCheck, Runtime
from idsync_core.journal import OPEN, JournalStatus

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.store import JournalEntry, RunLock

@dataclass(frozen=True)
class RunRecord:
    at: datetime
    origin: str
    """The command (``sync``, ``apply``, ``retry``, ``approve``, ``link``)."""
    actor: str
    """Who ran it: the console's user (``web:NAME``), else the OS user."""
    counts: dict[str, Any]


@dataclass
class Overview:
    connections: list[ConnectionCheck]
    runs: list[RunRecord]
    failures: list[JournalEntry]
    waiting: list[JournalEntry]
    lock: RunLock | None


def last_runs(runtime: Runtime, limit: int = 10) -> list[RunRecord]:
    return [RunRecord(run.finished_at, run.command,
                      run.origin if run.origin.startswith("web:") else run.actor,
                      {"posted": run.posted, "unchanged": run.unchanged, "failed": run.failed,
                       "waiting": run.waiting, "skipped": run.skipped, "outcome": run.outcome})
            for run in runtime.store.recent_runs(limit)]


def overview(runtime: Runtime, *, check: bool = True) -> Overview:
    """``check``: also reach every connection (the only part that leaves the store)."""
    store = runtime.store
    return Overview(
        connections=runtime.check_connections() if check else [],
        runs=last_runs(runtime),
        failures=list(store.journal_entries([JournalStatus.FAILED], limit=50)),
        waiting=list(store.journal_entries(OPEN, limit=50)),
        lock=store.lock_holder("sync"))
