"""A provider or markup price in another currency than the agreement's: refused at linking,
reported by ``plan`` and never posted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from idsync_fakes.world import World


@pytest.fixture
def in_two_currencies(idsync: Any, world: World) -> World:
    """Agreement 871 bills in EUR; the provider prices Contoso's resources in USD."""
    psa = world.psa()
    for agreement in psa["agreements"]:
        if agreement["id"] == "871":
            agreement["currency"] = "EUR"
    world.edit_psa(agreements=psa["agreements"])
    provider = world.provider()
    for resource in provider["resources"]:
        resource["currency"] = "USD"
    world.provider_file.write_text(json.dumps(provider))
    for args in (("company", "A-100", "250"), ("subscription", "S-1", "871")):
        assert idsync("link", *args).exit_code == 0
    return world


@pytest.mark.parametrize("price", [["--price-source", "provider"],
                                   ["--price-source", "markup", "--markup", "20"]])
def test_linking_with_a_price_in_another_currency_is_refused(
        idsync: Any, in_two_currencies: World, price: list[str]) -> None:
    refused = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", *price, "--yes")
    assert refused.exit_code == 5
    assert "are in USD and agreement 871 bills in EUR" in refused.stderr
    assert idsync("links", "--json").json()[-1]["level"] == "subscription"  # nothing linked
    assert in_two_currencies.psa()["postings"] == []


def test_an_inherited_provider_price_is_refused_too_and_catalog_is_not(
        idsync: Any, in_two_currencies: World) -> None:
    assert idsync("price-source", "set", "provider", "--agreement", "871", "--yes").exit_code == 0
    refused = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812")
    assert refused.exit_code == 5 and "bills in EUR" in refused.stderr
    assert idsync("price-source", "clear", "--agreement", "871").exit_code == 0
    assert idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812").exit_code == 0  # catalog: EUR


def test_plan_reports_it_and_sync_posts_nothing(idsync: Any, in_two_currencies: World) -> None:
    assert idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812").exit_code == 0
    assert idsync("price-source", "set", "markup", "--agreement", "871", "--markup", "25",
                  "--yes").exit_code == 0  # set after linking: the plan catches it
    in_two_currencies.set_provider_quantity("S-1:CFQ7TTC0LH16", "10")
    [problem] = idsync("plan", "--json").json()["problems"]
    assert problem["resource_id"] == "S-1:CFQ7TTC0LH16" and "bills in EUR" in problem["problem"]
    before = len(in_two_currencies.psa()["postings"])
    assert idsync("sync", "--yes", "--json").json()["skipped"] == 1
    assert len(in_two_currencies.psa()["postings"]) == before
