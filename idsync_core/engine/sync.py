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
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from idsync_core.engine.planning import LinePlan, PlannedChange, plan_link
from idsync_core.engine.posting import RUN_STOPPERS, PostingResult, post_change, resolve_open
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import ApiError, ConfigurationError, DryRunWriteRefused, IdsyncError
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


class OutcomeTally:
    """Every link's outcome counted by status, and only the outcomes worth showing kept.

    A run does not hold every link's outcome (with its plan, and the provider and PSA objects
    the plan refers to) until the end: its memory would grow with the tenant. It counts them
    all and keeps those that are not ``unchanged`` — what a summary lists and what its exit code
    is made of (posted, failed, waiting, skipped, planned) — which most runs are a small part of.
    Worker threads add to it as their links finish.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._notable: list[LinkOutcome] = []
        self._lock = threading.Lock()

    def add(self, outcome: LinkOutcome) -> None:
        status = outcome.status
        kept = replace(outcome, plan=outcome.plan.slimmed()) if status != "unchanged" else None
        with self._lock:
            self.counts[status] += 1
            if kept is not None:
                self._notable.append(kept)

    @property
    def notable(self) -> list[LinkOutcome]:
        """The outcomes kept, by link id (threads finish them in no particular order)."""
        with self._lock:
            return sorted(self._notable, key=lambda o: o.plan.link.id or 0)


@dataclass
class SyncSummary:
    tally: OutcomeTally = field(default_factory=OutcomeTally)
    settled: int = 0
    stopped: bool = False
    aborted: IdsyncError | None = None
    """Why the run stopped before every link was done (an API unreachable or throttling)."""
    calls: dict[str, dict[str, int]] = field(default_factory=dict)
    """IDSync's calls into each connection during the run, per hook (see ``CallMetrics``)."""

    @property
    def notable(self) -> list[LinkOutcome]:
        """Every outcome that is not ``unchanged`` (see :class:`OutcomeTally`)."""
        return self.tally.notable

    def counts(self) -> Counter[str]:
        return self.tally.counts


def plan_one(runtime: Runtime, reader: Reader, link: ResourceLink) -> LinePlan:
    """Plan one link; a failure to read becomes the plan's ``problem`` (reported, skipped)."""
    parents = reader.snapshot.parents(link)
    if parents is None:
        raise IdsyncError(f"resource link {link.id} has no parent links in the store")
    sub_link, company_link = parents
    try:
        plan = plan_link(runtime, reader, link, sub_link, company_link)
    except (ConfigurationError, DryRunWriteRefused, *RUN_STOPPERS):
        raise  # refused credentials, a dead API, a write in a dry run: the whole run stops
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
    """What :func:`run_links` did besides the outcomes it handed on: whether a stop request cut
    it short, and the API failure that stopped it (None when it ran to the end)."""

    stopped: bool
    aborted: IdsyncError | None = None


READ_AHEAD = 2
"""Agreement groups read from the store per worker before it needs them: enough that no worker
waits for the store, few enough that a run holds the links in flight, not all of them."""


def agreement_groups(links: Iterable[ResourceLink]) -> Iterator[list[ResourceLink]]:
    """The links of each agreement, together (``links`` come ordered by agreement)."""
    group: list[ResourceLink] = []
    for link in links:
        if group and link.agreement_id != group[0].agreement_id:
            yield group
            group = []
        group.append(link)
    if group:
        yield group


class CompanyReads:
    """Tells the reader to forget a PSA company's agreements and its accounts' subscriptions
    once the run is done with the company: its groups come one after another (the links are
    ordered by company), so it is done once a group of another company has come and its own
    groups have finished."""

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._running: Counter[str] = Counter()
        self._accounts: dict[str, set[tuple[str, str]]] = {}
        self._complete: set[str] = set()
        self._lock = threading.Lock()

    def start(self, company_id: str, accounts: set[tuple[str, str]]) -> None:
        with self._lock:
            self._running[company_id] += 1
            self._accounts.setdefault(company_id, set()).update(accounts)

    def complete(self, company_id: str) -> None:
        """No more groups of this company will start."""
        with self._lock:
            self._complete.add(company_id)
        self._forget_if_done(company_id)

    def finish(self, company_id: str) -> None:
        with self._lock:
            self._running[company_id] -= 1
        self._forget_if_done(company_id)

    def _forget_if_done(self, company_id: str) -> None:
        with self._lock:
            if company_id not in self._complete or self._running[company_id] > 0:
                return
            self._complete.discard(company_id)
            del self._running[company_id]
            accounts = self._accounts.pop(company_id, set())
        self._reader.forget_company(company_id, accounts)


