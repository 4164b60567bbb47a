"""``idsync map``, ``suggest``, ``ignore`` and ``link --accept``: onboarding a whole tenant.

Thin shells over :mod:`idsync_core.engine.onboarding`: parse, call, render.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from idsync_core.cli import logs
from idsync_core.cli.context import PROVIDER, IdsyncTyper, runtime
from idsync_core.cli.inputs import price_choice
from idsync_core.cli.output import CSV, err, print_json, say, table
from idsync_core.engine import linking, runs
from idsync_core.engine.onboarding import bulk, ignores, mappings, rows, suggest
from idsync_core.engine.posting import waiting_note
from idsync_core.engine.pricing import PriceSourceKind
from idsync_core.errors import PartialFailure, RefusedError

JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
TERM = typer.Option(None, "--term", help="Only for this commitment term (1m, monthly, 1y, "
                    "annual, 3y); default: any term.")

map_app = IdsyncTyper(help="Product mappings: which PSA catalog item a provider SKU bills as, "
                      "for every customer.")
ignore_app = IdsyncTyper(help="Leave provider objects out of suggestions and of the plan's "
                         "\"revenue found\" report, with a reason.")


# -- map ------------------------------------------------------------------------------------------

@map_app.command("product")
def map_product(
    sku: str = typer.Argument(..., help="The provider's SKU (Ingram MPN; the APS resource "
                              "type id on Odin)."),
    catalog_item_id: str = typer.Argument(..., help="The PSA catalog item it bills as."),
    term: str | None = TERM,
    price_source: PriceSourceKind | None = typer.Option(
        None, "--price-source", help="Default price source of resources linked through it."),
    price: str | None = typer.Option(None, "--price", help="Custom unit price."),
    cost: str | None = typer.Option(None, "--cost", help="Custom unit cost."),
    markup: str | None = typer.Option(None, "--markup", help="Markup percent on provider cost."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Confirm a custom cost below the "
                             "PSA cost."),
    provider: str | None = PROVIDER,
) -> None:
    """Map a SKU to a catalog item (replacing an earlier mapping of it)."""
    rt = runtime()
    name = linking.provider_name(rt, provider)
    mapping = mappings.map_product(rt, name, sku, catalog_item_id, term=term,
                                   price=price_choice(price_source, price, cost, markup),
                                   confirmed=yes)
    say(f"SKU {mapping.sku}{f' ({mapping.term})' if mapping.term else ''} at {name} bills "
              f"as catalog item {mapping.catalog_item_id} ({mapping.catalog_item_name})"
              + (f", price source {mapping.price_kind}" if mapping.price_kind else "") + ".")


@map_app.command("list")
def map_list(as_json: bool = JSON, as_csv: bool = CSV) -> None:
    """Every product mapping."""
    found = [{"id": m.sku, "name": m.catalog_item_name, "provider": m.provider, "sku": m.sku,
              "term": m.term or "any", "catalog_item_id": m.catalog_item_id,
              "catalog_item_name": m.catalog_item_name, "price_source": m.price_kind,
              "price": m.price, "cost": m.cost, "markup": m.markup_percent,
              "updated_at": m.updated_at}
             for m in runtime().store.product_mappings()]
    table(found, ["provider", "sku", "term", "catalog_item_id", "catalog_item_name",
                  "price_source", "price", "cost", "markup"], as_json=as_json, as_csv=as_csv,
          title="Product mappings", empty="no product mapping yet (see `idsync map suggest`)")


@map_app.command("remove")
def map_remove(sku: str, term: str | None = TERM, provider: str | None = PROVIDER) -> None:
    """Remove a SKU's mapping (links made through it stay)."""
    rt = runtime()
    mappings.unmap(rt, linking.provider_name(rt, provider), sku, term)
    say(f"Removed the mapping of SKU {sku}.")


@map_app.command("suggest")
def map_suggest(provider: str | None = PROVIDER, as_json: bool = JSON,
                as_csv: bool = CSV) -> None:
    """For each unmapped SKU seen at the provider: the catalog item with the same SKU, else the
    best name match."""
    found = [{"id": s.sku, "name": s.name, "sku": s.sku, "resources": s.resources,
              "catalog_item_id": s.match.item.id if s.match.item else None,
              "catalog_item_name": s.match.item.name if s.match.item else None,
              "score": None if s.match.score is None else f"{s.match.score:.2f}",
              "confident": s.match.confident, "reason": s.match.reason,
              "candidates": [{"id": item.id, "name": item.name, "score": f"{score:.2f}"}
                             for item, score in s.match.candidates]}
             for s in suggest.map_suggestions(runtime(), provider)]
    table(found, ["sku", "name", "resources", "catalog_item_id", "catalog_item_name", "score",
                  "confident", "reason"], as_json=as_json, as_csv=as_csv, title="Unmapped SKUs",
          empty="every SKU seen at the provider is mapped")


