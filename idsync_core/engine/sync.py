"""Sync: bring every linked PSA line equal to its provider resource, exactly once.

One run holds the store's ``sync`` lock (two runs never post for one tenant at once), first
settles whatever an earlier run left pending, then plans and posts the links concurrently
(``[sync] concurrency`` threads; each connector's client keeps within its API's budget). A link
that cannot be planned (its provider object disappeared, an API failed) is reported and skipped;
the others go on. A link whose earlier posting has no known outcome yet waits (nothing is
posted for it). A stop request (SIGTERM, Ctrl-C) lets the links in flight finish — their
postings are journaled — and starts no new one. An API that cannot be reached at all, or that
throttles past the wait IDSync accepts, stops the run the same way at its first sign
(:data:`posting.RUN_STOPPERS`): the error is reported once, not once per link.
"""

from __future__ import annotations

import contextvars
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from idsync_core.engine.planning import LinePlan, PlannedChange, plan_link
from idsync_core.engine.posting import RUN_STOPPERS, PostingResult, post_change, resolve_open
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import ApiError, ConfigurationError, IdsyncError
from idsync_core.journal import OPEN, JournalStatus

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.store import ResourceLink


@dataclass
class LinkOutcome:
    plan: LinePlan
    postings: list[PostingResult] = field(default_factory=list)
    dry_run: bool = False
    link_created: bool = False
    skipped_reason: str | None = None
    held: list[PlannedChange] = field(default_factory=list)
    """Changes not posted because they wait for a person (the approval policy, a dismissal:
    :mod:`idsync_core.engine.review`)."""

    @property
    def status(self) -> str:
        """posted | unchanged | failed | waiting | skipped | held | planned (dry run).

        A link whose reads failed (an API error) counts as failed: it is retried next run and
        makes the exit code say so. One whose earlier posting has no known outcome yet is
        waiting (nothing is posted for it). One the world changed under (its provider or PSA
        object disappeared, a usage-based product) is skipped and reported.
        """
        if self.plan.read_failed:
            return "failed"
        if self.plan.problem or self.skipped_reason:
            return "skipped"
        if self.plan.waiting_since is not None or any(p.status in OPEN for p in self.postings):
            return "waiting"
        if not self.plan.changes and not self.plan.undo:
            return "unchanged"
        if self.dry_run:
            return "planned"
        if any(p.status != JournalStatus.POSTED for p in self.postings):
            return "failed"
        if self.held and not self.postings:
            return "held"
        return "posted"


@dataclass
class SyncSummary:
    outcomes: list[LinkOutcome]
    settled: int = 0
    stopped: bool = False
    aborted: IdsyncError | None = None
    """Why the run stopped before every link was done (an API unreachable or throttling)."""

    def counts(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes)

    @property
    def notable(self) -> list[LinkOutcome]:
        """Every outcome that is not ``unchanged``: what a run's report is made of."""
        return [o for o in self.outcomes if o.status != "unchanged"]


def plan_one(runtime: Runtime, reader: Reader, link: ResourceLink) -> LinePlan:
    """Plan one link; a failure to read becomes the plan's ``problem`` (reported, skipped)."""
    sub_link = reader.snapshot.subscription_links.get(link.subscription_link_id)
    company_link = reader.snapshot.company_links.get(sub_link.company_link_id) \
        if sub_link else None
    if sub_link is None or company_link is None:
        raise IdsyncError(f"resource link {link.id} has no parent links in the store")
    try:
        plan = plan_link(runtime, reader, link, sub_link, company_link)
    except (ConfigurationError, *RUN_STOPPERS):
        raise  # refused credentials, a dead API: no problem of one link, the whole run stops
    except IdsyncError as exc:
        plan = LinePlan(link=link, subscription_link=sub_link, company_link=company_link,
                        problem=exc.message, read_failed=isinstance(exc, ApiError))
    plan.waiting_since = reader.snapshot.unsettled.get(link.id) if link.id is not None else None
    return plan


Gate = Callable[[PlannedChange], bool]
"""May this change be posted now? Changes are posted in order up to the first that may not:
each is planned from the line with the ones before it."""


