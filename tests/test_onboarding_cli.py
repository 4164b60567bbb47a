"""Onboarding through the CLI on the fake connectors: suggest, review, link --accept, ignore,
map — the decoy, the unmatched customer, an edited file, a re-run and a failing row."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from idsync_fakes.world import World


@pytest.fixture
def tenant(world: World) -> World:
    """The fake world plus a decoy (shares words with Contoso, has no PSA company of its own),
    a customer with no PSA company at all, and a typo'd Litware."""
    provider = world.provider()
    provider["accounts"] += [
        {"id": "A-300", "name": "Contoso Pharmaceuticals Ltd."},
        {"id": "A-400", "name": "Tailspin Toys"},
        {"id": "A-500", "name": "LITWARE, INC."},
    ]
    provider["subscriptions"] += [
        {"id": "S-3", "account_id": "A-300", "name": "Microsoft 365", "status": "active"},
        {"id": "S-5", "account_id": "A-500", "name": "Microsoft 365", "status": "active"},
        {"id": "S-6", "account_id": "A-500", "name": "Old", "status": "terminated"},
    ]
    provider["resources"] += [
        {"id": "S-3:CFQ7TTC0LH16", "subscription_id": "S-3", "name": "Exchange Online (Plan 1)",
         "sku": "CFQ7TTC0LH16", "quantity": "40"},
    ]
    world.provider_file.write_text(json.dumps(provider))
    return world


def rows_of(result: Any) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in result.json()["rows"]}


def test_suggest_accepts_the_sure_ones_and_lists_the_rest(idsync: Any, tenant: World) -> None:
    result = idsync("suggest", "--json")
    assert result.exit_code == 0, result.stderr
    rows = rows_of(result)
    assert (rows["A-100"]["target_id"], rows["A-100"]["accepted"]) == ("250", True)
    decoy = rows["A-300"]
    assert decoy["accepted"] is False and decoy["target_id"] != "250"
    assert rows["A-400"]["status"] == "unmatched" and rows["A-400"]["accepted"] is False
    assert (rows["A-500"]["target_id"], rows["A-500"]["reason"]) == (
        "252", "same name after normalization")
    # Litware has no agreement: its subscription is listed, not accepted; terminated: absent
    assert rows["S-5"]["status"] == "unmatched" and "S-6" not in rows
    # nothing under the decoy and the unmatched customer is suggested
    assert "S-3" not in rows and "S-3:CFQ7TTC0LH16" not in rows
    assert rows["S-1"]["reason"] == "the company's only active agreement"
    assert rows["S-1:CFQ7TTC0LH16"]["target_id"] == "812"
    assert "S-1:AZURE" not in rows  # no seat count: nothing to link
    assert result.json()["counts"]["company"]["accepted"] == 3


def test_edit_the_file_link_it_then_a_rerun_posts_nothing(idsync: Any, tenant: World,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "onboarding.csv"
    assert idsync("suggest", "--out", str(path)).exit_code == 0
    table = list(csv.DictReader(io.StringIO(path.read_text())))
    by_id = {row["id"]: row for row in table}
    assert by_id["A-300"]["accepted"] == "no"
    by_id["A-200"]["accepted"] = "no"  # the reviewer holds Fabrikam back
    by_id["S-1:CFQ7TTC0LCHC"]["price_source"] = "custom"  # and prices Premium by hand
    by_id["S-1:CFQ7TTC0LCHC"]["price"], by_id["S-1:CFQ7TTC0LCHC"]["cost"] = "27.00", "22.50"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)

    preview = idsync("link", "--accept", str(path), "--dry-run", "--json")
    assert preview.exit_code == 0, preview.stderr
    assert {r["status"] for r in preview.json()["rows"]} <= {"would link", "would link, planned",
                                                           "skipped"}
    assert idsync("links", "--json").json() == [] and tenant.psa()["postings"] == []

    done = idsync("link", "--accept", str(path), "--json")
    assert done.exit_code == 0, done.stderr
    statuses = {r["id"]: r["status"] for r in done.json()["rows"]}
    assert statuses["A-100"] == "linked" and "A-200" not in statuses
    assert statuses["S-1:CFQ7TTC0LH16"] == "linked, posted"
    assert statuses["S-2"] == "skipped"  # under Fabrikam, which was not accepted
    assert tenant.quantity("871", "812") == "8" and tenant.quantity("871", "813") == "3"
    premium = next(p for p in tenant.psa()["postings"] if p["catalog_item_id"] == "813")
    assert (premium["unit_price"], premium["unit_cost"]) == ("27.00", "22.50")
    assert {r["id"] for r in idsync("links", "--json").json()} == {
        "A-100", "A-500", "S-1", "S-1:CFQ7TTC0LH16", "S-1:CFQ7TTC0LCHC"}

    postings = len(tenant.psa()["postings"])
    again = idsync("link", "--accept", str(path), "--json")
    assert again.exit_code == 0, again.stderr
    assert {r["status"] for r in again.json()["rows"]} <= {"unchanged", "skipped"}
    assert len(tenant.psa()["postings"]) == postings


