"""The status of an adjustment-journal entry: one vocabulary for the engine, the store and the CLI.

It lives in a module of its own, apart from the store's tables, because the engine decides
statuses at run time but imports the store (SQLAlchemy, Alembic) for annotations only (see
:mod:`idsync_core.engine`). The database holds the same five values, enforced by a CHECK
constraint (migration 0003), so a typo cannot write a status nothing else understands.
"""

from __future__ import annotations

import enum


class JournalStatus(enum.StrEnum):
    """Where one intended posting stands (see :mod:`idsync_core.engine.posting`)."""

    PENDING = "pending"
    """About to be posted, or a crash left it so: the outcome is not known."""
    POSTED = "posted"
    """The PSA shows the change (confirmed by a re-read or the connector's marker)."""
    FAILED = "failed"
    """The PSA refused it or the API failed, or it did not land: the next sync posts it again,
    under the same key."""
    UNKNOWN = "unknown"
    """The answer to the write was lost: it may still land, so nothing is posted for the line
    until a re-read decides."""
    SUPERSEDED = "superseded"
    """No longer needed: the PSA line moved meanwhile and the next plan starts from it."""


OPEN: tuple[JournalStatus, ...] = (JournalStatus.PENDING, JournalStatus.UNKNOWN)
"""No outcome known yet: settled by a re-read before anything more is posted for the line."""

NOT_THROUGH: tuple[JournalStatus, ...] = (JournalStatus.FAILED, *OPEN)
"""What the failure log lists: postings that did not go through, or that may not have."""
