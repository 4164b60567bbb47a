"""The seed's linking flow end to end through the CLI, on the fake connectors."""

from __future__ import annotations

from typing import Any

from idsync_fakes.world import World


def link_contoso(idsync: Any) -> None:
    assert idsync("link", "company", "A-100", "250").exit_code == 0
    assert idsync("link", "subscription", "S-1", "871").exit_code == 0


def test_seed_example_posts_8_then_nothing(idsync: Any, world: World) -> None:
    link_contoso(idsync)
    first = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--json")
    assert first.exit_code == 0, first.stderr
    record = first.json()
    assert record["provider_quantity"] == "8" and record["psa_quantity"] == "0"
    [change] = record["changes"]
    assert change["delta"] == "8" and change["effective_date"] == "2026-11-25"
    assert change["status"] == "posted"
    assert change["unit_price"] == "4.80" and change["unit_cost"] == "4.00"  # catalog default
    assert world.quantity("871", "812") == "8"
    assert len(world.psa()["postings"]) == 1

    again = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812")
    assert again.exit_code == 5 and "already linked" in again.stderr
    assert len(world.psa()["postings"]) == 1

