"""The seed's linking flow end to end through the CLI, on the fake connectors."""

from __future__ import annotations

import re
from typing import Any

import pytest

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



def test_listings_carry_id_and_name_and_filters_work(idsync: Any, world: World) -> None:
    for args in (["companies", "psa"], ["companies", "provider"], ["agreements", "250",
                 "--include-expired"], ["subscriptions", "A-100"], ["resources", "S-1"],
                 ["catalog"], ["lines", "871"]):
        result = idsync(*args, "--json")
        assert result.exit_code == 0, (args, result.stderr)
        assert all({"id", "name"} <= set(row) for row in result.json()), args
    # Litware has no agreement at all: hidden by --unlinked; Contoso and Fabrikam shown
    unlinked = {r["name"] for r in idsync("companies", "psa", "--unlinked", "--json").json()}
    assert unlinked == {"Contoso Ltd", "Fabrikam Inc"}
    assert [r["id"] for r in idsync("agreements", "250", "--json").json()] == ["871"]
    assert {r["id"] for r in idsync("agreements", "250", "--include-expired",
                                    "--json").json()} == {"870", "871"}
    link_contoso(idsync)
    # Contoso's only active agreement is linked now: hidden by default, shown on request
    assert idsync("agreements", "250", "--json").json() == []
    assert [r["linked"] for r in idsync("agreements", "250", "--include-linked",
                                        "--json").json()] == [True]
    unlinked = {r["name"] for r in idsync("companies", "psa", "--unlinked", "--json").json()}
    assert unlinked == {"Fabrikam Inc"}
    assert [r["id"] for r in idsync("companies", "provider", "--unlinked", "--json").json()] == [
        "A-200"]
    assert [r["name"] for r in idsync("companies", "psa", "--search", "fab", "--json").json()] \
        == ["Fabrikam Inc"]
    assert idsync("catalog", "--search", "premium", "--json").json()[0]["id"] == "813"


def test_linking_rules_refuse_with_clear_messages(idsync: Any, world: World) -> None:
    result = idsync("link", "subscription", "S-1", "871")
    assert result.exit_code == 5 and "account A-100 (Contoso Ltd), which is not linked" in \
        " ".join(result.stderr.split())
    result = idsync("link", "subscription", "S-999", "871")
    assert result.exit_code == 4 and "subscription S-999 does not exist at ingram" in \
        " ".join(result.stderr.split())
    assert idsync("link", "company", "A-404", "250").exit_code == 4
    assert idsync("link", "company", "A-100", "999").exit_code == 4
    assert idsync("link", "company", "A-100", "250").exit_code == 0
    result = idsync("link", "company", "A-100", "251")
    assert result.exit_code == 5 and "already linked" in result.stderr
    result = idsync("link", "subscription", "S-1", "880")  # Fabrikam's agreement
    assert result.exit_code == 5 and "does not belong to PSA company 250" in result.stderr
    result = idsync("link", "subscription", "S-1", "870")
    assert result.exit_code == 5 and "expired" in result.stderr
    result = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812")
    assert result.exit_code == 5 and "subscription S-1 (Microsoft 365), which is not linked" \
        in " ".join(result.stderr.split())
    result = idsync("link", "resource", "UNKNOWN", "812")
    assert result.exit_code == 4 and "resource UNKNOWN does not exist" in \
        " ".join(result.stderr.split())
    assert idsync("link", "subscription", "S-1", "871").exit_code == 0
    result = idsync("link", "resource", "S-1:AZURE", "812")
    assert result.exit_code == 5 and "usage-based" in result.stderr
    result = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "814")
    assert result.exit_code == 5 and "inactive" in result.stderr
    assert idsync("link", "resource", "S-1:CFQ7TTC0LH16", "999").exit_code == 4
    assert idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812").exit_code == 0
    result = idsync("link", "resource", "S-1:CFQ7TTC0LCHC", "812")
    assert result.exit_code == 5 and "two resources on one line" in result.stderr
    assert len(world.psa()["postings"]) == 1


