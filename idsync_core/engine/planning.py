"""Planning: the changes that bring one PSA line equal to its provider resource.

The PSA line is a step function of time. IDSync reads it at two dates — today and the day a
decrease would start (the next billing period) — and plans:

* provider above today's PSA quantity: an increase effective today;
* provider below it: a decrease effective on the next period start (or today, by policy);
* and, in both cases, whatever makes the quantity at the next period start equal the provider
  too (a decrease scheduled earlier that no longer holds is undone, and vice versa).

Each change carries a deterministic idempotency key: the same intended change gets the same key
in a retry or a re-run, and a new key once an earlier posting of the link has landed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from idsync_core.engine import pricing
from idsync_core.engine.dates import decrease_date
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.models import (
        Adjustment,
        Agreement,
        AgreementLine,
        MarkedRecord,
        Resource,
        Subscription,
    )
    from idsync_core.store import (
        CompanyLink,
        CompanyParent,
        ResourceLink,
        SubscriptionLink,
        SubscriptionParent,
    )

ZERO = Decimal(0)


@dataclass
class PlannedChange:
    adjustment: Adjustment
    from_quantity: Decimal
    undoes: MarkedRecord | None = None
    """Set on a compensation: the duplicate record it makes bill nothing (see
    :func:`duplicates_of`)."""


@dataclass
class LinePlan:
    """What one resource link needs; ``problem`` set means it cannot be planned (reported)."""

    link: ResourceLink
    subscription_link: SubscriptionLink | SubscriptionParent
    company_link: CompanyLink | CompanyParent
    """The link's parents: mapped objects, or a run snapshot's light rows of them."""
    subscription: Subscription | None = None
    resource: Resource | None = None
    agreement: Agreement | None = None
    desired: Decimal | None = None
    actual: Decimal | None = None
    actual_next: Decimal | None = None
    next_date: date | None = None
    pricing: pricing.Pricing | None = None
    line_price: Decimal | None = None
    line_cost: Decimal | None = None
    changes: list[PlannedChange] = field(default_factory=list)
    undo: list[PlannedChange] = field(default_factory=list)
    """Compensations for IDSync's own duplicates on the line, posted before ``changes``."""
    problem: str | None = None
    read_failed: bool = False
    """The problem is an API failure while reading (retryable), not a change in the world."""
    waiting_since: datetime | None = None
    """An earlier posting of this link has no known outcome yet (since then): nothing is posted
    for it until the PSA shows that posting or its quarantine is over (see :mod:`posting`)."""
    terminated: bool = False
    """The subscription is terminated (its lines go to 0); kept when the plan lets go of the
    subscription itself (:meth:`slimmed`)."""

    def slimmed(self) -> LinePlan:
        """This plan without the provider and PSA objects it was made from — what it says is
        in its own fields — for a run that keeps it until its end among many others."""
        return replace(self, subscription=None, resource=None, agreement=None)


