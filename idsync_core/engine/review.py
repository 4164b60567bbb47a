"""The review queue: what waits for a person, and the person's answers (approve, dismiss, retry).

The queue is the plan (:func:`report.build_report`: both sides read now) as one row per change,
less the changes a person dismissed. A dismissal is stored under the change's idempotency key,
and the key is made of the change's numbers (link, effective date, quantity before and after,
postings landed): a dismissed change stays hidden until its numbers change, then it shows
again as the new change it is.

**The approval policy** (``[sync] auto_post``) says what an unattended ``sync --yes`` posts on
its own: ``all``, only ``increases`` (a decrease credits the customer: someone looks first), or
``none``. What it does not post is held and shows in the queue; a dismissed change is never
posted by it.

**Approving** posts through the exactly-once path of ``idsync apply``: under the ``sync`` lock,
both sides re-read, the journal written before the PSA is called. Only changes whose key was
approved are posted; an approved change that the fresh plan no longer has (the numbers moved,
someone posted it) is skipped and says so. So two people approving one change post it once: the
second finds it gone, or — while the first one's posting runs — the lock taken, and is told "a
sync is running; try again in a minute", never a second posting.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from idsync_core.engine.planning import LinePlan, PlannedChange
from idsync_core.engine.posting import waiting_note
from idsync_core.engine.report import PlanReport, build_report
from idsync_core.engine.runs import recorded
from idsync_core.engine.runtime import Runtime
from idsync_core.engine.sync import Gate, LinkOutcome, SyncSummary, plan_one, run_links, sync_all
from idsync_core.errors import LockBusyError, NotFoundError
from idsync_core.journal import JournalStatus

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.store import ResourceLink

BUSY = "a sync is running; try again in a minute"


def policy_allows(policy: str, change: PlannedChange) -> bool:
    """Does ``[sync] auto_post`` let an unattended sync post this change on its own?"""
    if policy == "all":
        return True
    if policy == "increases":
        return change.adjustment.delta > 0
    return False


def unattended_gate(runtime: Runtime) -> Gate:
    """What an unattended sync may post: what the policy allows, never a dismissed change."""
    dismissed = runtime.store.dismissed_keys()
    policy = str(runtime.settings.sync.auto_post)
    return lambda change: (change.adjustment.idempotency_key not in dismissed
                           and policy_allows(policy, change))


@dataclass(frozen=True)
class QueueItem:
    """One planned change, for a person to approve or dismiss."""

    plan: LinePlan
    change: PlannedChange
    follows: str | None
    """The key of the change of the same line that must be posted first (or None)."""

    @property
    def key(self) -> str:
        return self.change.adjustment.idempotency_key

    @property
    def link_id(self) -> int:
        assert self.plan.link.id is not None
        return self.plan.link.id

    @property
    def delta(self) -> Decimal:
        return self.change.adjustment.delta

    @property
    def effective_date(self) -> date:
        return self.change.adjustment.effective_date

    @property
    def is_undo(self) -> bool:
        return self.change.undoes is not None


@dataclass
class ReviewQueue:
    report: PlanReport
    items: list[QueueItem]
    hidden: int = 0
    """Dismissed changes left out (they show again once their numbers change)."""

    @property
    def waiting(self) -> list[LinePlan]:
        """Lines with an earlier posting whose outcome is not known: nothing can be approved
        for them until it is."""
        return [p for p in self.report.plans if p.waiting_since is not None]


def queue(runtime: Runtime) -> ReviewQueue:
    """The plan as the review queue (reads both sides; posts nothing, takes no lock)."""
    report = build_report(runtime)
    dismissed = runtime.store.dismissed_keys()
    items: list[QueueItem] = []
    hidden = 0
    for plan in report.plans:
        if plan.problem or plan.waiting_since is not None:
            continue
        previous = None
        for change in plan.undo + plan.changes:
            key = change.adjustment.idempotency_key
            if key in dismissed:
                hidden += 1
            else:
                items.append(QueueItem(plan, change, previous))
            previous = key
    return ReviewQueue(report, items, hidden)


@dataclass(frozen=True)
class Decision:
    """What became of one approved or dismissed change."""

    key: str
    status: str
    """posted | failed | waiting | held | gone (approve); dismissed | unchanged (dismiss)."""
    message: str


@dataclass
class Approval:
    decisions: list[Decision] = field(default_factory=list)
    summary: SyncSummary | None = None

    def count(self, status: str) -> int:
        return sum(d.status == status for d in self.decisions)


def _links(runtime: Runtime, link_ids: Collection[int] | None) -> list[ResourceLink]:
    links = runtime.store.active_resource_links()
    return [link for link in links if link_ids is None or link.id in link_ids]


def approve(runtime: Runtime, keys: Iterable[str], *,
            link_ids: Collection[int] | None = None) -> Approval:
    """Post the approved changes exactly once (see the module docstring).

    ``link_ids``: the links the keys belong to, where the caller knows them (the console's
    rows), so only those are planned again; else every link is.
    """
    wanted = {key.strip() for key in keys if key.strip()}
    if not wanted:
        return Approval()
    for key in sorted(wanted):
        runtime.store.record("review.approve", f"journal:{key}")
    try:
        summary = recorded(runtime, "approve", lambda: sync_all(
            runtime, links=_links(runtime, link_ids),
            gate=lambda change: change.adjustment.idempotency_key in wanted, origin="approve"))
    except LockBusyError as exc:
        raise LockBusyError(BUSY, hint=exc.message) from None
    approval = Approval(summary=summary)
    seen: set[str] = set()
    for outcome in summary.notable:  # an unchanged link has no change left to decide
        approval.decisions += _decide(outcome, wanted, seen)
    for key in sorted(wanted - seen):
        approval.decisions.append(Decision(key, "gone", _gone(runtime, key)))
    if summary.aborted is not None:
        raise summary.aborted
    return approval


def _decide(outcome: LinkOutcome, wanted: set[str], seen: set[str]) -> list[Decision]:
    plan = outcome.plan
    found = []
    posted = {p.change.adjustment.idempotency_key: p for p in outcome.postings}
    held = {c.adjustment.idempotency_key for c in outcome.held}
    previous = None
    for change in plan.undo + plan.changes:
        key = change.adjustment.idempotency_key
        if key in wanted:
            seen.add(key)
            what = f"{_change_text(change)} on resource {plan.link.resource_id}"
            posting = posted.get(key)
            if plan.waiting_since is not None:
                found.append(Decision(key, "waiting", f"{what}: {waiting_note(plan.waiting_since)}"
                                                      "; nothing was posted"))
            elif posting is not None and posting.status == JournalStatus.POSTED:
                found.append(Decision(key, "posted", f"{what}: posted"))
            elif posting is not None:
                found.append(Decision(key, "failed" if posting.status == JournalStatus.FAILED
                                      else "waiting", f"{what}: {posting.error or posting.status}"))
            elif key in held and previous is not None:
                found.append(Decision(key, "held", f"{what}: it follows change {previous}, "
                                                   "which was not approved or did not post; "
                                                   "nothing was posted"))
            else:
                found.append(Decision(key, "failed", f"{what}: not posted"))
        previous = key
    return found


def _gone(runtime: Runtime, key: str) -> str:
    entry = runtime.store.journal_entry(key)
    if entry is not None and entry.status == JournalStatus.POSTED:
        return f"change {key} was posted already (see the log); nothing more was posted"
    return (f"change {key} no longer holds: the fresh plan has no such change (the "
            "quantities changed); nothing was posted")


def _change_text(change: PlannedChange) -> str:
    a = change.adjustment
    if change.undoes is not None:
        return f"undo of duplicate record {change.undoes.record_id}"
    sign = "+" if a.delta > 0 else ""
    return f"{sign}{format(a.delta.normalize(), 'f')} from {a.effective_date}"


def plans(runtime: Runtime, link_ids: Collection[int] | None = None) -> list[LinePlan]:
    """The plans of the given links (all by default), read now; nothing is posted."""
    found: list[LinePlan] = []
    with runtime.dry_run():
        run = run_links(runtime, _links(runtime, link_ids),
                        lambda reader, link: LinkOutcome(plan_one(runtime, reader, link),
                                                         dry_run=True),
                        on_outcome=lambda outcome: found.append(outcome.plan), release=False)
    if run.aborted is not None:
        raise run.aborted
    return sorted(found, key=lambda plan: plan.link.id or 0)


def dismiss(runtime: Runtime, keys: Iterable[str], *,
            link_ids: Collection[int] | None = None) -> list[Decision]:
    """Hide these changes from the queue (and from unattended syncs) until their numbers
    change. A key the plan does not have now is refused: there is nothing to dismiss."""
    from idsync_core.store import ReviewDismissal

    wanted = [key.strip() for key in keys if key.strip()]
    changes = {change.adjustment.idempotency_key: (plan, change)
               for plan in plans(runtime, link_ids) for change in plan.undo + plan.changes}
    missing = [key for key in wanted if key not in changes]
    if missing:
        raise NotFoundError(f"there is no change {', '.join(missing)} in the plan now (the "
                            "quantities changed, or it was posted); nothing was dismissed",
                            hint="`idsync review` lists the changes waiting")
    decisions = []
    for key in wanted:
        plan, change = changes[key]
        assert plan.link.id is not None
        stored = runtime.store.dismiss(ReviewDismissal(
            key=key, resource_link_id=plan.link.id, resource_id=plan.link.resource_id,
            from_quantity=change.from_quantity, delta=change.adjustment.delta,
            effective_date=change.adjustment.effective_date))
        what = f"{_change_text(change)} on resource {plan.link.resource_id}"
        decisions.append(Decision(key, "dismissed" if stored else "unchanged",
                                  f"{what}: dismissed" if stored else
                                  f"{what}: dismissed already"))
    return decisions


def retry(runtime: Runtime, link_ids: Collection[int] | None = None) -> SyncSummary:
    """Re-run the links whose postings are in the failure log (the given ones, or all)."""
    links = [link for link in runtime.store.links_with_failures()
             if link_ids is None or link.id in link_ids]
    if not links:
        return SyncSummary()
    try:
        return recorded(runtime, "retry", lambda: sync_all(runtime, links=links,
                                                           origin="retry"))
    except LockBusyError as exc:
        raise LockBusyError(BUSY, hint=exc.message) from None
