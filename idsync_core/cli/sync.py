"""``idsync sync``: bring every linked PSA line equal to the provider."""

from __future__ import annotations

import typer

from idsync_core.cli.context import runtime
from idsync_core.cli.output import err, out, print_json, table
from idsync_core.cli.render import outcome_record
from idsync_core.engine.sync import SyncSummary, sync_all
from idsync_core.errors import PartialFailure


def summary_record(summary: SyncSummary) -> dict[str, object]:
    counts = summary.counts()
    return {"posted": counts["posted"], "unchanged": counts["unchanged"],
            "failed": counts["failed"], "skipped": counts["skipped"],
            "planned": counts["planned"], "settled_from_earlier_runs": summary.settled,
            "links": [outcome_record(o) for o in summary.outcomes]}


def sync(
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan only; post nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Post what each linked PSA line needs to equal the provider (one run)."""
    summary = sync_all(runtime(), dry_run=dry_run)
    record = summary_record(summary)
    if as_json:
        print_json(record)
    else:
        rows = []
        for outcome in summary.outcomes:
            plan = outcome.plan
            changes = ", ".join(f"{c.adjustment.delta:+} from {c.adjustment.effective_date}"
                                for c in plan.changes)
            rows.append({"resource": f"{plan.link.resource_id} ({plan.link.resource_name})",
                         "provider": plan.desired, "psa": plan.actual,
                         "changes": changes or None, "status": outcome.status,
                         "note": plan.problem})
        table(rows, ["resource", "provider", "psa", "changes", "status", "note"],
              as_json=False, title="Sync" + (" (dry run)" if dry_run else ""),
              empty="no linked resource")
        out.print(", ".join(f"{k} {record[k]}" for k in ("posted", "unchanged", "failed",
                                                         "skipped", "planned")))
    failed = record["failed"]
    if failed:
        for outcome in summary.outcomes:
            for posting in outcome.postings:
                if posting.status != "posted":
                    err.print(f"[red]failed:[/red] {outcome.plan.link.resource_id}: "
                              f"{posting.error}")
        raise PartialFailure(f"{failed} link(s) could not be brought equal; they are in the "
                             "failure log and are retried by the next sync",
                             hint="see `idsync log --failed`")
