"""How a reconciliation reads, for people and for scripts."""

from __future__ import annotations

from typing import Any

from idsync_core.cli.output import cell, err, money, out, print_json
from idsync_core.engine.posting import waiting_note
from idsync_core.engine.sync import LinkOutcome
from idsync_core.errors import PartialFailure
from idsync_core.journal import OPEN, JournalStatus


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
        "undo": [
            {
                "key": u.adjustment.idempotency_key,
                "duplicate_of": u.undoes.key if u.undoes else None,
                "record_id": u.undoes.record_id if u.undoes else None,
                "delta": u.adjustment.delta,
                "effective_date": u.adjustment.effective_date,
                "status": _status_of(result, u.adjustment.idempotency_key),
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
                "status": _status_of(result, c.adjustment.idempotency_key),
            }
            for c in plan.changes
        ],
    }


def _status_of(result: LinkOutcome, key: str) -> str:
    if result.plan.waiting_since is not None:
        return "waiting for an earlier posting"
    if result.dry_run:
        return "would post"
    for posting in result.postings:
        if posting.change.adjustment.idempotency_key == key:
            return posting.status
    return "not posted"


def render_reconcile(result: LinkOutcome, *, as_json: bool) -> None:
    """Print the outcome; raise :class:`PartialFailure` (exit 7) when a posting failed."""
    plan = result.plan
    failed = [p for p in result.postings if p.status != JournalStatus.POSTED]
    if as_json:
        print_json(outcome_record(result))
    else:
        link = plan.link
        if result.link_created:
            out.print(f"Linked resource {link.resource_id} ({link.resource_name}) to catalog "
                      f"item {link.catalog_item_id} ({link.catalog_item_name}) on agreement "
                      f"{link.agreement_id}.")
        if plan.problem:
            err.print(f"[yellow]not reconciled:[/yellow] {plan.problem}")
        elif plan.waiting_since is not None:
            err.print(f"[yellow]not reconciled:[/yellow] {waiting_note(plan.waiting_since)}; "
                      "nothing more is posted for it until the PSA shows it")
        else:
            where = "terminated at" if plan.terminated else "at"
            out.print(f"{cell(plan.desired)} x {link.resource_name} {where} {link.provider}, "
                      f"{cell(plan.actual)} on the PSA.")
            for undo in plan.undo:
                assert undo.undoes is not None
                out.print(f"  → undo record {undo.undoes.record_id} ({abs(undo.adjustment.delta)} "
                          f"units from {undo.adjustment.effective_date}), a duplicate of an "
                          f"earlier posting: "
                          f"{_status_of(result, undo.adjustment.idempotency_key)}")
            if not plan.changes and not plan.undo:
                out.print("Already equal: nothing to post.")
            for change in plan.changes:
                a = change.adjustment
                verb = "addition" if a.delta > 0 else "reduction"
                status = _status_of(result, a.idempotency_key)
                out.print(f"  → {verb} of {abs(a.delta)} units ({change.from_quantity} → "
                          f"{a.target_quantity}) effective {a.effective_date}, unit price "
                          f"{money(a.unit_price)}, cost {money(a.unit_cost)} "
                          f"[{plan.pricing.source if plan.pricing else '?'}]: {status}")
        for posting in failed:
            err.print(f"[red]failed:[/red] {posting.error}")
    if any(p.status in OPEN for p in failed) or (
            plan.waiting_since is not None and not result.dry_run):
        raise PartialFailure("the PSA did not confirm the posting; nothing more is posted for "
                             "this line until it shows there or the quarantine ([sync] "
                             "unknown_outcome_wait) is over",
                             hint="the next sync re-reads it; `idsync log --failed` lists it")
    if failed:
        raise PartialFailure(f"{len(failed)} posting(s) did not go through; they are in the "
                             "failure log", hint="see `idsync log --failed`, then `idsync retry`")
