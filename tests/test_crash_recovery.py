"""A crash between the journal's ``pending`` and the outcome never leads to a second posting."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from idsync_core.engine import linking
from idsync_core.engine.planning import plan_link
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime
from idsync_core.settings import load_settings
from idsync_core.store import JournalEntry, ResourceLink
from idsync_fakes.quarantine import let_quarantine_pass
from idsync_fakes.world import World


@pytest.fixture
def linked(idsync: Any, world: World) -> Runtime:
    """Contoso linked down to the subscription; a runtime on the same store."""
    assert idsync("link", "company", "A-100", "250").exit_code == 0
    assert idsync("link", "subscription", "S-1", "871").exit_code == 0
    settings, path = load_settings()
    return Runtime(settings, config_path=path)


def crash_after_journaling(runtime: Runtime, *, post_landed: bool, with_marker: bool) -> str:
    """Link the resource and leave exactly what a kill -9 at that point leaves."""
    reader = Reader(runtime)
    sub_link = runtime.store.subscription_link("ingram", "S-1")
    assert sub_link is not None
    company_link = runtime.store.company_link_by_id(sub_link.company_link_id)
    assert company_link is not None
    link = ResourceLink(subscription_link_id=sub_link.id, provider="ingram",
                        resource_id="S-1:CFQ7TTC0LH16", agreement_id="871",
                        catalog_item_id="812", resource_name="Exchange Online (Plan 1)")
    runtime.store.add_link(link)
    plan = plan_link(runtime, reader, link, sub_link, company_link)
    [change] = plan.changes
    runtime.store.journal_begin(JournalEntry(
        key=change.adjustment.idempotency_key, resource_link_id=link.id, origin="link",
        provider="ingram", resource_id=link.resource_id, agreement_id="871",
        catalog_item_id="812", from_quantity=change.from_quantity, delta=change.adjustment.delta,
        target_quantity=change.adjustment.target_quantity,
        effective_date=change.adjustment.effective_date,
        request=change.adjustment.model_dump_json()))
    if post_landed:
        adjustment = change.adjustment
        if not with_marker:  # a PSA without free-text markers: only the quantity tells
            adjustment = adjustment.model_copy(update={"idempotency_key": "x" * 16})
        runtime.psa.post_adjustment(adjustment)
    return change.adjustment.idempotency_key


@pytest.mark.parametrize("with_marker", [True, False])
def test_crash_after_the_post_is_settled_as_posted(linked: Runtime, world: World,
                                                   with_marker: bool) -> None:
    key = crash_after_journaling(linked, post_landed=True, with_marker=with_marker)
    link = linked.store.resource_link("ingram", "S-1:CFQ7TTC0LH16")
    assert link is not None
    result = linking.reconcile(linked, Reader(linked), link, origin="sync")
    assert result.plan.changes == [] and result.postings == []
    assert len(world.psa()["postings"]) == 1 and world.quantity("871", "812") == "8"
    entry = linked.store.journal_entry(key)
    assert entry is not None and entry.status == "posted"


def test_no_sign_of_the_post_waits_out_the_quarantine_then_posts_once(linked: Runtime,
                                                                      world: World) -> None:
    key = crash_after_journaling(linked, post_landed=False, with_marker=True)
    link = linked.store.resource_link("ingram", "S-1:CFQ7TTC0LH16")
    assert link is not None
    waiting = linking.reconcile(linked, Reader(linked), link, origin="sync")
    assert waiting.status == "waiting" and waiting.postings == []  # it may still land
    assert world.psa()["postings"] == []
    entry = linked.store.journal_entry(key)
    assert entry is not None and entry.status == "pending"
    assert let_quarantine_pass(world.db_url) == 1
    result = linking.reconcile(linked, Reader(linked), link, origin="sync")
    assert [p.status for p in result.postings] == ["posted"]
    assert result.postings[0].change.adjustment.idempotency_key == key
    assert len(world.psa()["postings"]) == 1 and world.quantity("871", "812") == "8"
    entry = linked.store.journal_entry(key)
    assert entry is not None and (entry.status, entry.attempts) == ("posted", 2)
    again = linking.reconcile(linked, Reader(linked), link, origin="sync")
    assert again.postings == [] and len(world.psa()["postings"]) == 1


def test_someone_else_changed_the_line_meanwhile(linked: Runtime, world: World) -> None:
    key = crash_after_journaling(linked, post_landed=False, with_marker=True)
    world.edit_psa(postings=[{"id": "9", "agreement_id": "871", "catalog_item_id": "812",
                              "delta": "3", "effective_date": "2026-11-01"}])
    link = linked.store.resource_link("ingram", "S-1:CFQ7TTC0LH16")
    assert link is not None
    assert linking.reconcile(linked, Reader(linked), link, origin="sync").postings == []
    let_quarantine_pass(world.db_url)
    result = linking.reconcile(linked, Reader(linked), link, origin="sync")
    entry = linked.store.journal_entry(key)
    assert entry is not None and entry.status == "superseded"
    [posting] = result.postings
    assert posting.change.adjustment.delta == Decimal(5) and posting.status == "posted"
    assert world.quantity("871", "812") == "8"
