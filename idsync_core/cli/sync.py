"""``idsync plan``, ``apply``, ``sync`` and ``retry``: keep every linked line equal.

``plan`` reads both sides and shows (or saves) what a sync would post, with the report an
operator reviews. ``apply FILE`` posts a saved plan, re-reading both sides first and skipping any
change that no longer holds. ``sync`` plans and posts in one go — on a terminal it shows the plan
and asks first, unless ``--yes``; from cron or a systemd timer it just runs — and ``--every 1h``
keeps doing so until stopped. ``retry`` re-runs the links in the failure log.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from idsync_core.cli import logs, signals
from idsync_core.cli.context import runtime
from idsync_core.cli.output import (
    CSV,
    err,
    event,
    print_csv,
    print_json,
    say,
    table,
    to_jsonable,
)
from idsync_core.cli.render import outcome_record, scheduled_text, signed
from idsync_core.durations import parse_duration
from idsync_core.engine.posting import waiting_note
from idsync_core.engine.pricing import money_text
from idsync_core.engine.report import PlanReport, build_report
from idsync_core.engine.review import unattended_gate
from idsync_core.engine.runs import recorded
from idsync_core.engine.runtime import Runtime
from idsync_core.engine.sync import Gate, LinkOutcome, SyncSummary, sync_all
from idsync_core.errors import (
    ApiError,
    ConfigurationError,
    PartialFailure,
    RefusedError,
)
from idsync_core.journal import OPEN, JournalStatus

if TYPE_CHECKING:  # for annotations only: the store pulls in SQLAlchemy
    from idsync_core.store import ResourceLink

log = logging.getLogger(__name__)
JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")


def parse_every(text: str) -> float:
    """``90s``, ``15m``, ``1h``, ``1d`` → seconds (at least one minute)."""
    try:
        seconds = parse_duration(text).total_seconds()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--every") from None
    if seconds < 60:
        raise typer.BadParameter("sync at most once a minute", param_hint="--every")
    return seconds


def report_record(report: PlanReport) -> dict[str, Any]:
    return {
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "today": report.today,
        "links": [outcome_record(LinkOutcome(p, dry_run=True)) for p in report.plans],
        "unlinked_resources": report.unlinked_resources,
        "ignored_resources": report.ignored_resources,
        "problems": [{"resource_id": p.link.resource_id, "problem": p.problem}
                     for p in report.problems],
        "terminated": [{"resource_id": p.link.resource_id,
                        "subscription_id": p.subscription_link.subscription_id}
                       for p in report.terminated],
        "drift": [{"resource_id": p.link.resource_id, "agreement_id": p.link.agreement_id,
                   "catalog_item_id": p.link.catalog_item_id,
                   "idsync_left": p.link.last_quantity, "psa_now": p.actual_next}
                  for p in report.drift],
        "duplicates": report.duplicates,
        "price_differences": report.price_differences,
    }


def planned_keys(links: list[dict[str, Any]]) -> set[str]:
    """Every posting a saved or shown plan holds: undoing duplicates, then the changes."""
    return {c["key"] for link in links for c in link.get("undo", []) + link["changes"]}


def print_report(record: dict[str, Any]) -> None:
    rows = [{"resource": f"{r['resource_id']} ({r['resource_name']})",
             "provider": r["provider_quantity"], "psa": r["psa_quantity"],
             "changes": ", ".join([f"undo duplicate {u['record_id']}" for u in r["undo"]] + [
                 f"{signed(c['delta'])} from {c['effective_date']} at "
                 f"{money_text(c['unit_price'])}" for c in r["changes"]])
                        or (scheduled_text(r["scheduled_change"]) if r["scheduled_change"]
                            else None),
             "note": r["problem"] or (waiting_note(r["waiting_since"]) if r["waiting_since"]
                                      else None)}
            for r in record["links"]]
    table(rows, ["resource", "provider", "psa", "changes", "note"], as_json=False,
          title=f"Plan for {record['today']}", empty="no linked resource")
    sections = [("unlinked_resources", "Not linked (revenue not billed)",
                 ["resource_id", "name", "quantity", "subscription_id"]),
                ("ignored_resources", "Not linked, ignored on purpose", ["resource_id", "name",
                                                                        "reason"]),
                ("terminated", "Terminated subscriptions (→ 0)", ["resource_id",
                                                                 "subscription_id"]),
                ("drift", "Changed in the PSA by hand", ["resource_id", "agreement_id",
                                                        "idsync_left", "psa_now"]),
                ("duplicates", "IDSync's own duplicates (undone by the next sync)", [
                    "resource_id", "agreement_id", "record_id", "quantity", "effective_date"]),
                ("price_differences", "Price source ≠ PSA line", [
                    "resource_id", "price_source", "source_price", "psa_price",
                    "source_cost", "psa_cost"]),
                ("problems", "Cannot be synced", ["resource_id", "problem"])]
    for key, title, columns in sections:
        if record[key]:
            table(record[key], columns, as_json=False, title=title)


def plan_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan as one row per planned change (a link with none: one row without a change),
    for ``plan --csv``."""
    rows = []
    for link in record["links"]:
        base = {key: link[key] for key in ("link_id", "provider", "resource_id",
                                           "resource_name", "agreement_id", "catalog_item_id",
                                           "provider_quantity", "psa_quantity", "price_source")}
        base["note"] = link["problem"] or (waiting_note(link["waiting_since"])
                                           if link["waiting_since"] else None)
        changes = [{**u, "kind": "undo duplicate"} for u in link["undo"]] + [
            {**c, "kind": "change"} for c in link["changes"]]
        rows += [{**base, "change": c["kind"], "key": c["key"], "delta": c["delta"],
                  "effective_date": c["effective_date"], "unit_price": c.get("unit_price"),
                  "unit_cost": c.get("unit_cost")} for c in changes] or [base]
    return rows