# -- suggest --------------------------------------------------------------------------------------

def suggest_command(
    as_json: bool = typer.Option(False, "--json", help="JSON (the default of --out)."),
    as_csv: bool = typer.Option(False, "--csv", help="CSV, for a spreadsheet."),
    out_file: Path | None = typer.Option(None, "--out", help="Write the file here (review it, "
                                         "then `idsync link --accept FILE`)."),
    provider: str | None = PROVIDER,
) -> None:
    """Suggest a PSA twin for every customer, subscription and resource not linked yet; only
    confident matches are accepted."""
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv")
    found = suggest.suggest(runtime(), provider)
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    csv_wanted = as_csv or (out_file is not None and out_file.suffix.lower() == ".csv"
                            and not as_json)
    text = rows.to_csv(found.rows) if csv_wanted else rows.to_json(found, stamp)
    if out_file is not None:
        out_file.write_text(text, encoding="utf-8")
        print_counts(found)
        logs.notice(f"suggestions saved to {out_file}: review them, then `idsync link --accept "
                    f"{out_file}`")
    elif as_json or as_csv:
        sys.stdout.write(text)
    else:
        table([{**rows.record(r), "candidates": len(r.candidates)} for r in found.rows],
              ["level", "id", "name", "target_id", "target_name", "score", "status", "reason"],
              as_json=False, title=f"Suggestions for {found.provider}",
              empty="everything is linked or ignored")
        print_counts(found)
    for problem in found.unreadable:
        logs.error(problem, label="not read")
    if found.unreadable:
        raise PartialFailure(f"{len(found.unreadable)} item(s) could not be read; their rows "
                             "are missing", hint="run `idsync suggest` again")


def print_counts(found: suggest.Suggestions) -> None:
    summary = [{"level": level, **counts} for level, counts in found.counts().items()]
    table(summary, ["level", *[s.value for s in suggest.Status]], as_json=False,
          title="Suggestions", empty="nothing to suggest")


# -- ignore ---------------------------------------------------------------------------------------

def _ignore(kind: ignores.IgnoreKind, object_id: str, reason: str,
            provider: str | None) -> None:
    rt = runtime()
    name = linking.provider_name(rt, provider)
    ignores.ignore(rt, name, kind, object_id, reason)
    say(f"Ignoring {kind.value} {object_id} at {name}" + (f": {reason}" if reason else "")
              + ".")


REASON = typer.Option("", "--reason", help="Why (shown wherever it is listed as ignored).")


@ignore_app.command("account")
def ignore_account(account_id: str, reason: str = REASON,
                   provider: str | None = PROVIDER) -> None:
    """Ignore a customer account (and everything under it)."""
    _ignore(ignores.IgnoreKind.ACCOUNT, account_id, reason, provider)


@ignore_app.command("subscription")
def ignore_subscription(subscription_id: str, reason: str = REASON,
                        provider: str | None = PROVIDER) -> None:
    """Ignore a subscription (and its resources)."""
    _ignore(ignores.IgnoreKind.SUBSCRIPTION, subscription_id, reason, provider)


@ignore_app.command("resource")
def ignore_resource(resource_id: str, reason: str = REASON,
                    provider: str | None = PROVIDER) -> None:
    """Ignore one resource."""
    _ignore(ignores.IgnoreKind.RESOURCE, resource_id, reason, provider)


@ignore_app.command("sku")
def ignore_sku(sku: str, reason: str = REASON, provider: str | None = PROVIDER) -> None:
    """Ignore every resource with this SKU (a product billed by hand)."""
    _ignore(ignores.IgnoreKind.SKU, sku, reason, provider)


@ignore_app.command("list")
def ignore_list(as_json: bool = JSON, as_csv: bool = CSV) -> None:
    """Every ignore rule, with its reason."""
    found = [{"id": r.object_id, "name": r.reason, "provider": r.provider, "kind": r.kind,
              "reason": r.reason, "created_at": r.created_at}
             for r in runtime().store.ignore_rules()]
    table(found, ["provider", "kind", "id", "reason", "created_at"], as_json=as_json, as_csv=as_csv,
          title="Ignored", empty="nothing is ignored")


