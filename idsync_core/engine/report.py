"""The plan report: what a sync would post, and what an operator should look at.

Besides the changes per link it reports revenue not billed (seat resources on linked
subscriptions that are not linked), links whose provider or PSA object disappeared, terminated
subscriptions, lines changed in the PSA by hand since IDSync last left them (drift), IDSync's own
duplicates (a write that landed after it had been posted again; undone by the next sync), and
prices that differ between the price source and the PSA line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from idsync_core.engine.onboarding.ignores import IgnoreSet
from idsync_core.engine.planning import LinePlan
from idsync_core.engine.posting import RUN_STOPPERS
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime
from idsync_core.engine.sync import LinkOutcome, plan_one, run_links
from idsync_core.errors import IdsyncError


@dataclass
class PlanReport:
    today: date
    plans: list[LinePlan]
    unlinked_resources: list[dict[str, Any]] = field(default_factory=list)
    ignored_resources: list[dict[str, Any]] = field(default_factory=list)
    """Unlinked resources an ignore rule covers (``idsync ignore``), with the reason."""

    @property
    def problems(self) -> list[LinePlan]:
        return [p for p in self.plans if p.problem]

    @property
    def terminated(self) -> list[LinePlan]:
        return [p for p in self.plans if p.terminated]

    @property
    def drift(self) -> list[LinePlan]:
        """Lines whose PSA quantity is not what IDSync left it at (changed by hand).

        Quantities are counted without IDSync's own duplicates (:attr:`duplicates`): a write
        that landed twice is IDSync's doing, not someone's hand.
        """
        return [p for p in self.plans if p.link.last_quantity is not None
                and p.actual_next is not None and p.actual_next != p.link.last_quantity]

    @property
    def duplicates(self) -> list[dict[str, Any]]:
        """IDSync's own duplicates: records that repeat a posting's marker (undone by a sync)."""
        return [{"resource_id": plan.link.resource_id, "agreement_id": plan.link.agreement_id,
                 "catalog_item_id": plan.link.catalog_item_id, "key": undo.undoes.key,
                 "record_id": undo.undoes.record_id, "quantity": undo.undoes.quantity,
                 "effective_date": undo.undoes.effective_date,
                 "undo_key": undo.adjustment.idempotency_key}
                for plan in self.plans for undo in plan.undo if undo.undoes is not None]

    @property
    def price_differences(self) -> list[dict[str, Any]]:
        rows = []
        for plan in self.plans:
            line_price, line_cost = plan.line_price, plan.line_cost
            if plan.pricing is None or (line_price is None and line_cost is None):
                continue
            if (plan.pricing.price, plan.pricing.cost) != (line_price, line_cost):
                rows.append({"resource_id": plan.link.resource_id,
                             "agreement_id": plan.link.agreement_id,
                             "catalog_item_id": plan.link.catalog_item_id,
                             "price_source": plan.pricing.source,
                             "source_price": plan.pricing.price, "source_cost": plan.pricing.cost,
                             "psa_price": line_price, "psa_cost": line_cost})
        return rows


def unlinked_resources(runtime: Runtime,
                       reader: Reader) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Seat resources of linked subscriptions not linked yet: (revenue found, ignored)."""
    linked = {(r.provider, r.resource_id) for r in runtime.store.active_resource_links()}
    accounts = {c.id: c.account_id for c in runtime.store.active_company_links()}
    rules = IgnoreSet.load(runtime.store)
    rows, ignored = [], []
    for sub_link in runtime.store.active_subscription_links():
        try:
            resources = reader.resources(sub_link.provider, sub_link.subscription_id)
        except RUN_STOPPERS:
            raise
        except IdsyncError:
            continue  # the subscription's own problem is reported with its links
        for resource in resources.values():
            if not resource.seat_based or (sub_link.provider, resource.id) in linked:
                continue
            why = rules.why_resource(sub_link.provider, accounts.get(sub_link.company_link_id),
                                     sub_link.subscription_id, resource)
            if why:
                ignored.append({"provider": sub_link.provider, "resource_id": resource.id,
                                "name": resource.name,
                                "subscription_id": sub_link.subscription_id, "reason": why})
            else:
                rows.append({"provider": sub_link.provider, "resource_id": resource.id,
                             "name": resource.name, "sku": resource.sku,
                             "quantity": resource.quantity,
                             "subscription_id": sub_link.subscription_id,
                             "agreement_id": sub_link.agreement_id})
    return rows, ignored


def build_report(runtime: Runtime) -> PlanReport:
    """Plan every link (read-only: nothing is posted, no lock is taken).

    Unlike a sync, the report keeps every link's plan — it is a review of all of them, and its
    sections (drift, price differences) include links that need no change — and the reader
    keeps what it read, which the unlinked resources are then found in.
    """
    runtime.require_connections()
    reader = Reader(runtime)
    plans: list[LinePlan] = []
    with runtime.dry_run():
        run = run_links(runtime, None,
                        lambda reader, link: LinkOutcome(plan_one(runtime, reader, link),
                                                         dry_run=True),
                        on_outcome=lambda outcome: plans.append(outcome.plan), reader=reader,
                        release=False)
        if run.aborted is not None:
            raise run.aborted
        report = PlanReport(runtime.today, sorted(plans, key=lambda plan: plan.link.id or 0))
        report.unlinked_resources, report.ignored_resources = unlinked_resources(runtime,
                                                                                 reader)
    return report