def plan(
    as_json: bool = JSON,
    as_csv: bool = CSV,
    out_file: Path | None = typer.Option(None, "--out", help="Also save the plan as JSON, "
                                         "for `idsync apply`."),
) -> None:
    """Show what a sync would post, and what needs an operator's eye."""
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv")
    record = report_record(build_report(runtime()))
    if out_file is not None:
        out_file.write_text(json.dumps(to_jsonable(record), indent=2))
        logs.notice(f"plan saved to {out_file}")
    if as_json:
        print_json(record)
    elif as_csv:
        print_csv(plan_rows(record), ["resource_id", "resource_name", "agreement_id",
                                      "catalog_item_id", "provider_quantity", "psa_quantity",
                                      "change", "delta", "effective_date", "unit_price",
                                      "unit_cost", "price_source", "note"])
    else:
        print_report(record)


def run_with_progress(run: Callable[[Callable[[LinkOutcome], None] | None], SyncSummary],
                      total: int, *, show: bool) -> SyncSummary:
    if not show or total < 2:
        return run(None)
    with Progress(TextColumn("syncing"), BarColumn(), MofNCompleteColumn(), console=err,
                  transient=True) as bar:
        task = bar.add_task("links", total=total)
        return run(lambda _outcome: bar.advance(task))