@ignore_app.command("remove")
def ignore_remove(kind: ignores.IgnoreKind = typer.Argument(..., help="account, subscription, "
                                                             "resource or sku."),
                  object_id: str = typer.Argument(..., help="Its id (or the SKU)."),
                  provider: str | None = PROVIDER) -> None:
    """Stop ignoring it."""
    rt = runtime()
    ignores.unignore(rt, linking.provider_name(rt, provider), kind, object_id)
    say(f"No longer ignoring {kind.value} {object_id}.")


# -- link --accept --------------------------------------------------------------------------------

def link_accepted(file: Path, *, dry_run: bool, yes: bool, as_json: bool) -> None:
    """``idsync link --accept FILE``: every accepted row (see engine.onboarding.bulk)."""
    try:
        found = rows.read(file)
    except rows.SuggestionFileError as exc:
        raise typer.BadParameter(str(exc), param_hint="--accept") from None
    accepted = [r for r in found if r.accepted]
    if not accepted:
        say(f"{file} has no accepted row: nothing to link.")
        return
    if not dry_run and not yes and sys.stdin.isatty():
        counts = {level.value: sum(r.level is level for r in accepted)
                  for level in suggest.Level}
        logs.notice(", ".join(f"{n} {level}(s)" for level, n in counts.items()) + " accepted.")
        if not typer.confirm("Link them and post what their lines need?", default=False,
                             err=True):
            raise RefusedError("not confirmed; nothing was linked")
    rt = runtime()
    show = not as_json and sys.stderr.isatty()
    started = datetime.now(UTC)
    with Progress(TextColumn("linking"), BarColumn(), MofNCompleteColumn(), console=err,
                  transient=True, disable=not show) as bar:
        task = bar.add_task("rows", total=bulk.steps(found))
        result = bulk.link_accepted(rt, found, dry_run=dry_run, confirmed=yes,
                                    progress=lambda: bar.advance(task))
    if not dry_run:
        runs.finish_run(rt, runs.report_of_bulk(started, result))
    records = [outcome_record(o) for o in result.outcomes]
    if as_json:
        print_json({"dry_run": result.dry_run, "counts": result.counts(),
                    "failed": len(result.failures), "not_accepted": result.ignored_rows,
                    "settled_from_earlier_runs": result.settled, "rows": records})
    else:
        table(records, ["level", "id", "target_id", "status", "postings", "message"],
              as_json=False, title=f"Link {file.name}" + (" (dry run)" if dry_run else ""))
        say(", ".join(f"{k} {v}" for k, v in sorted(result.counts().items()))
                  + f"; {result.ignored_rows} row(s) not accepted")
    for failure in result.failures:
        detail = failure.message if failure.status == "failed" else _posting_errors(failure)
        logs.error(f"{failure.row.level.value} {failure.row.id}: {detail}", label="failed")
    if result.failures:
        raise PartialFailure(f"{len(result.failures)} row(s) could not be linked or brought "
                             "equal; the others went on",
                             hint="fix them (or the file) and run the same command again")


def outcome_record(outcome: bulk.RowOutcome) -> dict[str, Any]:
    reconciled = outcome.reconciliation
    postings = None
    status = outcome.status
    if reconciled is not None:
        changes = reconciled.plan.changes
        postings = ", ".join(f"{c.adjustment.delta:+} from {c.adjustment.effective_date}"
                             for c in changes) or "none needed"
        if reconciled.status in ("posted", "failed", "waiting", "planned"):
            status = f"{status}, {reconciled.status}"
        if reconciled.plan.problem:
            postings = reconciled.plan.problem
    return {"level": outcome.row.level.value, "id": outcome.row.id,
            "parent_id": outcome.row.parent_id, "target_id": outcome.row.target_id,
            "status": status, "failed": outcome.failed, "postings": postings,
            "message": outcome.message}


def _posting_errors(outcome: bulk.RowOutcome) -> str:
    reconciled = outcome.reconciliation
    if reconciled is None:
        return ""
    if reconciled.plan.problem:
        return reconciled.plan.problem
    if reconciled.plan.waiting_since is not None:
        return (f"{waiting_note(reconciled.plan.waiting_since)}; nothing more is posted for it "
                "until the PSA shows it or [sync] unknown_outcome_wait has passed")
    return "; ".join(p.error or p.status for p in reconciled.postings if p.status != "posted")
