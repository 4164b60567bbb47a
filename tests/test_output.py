"""Output people and log files read: plain full-width rows off a terminal, no Python reprs,
money with two decimals, timestamps on what a run reports, versions."""

from __future__ import annotations

import json
import re
from typing import Any

from idsync_fakes.world import World

LONG_ID = "A-" + "0123456789abcdef" * 5
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d ")


def add_long_account(world: World) -> None:
    provider = world.provider()
    provider["accounts"].append({"id": LONG_ID, "name": "A customer with a rather long name, "
                                                       "as real ones often have (Holdings) Ltd"})
    world.provider_file.write_text(json.dumps(provider))


def test_off_a_terminal_tables_are_whole_rows(idsync: Any, world: World) -> None:
    add_long_account(world)
    lines = idsync("companies", "provider").stdout.splitlines()
    assert lines[0] == "Accounts at ingram"
    assert lines[1].split() == ["id", "name", "psa", "company", "id", "psa", "company", "name"]
    [row] = [line for line in lines if LONG_ID in line]
    assert row.startswith(LONG_ID + "  ") and "(Holdings) Ltd" in row
    assert len(row) > 120  # not squeezed to 80 columns
    assert len(lines) == 2 + len(world.provider()["accounts"])  # one line per row


def test_lists_print_as_people_write_them(idsync: Any, world: World) -> None:
    assert idsync("link", "company", "A-100", "250").exit_code == 0
    companies = idsync("companies", "psa").stdout
    assert re.search(r"^250\s+Contoso Ltd\s+Contoso\s+A-100$", companies, re.MULTILINE)
    assert "[" not in companies and "'" not in companies
    plugins = idsync("plugins").stdout
    assert "idsync_check, idsync_close, idsync_list_accounts" in plugins
    assert "['" not in plugins
    assert idsync("plugins", "--json").json()[0]["hooks"][0] == "idsync_check"  # JSON: a list


def test_money_has_two_decimals_for_people_and_stays_exact_in_json(idsync: Any,
                                                                    world: World) -> None:
    psa = world.psa()
    psa["catalog"][1].update(price="26.4", cost="22")
    world.psa_file.write_text(json.dumps(psa))
    assert re.search(r"^813\s+Microsoft 365 Business Premium\s+CFQ7TTC0LCHC\s+26\.40\s+"
                     r"22\.00\s+yes$", idsync("catalog").stdout, re.MULTILINE)
    item = next(i for i in idsync("catalog", "--json").json() if i["id"] == "813")
    assert (item["price"], item["cost"]) == ("26.4", "22")


def test_a_runs_summary_line_is_timestamped_in_a_log(idsync: Any, world: World) -> None:
    for args in (("company", "A-100", "250"), ("subscription", "S-1", "871"),
                 ("resource", "S-1:CFQ7TTC0LH16", "812")):
        assert idsync("link", *args).exit_code == 0
    world.set_provider_quantity("S-1:CFQ7TTC0LH16", "9")
    last = idsync("sync", "--yes").stdout.splitlines()[-1]
    assert STAMP.match(last)
    assert last.endswith("posted 1, unchanged 0, failed 0, waiting 0, skipped 0")


def test_a_decrease_already_posted_says_so(idsync: Any, world: World) -> None:
    world.edit_psa(postings=[{"id": "1", "agreement_id": "871", "catalog_item_id": "812",
                              "delta": "10", "effective_date": "2026-02-01"}])
    for args in (("company", "A-100", "250"), ("subscription", "S-1", "871"),
                 ("resource", "S-1:CFQ7TTC0LH16", "812")):
        assert idsync("link", *args).exit_code == 0  # -2 from 2026-12-01 posted
    record = idsync("plan", "--json").json()["links"][0]
    assert (record["provider_quantity"], record["psa_quantity"], record["changes"]) == (
        "8", "10", [])
    assert record["scheduled_change"] == {"delta": "-2", "effective_date": "2026-12-01"}
    assert re.search(r"S-1:CFQ7TTC0LH16 \(Exchange Online \(Plan 1\)\)\s+8\s+10\s+"
                     r"-2 from 2026-12-01 already posted", idsync("plan").stdout)
    assert idsync("unlink", "resource", "S-1:CFQ7TTC0LH16").exit_code == 0
    relinked = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812").stdout
    assert "-2 from 2026-12-01 already posted: nothing to post." in relinked
    assert "Already equal" not in relinked


def test_version_names_the_core_and_each_connector(idsync: Any) -> None:
    result = idsync("--version")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"idsync \d+\.\d+\.\d+\S*", lines[0])
    assert "fake-psa 0.1.0 (psa, idsync-fakes)" in lines
    assert "fake-provider 0.1.0 (provider, idsync-fakes)" in lines