def run_links(runtime: Runtime, links: Sequence[ResourceLink] | None,
              work: Callable[[Reader, ResourceLink], LinkOutcome], *,
              on_outcome: Callable[[LinkOutcome], None],
              stop: threading.Event | None = None,
              reader: Reader | None = None, release: bool = True) -> LinksRun:
    """Run ``work`` over the links concurrently; hand each outcome to ``on_outcome`` as it is
    made (in the worker thread that made it), and keep none.

    ``links=None`` runs every active link, read from the store a batch at a time as the workers
    get to them. One agreement's links run in one worker, in turn: they share its lines and its
    subscription, so spreading them over threads would only make the threads wait on each
    other; different agreements run in parallel. The links come company by company. With
    ``release`` the reader forgets what the run is done with — an agreement's lines and its
    subscriptions' resources when its links are done, a company's agreements and its accounts'
    subscriptions when all of its links are — so what a run holds does not grow with the
    tenant.

    The first :data:`posting.RUN_STOPPERS` failure (an API unreachable, or throttling past the
    accepted wait) starts no new link, like a stop request; the links in flight finish.
    """
    reader = reader or Reader(runtime)
    stop = stop or threading.Event()
    if links is None:
        catalog_ids = runtime.store.active_catalog_item_ids()
        ordered: Iterable[ResourceLink] = runtime.store.iter_active_resource_links()
    else:
        catalog_ids = sorted({link.catalog_item_id for link in links})
        ordered = sorted(links, key=lambda link: (company_of(reader, link), link.agreement_id,
                                                  link.id or 0))
    if catalog_ids:  # one catalog lookup for the run, not one per product
        try:
            reader.catalog_items(catalog_ids)
        except RUN_STOPPERS as exc:
            return LinksRun(stopped=False, aborted=exc)
        except IdsyncError:
            pass  # each link reports it
    aborted: list[IdsyncError] = []
    crashed: list[Exception] = []
    left_out = threading.Event()  # a link was not run (a stop request, an abort)
    workers = runtime.settings.sync.concurrency
    slots = threading.BoundedSemaphore(workers * READ_AHEAD)
    companies = CompanyReads(reader)

    def one(link: ResourceLink) -> None:
        if stop.is_set() or aborted:
            left_out.set()
            return
        try:
            outcome = work(reader, link)
        except RUN_STOPPERS as exc:
            aborted.append(exc)
            return
        on_outcome(outcome)

    def group(members: list[ResourceLink], company_id: str,
              subscriptions: set[tuple[str, str]]) -> None:
        try:
            for link in members:
                one(link)
            if release:
                reader.forget_agreement(members[0].agreement_id, subscriptions)
                companies.finish(company_id)
        except Exception as exc:  # a bug: the run ends and says so, once the others are done
            crashed.append(exc)
        finally:
            slots.release()

    current: str | None = None
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="idsync-link") as pool:
        for members in agreement_groups(ordered):
            slots.acquire()
            if stop.is_set() or aborted or crashed:
                slots.release()
                left_out.set()
                break
            parents = [found for link in members
                       if (found := reader.snapshot.parents(link)) is not None]
            company_id = company_of(reader, members[0])
            if release:
                if company_id != current and current is not None:
                    companies.complete(current)
                current = company_id
                companies.start(company_id, {(c.provider, c.account_id) for _, c in parents})
            # In a copy of the caller's context: the audit log names the caller's user
            # (idsync_core.store.acting_as) for the postings made in the pool's threads too.
            pool.submit(contextvars.copy_context().run, group, members, company_id,
                        {(s.provider, s.subscription_id) for s, _ in parents})
        if current is not None:
            companies.complete(current)
    if crashed:
        raise crashed[0]
    return LinksRun(stopped=left_out.is_set() and not aborted,
                    aborted=aborted[0] if aborted else None)


def company_of(reader: Reader, link: ResourceLink) -> str:
    """The link's PSA company ("" when its parents are not active: planning reports it)."""
    parents = reader.snapshot.parents(link)
    return parents[1].psa_company_id if parents else ""


def sync_all(runtime: Runtime, *, dry_run: bool = False,
             links: Sequence[ResourceLink] | None = None, only_keys: set[str] | None = None,
             gate: Gate | None = None, origin: str = "sync",
             stop: threading.Event | None = None,
             progress: Callable[[LinkOutcome], None] | None = None) -> SyncSummary:
    """One sync run over every active resource link (or the given ones); ``gate``: see
    :func:`reconcile_link`."""
    runtime.require_connections()
    runtime.close_connections()  # a run reads both sides afresh
    if not dry_run:
        runtime.unknown_outcome_wait  # noqa: B018  (a bad setting stops the run before it posts)
    summary = SyncSummary()

    def on_outcome(outcome: LinkOutcome) -> None:
        summary.tally.add(outcome)
        if progress is not None:
            progress(outcome)

    with runtime.store.lock("sync"), runtime.dry_run() if dry_run else nullcontext():
        try:
            summary.settled = 0 if dry_run else len(resolve_open(runtime, Reader(runtime)))
        except RUN_STOPPERS as exc:
            summary.aborted, summary.calls = exc, runtime.connection_calls()
            return summary
        run = run_links(
            runtime, links,
            lambda reader, link: reconcile_link(runtime, reader, link, origin=origin,
                                                dry_run=dry_run, only_keys=only_keys,
                                                gate=gate),
            on_outcome=on_outcome, stop=stop)
    summary.stopped, summary.aborted = run.stopped, run.aborted
    summary.calls = runtime.connection_calls()
    return summary
