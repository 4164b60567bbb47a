"""What a finished run tells the people who did not watch it: the record ``idsync status``
reads, and the one notification it sends.

A run (``sync``, ``retry``, ``apply``, ``link --accept``) ends with a :class:`RunReport` made
from its summary's counts and the outcomes it kept (those not unchanged: a run does not keep
every link's outcome) — or from the error that stopped it before it ran (refused credentials,
a bad setting: the "re-authentication needed and nobody told" case). :func:`finish_run` stores
it and hands it to :mod:`notify`; neither can change what the run did or its exit code: a
store or a notification target that fails is logged, and the run's own result stands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from idsync_core.engine.posting import waiting_note
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import IdsyncError
from idsync_core.journal import OPEN, JournalStatus

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.engine.onboarding.bulk import BulkResult
    from idsync_core.engine.sync import LinkOutcome, SyncSummary

log = logging.getLogger(__name__)

COUNTED = ("posted", "unchanged", "failed", "waiting", "skipped")


@dataclass(frozen=True)
class LinkNote:
    """One link a person should read about: whose, which product, and what happened."""

    customer: str
    product: str
    resource_id: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"customer": self.customer, "product": self.product,
                "resource_id": self.resource_id, "message": self.message}


@dataclass
class RunReport:
    command: str
    """sync | retry | apply | link (``link --accept``)."""
    started_at: datetime
    finished_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    failures: list[LinkNote] = field(default_factory=list)
    """Links that failed: a posting refused (the PSA's message), or reads that failed."""
    waiting: list[LinkNote] = field(default_factory=list)
    """Links waiting for the outcome of an earlier posting (nothing posted for them)."""
    skipped: list[LinkNote] = field(default_factory=list)
    """Links that could not be synced: their provider or PSA object disappeared, and the like."""
    drift: list[LinkNote] = field(default_factory=list)
    """Lines changed in the PSA by hand since IDSync last left them."""
    revenue_found: list[dict[str, Any]] = field(default_factory=list)
    """Seat resources on linked subscriptions that are not linked (filled only when asked)."""
    stopped: bool = False
    error: str | None = None
    """Why the run stopped early (an API unreachable) or could not run at all."""
    ran: bool = True
    """False when the run could not start (the error says why)."""

    @property
    def outcome(self) -> str:
        """clean | failures | stopped | error (see :class:`idsync_core.store.Run`)."""
        if not self.ran:
            return "error"
        if self.error is not None or self.stopped:
            return "stopped"
        if self.counts["failed"] or self.counts["waiting"]:
            return "failures"
        return "clean"

    def events(self) -> set[str]:
        """What happened, in the words of ``[notify] on``."""
        found = {"summary"}
        if self.outcome in ("error", "stopped") or self.counts["failed"]:
            found.add("failure")
        if self.counts["waiting"]:
            found.add("unknown")
        if self.drift:
            found.add("drift")
        if self.revenue_found:
            found.add("revenue_found")
        return found


def note_of(outcome: LinkOutcome, message: str) -> LinkNote:
    """"Contoso Ltd (account A-100, PSA company 250)", "Exchange Online (Plan 1) (catalog item
    812 on agreement 871)": names a person knows, with the ids to look them up."""
    plan = outcome.plan
    link, company = plan.link, plan.company_link
    customer = (f"{company.account_name or company.account_id} (account {company.account_id}, "
                f"PSA company {company.psa_company_id})")
    billed_as = "" if link.catalog_item_name in ("", link.resource_name) else \
        f"{link.catalog_item_name}, "
    product = (f"{link.resource_name or link.resource_id} ({billed_as}catalog item "
               f"{link.catalog_item_id} on agreement {link.agreement_id})")
    return LinkNote(customer=customer, product=product, resource_id=link.resource_id,
                    message=message)


def failure_message(outcome: LinkOutcome) -> str:
    """Why a failed link failed: the PSA's own message for a posting it refused."""
    if outcome.plan.read_failed or outcome.plan.problem:
        return outcome.plan.problem or "its reads failed"
    for posting in outcome.postings:
        if posting.status not in (JournalStatus.POSTED, *OPEN):
            return posting.error or str(posting.status)
    return "not brought equal"


def drifted(outcome: LinkOutcome) -> str | None:
    """"IDSync left 8, the PSA shows 10" when the line was changed by hand, else None."""
    plan = outcome.plan
    left, now = plan.link.last_quantity, plan.actual_next
    if left is None or now is None or left == now:
        return None
    return f"IDSync left the line at {left}, the PSA showed {now}"


def report_of_run(command: str, started_at: datetime, summary: SyncSummary) -> RunReport:
    """The report of a run that ran (to its end, or stopped by a signal or a dead API)."""
    counts = summary.counts()
    report = RunReport(command, started_at,
                       counts={status: counts[status] for status in COUNTED},
                       stopped=summary.stopped,
                       error=summary.aborted.message if summary.aborted else None)
    add_outcomes(report, summary.notable)
    return report


def add_outcomes(report: RunReport, outcomes: Iterable[LinkOutcome]) -> None:
    for outcome in outcomes:
        status = outcome.status
        if status == "failed":
            report.failures.append(note_of(outcome, failure_message(outcome)))
        elif status == "waiting":
            since = outcome.plan.waiting_since or datetime.now(UTC)
            report.waiting.append(note_of(outcome, waiting_note(since)))
        elif status == "skipped":
            report.skipped.append(note_of(outcome, outcome.plan.problem
                                          or outcome.skipped_reason or "skipped"))
        change = drifted(outcome)
        if change is not None:
            report.drift.append(note_of(outcome, change))


def report_of_error(command: str, started_at: datetime, error: IdsyncError) -> RunReport:
    """The report of a run that could not run: refused credentials, a bad setting."""
    return RunReport(command, started_at, error=error.message, ran=False)


def finish_run(runtime: Runtime, report: RunReport) -> None:
    """Record the run in the store and send its notification; never raises for either."""
    from sqlalchemy.exc import SQLAlchemyError

    from idsync_core.engine import notify
    from idsync_core.store import Run

    if "revenue_found" in runtime.settings.notify.on and report.outcome in ("clean",
                                                                            "failures"):
        report.revenue_found = revenue_found(runtime)  # not after a dead API: it would wait
    try:
        runtime.store.record_run(Run(
            command=report.command, actor=runtime.store.actor, origin=audit_origin(),
            started_at=report.started_at, finished_at=report.finished_at,
            outcome=report.outcome, error=report.error, **report.counts))
    except (IdsyncError, SQLAlchemyError) as exc:
        log.warning("the run could not be recorded in the store: %s", exc)
    notify.notify_run(runtime, report)


def recorded(runtime: Runtime, command: str, run: Callable[[], SyncSummary]) -> SyncSummary:
    """Run ``run`` (a sync, an apply, a retry, an approval) and record and notify its end —
    also when it cannot run at all, but not when another run holds the lock (that one will)."""
    from idsync_core.errors import LockBusyError

    started = datetime.now(UTC)
    try:
        summary = run()
    except LockBusyError:
        raise
    except IdsyncError as exc:
        finish_run(runtime, report_of_error(command, started, exc))
        raise
    finish_run(runtime, report_of_run(command, started, summary))
    return summary


def audit_origin() -> str:
    from idsync_core.store import audit_origin

    return audit_origin.get()


def revenue_found(runtime: Runtime) -> list[dict[str, Any]]:
    """The unlinked seat resources of linked subscriptions (``[notify] on`` names
    ``revenue_found``): one more read of each linked subscription's resources."""
    from idsync_core.engine.reader import Reader
    from idsync_core.engine.report import unlinked_resources

    try:
        found, _ignored = unlinked_resources(runtime, Reader(runtime))
    except IdsyncError as exc:
        log.warning("revenue found could not be looked for: %s", exc.message)
        return []
    return found


def report_of_bulk(started_at: datetime, result: BulkResult) -> RunReport:
    """The report of ``link --accept``: its rows' reconciliations, and the rows that failed
    before they got one (a link refused)."""
    report = RunReport("link", started_at)
    reconciled = [o.reconciliation for o in result.outcomes if o.reconciliation is not None]
    for outcome in reconciled:
        if outcome.status in report.counts:
            report.counts[outcome.status] += 1
    add_outcomes(report, (o for o in reconciled if o.status != "unchanged"))
    for row in result.outcomes:
        if row.status == "failed" and row.reconciliation is None:
            report.counts["failed"] += 1
            report.failures.append(LinkNote(
                customer=f"{row.row.level.value} {row.row.id}",
                product=f"{row.row.name or row.row.id} → {row.row.target_id or '—'}",
                resource_id=row.row.id, message=row.message))
    return report
