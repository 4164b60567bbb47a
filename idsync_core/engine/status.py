"""``idsync status``: how the last run went, for a person and for a monitoring check.

The verdict is an exit code a check can use as it is (Nagios-style checks, a systemd
``OnFailure=``, a container health check):

* **0** — the last run was clean and nothing is left open (no failed posting, no unknown
  outcome waiting);
* **7** — the last run left failures or unknown outcomes, stopped early, or could not run at
  all (refused credentials), or the journal still holds failed or waiting postings;
* **3** — no run ever completed, or the last one finished longer ago than ``max_age``: the
  schedule itself is not running.

Only the store is read (no connection is opened), so the check is cheap and works when an API
is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from idsync_core.engine.posting import as_utc
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import ExitCode
from idsync_core.journal import OPEN, JournalStatus

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.store import Run, RunLock


@dataclass
class MonitorStatus:
    last_run: Run | None
    completed_any: bool
    """Some run ever ran (not only runs that could not start)."""
    open_failures: int
    waiting: int
    locks: list[RunLock]
    max_age: timedelta | None
    now: datetime

    @property
    def age(self) -> timedelta | None:
        return None if self.last_run is None else self.now - as_utc(self.last_run.finished_at)

    @property
    def exit_code(self) -> ExitCode:
        return self.verdict()[0]

    def verdict(self) -> tuple[ExitCode, str]:
        """The exit code and what it means, in words."""
        run, age = self.last_run, self.age
        if run is None or not self.completed_any:
            return ExitCode.CONFIGURATION, "no run has completed yet"
        if self.max_age is not None and age is not None and age > self.max_age:
            return ExitCode.CONFIGURATION, (f"the last run finished {describe_age(age)} ago, "
                                            f"longer than --max-age {describe_age(self.max_age)}")
        problems = []
        if run.outcome == "error":
            problems.append(f"the last run could not run: {run.error}")
        elif run.outcome == "stopped":
            problems.append(f"the last run stopped early: {run.error or 'a stop request'}")
        if run.failed:
            problems.append(f"the last run left {run.failed} failed link(s)")
        if run.waiting:
            problems.append(f"the last run left {run.waiting} link(s) waiting")
        if self.open_failures:
            problems.append(f"{self.open_failures} failed posting(s) in the failure log")
        if self.waiting:
            problems.append(f"{self.waiting} posting(s) wait for their outcome")
        if problems:
            return ExitCode.PARTIAL, "; ".join(problems)
        return ExitCode.OK, "the last run was clean"

    def record(self) -> dict[str, Any]:
        code, meaning = self.verdict()
        run = self.last_run
        return {
            "exit_code": int(code), "verdict": meaning,
            "last_run": None if run is None else {
                "command": run.command, "actor": run.actor, "origin": run.origin,
                "started_at": as_utc(run.started_at), "finished_at": as_utc(run.finished_at),
                "age_seconds": int(self.age.total_seconds()) if self.age else 0,
                "outcome": run.outcome, "posted": run.posted, "unchanged": run.unchanged,
                "failed": run.failed, "waiting": run.waiting, "skipped": run.skipped,
                "error": run.error},
            "open_failures": self.open_failures,
            "unknown_outcomes_waiting": self.waiting,
            "locks": [{"name": lock.name, "holder": lock.holder,
                       "since": as_utc(lock.acquired_at),
                       "age_seconds": int((self.now - as_utc(lock.acquired_at)).total_seconds()),
                       "expires_at": as_utc(lock.expires_at)} for lock in self.locks],
        }


def monitor_status(runtime: Runtime, *, max_age: timedelta | None = None,
                   now: datetime | None = None) -> MonitorStatus:
    store = runtime.store
    counts = store.journal_counts()
    return MonitorStatus(
        last_run=store.last_run(), completed_any=store.last_run(completed=True) is not None,
        open_failures=counts[JournalStatus.FAILED],
        waiting=sum(counts[status] for status in OPEN), locks=list(store.locks()),
        max_age=max_age, now=now or datetime.now(UTC))


def describe_age(age: timedelta) -> str:
    """``2h 05m``, ``3d 4h``, ``45s``: an age as people read it."""
    seconds = int(age.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"