def reconcile_link(runtime: Runtime, reader: Reader, link: ResourceLink, *, origin: str,
                   dry_run: bool = False, only_keys: set[str] | None = None,
                   gate: Gate | None = None) -> LinkOutcome:
    """Plan one link and post its changes (the caller holds the lock).

    ``only_keys``: post only changes whose key is in it (``idsync apply``: a change that no
    longer holds gets another key and is skipped). ``gate``: the changes it refuses are held
    for a person instead of posted (:attr:`LinkOutcome.held`).
    """
    plan = plan_one(runtime, reader, link)
    outcome = LinkOutcome(plan, dry_run=dry_run)
    if plan.problem or dry_run or plan.waiting_since is not None:
        return outcome
    if only_keys is not None and any(c.adjustment.idempotency_key not in only_keys
                                     for c in plan.undo + plan.changes):
        outcome.skipped_reason = "the planned change no longer holds (re-plan and apply again)"
        return outcome
    ordered = plan.undo + plan.changes  # a duplicate is undone before anything else
    for number, change in enumerate(ordered):
        if gate is not None and not gate(change):
            outcome.held = ordered[number:]
            break
        posting = post_change(runtime, reader, plan, change, origin=origin)
        outcome.postings.append(posting)
        if posting.status != JournalStatus.POSTED:
            break  # the changes after it were planned from the line without it
    if not plan.changes:  # equal: write only what changed (most links, most runs: nothing)
        if plan.actual is not None and plan.actual == plan.actual_next \
                and link.last_quantity != plan.actual:
            runtime.store.set_last_quantity(link.id, plan.actual)
        if link.id in reader.snapshot.failed:
            runtime.store.supersede_failed(link.id, "no longer needed: the PSA line equals "
                                                    "the provider", origin=origin)
    return outcome


@dataclass
class LinksRun:
    """What :func:`run_links` did: the outcomes, whether a stop request cut it short, and the
    API failure that stopped it (None when it ran to the end)."""

    outcomes: list[LinkOutcome]
    stopped: bool
    aborted: IdsyncError | None = None


def run_links(runtime: Runtime, links: Iterable[ResourceLink],
              work: Callable[[Reader, ResourceLink], LinkOutcome], *,
              stop: threading.Event | None = None,
              progress: Callable[[LinkOutcome], None] | None = None,
              reader: Reader | None = None) -> LinksRun:
    """Run ``work`` over the links concurrently.

    The first :data:`posting.RUN_STOPPERS` failure (an API unreachable, or throttling past the
    accepted wait) starts no new link, like a stop request; the links in flight finish.
    """
    reader = reader or Reader(runtime)
    stop = stop or threading.Event()
    aborted: list[IdsyncError] = []
    links = list(links)
    if links:  # one catalog lookup for the run, not one per product
        try:
            reader.catalog_items(sorted({link.catalog_item_id for link in links}))
        except RUN_STOPPERS as exc:
            return LinksRun([], stopped=False, aborted=exc)
        except IdsyncError:
            pass  # each link reports it

    def one(link: ResourceLink) -> LinkOutcome | None:
        if stop.is_set() or aborted:
            return None
        try:
            outcome = work(reader, link)
        except RUN_STOPPERS as exc:
            aborted.append(exc)
            return None
        if progress is not None:
            progress(outcome)
        return outcome

    # One agreement's links run in one worker, in turn: they share its lines and its
    # subscription, so spreading them over threads would only make the threads wait on each
    # other; different agreements run in parallel.
    by_agreement: dict[str, list[ResourceLink]] = {}
    for link in links:
        by_agreement.setdefault(link.agreement_id, []).append(link)

    def group(members: list[ResourceLink]) -> list[LinkOutcome | None]:
        return [one(link) for link in members]

    # Each group runs in a copy of the caller's context: the audit log names the caller's
    # user (idsync_core.store.acting_as) for the postings made in the pool's threads too.
    groups = [(contextvars.copy_context(), members) for members in by_agreement.values()]
    with ThreadPoolExecutor(max_workers=runtime.settings.sync.concurrency,
                            thread_name_prefix="idsync-link") as pool:
        results = [r for rs in pool.map(lambda g: g[0].run(group, g[1]), groups) for r in rs]
    outcomes = [r for r in results if r is not None]
    return LinksRun(outcomes, stopped=len(outcomes) < len(results) and not aborted,
                    aborted=aborted[0] if aborted else None)


def sync_all(runtime: Runtime, *, dry_run: bool = False, links: list[ResourceLink] | None = None,
             only_keys: set[str] | None = None, gate: Gate | None = None,
             origin: str = "sync", stop: threading.Event | None = None,
             progress: Callable[[LinkOutcome], None] | None = None) -> SyncSummary:
    """One sync run over every active resource link (or the given ones); ``gate``: see
    :func:`reconcile_link`. A run that posts (not a dry run) is in the audit log with its
    counts, under its ``origin``."""
    runtime.require_connections()
    runtime.close_connections()  # a run reads both sides afresh
    if not dry_run:
        runtime.unknown_outcome_wait  # noqa: B018  (a bad setting stops the run before it posts)
    with runtime.store.lock("sync"):
        try:
            settled = 0 if dry_run else len(resolve_open(runtime, Reader(runtime)))
        except RUN_STOPPERS as exc:
            return SyncSummary([], aborted=exc)
        chosen = runtime.store.active_resource_links() if links is None else links
        run = run_links(
            runtime, chosen,
            lambda reader, link: reconcile_link(runtime, reader, link, origin=origin,
                                                dry_run=dry_run, only_keys=only_keys,
                                                gate=gate),
            stop=stop, progress=progress)
    return SyncSummary(run.outcomes, settled, run.stopped, run.aborted)