def summarize(summary: SyncSummary, *, as_json: bool, title: str) -> None:
    """Print what a run did; raise what its exit code must say (6: it stopped on an API that
    cannot be reached or throttles past the wait; 7: some links are not equal yet)."""
    counts, notable = summary.counts(), summary.notable
    record = {"posted": counts["posted"], "unchanged": counts["unchanged"],
              "failed": counts["failed"], "waiting": counts["waiting"],
              "skipped": counts["skipped"], "held": counts["held"],
              "planned": counts["planned"],
              "settled_from_earlier_runs": summary.settled, "stopped": summary.stopped,
              "aborted": summary.aborted.message if summary.aborted else None,
              "calls": summary.calls, "links": [outcome_record(o) for o in notable]}
    if as_json:
        print_json(record)
    else:
        rows = [{"resource": f"{o.plan.link.resource_id} ({o.plan.link.resource_name})",
                 "provider": o.plan.desired, "psa": o.plan.actual,
                 "changes": ", ".join([f"undo duplicate {u.undoes.record_id}" for u in
                                       o.plan.undo if u.undoes] +
                                      [f"{signed(c.adjustment.delta)} from "
                                       f"{c.adjustment.effective_date}"
                                       for c in o.plan.changes]) or None,
                 "status": o.status, "note": note_of(o)}
                for o in notable]
        table(rows, ["resource", "provider", "psa", "changes", "status", "note"],
              as_json=False, title=title, empty="every linked line already equals the provider")
        event(", ".join(f"{k} {record[k]}" for k in ("posted", "unchanged", "failed",
                                                     "waiting", "skipped")
                        + (("held",) if record["held"] else ())))
        held = [{"key": c.adjustment.idempotency_key,
                 "resource": f"{o.plan.link.resource_id} ({o.plan.link.resource_name})",
                 "change": f"{signed(c.adjustment.delta)} from {c.adjustment.effective_date}"}
                for o in notable for c in o.held]
        if held:
            table(held, ["key", "resource", "change"], as_json=False,
                  title="Held for review ([sync] auto_post, or dismissed)")
            logs.notice(f"{len(held)} change(s) wait for a person: `idsync approve KEY…` posts "
                        "them, `idsync dismiss KEY…` hides them")
    for connection, calls in summary.calls.items():  # shown with --verbose
        log.info("[%s] %s connector calls: %s", connection, f"{sum(calls.values()):,}",
                 ", ".join(f"{hook.removeprefix('idsync_')} {n:,}" for hook, n in calls.items()))
    for outcome in notable:
        if outcome.plan.read_failed:
            logs.error(f"{outcome.plan.link.resource_id}: {outcome.plan.problem}",
                       label="failed")
        for posting in outcome.postings:
            if posting.status not in (JournalStatus.POSTED, *OPEN):
                logs.error(f"{outcome.plan.link.resource_id}: {posting.error}", label="failed")
    if summary.aborted is not None:
        raise summary.aborted
    failure = partial_failure(summary)
    if failure is not None:
        raise failure


def note_of(outcome: LinkOutcome) -> str | None:
    if outcome.plan.problem or outcome.skipped_reason:
        return outcome.plan.problem or outcome.skipped_reason
    if outcome.plan.waiting_since is not None:
        return waiting_note(outcome.plan.waiting_since)
    if outcome.status == "waiting":
        return "the PSA did not answer the posting; " + waiting_note(datetime.now(UTC))
    return None


def partial_failure(summary: SyncSummary) -> PartialFailure | None:
    """Exit 7, saying what was not done and what to run — the failure log only where the
    postings are in it: links that could not be read, or that wait for an earlier posting's
    outcome, are not failed postings."""
    notable = summary.notable  # every link that failed or waits is among them
    refused = [o for o in notable if not o.plan.read_failed
               and any(p.status not in (JournalStatus.POSTED, *OPEN) for p in o.postings)]
    unread = [o for o in notable if o.plan.read_failed]
    waiting = [o for o in notable if o.status == "waiting"]
    parts: list[str] = []
    hints: list[str] = []
    if refused:
        parts.append(f"{len(refused)} link(s) had a posting refused or failed; it is in the "
                     "failure log and is retried by the next sync")
        hints.append("see `idsync log --failed`, then `idsync retry`")
    if unread:
        parts.append(f"{len(unread)} link(s) could not be read ({unread[0].plan.problem}); "
                     "nothing was posted for them")
        hints.append("run `idsync sync` again once the API answers")
    if waiting:
        parts.append(f"{len(waiting)} link(s) wait for the outcome of an earlier posting: the "
                     "PSA may still apply it, so nothing more is posted for them until it shows "
                     "there or the quarantine ([sync] unknown_outcome_wait) is over")
        hints.append("the next sync re-reads them; `idsync log --failed` lists them")
    if not parts:
        return None
    return PartialFailure("; ".join(parts), hint="; ".join(hints))


