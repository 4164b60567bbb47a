"""Sync: bring every linked PSA line equal to its provider resource, exactly once.

One run holds the store's ``sync`` lock (two runs never post for one tenant at once), first
settles whatever an earlier run left pending, then plans and posts link by link. A link that
cannot be planned (its provider object disappeared, an API failed) is reported and skipped;
the others go on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from idsync_core.engine.planning import LinePlan, plan_link
from idsync_core.engine.posting import PostingResult, post_change, resolve_open
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import IdsyncError
from idsync_core.store import ResourceLink


@dataclass
class LinkOutcome:
    plan: LinePlan
    postings: list[PostingResult] = field(default_factory=list)
    dry_run: bool = False
    link_created: bool = False

    @property
    def status(self) -> str:
        """posted | unchanged | failed | skipped | planned (dry run)."""
        if self.plan.problem:
            return "skipped"
        if not self.plan.changes:
            return "unchanged"
        if self.dry_run:
            return "planned"
        if any(p.status != "posted" for p in self.postings):
            return "failed"
        return "posted"


@dataclass
class SyncSummary:
    outcomes: list[LinkOutcome]
    settled: int = 0

    def counts(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes)


def reconcile_link(runtime: Runtime, reader: Reader, link: ResourceLink, *, origin: str,
                   dry_run: bool = False) -> LinkOutcome:
    """Plan one link and post its changes (the caller holds the lock)."""
    sub_link = runtime.store.subscription_link_by_id(link.subscription_link_id)
    company_link = runtime.store.company_link_by_id(sub_link.company_link_id) \
        if sub_link else None
    if sub_link is None or company_link is None:
        raise IdsyncError(f"resource link {link.id} has no parent links in the store")
    try:
        plan = plan_link(runtime, reader, link, sub_link, company_link)
    except IdsyncError as exc:
        plan = LinePlan(link=link, subscription_link=sub_link, company_link=company_link,
                        problem=exc.message)
    outcome = LinkOutcome(plan, dry_run=dry_run)
    if plan.problem or dry_run:
        return outcome
    for change in plan.changes:
        outcome.postings.append(post_change(runtime, reader, plan, change, origin=origin))
    if not plan.changes and plan.actual is not None and plan.actual == plan.actual_next:
        runtime.store.set_last_quantity(link.id, plan.actual)
    return outcome


def sync_all(runtime: Runtime, *, dry_run: bool = False) -> SyncSummary:
    """One sync run over every active resource link."""
    reader = Reader(runtime)
    with runtime.store.lock("sync"):
        settled = 0 if dry_run else len(resolve_open(runtime, reader))
        outcomes = [reconcile_link(runtime, reader, link, origin="sync", dry_run=dry_run)
                    for link in runtime.store.active_resource_links()]
    return SyncSummary(outcomes, settled)
