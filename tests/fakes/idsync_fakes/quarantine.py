"""Letting ``[sync] unknown_outcome_wait`` pass without waiting for it.

A posting whose outcome is unknown waits out its quarantine from its last attempt, as recorded
in the journal. Moving that moment back is what the passing of time looks like to the store,
so a test can say "the quarantine is over now" without sleeping for it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from idsync_core.journal import OPEN
from idsync_core.store import JournalEntry, Store


def let_quarantine_pass(store_url: str, *, by: timedelta = timedelta(days=1)) -> int:
    """Move every open (pending/unknown) entry's last attempt back by ``by``; return how many."""
    store = Store(store_url)
    try:
        with store.transaction() as session:
            entries = session.scalars(select(JournalEntry).where(
                JournalEntry.status.in_(OPEN))).all()
            for entry in entries:
                entry.updated_at = entry.updated_at - by
            return len(entries)
    finally:
        store.close()
