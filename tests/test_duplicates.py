"""IDSync's own duplicate — two PSA records carrying one marker — is reported and undone.

A write the PSA held past the client's timeout can land after the change was posted again;
the line then holds two records with one ``[idsync:KEY]``. That is IDSync's doing, not a hand
edit: ``plan`` says so, and the next sync makes the newer record bill nothing, journaled as a
compensating change, instead of planning a decrease that would bill the customer twice meanwhile.
"""

from __future__ import annotations

from typing import Any

from idsync_fakes.world import World


def link_exchange(idsync: Any) -> None:
    assert idsync("link", "company", "A-100", "250").exit_code == 0
    assert idsync("link", "subscription", "S-1", "871").exit_code == 0
    assert idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812").exit_code == 0


def land_the_held_write_again(world: World) -> str:
    """The first posting's record, repeated with the same marker: the write that landed late."""
    postings = world.psa()["postings"]
    [first] = postings
    duplicate = {**first, "id": "2"}
    world.edit_psa(postings=[first, duplicate])
    return str(first["marker"])


def test_plan_reports_a_duplicate_marker_as_idsyncs_own_not_as_drift(idsync: Any,
                                                                    world: World) -> None:
    link_exchange(idsync)
    land_the_held_write_again(world)
    assert world.quantity("871", "812") == "16"
    report = idsync("plan", "--json")
    assert report.exit_code == 0, report.stderr
    record = report.json()
    assert record["drift"] == []
    [duplicate] = record["duplicates"]
    assert (duplicate["record_id"], duplicate["quantity"]) == ("2", "8")
    [line] = record["links"]
    assert line["psa_quantity"] == "8" and line["changes"] == []  # planned from the net line
    assert [u["record_id"] for u in line["undo"]] == ["2"]
    table = idsync("plan")
    assert "IDSync's own duplicates" in table.stdout and "by hand" not in table.stdout


def test_sync_undoes_the_duplicate_once_and_journals_the_compensation(idsync: Any,
                                                                     world: World) -> None:
    link_exchange(idsync)
    marker = land_the_held_write_again(world)
    dry = idsync("sync", "--dry-run", "--json")
    assert dry.exit_code == 0 and world.quantity("871", "812") == "16"  # a dry run writes nothing
    result = idsync("sync", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert world.quantity("871", "812") == "8"
    postings = world.psa()["postings"]
    assert [p.get("voided", False) for p in postings] == [False, True]
    assert postings[0]["marker"] == marker and postings[1]["marker"] != marker
    log = idsync("log", "--json").json()
    [compensation] = [e for e in log if e["compensates"]]
    assert f"[idsync:{compensation['compensates']}]" == marker
    assert compensation["status"] == "posted" and compensation["delta"] == "-8"
    assert compensation["psa_record_id"] == "2"
    again = idsync("sync", "--yes", "--json")
    assert again.exit_code == 0 and again.json()["posted"] == 0
    assert len(world.psa()["postings"]) == 2 and world.quantity("871", "812") == "8"
