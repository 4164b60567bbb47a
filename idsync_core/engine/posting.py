"""Exactly-once posting: journal the intent, post, journal the outcome; recover from crashes.

The order is what makes a crash harmless:

1. the journal entry is written ``pending`` (committed) *before* the PSA is called;
2. the connector posts and confirms by re-reading;
3. the outcome (``posted`` / ``failed`` / ``unknown``) is written.

A crash between 1 and 3 leaves ``pending``; a timeout or a dropped connection on the write
leaves ``unknown``. Either way the write may still land — a PSA can hold a request well past the
moment the client gave up — so "not visible yet" is never taken for "did not happen". Before
planning anything, :func:`resolve_open` re-reads what the PSA shows for every such entry — the
connector's marker search where it has one, else the line's quantity as of the entry's
effective date — and never posts blind:

* the marker is found, or the PSA shows the target: the posting landed → ``posted``;
* no sign of it yet, and the entry is younger than the quarantine (``[sync]
  unknown_outcome_wait``, far longer than any request timeout): it stays open and nothing more
  is posted for that line this run ("waiting for the outcome of an earlier posting");
* no sign of it once the quarantine is over and the PSA shows the quantity from before: it did
  not land → ``failed``; the next plan posts it again, under the same key;
* anything else once the quarantine is over: someone else changed the line → ``superseded``;
  the next plan starts afresh from what is there.

Should a write still land after the quarantine (it would have to be held for longer than the
quarantine), a PSA with markers shows two records carrying one key: planning reports that as
IDSync's own duplicate and the next sync undoes the extra record (:mod:`planning`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from idsync_core.engine.planning import LinePlan, PlannedChange
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import (
    ApiError,
    IdsyncError,
    OutcomeUnknownError,
    RateLimitedError,
    UnreachableError,
)
from idsync_core.journal import OPEN, JournalStatus

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.store import JournalEntry

log = logging.getLogger(__name__)


RUN_STOPPERS = (UnreachableError, RateLimitedError)
"""Failures of a whole API, not of one posting: the run stops at the first one."""


@dataclass
class PostingResult:
    change: PlannedChange
    status: JournalStatus  # posted | failed | unknown (or what a re-read settled)
    record_id: str | None = None
    quantity_after: Decimal | None = None
    error: str | None = None


def post_change(runtime: Runtime, reader: Reader, plan: LinePlan, change: PlannedChange,
                *, origin: str) -> PostingResult:
    from idsync_core.store import JournalEntry

    adjustment = change.adjustment
    link, company_link = plan.link, plan.company_link
    store = runtime.store
    existing = store.journal_entry(adjustment.idempotency_key)
    if existing is not None and existing.status == JournalStatus.POSTED:
        # Planning re-reads the PSA, so this only happens if the PSA changed under us; the
        # key's posting already landed once and is never sent twice.
        return PostingResult(change, JournalStatus.POSTED, existing.psa_record_id,
                             error="already posted under this key")
    store.journal_begin(JournalEntry(
        key=adjustment.idempotency_key,
        resource_link_id=link.id,
        origin=origin,
        provider=link.provider,
        account_id=company_link.account_id,
        subscription_id=plan.subscription_link.subscription_id,
        resource_id=link.resource_id,
        psa_company_id=company_link.psa_company_id,
        agreement_id=adjustment.agreement_id,
        catalog_item_id=adjustment.catalog_item_id,
        from_quantity=change.from_quantity,
        delta=adjustment.delta,
        target_quantity=adjustment.target_quantity,
        effective_date=adjustment.effective_date,
        unit_price=adjustment.unit_price,
        unit_cost=adjustment.unit_cost,
        request=adjustment.model_dump_json(),
        compensates=change.undoes.key if change.undoes else None,
    ))
    try:
        if change.undoes is not None:
            posted = runtime.psa.undo_duplicate(adjustment, change.undoes.record_id)
        else:
            posted = runtime.psa.post_adjustment(adjustment)
    except OutcomeUnknownError as exc:
        store.journal_finish(adjustment.idempotency_key, JournalStatus.UNKNOWN, error=str(exc))
        reader.forget_lines(adjustment.agreement_id)
        entry = store.journal_entry(adjustment.idempotency_key)
        assert entry is not None
        try:
            status = settle(runtime, reader, entry, quarantine=runtime.unknown_outcome_wait)
        except IdsyncError as reread:  # cannot tell now: stays "unknown", settled next run
            return PostingResult(change, JournalStatus.UNKNOWN,
                                 error=f"{exc}; re-read failed: {reread}")
        return PostingResult(change, status,
                             error=None if status == JournalStatus.POSTED else str(exc))
    except (ApiError, IdsyncError) as exc:
        store.journal_finish(adjustment.idempotency_key, JournalStatus.FAILED, error=str(exc))
        if isinstance(exc, RUN_STOPPERS):
            raise
        return PostingResult(change, JournalStatus.FAILED, error=str(exc))
    finally:
        reader.forget_lines(adjustment.agreement_id)
    note = None
    if posted.quantity_after is not None and posted.quantity_after != adjustment.target_quantity:
        note = (f"posted, but the PSA now shows {posted.quantity_after} as of "
                f"{adjustment.effective_date}, not {adjustment.target_quantity}")
        log.warning("%s", note)
    if change.undoes is not None:
        store.journal_finish(adjustment.idempotency_key, JournalStatus.POSTED,
                             psa_record_id=posted.record_id,
                             error=f"compensation: undid record {change.undoes.record_id}, a "
                                   f"duplicate of posting {change.undoes.key}")
        return PostingResult(change, JournalStatus.POSTED, posted.record_id,
                             posted.quantity_after)
    store.journal_finish(adjustment.idempotency_key, JournalStatus.POSTED,
                         psa_record_id=posted.record_id, error=note)
    store.set_last_quantity(link.id, adjustment.target_quantity)
    if link.id in reader.snapshot.failed:
        store.supersede_failed(link.id, f"retried as {adjustment.idempotency_key}",
                               origin=origin, except_key=adjustment.idempotency_key)
    return PostingResult(change, JournalStatus.POSTED, posted.record_id, posted.quantity_after,
                         note)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; IDSync writes them all in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def waiting(entry: JournalEntry, quarantine: timedelta, now: datetime | None = None) -> bool:
    """Is this open entry still inside its quarantine (counted from its last attempt)?"""
    return (now or datetime.now(UTC)) - as_utc(entry.updated_at) < quarantine


def waiting_note(since: datetime, now: datetime | None = None) -> str:
    """How a waiting link reads for people (local time; the date too when not today)."""
    local = as_utc(since).astimezone()
    today = (now or datetime.now(UTC)).astimezone().date()
    when = f"{local:%H:%M}" if local.date() == today else f"{local:%Y-%m-%d %H:%M}"
    return f"waiting for the outcome of an earlier posting (since {when})"


def settle(runtime: Runtime, reader: Reader, entry: JournalEntry, *,
           quarantine: timedelta, now: datetime | None = None) -> JournalStatus:
    """Decide a pending/unknown entry from what the PSA shows now; return its status.

    ``unknown`` (or ``pending``, unchanged) means: no sign of the write yet and the entry is
    still inside ``quarantine``, so nothing may be posted for its line. The conformance suite
    passes a zero quarantine to ask what the evidence alone decides.
    """
    from idsync_core.models import Adjustment

    adjustment = Adjustment.model_validate_json(entry.request)
    found = runtime.psa.find_adjustment(adjustment) if runtime.psa.can_find_adjustments else None
    if found is not None:
        runtime.store.journal_finish(entry.key, JournalStatus.POSTED,
                                     psa_record_id=found.record_id,
                                     error="confirmed after an interruption (marker found)")
        return JournalStatus.POSTED
    lines = reader.lines(entry.agreement_id, entry.effective_date)
    line = lines.get(entry.catalog_item_id)
    quantity = line.quantity if line else Decimal(0)
    if quantity == entry.target_quantity:
        runtime.store.journal_finish(entry.key, JournalStatus.POSTED, error="confirmed after "
                                     f"an interruption (the PSA shows {quantity})")
        runtime.store.set_last_quantity(entry.resource_link_id, quantity)
        return JournalStatus.POSTED
    if waiting(entry, quarantine, now):
        return entry.status
    if quantity == entry.from_quantity:
        runtime.store.journal_finish(entry.key, JournalStatus.FAILED,
                                     error=(entry.error or "interrupted") +
                                     f"; not applied (the PSA still shows {quantity} after "
                                     "the quarantine)")
        return JournalStatus.FAILED
    runtime.store.journal_finish(entry.key, JournalStatus.SUPERSEDED, error=(
        f"the PSA shows {quantity}, neither {entry.from_quantity} (before) nor "
        f"{entry.target_quantity} (target); re-planned from what is there"))
    return JournalStatus.SUPERSEDED


def resolve_open(runtime: Runtime,
                 reader: Reader) -> list[tuple[JournalEntry, JournalStatus]]:
    """Settle every entry a crash or a lost answer left pending or unknown.

    Returns the entries whose status changed. An API that cannot be reached at all stops the
    run (:data:`RUN_STOPPERS`); any other failure to re-read leaves the entry open, and its link
    waits another run.
    """
    settled = []
    for entry in runtime.store.journal_entries(statuses=OPEN):
        try:
            status = settle(runtime, reader, entry, quarantine=runtime.unknown_outcome_wait)
        except RUN_STOPPERS:
            raise
        except IdsyncError as exc:
            log.warning("cannot settle the earlier posting %s yet: %s", entry.key, exc)
            continue
        if status == entry.status:
            log.info("journal %s: still no sign of the write; waiting (since %s)", entry.key,
                     as_utc(entry.updated_at).isoformat(timespec="minutes"))
            continue
        log.info("journal %s (%s): %s", entry.key, entry.status, status)
        settled.append((entry, status))
    return settled
