"""``/onboarding``: the suggestions of ``idsync suggest``, reviewed and linked in bulk.

The page lists every suggested link (:func:`suggest.suggest`) with its score and reason; a
person ticks or unticks ``accepted``, puts another candidate's id in the target, sets a price
source, then previews (a dry run on a scratch copy of the store) or links them all with
:func:`bulk.link_accepted` — the very function of ``idsync link --accept FILE``, with the rows
read by the same parser as the file (:func:`rows.parse`), so a bad row is refused whole, named
next to its row, and nothing is linked.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from idsync_core.engine.onboarding import bulk, rows, suggest
from idsync_core.engine.posting import waiting_note
from idsync_core.engine.pricing import PriceSourceKind
from idsync_core.engine.users import Permission
from idsync_core.web.console import Page, page

FIELDS = ("level", "provider", "id", "name", "parent_id", "target_id", "target_name",
          "price_source", "price", "cost", "markup", "status", "reason")


def show(p: Page, records: list[dict[str, Any]], *, status: int = 200,
         **values: Any) -> Response:
    return p.render("onboarding.html", status=status, rows=records,
                    kinds=list(PriceSourceKind), providers=p.runtime.provider_names,
                    provider=p.value("provider"), **values)


@page(Permission.READ)
def onboarding_page(p: Page) -> Response:
    found = suggest.suggest(p.runtime, p.value("provider") or None)
    records = [rows.record(row) for row in found.rows]
    return show(p, records, counts=found.counts(), unreadable=found.unreadable)


def submitted(p: Page) -> list[dict[str, Any]]:
    """The rows as the form sent them back (in the suggestion file's shape)."""
    count = p.value("rows")
    records = []
    for n in range(int(count) if count.isdigit() else 0):
        record: dict[str, Any] = {name: p.value(f"r{n}-{name}") for name in FIELDS}
        record["accepted"] = "yes" if "yes" in p.values(f"r{n}-accepted") else "no"
        record["candidates"] = []
        records.append(record)
    return records


@page(Permission.OPERATE)
def link_accepted(p: Page) -> Response:
    records = submitted(p)
    parsed, errors = [], {}
    for number, record in enumerate(records):
        try:
            parsed.append(rows.parse(record, number + 1))
        except rows.SuggestionFileError as exc:
            errors[number] = str(exc)
    for record in records:
        record["accepted"] = record["accepted"] == "yes"
    if errors:
        return show(p, records, status=400, errors=errors,
                    refused="Some rows cannot be linked from (see them below); nothing was "
                            "linked.")
    if not any(row.accepted for row in parsed):
        return show(p, records, errors={}, refused="No row is accepted: nothing to link.")
    dry_run = p.value("action") != "link"
    result = bulk.link_accepted(p.runtime, parsed, dry_run=dry_run,
                                confirmed="1" in p.values("confirm_below_cost"))
    return show(p, records, errors={}, result=result, outcomes=[outcome_record(o)
                                                                 for o in result.outcomes])


def outcome_record(outcome: bulk.RowOutcome) -> dict[str, Any]:
    """One row's result: linked / unchanged / failed / skipped, and what its line needed."""
    reconciled = outcome.reconciliation
    postings, status = "", outcome.status
    if reconciled is not None:
        plan = reconciled.plan
        postings = ", ".join(f"{c.adjustment.delta:+} from {c.adjustment.effective_date}"
                             for c in plan.changes) or "none needed"
        if reconciled.status in ("posted", "failed", "waiting", "planned"):
            status = f"{status}, {reconciled.status}"
        if plan.problem:
            postings = plan.problem
        elif plan.waiting_since is not None:
            postings = waiting_note(plan.waiting_since)
        failed = [r.error or str(r.status) for r in reconciled.postings
                  if r.status != "posted"]
        if failed:
            postings += "; " + "; ".join(failed)
    return {"level": outcome.row.level.value, "id": outcome.row.id,
            "target_id": outcome.row.target_id, "status": status, "failed": outcome.failed,
            "message": outcome.message, "postings": postings}