def idempotency_key(link: ResourceLink, effective: date, from_quantity: Decimal,
                    target: Decimal, landed_before: int) -> str:
    """Deterministic key of one intended change (see the module docstring)."""
    parts = [link.provider, link.resource_id, link.agreement_id, link.catalog_item_id,
             effective.isoformat(), _canonical(from_quantity), _canonical(target),
             str(landed_before)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def duplicates_of(line: AgreementLine | None) -> list[MarkedRecord]:
    """The records that repeat an IDSync posting on the line: every record after the first
    (oldest) one carrying the same marker. Such a record is a write that landed after the change
    had been posted again; it is undone, never taken for a hand-made change."""
    seen: set[str] = set()
    extra = []
    for record in line.marked if line else []:
        if record.key in seen:
            extra.append(record)
        seen.add(record.key)
    return extra


def undo_key(record: MarkedRecord) -> str:
    """Deterministic key of the compensation that undoes one duplicate record."""
    return hashlib.sha256(f"undo|{record.key}|{record.record_id}".encode()).hexdigest()[:32]


def _canonical(quantity: Decimal) -> str:
    return format(quantity.normalize(), "f")


def steps(desired: Decimal, today: date, q_today: Decimal, next_date: date,
          q_next: Decimal) -> list[tuple[date, Decimal, Decimal]]:
    """(effective date, quantity before, delta) of each change; pure arithmetic, see above."""
    changes: list[tuple[date, Decimal, Decimal]] = []
    if desired > q_today:
        changes.append((today, q_today, desired - q_today))
        q_next += desired - q_today
    if next_date > today and q_next != desired:
        changes.append((next_date, q_next, desired - q_next))
    elif next_date == today and desired < q_today:
        changes.append((today, q_today, desired - q_today))
    return changes


def plan_link(runtime: Runtime, reader: Reader, link: ResourceLink,
              sub_link: SubscriptionLink | SubscriptionParent,
              company_link: CompanyLink | CompanyParent, *,
              price_setting: pricing.PriceSetting | None = None) -> LinePlan:
    """Plan one link. ``link`` may be unsaved (a dry-run link); ``price_setting`` then stands
    in for the price source it would get."""
    from idsync_core.models import Adjustment, Resource

    plan = LinePlan(link=link, subscription_link=sub_link, company_link=company_link)
    provider = link.provider
    plan.subscription = reader.subscriptions(provider, company_link.account_id).get(
        sub_link.subscription_id)
    if plan.subscription is None:
        plan.problem = (f"subscription {sub_link.subscription_id} is no longer listed for "
                        f"account {company_link.account_id} at {provider}")
        return plan
    plan.terminated = plan.subscription.terminated
    plan.resource = reader.resources(provider, plan.subscription.id).get(link.resource_id)
    if plan.resource is None and not plan.terminated:
        plan.problem = f"resource {link.resource_id} is no longer listed at {provider}"
        return plan
    if plan.resource is not None and not plan.resource.seat_based:
        plan.problem = f"resource {link.resource_id} has no seat count (usage-based); not synced"
        return plan
    if plan.terminated or plan.resource is None:
        plan.desired = ZERO
    else:
        plan.desired = plan.resource.quantity or ZERO
    plan.agreement = reader.agreement(company_link.psa_company_id, link.agreement_id)
    today = runtime.today
    plan.next_date = decrease_date(plan.agreement, today, runtime.settings.sync.decrease_effective)
    lines_today = reader.lines(link.agreement_id, today)
    line = lines_today.get(link.catalog_item_id)
    duplicates = duplicates_of(line)
    plan.actual = _net(line, duplicates, today)
    if line is not None:
        plan.line_price, plan.line_cost = line.unit_price, line.unit_cost
    next_line = reader.lines(link.agreement_id, plan.next_date).get(link.catalog_item_id)
    plan.actual_next = _net(next_line, duplicates, plan.next_date)
    plan.undo = [_undo(reader, link, record) for record in duplicates
                 if record.effective_date is not None]

    setting = price_setting or pricing.effective_setting(
        reader.snapshot.price_source, link_id=link.id, agreement_id=link.agreement_id,
        psa_company_id=company_link.psa_company_id)[0]
    catalog = reader.catalog_items([link.catalog_item_id]).get(link.catalog_item_id)
    resource_for_price = plan.resource or Resource(id=link.resource_id,
                                                   subscription_id=plan.subscription.id,
                                                   name=link.resource_name)
    plan.pricing = pricing.resolve(setting, catalog=catalog, line=line,
                                   resource=resource_for_price)
    plan.problem = pricing.currency_mismatch(setting.kind if setting else "catalog",
                                             resource_for_price, plan.agreement)
    if plan.problem is not None:
        return plan  # never posted as if it were the same money
    landed = reader.snapshot.posted[link.id] if link.id is not None else 0
    for effective, before, delta in steps(plan.desired, today, plan.actual, plan.next_date,
                                          plan.actual_next):
        target = before + delta
        adjustment = Adjustment(
            agreement_id=link.agreement_id,
            catalog_item_id=link.catalog_item_id,
            delta=delta,
            target_quantity=target,
            effective_date=effective,
            unit_price=plan.pricing.price,
            unit_cost=plan.pricing.cost,
            idempotency_key=idempotency_key(link, effective, before, target, landed),
            description=f"{link.resource_name or link.resource_id} ({provider} "
                        f"{plan.subscription.id})",
        )
        plan.changes.append(PlannedChange(adjustment, before))
    return plan


def _net(line: AgreementLine | None, duplicates: list[MarkedRecord], day: date) -> Decimal:
    """The line's quantity on ``day`` without IDSync's own duplicates: what it bills once they
    are undone, and what every change is planned from."""
    quantity = line.quantity if line else ZERO
    return quantity - sum((d.quantity for d in duplicates if d.active_on(day)), ZERO)


def _undo(reader: Reader, link: ResourceLink, record: MarkedRecord) -> PlannedChange:
    """The compensation for one duplicate: it stops billing from its own effective date."""
    from idsync_core.models import Adjustment

    assert record.effective_date is not None
    line = reader.lines(link.agreement_id, record.effective_date).get(link.catalog_item_id)
    before = line.quantity if line else ZERO
    adjustment = Adjustment(
        agreement_id=link.agreement_id, catalog_item_id=link.catalog_item_id,
        delta=-record.quantity, target_quantity=before - record.quantity,
        effective_date=record.effective_date, idempotency_key=undo_key(record),
        description=f"undo duplicate record {record.record_id} of posting {record.key}")
    return PlannedChange(adjustment, before, undoes=record)
