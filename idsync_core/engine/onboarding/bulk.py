"""Bulk linking: every accepted row of a suggestion file, with the rules of one-by-one linking.

Companies first, then subscriptions, then resources, each through :mod:`idsync_core.engine.
linking` (every refusal, the below-cost confirmation, the expired agreement are theirs). The
one-time reconciliation of the linked resources runs under the store's ``sync`` lock, through
the exactly-once journal — settling first whatever an interrupted run left pending — in passes
of :data:`BATCH` links while the next ones are being linked, each concurrently per agreement, as
a sync does.

A row that fails is reported and the others go on; the rows under it (a failed company's
subscriptions) are skipped. A row already linked as the file says is unchanged, and a resource
so linked is reconciled again, which posts nothing when its line is equal: a run killed half
way and started again completes what the first one left, and a second run of the same file
links and posts nothing.

``dry_run`` runs the same code on a scratch copy of the store (:meth:`Store.scratch_copy`),
with postings planned and never made, so it shows every link and posting a real run would make.
"""

from __future__ import annotations

import contextlib
import contextvars
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from idsync_core.engine import linking
from idsync_core.engine.dates import decrease_date
from idsync_core.engine.onboarding.suggest import Level, Suggestion
from idsync_core.engine.posting import resolve_open
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime
from idsync_core.engine.sync import LinkOutcome, reconcile_link, run_links
from idsync_core.errors import ConfigurationError, ConfirmationRequired, IdsyncError

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.store import ResourceLink

Progress = Callable[[], None]
BATCH = 500
"""New links reconciled per pass, while the next ones are linked: the PSA posts from early on
instead of waiting for every row to be linked."""


@dataclass
class RowOutcome:
    """What became of one accepted row: linked | unchanged | failed | skipped."""

    row: Suggestion
    status: str
    message: str = ""
    reconciliation: LinkOutcome | None = None

    @property
    def failed(self) -> bool:
        """Not brought equal: the row failed, or its line did (a posting refused, a read that
        failed, or an earlier posting whose outcome is still waited for)."""
        return self.status == "failed" or (self.reconciliation is not None
                                           and self.reconciliation.status in ("failed",
                                                                              "waiting"))


@dataclass
class BulkResult:
    outcomes: list[RowOutcome]
    dry_run: bool
    settled: int = 0
    """Postings an earlier, interrupted run left pending, settled first."""
    ignored_rows: int = 0
    """Rows of the file that were not accepted (left alone)."""
    failures: list[RowOutcome] = field(init=False)

    def __post_init__(self) -> None:
        self.failures = [o for o in self.outcomes if o.failed]

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for outcome in self.outcomes:
            counted[outcome.status] = counted.get(outcome.status, 0) + 1
        return counted


def steps(rows: Sequence[Suggestion]) -> int:
    """How many times ``progress`` is called for these rows (a resource: linked, reconciled)."""
    return sum(2 if r.level is Level.RESOURCE else 1 for r in rows if r.accepted)


def link_accepted(runtime: Runtime, rows: Sequence[Suggestion], *, dry_run: bool = False,
                  confirmed: bool = False, progress: Progress | None = None) -> BulkResult:
    """Link every accepted row (see the module docstring); ``confirmed`` answers the below-cost
    confirmation for every row (``--yes``)."""
    accepted = [row for row in rows if row.accepted]
    held_back = [row for row in rows if not row.accepted]
    if not dry_run:
        result = BulkLinker(runtime, confirmed, progress, plan_only=False).run(accepted,
                                                                               held_back)
        result.ignored_rows = len(rows) - len(accepted)
        return result
    with tempfile.TemporaryDirectory(prefix="idsync-dry-run-") as folder:
        url = f"sqlite:///{Path(folder) / 'scratch.db'}"
        runtime.store.scratch_copy(url).close()
        scratch = Runtime(runtime.settings, config_path=runtime.config_path, store_url=url,
                          today=runtime.today)
        try:
            scratch.psa.dry_run.enabled = True  # the last line of defence: nothing is posted
            result = BulkLinker(scratch, confirmed, progress, plan_only=True).run(accepted,
                                                                                  held_back)
        finally:
            scratch.close()
    result.ignored_rows = len(rows) - len(accepted)
    return result


