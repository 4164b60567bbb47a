"""``idsync links`` and ``idsync log``: what is linked, and what was posted."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from idsync_core.cli.context import runtime
from idsync_core.cli.output import CSV, table
from idsync_core.engine.posting import as_utc, waiting_note
from idsync_core.journal import NOT_THROUGH, OPEN

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.store import JournalEntry

JSON = typer.Option(False, "--json", help="Print a JSON array instead of a table.")


def links(as_json: bool = JSON, as_csv: bool = CSV) -> None:
    """Every active link: companies, subscriptions and resources."""
    store = runtime().store
    rows: list[dict[str, object]] = []
    for c in store.active_company_links():
        rows.append({"id": c.account_id, "name": c.account_name, "level": "company",
                     "provider": c.provider, "psa_id": c.psa_company_id,
                     "psa_name": c.psa_company_name})
    for s in store.active_subscription_links():
        rows.append({"id": s.subscription_id, "name": s.subscription_name,
                     "level": "subscription", "provider": s.provider, "psa_id": s.agreement_id,
                     "psa_name": s.agreement_name})
    for r in store.active_resource_links():
        rows.append({"id": r.resource_id, "name": r.resource_name, "level": "resource",
                     "provider": r.provider, "psa_id": r.catalog_item_id,
                     "psa_name": r.catalog_item_name, "agreement_id": r.agreement_id,
                     "last_quantity": r.last_quantity})
    table(rows, ["level", "provider", "id", "name", "psa_id", "psa_name"], as_json=as_json,
          as_csv=as_csv, title="Links", empty="nothing is linked yet (see `idsync link --help`)")


def log(
    failed: bool = typer.Option(False, "--failed", help="Only postings that did not go "
                                "through (the failure log)."),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many, newest first."),
    as_json: bool = JSON,
    as_csv: bool = CSV,
) -> None:
    """The adjustments log: every posting IDSync intended, with its outcome."""
    statuses = NOT_THROUGH if failed else None
    rows = [
        {**_entry_record(e), "note": _note(e)}
        for e in runtime().store.journal_entries(statuses, limit=limit)
    ]
    table(rows, ["updated_at", "status", "resource_id", "agreement_id", "catalog_item_id",
                 "delta", "effective_date", "unit_price", "unit_cost", "psa_record_id",
                 "note"], as_json=as_json, as_csv=as_csv,
          title="Failure log" if failed else "Adjustments log",
          empty="no failed posting" if failed else "nothing posted yet")


def _note(entry: JournalEntry) -> str | None:
    """What a person needs to read about an entry: the wait for its outcome, else its error."""
    if entry.status in OPEN:
        note = waiting_note(entry.updated_at)
        return f"{note}: {entry.error}" if entry.error else note
    return entry.error


def _entry_record(e: JournalEntry) -> dict[str, object]:
    return {"id": e.key, "name": f"{e.resource_id} → {e.catalog_item_id}", "key": e.key,
            "status": e.status, "origin": e.origin, "provider": e.provider,
            "account_id": e.account_id, "subscription_id": e.subscription_id,
            "resource_id": e.resource_id, "psa_company_id": e.psa_company_id,
            "agreement_id": e.agreement_id, "catalog_item_id": e.catalog_item_id,
            "delta": e.delta, "from_quantity": e.from_quantity,
            "target_quantity": e.target_quantity, "effective_date": e.effective_date,
            "unit_price": e.unit_price, "unit_cost": e.unit_cost,
            "psa_record_id": e.psa_record_id, "attempts": e.attempts, "error": e.error,
            "waiting_since": as_utc(e.updated_at) if e.status in OPEN else None,
            "compensates": e.compensates,
            "created_at": e.created_at, "updated_at": e.updated_at}
