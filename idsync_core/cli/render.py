"""How a reconciliation reads, for people and for scripts."""

from __future__ import annotations

from typing import Any

from idsync_core.cli import logs
from idsync_core.cli.output import cell, print_json, say
from idsync_core.engine.planning import LinePlan
from idsync_core.engine.posting import waiting_note
from idsync_core.engine.pricing import money_text
from idsync_core.engine.sync import LinkOutcome
from idsync_core.errors import PartialFailure
from idsync_core.journal import OPEN, JournalStatus


def scheduled_change(plan: LinePlan) -> dict[str, Any] | None:
    """A change already posted for a later date that makes the line equal then (a decrease
    waiting for the next billing period): nothing to post, yet the PSA differs today."""
    if plan.changes or plan.problem or plan.next_date is None or plan.desired is None \
            or plan.actual is None or plan.actual == plan.desired \
            or plan.actual_next != plan.desired:
        return None
    return {"delta": plan.desired - plan.actual, "effective_date": plan.next_date}


def signed(quantity: Any) -> str:
    text = cell(quantity)
    return text if text.startswith("-") else f"+{text}"


def scheduled_text(scheduled: dict[str, Any]) -> str:
    return f"{signed(scheduled['delta'])} from {scheduled['effective_date']} already posted"


def outcome_record(result: LinkOutcome) -> dict[str, Any]:
    plan = result.plan
    return {
        "dry_run": result.dry_run,
        "status": result.status,
        "link_id": plan.link.id,
        "provider": plan.link.provider,
        "resource_id": plan.link.resource_id,
        "resource_name": plan.link.resource_name,
        "agreement_id": plan.link.agreement_id,
        "catalog_item_id": plan.link.catalog_item_id,
        "provider_quantity": plan.desired,
        "psa_quantity": plan.actual,
        "terminated": plan.terminated,
        "price_source": plan.pricing.source if plan.pricing else None,
        "problem": plan.problem,
        "waiting_since": plan.waiting_since,
        "scheduled_change": scheduled_change(plan),
        "undo": [
            {
                "key": u.adjustment.idempotency_key,
                "duplicate_of": u.undoes.key if u.undoes else None,
                "record_id": u.undoes.record_id if u.undoes else None,
                "delta": u.adjustment.delta,
                "effective_date": u.adjustment.effective_date,
                "status": _posting_of(result, u.adjustment.idempotency_key)[0],
                "error": _posting_of(result, u.adjustment.idempotency_key)[1],
            }
            for u in plan.undo
        ],
        "changes": [
            {
                "key": c.adjustment.idempotency_key,
                "delta": c.adjustment.delta,
                "from_quantity": c.from_quantity,
                "target_quantity": c.adjustment.target_quantity,
                "effective_date": c.adjustment.effective_date,
                "unit_price": c.adjustment.unit_price,
                "unit_cost": c.adjustment.unit_cost,
                "status": _posting_of(result, c.adjustment.idempotency_key)[0],
                "error": _posting_of(result, c.adjustment.idempotency_key)[1],
            }
            for c in plan.changes
        ],
    }


def _posting_of(result: LinkOutcome, key: str) -> tuple[str, str | None]:
    """(status, error text) of the change with this key."""
    if result.plan.waiting_since is not None:
        return "waiting for an earlier posting", None
    if result.dry_run:
        return "would post", None
    for posting in result.postings:
        if posting.change.adjustment.idempotency_key == key:
            return posting.status, posting.error
    if any(c.adjustment.idempotency_key == key for c in result.held):
        return "held for review", None
    return "not posted", None


def render_reconcile(result: LinkOutcome, *, as_json: bool) -> None:
    """Print the outcome; raise :class:`PartialFailure` (exit 7) when a posting failed or its
    outcome is not known yet."""
    plan = result.plan
    failed = [p for p in result.postings if p.status != JournalStatus.POSTED]
    if as_json:
        print_json(outcome_record(result))
    else:
        link = plan.link
        if result.link_created:
            say(f"Linked resource {link.resource_id} ({link.resource_name}) to catalog item "
                f"{link.catalog_item_id} ({link.catalog_item_name}) on agreement "
                f"{link.agreement_id}.")
        if plan.problem:
            logs.warning(plan.problem, label="not reconciled")
        elif plan.waiting_since is not None:
            logs.warning(f"{waiting_note(plan.waiting_since)}; nothing more is posted for it "
                         "until the PSA shows it", label="not reconciled")
        else:
            where = "terminated at" if plan.terminated else "at"
            say(f"{cell(plan.desired)} x {link.resource_name} {where} {link.provider}, "
                f"{cell(plan.actual)} on the PSA.")
            for undo in plan.undo:
                assert undo.undoes is not None
                say(f"  → undo record {undo.undoes.record_id} ({abs(undo.adjustment.delta)} "
                    f"units from {undo.adjustment.effective_date}), a duplicate of an earlier "
                    f"posting: {_posting_of(result, undo.adjustment.idempotency_key)[0]}")
            scheduled = scheduled_change(plan)
            if scheduled is not None:
                say(f"  {scheduled_text(scheduled)}: nothing to post.")
            elif not plan.changes and not plan.undo:
                say("Already equal: nothing to post.")
            for change in plan.changes:
                a = change.adjustment
                verb = "addition" if a.delta > 0 else "reduction"
                status = _posting_of(result, a.idempotency_key)[0]
                source = plan.pricing.source if plan.pricing else "?"
                say(f"  → {verb} of {abs(a.delta)} units ({change.from_quantity} → "
                    f"{a.target_quantity}) effective {a.effective_date}, unit price "
                    f"{money_text(a.unit_price)}, cost {money_text(a.unit_cost)} "
                    f"[{source}]: {status}")
        for posting in failed:
            logs.error(posting.error or posting.status, label="failed")
    if any(p.status in OPEN for p in failed) or (
            plan.waiting_since is not None and not result.dry_run):
        raise PartialFailure("the PSA did not confirm the posting; nothing more is posted for "
                             "this line until it shows there or the quarantine ([sync] "
                             "unknown_outcome_wait) is over",
                             hint="the next sync re-reads it; `idsync log --failed` lists it")
    if failed:
        raise PartialFailure(f"{len(failed)} posting(s) did not go through; they are in the "
                             "failure log", hint="see `idsync log --failed`, then `idsync retry`")
