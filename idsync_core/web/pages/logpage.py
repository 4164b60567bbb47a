"""``/log``: the adjustments log and the failure log, filtered by company, date and status;
retry of the failed postings (:func:`review.retry`); the same rows as CSV (``/log.csv``)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from idsync_core.engine import review
from idsync_core.engine.posting import waiting_note
from idsync_core.engine.users import Permission
from idsync_core.errors import IdsyncError
from idsync_core.journal import NOT_THROUGH, OPEN, JournalStatus
from idsync_core.web.console import Page, page

if TYPE_CHECKING:
    from idsync_core.store import JournalEntry

LIMIT = 500
STATUSES = {"": None, "not-through": NOT_THROUGH,
            **{s.value: (s,) for s in JournalStatus}}
COLUMNS = ("updated_at", "status", "origin", "provider", "account_id", "resource_id",
           "psa_company_id", "agreement_id", "catalog_item_id", "from_quantity", "delta",
           "target_quantity", "effective_date", "unit_price", "unit_cost", "psa_record_id",
           "attempts", "key", "note")


@dataclass
class Filters:
    company: str = ""
    since: date | None = None
    until: date | None = None
    status: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)


def filters(p: Page) -> Filters:
    found = Filters(company=p.value("company"), status=p.value("status"))
    found.text = {"company": found.company, "since": p.value("since"),
                  "until": p.value("until"), "status": found.status}
    for name in ("since", "until"):
        text = p.value(name)
        if text:
            try:
                setattr(found, name, date.fromisoformat(text))
            except ValueError:
                found.errors[name] = f"{text!r} is not a date (YYYY-MM-DD)"
    if found.status not in STATUSES:
        found.errors["status"] = f"{found.status!r} is not a status"
        found.status = ""
    return found


def entries(p: Page, wanted: Filters) -> list[JournalEntry]:
    return list(p.runtime.store.journal_entries(
        STATUSES[wanted.status], limit=LIMIT, company=wanted.company or None,
        since=wanted.since, until=wanted.until))


def note(entry: JournalEntry) -> str:
    if entry.status in OPEN:
        waiting = waiting_note(entry.updated_at)
        return f"{waiting}: {entry.error}" if entry.error else waiting
    return entry.error or ""


@page(Permission.READ)
def log_page(p: Page) -> Response:
    wanted = filters(p)
    rows = [] if wanted.errors else entries(p, wanted)
    failed_links = {e.resource_link_id for e in rows if e.status in NOT_THROUGH}
    return p.render("log.html", status=400 if wanted.errors else 200, filters=wanted,
                    rows=rows, note=note, statuses=list(STATUSES), limit=LIMIT,
                    failed_links=failed_links)


@page(Permission.READ)
def log_csv(p: Page) -> Response:
    wanted = filters(p)
    if wanted.errors:
        return Response("; ".join(f"{k}: {v}" for k, v in wanted.errors.items()) + "\n",
                        status_code=400, media_type="text/plain")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for entry in entries(p, wanted):
        values: dict[str, Any] = {name: getattr(entry, name, None) for name in COLUMNS}
        values["note"] = note(entry)
        writer.writerow([spreadsheet_safe(values[name]) for name in COLUMNS])
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="idsync-log-{p.runtime.today}.csv"'})


def spreadsheet_safe(value: Any) -> str:
    """A cell as text; text a spreadsheet would run as a formula gets a leading quote."""
    text = "" if value is None else str(value.value if hasattr(value, "value") else value)
    if text[:1] in ("=", "+", "@", "\t", "\r") or (text[:1] == "-" and not _number(text)):
        return "'" + text
    return text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@page(Permission.OPERATE)
def retry(p: Page) -> Response:
    link = p.value("link")
    if link and not link.isdigit():
        return p.redirect("/log?status=not-through", error="the form named no link; nothing "
                                                            "was retried")
    try:
        summary = review.retry(p.runtime, {int(link)} if link else None)
    except IdsyncError as exc:
        return p.redirect("/log?status=not-through", error=exc.message)
    if not sum(summary.counts().values()):
        return p.redirect("/log?status=not-through", ok="The failure log is empty: nothing to "
                                                         "retry.")
    counts = summary.counts()
    said = ", ".join(f"{k} {counts[k]}" for k in ("posted", "unchanged", "failed", "waiting",
                                                   "skipped", "held") if counts[k])
    failed = counts["failed"] + counts["waiting"]
    target = "/log?status=not-through"
    if summary.aborted is not None:
        return p.redirect(target, error=f"Retry stopped: {summary.aborted.message}")
    return p.redirect(target, **{"error" if failed else "ok": f"Retried: {said}."})