def test_dry_run_posts_nothing_and_links_nothing(idsync: Any, world: World) -> None:
    link_contoso(idsync)
    result = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--dry-run", "--json")
    assert result.exit_code == 0
    assert result.json()["changes"][0]["status"] == "would post"
    assert world.psa()["postings"] == []
    assert [r["level"] for r in idsync("links", "--json").json()] == ["company", "subscription"]


def test_decrease_is_dated_on_the_next_billing_period(idsync: Any, world: World) -> None:
    world.edit_psa(postings=[{"id": "1", "agreement_id": "871", "catalog_item_id": "812",
                              "delta": "10", "effective_date": "2026-02-01",
                              "unit_price": "5.00", "unit_cost": "4.20"}])
    link_contoso(idsync)
    record = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--json").json()
    assert (record["provider_quantity"], record["psa_quantity"]) == ("8", "10")
    [change] = record["changes"]
    assert change["delta"] == "-2" and change["effective_date"] == "2026-12-01"
    assert world.quantity("871", "812", "2026-11-30") == "10"  # this period stays billed
    assert world.quantity("871", "812", "2026-12-01") == "8"


def test_decrease_today_when_configured(idsync: Any, world: World,
                                        monkeypatch: Any) -> None:
    monkeypatch.setenv("IDSYNC_SYNC__DECREASE_EFFECTIVE", "today")
    world.edit_psa(postings=[{"id": "1", "agreement_id": "871", "catalog_item_id": "812",
                              "delta": "10", "effective_date": "2026-02-01"}])
    link_contoso(idsync)
    [change] = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--json").json()["changes"]
    assert (change["delta"], change["effective_date"]) == ("-2", "2026-11-25")


def test_price_source_most_specific_wins(idsync: Any, world: World) -> None:
    link_contoso(idsync)
    assert idsync("price-source", "set", "provider", "--company", "250").exit_code == 0
    assert idsync("price-source", "set", "markup", "--agreement", "871", "--markup",
                  "20").exit_code == 0
    [change] = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--dry-run",
                      "--json").json()["changes"]
    assert (change["unit_price"], change["unit_cost"]) == ("4.68", "3.90")  # 3.90 + 20 %
    [change] = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--price-source",
                      "custom", "--price", "5.25", "--cost", "4.10", "--json").json()["changes"]
    assert (change["unit_price"], change["unit_cost"]) == ("5.25", "4.10")
    assert world.psa()["postings"][0]["unit_price"] == "5.25"
    assert idsync("price-source", "clear", "--agreement", "871").exit_code == 0
    kinds = {r["scope"]: r["kind"] for r in idsync("price-source", "list", "--json").json()}
    assert kinds == {"company": "provider", "link": "custom"}


def test_custom_cost_below_psa_cost_needs_confirmation(idsync: Any, world: World) -> None:
    link_contoso(idsync)
    result = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--price", "4.50",
                    "--cost", "3.00")
    assert result.exit_code == 5 and "custom cost 3.00 is below the PSA cost 4.00" in result.stderr
    assert "--yes" in result.stderr
    assert world.psa()["postings"] == [] and len(idsync("links", "--json").json()) == 2
    result = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--price", "4.50",
                    "--cost", "3.00", "--yes", "--json")
    assert result.exit_code == 0
    assert result.json()["changes"][0]["unit_cost"] == "3.00"


def test_bad_numbers_and_incomplete_custom_prices(idsync: Any, world: World) -> None:
    link_contoso(idsync)
    assert idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--price", "abc").exit_code == 2
    result = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--price", "4.50")
    assert result.exit_code == 2 and "the custom price source needs --cost" in result.stderr
    result = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--price-source", "markup")
    assert result.exit_code == 2 and "the markup price source needs --markup" in result.stderr
    result = idsync("price-source", "set", "markup", "--company", "250")
    assert result.exit_code == 2 and "needs --markup" in result.stderr
    result = idsync("price-source", "set", "custom", "--company", "250", "--cost", "1")
    assert result.exit_code == 2 and "needs --price" in result.stderr
    assert idsync("price-source", "list", "--json").json() == []  # nothing was stored
    assert idsync("links", "--json").json() and world.psa()["postings"] == []


