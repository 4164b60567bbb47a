"""``idsync review``, ``approve`` and ``dismiss``: the review queue on the command line.

Thin shells over :mod:`idsync_core.engine.review`, as the web console's ``/review`` page is.
"""

from __future__ import annotations

import typer

from idsync_core.cli import logs
from idsync_core.cli.context import runtime
from idsync_core.cli.output import say, table
from idsync_core.cli.render import signed
from idsync_core.engine import review
from idsync_core.errors import PartialFailure

KEYS = typer.Argument(..., help="Keys of planned changes (`idsync review` lists them).")


def review_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The changes waiting for a person: what a sync would post, less what was dismissed."""
    found = review.queue(runtime())
    rows = [{"id": item.key, "name": item.plan.link.resource_name, "key": item.key,
             "link_id": item.link_id, "resource_id": item.plan.link.resource_id,
             "provider_quantity": item.plan.desired, "psa_quantity": item.plan.actual,
             "change": ("undo duplicate " if item.is_undo else "") + signed(item.delta),
             "delta": item.delta, "effective_date": item.effective_date,
             "unit_price": item.change.adjustment.unit_price,
             "unit_cost": item.change.adjustment.unit_cost, "follows": item.follows}
            for item in found.items]
    table(rows, ["key", "resource_id", "provider_quantity", "psa_quantity", "change",
                 "effective_date", "unit_price", "unit_cost"], as_json=as_json,
          title="Review queue", empty="nothing waits for review")
    if found.hidden and not as_json:
        logs.notice(f"{found.hidden} dismissed change(s) hidden (until their numbers change)")


def _report(decisions: list[review.Decision], done: str) -> None:
    for decision in decisions:
        if decision.status == done or decision.status == "unchanged":
            say(decision.message)
        else:
            logs.error(decision.message, label=decision.status)
    failed = [d for d in decisions if d.status not in (done, "unchanged")]
    if failed:
        raise PartialFailure(f"{len(failed)} of {len(decisions)} change(s) were not posted",
                             hint="see above; `idsync review` shows what waits now")


def approve(keys: list[str] = KEYS) -> None:
    """Post these changes now, exactly once (both sides are re-read first; a change that no
    longer holds is skipped and says so)."""
    _report(review.approve(runtime(), keys).decisions, "posted")


def dismiss(keys: list[str] = KEYS) -> None:
    """Hide these changes from the queue and from unattended syncs, until their numbers
    change."""
    _report(review.dismiss(runtime(), keys), "dismissed")
