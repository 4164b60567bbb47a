"""``idsync status`` (exit codes a monitor can use), ``idsync audit`` and ``--csv`` listings,
through the CLI on the fake connectors."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, update

from idsync_core.store import Run, Store, utcnow
from idsync_core.store.schema import RunLock
from idsync_fakes.world import World


def parsed(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_status_exit_codes_follow_the_last_run(idsync: Any, linked: World) -> None:
    never = idsync("status")
    assert never.exit_code == 3 and "no run has completed yet" in never.stdout
    assert idsync("sync", "--yes").exit_code == 0
    clean = idsync("status", "--json")
    assert clean.exit_code == 0
    record = clean.json()
    assert record["last_run"]["command"] == "sync" and record["last_run"]["outcome"] == "clean"
    assert record["last_run"]["unchanged"] == 1 and record["locks"] == []
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "10")
    linked.edit_psa(fail_next_post="reject")
    assert idsync("sync", "--yes").exit_code == 7
    failing = idsync("status", "--json")
    assert failing.exit_code == 7
    assert failing.json()["open_failures"] == 1 and failing.json()["last_run"]["failed"] == 1
    assert idsync("retry").exit_code == 0
    assert idsync("status").exit_code == 0  # the retry cleared the failure log
    assert idsync("status", "--max-age", "1h").exit_code == 0


def test_status_is_3_when_the_last_run_is_older_than_max_age(idsync: Any, linked: World) -> None:
    assert idsync("sync", "--yes").exit_code == 0
    engine = create_engine(linked.db_url)
    with engine.begin() as connection:
        connection.execute(update(Run).values(finished_at=utcnow() - timedelta(hours=3)))
    engine.dispose()
    stale = idsync("status", "--max-age", "2h")
    assert stale.exit_code == 3
    assert "longer than --max-age 2h 00m" in stale.stdout
    assert idsync("status").exit_code == 0  # no age limit asked for
    assert idsync("status", "--max-age", "soon").exit_code == 2


def test_status_shows_the_lock_holder_and_its_age(idsync: Any, linked: World) -> None:
    store = Store(linked.db_url)
    since = utcnow() - timedelta(minutes=5)
    with store.transaction() as s:
        s.add(RunLock(name="sync", holder="ops@batch-host:4242", acquired_at=since,
                      expires_at=since + timedelta(minutes=30)))
    store.close()
    record = idsync("status", "--json").json()
    [lock] = record["locks"]
    assert lock["holder"] == "ops@batch-host:4242" and 300 <= lock["age_seconds"] < 400
    assert "held by ops@batch-host:4242" in idsync("status").stdout


def test_a_stopped_run_is_not_clean(idsync: Any, linked: World) -> None:
    store = Store(linked.db_url)
    now = datetime.now(UTC)
    store.record_run(Run(command="sync", actor="a@b", origin="cli", started_at=now,
                         finished_at=now, outcome="stopped", posted=0, unchanged=0, failed=0,
                         waiting=0, skipped=0, error="ConnectWise is not reachable"))
    store.close()
    result = idsync("status")
    assert result.exit_code == 7 and "stopped early: ConnectWise is not reachable" in \
        result.stdout


def test_the_audit_trail_says_when_what_and_from_where(idsync: Any, linked: World) -> None:
    assert idsync("price-source", "set", "custom", "--agreement", "871", "--price", "5.10",
                  "--cost", "4.20").exit_code == 0
    assert idsync("ignore", "sku", "DZH318Z0BQ3Q", "--reason", "Azure by hand").exit_code == 0
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "9")
    assert idsync("sync", "--yes").exit_code == 0
    assert idsync("unlink", "resource", "S-1:CFQ7TTC0LH16").exit_code == 0
    entries = idsync("audit", "--json").json()
    actions = [(e["origin"], e["action"]) for e in entries]
    assert actions[:3] == [("cli", "link.company"), ("cli", "link.subscription"),
                           ("cli", "link.resource")]
    assert ("link", "adjustment.posted") in actions  # the one-time reconciliation
    assert ("cli", "price-source.set") in actions and ("cli", "ignore.add") in actions
    assert ("sync", "adjustment.pending") in actions and ("sync", "adjustment.posted") in actions
    assert actions[-1] == ("cli", "unlink.resource")
    [posting] = [e for e in entries if e["origin"] == "sync" and
                 e["action"] == "adjustment.pending"]
    assert posting["details"]["delta"] == "1" and posting["details"]["resource"] == \
        "S-1:CFQ7TTC0LH16"
    rows = parsed(idsync("audit", "--csv").stdout)
    assert [(r["origin"], r["action"]) for r in rows] == actions
    assert idsync("audit", "--since", "2999-01-01", "--json").json() == []
    assert idsync("audit", "--since", "yesterday").exit_code == 2


def test_listings_print_csv_with_a_header_and_exact_decimals(idsync: Any, linked: World) -> None:
    [*_, resource] = parsed(idsync("links", "--csv").stdout)
    assert (resource["level"], resource["id"], resource["last_quantity"]) == (
        "resource", "S-1:CFQ7TTC0LH16", "8")
    [posting] = parsed(idsync("log", "--csv").stdout)
    assert (posting["unit_price"], posting["unit_cost"], posting["delta"]) == ("4.80", "4.00", "8")
    assert parsed(idsync("log", "--failed", "--csv").stdout) == []
    companies = parsed(idsync("companies", "psa", "--csv").stdout)
    assert companies[0] == {"id": "250", "name": "Contoso Ltd", "identifier": "Contoso",
                            "linked_accounts": '["A-100"]'}
    resources = parsed(idsync("resources", "S-1", "--csv").stdout)
    assert {r["id"]: r["unit_price"] for r in resources}["S-1:CFQ7TTC0LH16"] == "4.50"
    catalog = parsed(idsync("catalog", "--csv").stdout)
    assert {r["id"]: r["price"] for r in catalog}["812"] == "4.80"
    both = idsync("links", "--csv", "--json")
    assert both.exit_code == 2 and "choose one of --json and --csv" in both.stderr


def test_plan_csv_has_one_row_per_planned_change(idsync: Any, linked: World) -> None:
    assert idsync("link", "resource", "S-1:CFQ7TTC0LCHC", "813").exit_code == 0
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "10")
    rows = parsed(idsync("plan", "--csv").stdout)
    by_resource = {r["resource_id"]: r for r in rows}
    assert len(rows) == 2
    changed = by_resource["S-1:CFQ7TTC0LH16"]
    assert (changed["change"], changed["delta"], changed["effective_date"],
            changed["unit_price"], changed["provider_quantity"], changed["psa_quantity"]) == (
        "change", "2", "2026-11-25", "4.80", "10", "8")
    assert by_resource["S-1:CFQ7TTC0LCHC"]["change"] == ""  # equal: nothing planned
