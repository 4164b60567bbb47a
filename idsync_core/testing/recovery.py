"""The engine's crash-recovery decision, run against a connector under test.

After a crash (or a lost answer) the journal holds an entry whose outcome nobody knows. The
engine settles it with :func:`idsync_core.engine.posting.settle`: the connector's marker search
where it has one, else the line's quantity as of the effective date. A posting is repeated only
when that decision says it did not land, so a connector whose search or re-read is wrong makes
the engine post twice. The suite therefore runs the engine's *own* ``settle`` (not a copy that
could drift from it), with a stand-in journal instead of a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

from idsync_core.engine.posting import settle
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime
from idsync_core.journal import JournalStatus
from idsync_core.models import Adjustment
from idsync_core.plugins import PsaConnection
from idsync_core.store import JournalEntry


@dataclass
class _Journal:
    """Records what ``settle`` writes, in place of the store."""

    outcomes: list[tuple[str, JournalStatus]] = field(default_factory=list)

    def journal_finish(self, key: str, status: JournalStatus, **_: Any) -> None:
        self.outcomes.append((key, status))

    def set_last_quantity(self, *_: Any) -> None:
        pass


def engine_settles(connection: PsaConnection, adjustment: Adjustment,
                   from_quantity: Decimal) -> JournalStatus:
    """What the engine decides about a posting of ``adjustment`` whose outcome it lost:
    ``posted`` (never sent again), ``failed`` (sent again under the same key) or
    ``superseded`` (re-planned from what the PSA shows)."""
    journal = _Journal()
    runtime = cast(Runtime, SimpleNamespace(psa=connection, store=journal))
    now = datetime.now(UTC)
    entry = JournalEntry(
        key=adjustment.idempotency_key, resource_link_id=0, origin="sync", provider="suite",
        resource_id="suite", agreement_id=adjustment.agreement_id,
        catalog_item_id=adjustment.catalog_item_id, from_quantity=from_quantity,
        delta=adjustment.delta, target_quantity=adjustment.target_quantity,
        effective_date=adjustment.effective_date, unit_price=adjustment.unit_price,
        unit_cost=adjustment.unit_cost, status=JournalStatus.UNKNOWN,
        request=adjustment.model_dump_json(), error=None, created_at=now, updated_at=now)
    # A zero quarantine asks what the connector's evidence alone decides (the engine waits
    # [sync] unknown_outcome_wait before it acts on "not visible").
    return settle(runtime, Reader(runtime), entry, quarantine=timedelta(0))