def one_run(rt: Runtime, *, dry_run: bool, as_json: bool, stop: threading.Event,
            links: list[ResourceLink] | None = None, only_keys: set[str] | None = None,
            gate: Gate | None = None, origin: str = "sync", title: str = "Sync") -> None:
    """One run; unless a dry run, it is recorded and notified (:func:`engine.runs.recorded`)."""
    def run() -> SyncSummary:
        total = len(links) if links is not None else rt.store.active_resource_link_count()
        return run_with_progress(
            lambda progress: sync_all(rt, dry_run=dry_run, links=links, only_keys=only_keys,
                                      gate=gate, origin=origin, stop=stop, progress=progress),
            total, show=not as_json and sys.stderr.isatty())

    summary = run() if dry_run else recorded(rt, origin, run)
    summarize(summary, as_json=as_json, title=title + (" (dry run)" if dry_run else ""))


def sync(
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan only; post nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Post without asking on a terminal."),
    every: str | None = typer.Option(None, "--every", help="Run again after this long "
                                     "(15m, 1h, 1d) until stopped."),
    as_json: bool = JSON,
) -> None:
    """Post what each linked PSA line needs to equal the provider."""
    interval = parse_every(every) if every else None
    rt = runtime()
    with signals.graceful() as stop:
        while True:
            only_keys = None
            if not dry_run and not yes and sys.stdin.isatty() and interval is None:
                record = report_record(build_report(rt))
                print_report(record)
                only_keys = planned_keys(record["links"])
                if not only_keys:
                    say("Nothing to post.")
                    return
                if not typer.confirm(f"Post {len(only_keys)} change(s)?", default=False,
                                     err=True):
                    raise RefusedError("not confirmed; nothing was posted")
            # Unattended (not confirmed here by a person): [sync] auto_post decides.
            gate = unattended_gate(rt) if only_keys is None and not dry_run else None
            try:
                one_run(rt, dry_run=dry_run, as_json=as_json, stop=stop, only_keys=only_keys,
                        gate=gate)
            except (PartialFailure, ApiError) as exc:
                if interval is None:
                    raise
                logs.warning(exc.message)  # a later run tries again
            if interval is None:
                return
            next_run = datetime.now().astimezone() + timedelta(seconds=interval)
            logs.notice(f"next sync at {next_run:%H:%M} (every {every}); SIGTERM or Ctrl-C "
                        "stops")
            if stop.wait(interval):
                return


def apply(
    plan_file: Path = typer.Argument(..., help="A plan saved by `idsync plan --out FILE`."),
    as_json: bool = JSON,
) -> None:
    """Post a saved plan; both sides are re-read and changes that no longer hold are skipped."""
    try:
        saved = json.loads(plan_file.read_text())
        keys = planned_keys(saved["links"])
        link_ids = {link["link_id"] for link in saved["links"]
                    if link["changes"] or link.get("undo")}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"{plan_file} is not a plan saved by `idsync plan --out`: "
                                 f"{exc}") from None
    rt = runtime()
    rt.require_connections()
    links = [link for link in rt.store.active_resource_links() if link.id in link_ids]
    with signals.graceful() as stop:
        one_run(rt, dry_run=False, as_json=as_json, stop=stop, links=links, only_keys=keys,
                origin="apply", title=f"Apply {plan_file.name}")


def retry(as_json: bool = JSON) -> None:
    """Re-run the links whose postings are in the failure log."""
    rt = runtime()
    rt.require_connections()
    links = list(rt.store.links_with_failures())
    if not links:
        if as_json:
            print_json({"posted": 0, "failed": 0, "links": []})
        else:
            say("The failure log is empty.")
        return
    with signals.graceful() as stop:
        one_run(rt, dry_run=False, as_json=as_json, stop=stop, links=links, origin="retry",
                title="Retry")