def test_rejected_posting_is_logged_as_failed_and_retried_later(idsync: Any,
                                                                world: World) -> None:
    link_contoso(idsync)
    world.edit_psa(fail_next_post="reject")
    result = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812")
    assert result.exit_code == 7 and "not allowed on this agreement" in result.stderr
    failed = idsync("log", "--failed", "--json").json()
    assert [(f["status"], f["delta"], f["resource_id"]) for f in failed] == [
        ("failed", "8", "S-1:CFQ7TTC0LH16")]
    assert world.psa()["postings"] == []


def test_lost_answer_is_settled_by_the_marker_never_posted_twice(idsync: Any,
                                                                 world: World) -> None:
    link_contoso(idsync)
    world.edit_psa(fail_next_post="lost_answer")
    result = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["changes"][0]["status"] == "posted"
    assert len(world.psa()["postings"]) == 1 and world.quantity("871", "812") == "8"
    [entry] = idsync("log", "--json").json()
    assert entry["status"] == "posted" and "marker found" in entry["error"]


def test_unlink_keeps_history_and_relink_finds_nothing_to_post(idsync: Any,
                                                               world: World) -> None:
    link_contoso(idsync)
    assert idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812").exit_code == 0
    result = idsync("unlink", "subscription", "S-1")
    assert result.exit_code == 5 and "still has linked resources" in result.stderr
    assert idsync("unlink", "resource", "S-1:CFQ7TTC0LH16").exit_code == 0
    assert idsync("unlink", "resource", "S-1:CFQ7TTC0LH16").exit_code == 4
    record = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--json").json()
    assert record["changes"] == [] and record["psa_quantity"] == "8"
    assert len(world.psa()["postings"]) == 1
    assert len(idsync("log", "--json").json()) == 1  # the history of the first link is kept


def test_terminated_subscription_goes_to_zero_next_period(idsync: Any, world: World) -> None:
    link_contoso(idsync)
    assert idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812").exit_code == 0
    world.set_subscription_status("S-1", "terminated")
    assert idsync("unlink", "resource", "S-1:CFQ7TTC0LH16").exit_code == 0
    record = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--json").json()
    assert record["terminated"] and record["provider_quantity"] == "0"
    assert [(c["delta"], c["effective_date"]) for c in record["changes"]] == [
        ("-8", "2026-12-01")]


def test_configuration_errors_exit_3_without_leaking_secrets(idsync: Any, world: World) -> None:
    world.config.write_text('[psa]\nplugin = "fake-psa"\nstate_file = "x"\n'
                            'api_secret = "hunter2-topsecret"\n')
    result = idsync("companies", "psa")
    assert result.exit_code == 3
    assert "api_secret: unknown setting" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    world.config.write_text("[psa\n")
    assert idsync("companies", "psa").exit_code == 3
    world.config.write_text("")
    result = idsync("companies", "psa")
    assert result.exit_code == 3 and "no PSA connection is configured" in result.stderr


def test_check_reports_each_connection(idsync: Any, world: World) -> None:
    result = idsync("check", "--json")
    assert result.exit_code == 0
    assert [(r["id"], r["ok"]) for r in result.json()] == [("psa", True),
                                                            ("providers.ingram", True)]
    world.config.write_text(world.config.read_text().replace(
        'plugin = "fake-provider"', 'plugin = "fake-provider"\nno_such_setting = 1'))
    broken = idsync("check", "--json")
    assert broken.exit_code == 3
    assert [(r["name"], r["ok"], r["exit_code"]) for r in broken.json()] == [
        ("fake-psa (psa)", True, 0), ("fake-provider (providers.ingram)", False, 3)]
    assert "fake-provider (providers.ingram)  no" in idsync("check").stdout