class BulkLinker:
    def __init__(self, runtime: Runtime, confirmed: bool, progress: Progress | None, *,
                 plan_only: bool) -> None:
        self.runtime = runtime
        self.confirmed = confirmed
        self.progress = progress or (lambda: None)
        self.plan_only = plan_only
        self.reader = Reader(runtime)

    def run(self, accepted: list[Suggestion], held_back: list[Suggestion]) -> BulkResult:
        """``held_back``: the file's rows a person left unaccepted; what is under them is
        skipped unless they are linked already."""
        by_level = {level: [r for r in accepted if r.level is level] for level in Level}
        store = self.runtime.store
        workers = self.runtime.settings.sync.concurrency
        with store.lock("sync"), \
                ThreadPoolExecutor(workers, thread_name_prefix="idsync-provider") as provider, \
                ThreadPoolExecutor(workers, thread_name_prefix="idsync-psa") as psa:
            # Reads go on in the background, each side at its API's pace, while rows are
            # linked: a row waits only for what it needs (the reader loads each thing once).
            self.read_ahead(by_level, provider, psa)
            settled = len(resolve_open(self.runtime, self.reader))
            self.reader.forget_snapshot()
            self.linked = self.active_links()
            outcomes: list[RowOutcome] = []
            failed_parents = self.unlinked_parents(held_back)
            for level in (Level.COMPANY, Level.SUBSCRIPTION):
                for row in by_level[level]:
                    outcome = self.skip_under_failed(row, failed_parents) or self.link(row)
                    if outcome.status in ("failed", "skipped"):
                        failed_parents.add((level.value, row.id))
                    outcomes.append(outcome)
                    self.progress()
            to_reconcile: dict[int, RowOutcome] = {}
            batches: list[Future[list[LinkOutcome]]] = []
            batch: list[ResourceLink] = []
            with ThreadPoolExecutor(1, thread_name_prefix="idsync-reconcile") as reconciler:
                for row in by_level[Level.RESOURCE]:
                    skipped = self.skip_under_failed(row, failed_parents)
                    outcome, link = (skipped, None) if skipped else self.link_resource(row)
                    outcomes.append(outcome)
                    self.progress()
                    if link is None:
                        self.progress()  # nothing to reconcile: its second step is done too
                        continue
                    to_reconcile[link.id] = outcome
                    batch.append(link)
                    if len(batch) >= BATCH:
                        batches.append(self.start_reconciling(reconciler, batch))
                        batch = []
                if batch:
                    batches.append(self.start_reconciling(reconciler, batch))
                reconciled = [result for done in batches for result in done.result()]
            provider.shutdown(cancel_futures=True)
            psa.shutdown(cancel_futures=True)
        for result in reconciled:
            to_reconcile[result.plan.link.id].reconciliation = result
        if self.plan_only:
            for outcome in outcomes:
                outcome.status = "would link" if outcome.status == "linked" else outcome.status
        return BulkResult(outcomes, self.plan_only, settled)

    def start_reconciling(self, reconciler: Executor,
                          links: list[ResourceLink]) -> Future[list[LinkOutcome]]:
        """Reconcile a batch of new links while the next batch is being linked.

        The store's view is read again first, so the batch's links and the price sources
        they were given are in it; batches run one after the other, each concurrently per
        agreement (:func:`run_links`), so no line is planned twice at once.
        """
        self.reader.forget_snapshot()
        _ = self.reader.snapshot
        def reconcile_batch() -> list[LinkOutcome]:
            outcomes: list[LinkOutcome] = []
            lock = threading.Lock()

            def keep(outcome: LinkOutcome) -> None:  # every row's outcome is reported
                with lock:
                    outcomes.append(outcome)
                self.progress()

            run = run_links(
                self.runtime, links,
                lambda reader, link: reconcile_link(self.runtime, reader, link, origin="link",
                                                    dry_run=self.plan_only),
                on_outcome=keep, reader=self.reader, release=False)
            if run.aborted is not None:  # an API down or throttling: the whole run stops
                raise run.aborted
            return outcomes

        # In the caller's context: the audit log names its user (store.acting_as).
        return reconciler.submit(contextvars.copy_context().run, reconcile_batch)

    def active_links(self) -> dict[tuple[str, str, str], str]:
        """(level, provider, id) → the PSA id it is linked to, read once for the run."""
        store = self.runtime.store
        linked = {(Level.COMPANY.value, c.provider, c.account_id): c.psa_company_id
                  for c in store.active_company_links()}
        linked.update(((Level.SUBSCRIPTION.value, s.provider, s.subscription_id), s.agreement_id)
                      for s in store.active_subscription_links())
        linked.update(((Level.RESOURCE.value, r.provider, r.resource_id), r.catalog_item_id)
                      for r in store.active_resource_links())
        return linked

    def unlinked_parents(self, held_back: list[Suggestion]) -> set[tuple[str, str]]:
        """The companies and subscriptions held back in the file and not linked already."""
        return {(row.level.value, row.id) for row in held_back
                if row.level is not Level.RESOURCE and (
                    row.level.value, linking.provider_name(self.runtime, row.provider or None),
                    row.id) not in self.linked}

    def read_ahead(self, by_level: dict[Level, list[Suggestion]], provider_pool: Executor,
                   psa_pool: Executor) -> None:
        """Start every read the rows need, each side in its own threads (each connector keeps
        its API's budget): the accounts, companies, subscriptions, agreements, resources and
        catalog items the linking functions look up, and the lines of every agreement the
        reconciliation plans from (today and the day a decrease would start). A failed read
        resurfaces in its rows, where it is read again."""
        reader, store, rt = self.reader, self.runtime.store, self.runtime
        name = partial(linking.provider_name, rt)
        companies: dict[str, str] = {}  # account id → PSA company id
        for row in by_level[Level.COMPANY]:
            if row.target_id:
                companies[row.id] = row.target_id
        agreements: dict[str, str] = {}  # agreement id → PSA company id
        for row in by_level[Level.SUBSCRIPTION]:
            company = companies.get(row.parent_id) or getattr(
                store.company_link(name(row.provider or None), row.parent_id),
                "psa_company_id", None)
            if company and row.target_id:
                agreements[row.target_id] = company
        for row in by_level[Level.RESOURCE]:
            sub = store.subscription_link(name(row.provider or None), row.parent_id)
            parent = store.company_link_by_id(sub.company_link_id) if sub else None
            if sub is not None and parent is not None:
                agreements[sub.agreement_id] = parent.psa_company_id
        psa_reads: list[Callable[[], object]] = []
        if by_level[Level.COMPANY]:
            psa_reads.append(reader.companies)
        psa_reads += [partial(reader.agreements, c) for c in sorted(set(agreements.values()))]
        items = sorted({r.target_id for r in by_level[Level.RESOURCE] if r.target_id})
        if items:
            psa_reads.append(partial(reader.catalog_items, items))
        psa_reads += [partial(self.warm_lines, company, agreement)
                      for agreement, company in agreements.items()]
        provider_reads: dict[tuple[str, ...], Callable[[], object]] = {}
        for row in by_level[Level.COMPANY]:
            provider_reads[("accounts", name(row.provider or None))] = partial(
                reader.accounts, name(row.provider or None))
        for level, reads in ((Level.SUBSCRIPTION, reader.subscriptions),
                             (Level.RESOURCE, reader.resources)):
            for row in by_level[level]:
                provider_reads[(level.value, row.parent_id)] = partial(
                    reads, name(row.provider or None), row.parent_id)
        for call in provider_reads.values():
            provider_pool.submit(quietly, call)
        for call in psa_reads:
            psa_pool.submit(quietly, call)

    def warm_lines(self, company_id: str, agreement_id: str) -> None:
        agreement = self.reader.agreement(company_id, agreement_id)
        today = self.runtime.today
        self.reader.lines(agreement_id, today)
        self.reader.lines(agreement_id, decrease_date(
            agreement, today, self.runtime.settings.sync.decrease_effective))

    @staticmethod
    def skip_under_failed(row: Suggestion,
                          failed: set[tuple[str, str]]) -> RowOutcome | None:
        parent = {Level.SUBSCRIPTION: "company", Level.RESOURCE: "subscription"}.get(row.level)
        if parent is not None and (parent, row.parent_id) in failed:
            what = "account" if parent == "company" else "subscription"
            return RowOutcome(row, "skipped", f"its {what} {row.parent_id} is not linked (see "
                                              "its row)")
        return None

    def link(self, row: Suggestion) -> RowOutcome:
        """A company or subscription row, through linking.link_company / link_subscription."""
        provider = row.provider or None
        name = linking.provider_name(self.runtime, provider)
        assert row.target_id is not None  # rows.parse refuses accepted rows without one
        try:
            if self.linked.get((row.level.value, name, row.id)) == row.target_id:
                return RowOutcome(row, "unchanged", "already linked")
            if row.level is Level.COMPANY:
                company = linking.link_company(self.runtime, provider, row.id, row.target_id,
                                               reader=self.reader)
                return RowOutcome(row, "linked", f"to PSA company {company.psa_company_id} "
                                                 f"({company.psa_company_name})")
            sub = linking.link_subscription(self.runtime, provider, row.id, row.target_id,
                                            reader=self.reader, account_id=row.parent_id)
            return RowOutcome(row, "linked", f"to agreement {sub.agreement_id} "
                                             f"({sub.agreement_name})")
        except ConfigurationError:
            raise  # refused credentials: nothing else would work either
        except IdsyncError as exc:
            return RowOutcome(row, "failed", _message(exc))

    def link_resource(self, row: Suggestion) -> tuple[RowOutcome, ResourceLink | None]:
        provider = row.provider or None
        name = linking.provider_name(self.runtime, provider)
        assert row.target_id is not None
        if self.linked.get((row.level.value, name, row.id)) == row.target_id:
            existing = self.runtime.store.resource_link(name, row.id)
            if existing is not None:
                return RowOutcome(row, "unchanged", "already linked"), existing
        try:
            outcome = linking.link_resource(
                self.runtime, provider, row.id, row.target_id, price=row.price,
                confirmed=self.confirmed, reader=self.reader, subscription_id=row.parent_id,
                reconcile_now=False)
        except ConfigurationError:
            raise
        except ConfirmationRequired as exc:
            return RowOutcome(row, "failed", _message(exc) + " (run with --yes to confirm)"), None
        except IdsyncError as exc:
            return RowOutcome(row, "failed", _message(exc)), None
        link = outcome.plan.link
        return RowOutcome(row, "linked", f"to catalog item {link.catalog_item_id} "
                                         f"({link.catalog_item_name}) on agreement "
                                         f"{link.agreement_id}"), link


def quietly(call: Callable[[], object]) -> None:
    """A read ahead: its failure is met again, and reported, by the row that needs it."""
    with contextlib.suppress(IdsyncError):
        call()


def _message(exc: IdsyncError) -> str:
    return exc.message + (f" ({exc.hint})" if exc.hint else "")
