"""``idsync audit``: every change IDSync made or was asked to make, with when, what, who and
from where (see :class:`idsync_core.store.AuditEntry`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer

from idsync_core.cli.context import runtime
from idsync_core.cli.output import CSV, table
from idsync_core.engine.posting import as_utc


def parse_since(text: str) -> datetime:
    """``2026-11-01`` (local midnight) or an ISO 8601 date and time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 time",
                                 param_hint="--since") from None
    return moment.astimezone(UTC) if moment.tzinfo is None else moment


def audit(
    since: str | None = typer.Option(None, "--since", help="Only changes at or after this "
                                     "date (YYYY-MM-DD, local time) or time."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of a table."),
    as_csv: bool = CSV,
) -> None:
    """The audit trail: links made and removed, price sources, mappings, ignore rules,
    postings and compensations, oldest first."""
    start = parse_since(since) if since is not None else None
    rows = []
    for entry in runtime().store.audit_entries(since=start):
        details = json.loads(entry.details or "{}")
        rows.append({"id": entry.id, "at": as_utc(entry.at), "origin": entry.origin or None,
                     "actor": entry.actor, "action": entry.action, "subject": entry.subject,
                     "what": ", ".join(f"{key}={value}" for key, value in details.items()
                                       if value is not None) or None,
                     "details": details})
    table(rows, ["at", "origin", "actor", "action", "subject", "what"], as_json=as_json,
          as_csv=as_csv, title="Audit trail", empty="nothing in the audit trail"
          + (" since then" if start else ""))
