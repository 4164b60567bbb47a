"""plan / apply / sync / retry through the CLI on the fake connectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from idsync_fakes.world import World


def test_plan_reports_changes_unlinked_drift_and_prices(idsync: Any, linked: World) -> None:
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "10")
    postings = linked.psa()["postings"] + [{  # someone added a seat by hand, at another price
        "id": "99", "agreement_id": "871", "catalog_item_id": "812", "delta": "1",
        "effective_date": "2026-11-20", "unit_price": "9.99", "unit_cost": "1.00"}]
    linked.edit_psa(postings=postings)
    record = idsync("plan", "--json").json()
    [link] = record["links"]
    assert (link["provider_quantity"], link["psa_quantity"]) == ("10", "9")
    assert [(c["delta"], c["effective_date"]) for c in link["changes"]] == [("1", "2026-11-25")]
    assert [r["resource_id"] for r in record["unlinked_resources"]] == ["S-1:CFQ7TTC0LCHC"]
    assert record["drift"] == [{"resource_id": "S-1:CFQ7TTC0LH16", "agreement_id": "871",
                                "catalog_item_id": "812", "idsync_left": "8", "psa_now": "9"}]
    assert record["price_differences"] == []  # the line's first posting was at catalog price
    assert len(linked.psa()["postings"]) == 2  # plan posts nothing


def test_apply_posts_a_saved_plan_and_skips_what_no_longer_holds(
    idsync: Any, linked: World, tmp_path: Path
) -> None:
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "10")
    saved = tmp_path / "plan.json"
    assert idsync("plan", "--out", str(saved)).exit_code == 0
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "12")  # the world moved on
    stale = idsync("apply", str(saved), "--json")
    assert stale.exit_code == 0 and stale.json()["skipped"] == 1
    assert linked.quantity("871", "812") == "8"
    assert idsync("plan", "--out", str(saved)).exit_code == 0
    fresh = idsync("apply", str(saved), "--json").json()
    assert fresh["posted"] == 1 and linked.quantity("871", "812") == "12"
    assert idsync("apply", str(saved), "--json").json()["posted"] == 0  # never twice


def test_apply_refuses_a_file_that_is_not_a_plan(idsync: Any, linked: World,
                                                 tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text(json.dumps({"hello": 1}))
    result = idsync("apply", str(bogus))
    assert result.exit_code == 3 and "is not a plan" in result.stderr


def test_a_rejected_posting_goes_on_and_is_retried(idsync: Any, linked: World) -> None:
    assert idsync("link", "resource", "S-1:CFQ7TTC0LCHC", "813").exit_code == 0
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "9")
    linked.set_provider_quantity("S-1:CFQ7TTC0LCHC", "4")
    linked.edit_psa(fail_next_post="reject")
    result = idsync("sync", "--json")
    assert result.exit_code == 7
    summary = result.json()
    assert (summary["posted"], summary["failed"]) == (1, 1)
    [refused] = [c for link in summary["links"] for c in link["changes"]
                 if c["status"] == "failed"]
    assert refused["error"] == "fake PSA: the catalog item is not allowed on this agreement"
    assert len(idsync("log", "--failed", "--json").json()) == 1
    retried = idsync("retry", "--json")
    assert retried.exit_code == 0 and retried.json()["posted"] == 1
    assert idsync("log", "--failed", "--json").json() == []
    assert linked.quantity("871", "812") == "9" and linked.quantity("871", "813") == "4"
    assert idsync("retry", "--json").json()["links"] == []


def test_a_run_holding_the_lock_makes_another_refuse(idsync: Any, linked: World) -> None:
    from idsync_core.store import Store

    with Store(linked.db_url).lock("sync"):
        result = idsync("sync")
    assert result.exit_code == 8 and "holds the 'sync' lock" in result.stderr
    assert idsync("sync").exit_code == 0


def test_every_validates_its_duration(idsync: Any, linked: World) -> None:
    assert idsync("sync", "--every", "soon").exit_code == 2
    assert idsync("sync", "--every", "10s").exit_code == 2


def test_plan_for_people_lists_every_section(idsync: Any, linked: World) -> None:
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "10")
    linked.set_subscription_status("S-1", "terminated")
    result = idsync("plan")
    assert result.exit_code == 0
    assert "-8 from 2026-12-01" in result.stdout
    assert "Terminated subscriptions" in result.stdout
    assert "Not linked (revenue not billed)" in result.stdout


def test_a_failing_read_fails_its_link_only_and_the_exit_code_says_so(
    idsync: Any, linked: World
) -> None:
    for args in (("company", "A-200", "251"), ("subscription", "S-2", "880"),
                 ("resource", "S-2:CFQ7TTC0LH16", "812")):
        assert idsync("link", *args).exit_code == 0
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "12")
    data = linked.provider()
    data["failing_subscriptions"] = ["S-2"]
    linked.provider_file.write_text(json.dumps(data))
    result = idsync("sync", "--json")
    assert result.exit_code == 7
    summary = result.json()
    assert (summary["posted"], summary["failed"]) == (1, 1)
    assert "timed out" in result.stderr
    assert linked.quantity("871", "812") == "12"
    said = " ".join(result.stderr.split())
    assert "1 link(s) could not be read" in said and "nothing was posted for them" in said
    # a read failure is not in the failure log: do not send the operator there
    assert "log --failed" not in said and "idsync retry" not in said
    assert idsync("log", "--failed", "--json").json() == []


@pytest.mark.parametrize("command", [("sync", "--yes"), ("plan",), ("retry",),
                                     ("apply", "plan.json")])
def test_running_without_a_configuration_is_a_configuration_error(
        idsync: Any, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        command: tuple[str, ...]) -> None:
    monkeypatch.delenv("IDSYNC_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nothing-here"))
    (tmp_path / "plan.json").write_text(json.dumps({"links": []}))
    monkeypatch.chdir(tmp_path)
    result = idsync(*command)
    assert result.exit_code == 3, result.stdout + result.stderr
    said = " ".join(result.stderr.split())
    assert "no PSA connection is configured (there is no configuration file at" in said
    assert "hint:" in said


def test_a_configuration_without_a_provider_is_a_configuration_error(
        idsync: Any, world: World) -> None:
    world.config.write_text(world.config.read_text().split("[providers.ingram]")[0])
    for command in (("sync", "--yes"), ("plan",), ("retry",)):
        result = idsync(*command)
        assert result.exit_code == 3 and "no provider connection is configured" in result.stderr


def test_sync_reports_the_calls_it_made_into_each_connection(idsync: Any, linked: World) -> None:
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "10")
    calls = idsync("sync", "--json").json()["calls"]
    assert calls["psa"]["idsync_post_adjustment"] == 1
    assert calls["psa"]["idsync_list_agreements"] == 1
    assert calls["psa"]["idsync_list_lines"] == 2  # as of today and of the next period start
    assert calls["providers.ingram"]["idsync_list_resources"] == 1
    verbose = idsync("--verbose", "sync")
    assert verbose.exit_code == 0
    assert "[psa]" in verbose.stderr and "[providers.ingram]" in verbose.stderr
    assert "connector calls" in verbose.stderr and "list_lines" in verbose.stderr
    assert "connector calls" not in idsync("sync").stderr  # only with --verbose