def edited_suggestions(idsync: Any, folder: Path, row_id: str, **changes: str) -> Path:
    """``idsync suggest --out`` a JSON file, with one row edited as a reviewer would."""
    path = folder / "onboarding.json"
    assert idsync("suggest", "--out", str(path)).exit_code == 0
    document = json.loads(path.read_text())
    for row in document["rows"]:
        if row["id"] == row_id:
            row.update(changes)
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("batch", [500, 1])
def test_a_failing_row_is_reported_and_the_others_go_on(idsync: Any, tenant: World,
                                                        tmp_path: Path, batch: int,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from idsync_core.engine.onboarding import bulk

    monkeypatch.setattr(bulk, "BATCH", batch)  # 1: each link reconciled in a pass of its own
    # the reviewer picked the retired product
    path = edited_suggestions(idsync, tmp_path, "S-1:CFQ7TTC0LH16", target_id="814")
    result = idsync("link", "--accept", str(path), "--json")
    assert result.exit_code == 7
    statuses = {r["id"]: (r["status"], r["message"]) for r in result.json()["rows"]}
    assert statuses["S-1:CFQ7TTC0LH16"][0] == "failed"
    assert "inactive" in statuses["S-1:CFQ7TTC0LH16"][1]
    assert statuses["S-2:CFQ7TTC0LH16"][0] == "linked, posted"
    assert tenant.quantity("880", "812") == "5" and tenant.quantity("871", "812") == "0"
    assert "failed: resource S-1:CFQ7TTC0LH16" in result.stderr


def test_a_custom_cost_below_the_psa_cost_needs_yes(idsync: Any, tenant: World,
                                                    tmp_path: Path) -> None:
    path = edited_suggestions(idsync, tmp_path, "S-1:CFQ7TTC0LH16", price_source="custom",
                              price="4.00", cost="3.00")  # the catalog cost is 4.00
    refused = idsync("link", "--accept", str(path), "--json")
    assert refused.exit_code == 7
    [row] = [r for r in refused.json()["rows"] if r["id"] == "S-1:CFQ7TTC0LH16"]
    assert row["status"] == "failed" and "--yes" in row["message"]
    confirmed = idsync("link", "--accept", str(path), "--yes", "--json")
    assert confirmed.exit_code == 0, confirmed.stderr
    assert tenant.quantity("871", "812") == "8"


@pytest.mark.parametrize(("content", "complaint"), [
    ("level,id\ncompany,A-100\n", "no column accepted, target_id"),
    ('{"rows": [{"level": "customer", "id": "A-100", "accepted": true}]}', "level 'customer'"),
    ('{"rows": [{"level": "company", "id": "A-100", "accepted": "maybe"}]}', "not yes or no"),
    ('{"rows": [{"level": "company", "id": "A-100", "accepted": true}]}', "no target_id"),
    ('{"rows": [{"level": "resource", "id": "R", "parent_id": "S-1", "target_id": "812", '
     '"accepted": true, "price": "cheap"}]}', "price 'cheap' is not a number"),
])
def test_a_bad_file_is_a_usage_error_and_changes_nothing(idsync: Any, tenant: World,
                                                         tmp_path: Path, content: str,
                                                         complaint: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = idsync("link", "--accept", str(path))
    said = " ".join(result.stderr.replace("│", " ").split())  # rich wraps it in a box
    assert result.exit_code == 2 and complaint in said
    assert idsync("links", "--json").json() == []


def test_ignored_items_leave_suggestions_and_the_revenue_report(idsync: Any, tenant: World,
                                                               tmp_path: Path) -> None:
    assert idsync("ignore", "account", "A-400", "--reason", "internal tenant").exit_code == 0
    assert idsync("ignore", "sku", "CFQ7TTC0LCHC", "--reason", "billed by hand").exit_code == 0
    rows = rows_of(idsync("suggest", "--json"))
    assert (rows["A-400"]["status"], rows["A-400"]["reason"]) == (
        "ignored", "ignored account A-400: internal tenant")
    assert rows["S-1:CFQ7TTC0LCHC"]["status"] == "ignored"
    assert rows["S-1:CFQ7TTC0LCHC"]["accepted"] is False
    listed = idsync("ignore", "list", "--json").json()
    assert {(r["kind"], r["id"], r["reason"]) for r in listed} == {
        ("account", "A-400", "internal tenant"), ("sku", "CFQ7TTC0LCHC", "billed by hand")}

    assert idsync("link", "company", "A-100", "250").exit_code == 0
    assert idsync("link", "subscription", "S-1", "871").exit_code == 0
    report = idsync("plan", "--json").json()
    assert {r["resource_id"] for r in report["unlinked_resources"]} == {"S-1:CFQ7TTC0LH16"}
    assert report["ignored_resources"] == [{
        "provider": "ingram", "resource_id": "S-1:CFQ7TTC0LCHC",
        "name": "Microsoft 365 Business Premium", "subscription_id": "S-1",
        "reason": "ignored sku CFQ7TTC0LCHC: billed by hand"}]

    assert idsync("ignore", "remove", "sku", "CFQ7TTC0LCHC").exit_code == 0
    assert idsync("ignore", "remove", "sku", "CFQ7TTC0LCHC").exit_code == 4
    assert rows_of(idsync("suggest", "--json"))["S-1:CFQ7TTC0LCHC"]["status"] == "accepted"


def test_a_product_mapping_decides_for_every_customer(idsync: Any, tenant: World) -> None:
    catalog = tenant.psa()["catalog"]
    catalog.append({"id": "815", "identifier": "EXO-INTERNAL", "name": "Mail hosting",
                    "price": "5.00", "cost": "4.00"})
    tenant.edit_psa(catalog=catalog)
    unmapped = idsync("map", "suggest", "--json").json()
    assert {r["sku"]: r["catalog_item_id"] for r in unmapped} == {
        "CFQ7TTC0LH16": "812", "CFQ7TTC0LCHC": "813"}
    assert idsync("map", "product", "CFQ7TTC0LH16", "815", "--price-source",
                  "markup", "--markup", "20").exit_code == 0
    assert idsync("map", "product", "CFQ7TTC0LH16", "814").exit_code == 5  # inactive
    assert idsync("map", "product", "CFQ7TTC0LH16", "999").exit_code == 4
    assert idsync("map", "product", "X", "812", "--term", "fortnightly").exit_code == 5
    [mapping] = idsync("map", "list", "--json").json()
    assert (mapping["catalog_item_id"], mapping["price_source"], mapping["term"]) == (
        "815", "markup", "any")
    rows = rows_of(idsync("suggest", "--json"))
    for resource in ("S-1:CFQ7TTC0LH16", "S-2:CFQ7TTC0LH16"):
        assert rows[resource]["target_id"] == "815"
        assert rows[resource]["reason"] == "product mapping of SKU CFQ7TTC0LH16"
        assert (rows[resource]["price_source"], rows[resource]["markup"]) == ("markup", "20")
    assert [r["sku"] for r in idsync("map", "suggest", "--json").json()] == ["CFQ7TTC0LCHC"]
    assert idsync("map", "remove", "CFQ7TTC0LH16").exit_code == 0
    assert idsync("map", "remove", "CFQ7TTC0LH16").exit_code == 4
    audit = [e.action for e in __import__("idsync_core.store", fromlist=["Store"]).Store(
        tenant.db_url).audit_entries()]
    assert audit.count("mapping.set") == 1 and "mapping.remove" in audit


@pytest.mark.e2e
def test_on_a_terminal_it_asks_first_and_shows_progress(tenant: World, tmp_path: Path) -> None:
    import os
    import sys

    import pexpect

    env = {**os.environ, **tenant.env(), "PYTHONPATH": str(Path(__file__).parent / "fakes"),
           "COLUMNS": "120", "TERM": "xterm"}

    def spawn(*args: str) -> pexpect.spawn:
        return pexpect.spawn(sys.executable, ["-m", "idsync_core", *args], env=env,
                             encoding="utf-8", timeout=30, dimensions=(50, 120))

    path = tmp_path / "onboarding.csv"
    suggested = spawn("suggest", "--out", str(path))
    suggested.expect(pexpect.EOF)
    child = spawn("link", "--accept", str(path))
    child.expect(r"3 company\(s\), 2 subscription\(s\), 3 resource\(s\) accepted")
    child.expect(r"Link them and post")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5 and tenant.psa()["postings"] == []
    child = spawn("link", "--accept", str(path), "--yes")
    child.expect("linking")  # the progress bar, on the terminal's stderr
    child.expect(r"linked \d+")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and tenant.quantity("871", "812") == "8"