def test_sync_brings_provider_changes_along_and_twice_posts_nothing(idsync: Any,
                                                                     world: World) -> None:
    link_contoso(idsync)
    assert idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812").exit_code == 0
    assert idsync("link", "resource", "S-1:CFQ7TTC0LCHC", "813").exit_code == 0
    world.set_provider_quantity("S-1:CFQ7TTC0LH16", "11")
    world.set_provider_quantity("S-1:CFQ7TTC0LCHC", "1")
    dry = idsync("sync", "--dry-run", "--json").json()
    assert dry["planned"] == 2 and len(world.psa()["postings"]) == 2
    result = idsync("sync", "--json")
    assert result.exit_code == 0, result.stderr
    summary = result.json()
    assert (summary["posted"], summary["failed"]) == (2, 0)
    assert world.quantity("871", "812") == "11"
    assert world.quantity("871", "813") == "3"  # the decrease starts next period
    assert world.quantity("871", "813", "2026-12-01") == "1"
    second = idsync("sync", "--json").json()
    assert (second["posted"], second["unchanged"]) == (0, 2)
    assert len(world.psa()["postings"]) == 4


def test_provider_listings_show_what_each_object_is_linked_to(idsync: Any, world: World) -> None:
    link_contoso(idsync)
    assert idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812").exit_code == 0
    subs = {r["id"]: r["agreement_id"] for r in idsync("subscriptions", "A-100", "--json").json()}
    assert subs == {"S-1": "871"}
    items = {r["id"]: r["catalog_item_id"] for r in idsync("resources", "S-1", "--json").json()}
    assert items == {"S-1:CFQ7TTC0LH16": "812", "S-1:CFQ7TTC0LCHC": None, "S-1:AZURE": None}


def test_price_source_list_names_what_each_applies_to(idsync: Any, world: World) -> None:
    link_contoso(idsync)
    assert idsync("price-source", "set", "provider", "--company", "250").exit_code == 0
    assert idsync("price-source", "set", "markup", "--agreement", "871", "--markup",
                  "20").exit_code == 0
    assert idsync("price-source", "set", "provider", "--agreement", "880").exit_code == 0
    assert idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--price", "5.25", "--cost",
                  "4.10").exit_code == 0
    names = [row["name"] for row in idsync("price-source", "list", "--json").json()]
    assert names == ["company 250 (Contoso Ltd)", "agreement 871 (Contoso - Microsoft 365)",
                     "agreement 880", "resource S-1:CFQ7TTC0LH16 (Exchange Online (Plan 1))"]
    assert re.search(r"^resource S-1:CFQ7TTC0LH16 \(Exchange Online \(Plan 1\)\)\s+custom\s+"
                     r"5\.25\s+4\.10", idsync("price-source", "list").stdout, re.MULTILINE)
    assert idsync("unlink", "resource", "S-1:CFQ7TTC0LH16").exit_code == 0
    names = [row["name"] for row in idsync("price-source", "list", "--json").json()]
    assert names == ["company 250 (Contoso Ltd)", "agreement 871 (Contoso - Microsoft 365)",
                     "agreement 880"]  # the removed link's setting applies to nothing


def test_the_linking_rules_the_console_shares_live_in_the_engine(idsync: Any,
                                                                 world: World) -> None:
    """Unlinking children first and "a company with an unlinked agreement" are engine rules, so
    the CLI and the web console answer the same."""
    from idsync_core.engine import linking
    from idsync_core.engine.runtime import Runtime
    from idsync_core.errors import RefusedError
    from idsync_core.settings import load_settings

    link_contoso(idsync)
    settings, path = load_settings()
    rt = Runtime(settings, config_path=path)
    try:
        # Contoso's only active agreement is linked now; Fabrikam's is not
        assert [c.id for c in linking.psa_companies(rt, None, unlinked_only=True)] == ["251"]
        assert {c.id for c in linking.psa_companies(rt, None, unlinked_only=False)} == {
            "250", "251", "252"}
        assert linking.visible_agreements(rt, "250", include_expired=False,
                                          include_linked=False) == []
        assert [a.id for a in linking.visible_agreements(
            rt, "250", include_expired=True, include_linked=True)] == ["871", "870"]
        with pytest.raises(RefusedError, match="still has linked subscriptions"):
            linking.unlink(rt, "company", "ingram", "A-100")
        linking.unlink(rt, "subscription", "ingram", "S-1")
        assert linking.unlink(rt, "company", "ingram", "A-100").account_id == "A-100"
    finally:
        rt.close()
