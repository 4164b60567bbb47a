"""A price source that would bill below cost needs a confirmation at every scope, and every id
is checked before anything is stored (issue: a below-cost confirmation skipped at agreement and
company scope let a sync post seats at cost 1 where the PSA cost was 22.00)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from idsync_core.engine import price_sources
from idsync_core.engine.pricing import Scope
from idsync_core.errors import NotFoundError
from idsync_fakes.simulated import simulated_tenant
from idsync_fakes.world import World


def link_both_products(idsync: Any) -> None:
    assert idsync("link", "company", "A-100", "250").exit_code == 0
    assert idsync("link", "subscription", "S-1", "871").exit_code == 0
    assert idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812").exit_code == 0
    assert idsync("link", "resource", "S-1:CFQ7TTC0LCHC", "813").exit_code == 0


def settings(idsync: Any) -> list[dict[str, Any]]:
    return list(idsync("price-source", "list", "--json").json())


@pytest.mark.parametrize("scope", [("--agreement", "871"), ("--company", "250"),
                                   ("--resource", "S-1:CFQ7TTC0LCHC")])
def test_a_custom_cost_below_the_psa_cost_is_refused_at_every_scope(
        idsync: Any, world: World, scope: tuple[str, str]) -> None:
    link_both_products(idsync)
    result = idsync("price-source", "set", "custom", *scope, "--price", "5", "--cost", "1")
    assert result.exit_code == 5, result.stderr
    message = " ".join(result.stderr.split())
    assert "Microsoft 365 Business Premium (catalog item 813" in message
    assert "custom cost 1.00 is below the PSA cost 22.00" in message
    if scope[0] != "--resource":  # the other product under the scope is named too
        assert "Exchange Online (Plan 1) (catalog item 812" in message
        assert "custom cost 1.00 is below the PSA cost 4.00" in message
    assert "--yes" in message and settings(idsync) == []  # nothing stored
    confirmed = idsync("price-source", "set", "custom", *scope, "--price", "5", "--cost", "1",
                       "--yes")
    assert confirmed.exit_code == 0, confirmed.stderr
    assert [s["kind"] for s in settings(idsync)] == ["custom"]


def test_custom_cost_at_or_above_the_psa_cost_needs_no_confirmation(idsync: Any,
                                                                   world: World) -> None:
    link_both_products(idsync)
    result = idsync("price-source", "set", "custom", "--agreement", "871", "--price", "30",
                    "--cost", "22.00")
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(("markup", "reason"), [
    ("-5", "markup -5% is negative"),
    ("2", "markup price 21.42 (provider cost 21.00 + 2%) is below the PSA cost 22.00"),
])
def test_a_markup_that_sells_below_cost_is_refused(idsync: Any, world: World, markup: str,
                                                   reason: str) -> None:
    link_both_products(idsync)
    result = idsync("price-source", "set", "markup", "--company", "250", "--markup", markup)
    assert result.exit_code == 5 and reason in " ".join(result.stderr.split())
    assert settings(idsync) == []


def test_a_product_linked_later_under_the_scope_is_checked_when_it_is_linked(
        idsync: Any, world: World) -> None:
    assert idsync("link", "company", "A-100", "250").exit_code == 0
    assert idsync("link", "subscription", "S-1", "871").exit_code == 0
    # nothing is linked under the agreement yet: nothing to confirm
    assert idsync("price-source", "set", "custom", "--agreement", "871", "--price", "5",
                  "--cost", "1").exit_code == 0
    refused = idsync("link", "resource", "S-1:CFQ7TTC0LCHC", "813")
    assert refused.exit_code == 5
    message = " ".join(refused.stderr.split())
    assert "of agreement 871 (inherited)" in message and "PSA cost 22.00" in message
    assert world.psa()["postings"] == []
    assert [r["level"] for r in idsync("links", "--json").json()] == ["company", "subscription"]
    confirmed = idsync("link", "resource", "S-1:CFQ7TTC0LCHC", "813", "--yes", "--json")
    assert confirmed.exit_code == 0, confirmed.stderr
    assert confirmed.json()["changes"][0]["unit_cost"] == "1"


@pytest.mark.parametrize(("args", "expected"), [
    (("--agreement", "99999"), "agreement 99999 does not exist at FakePsa"),
    (("--company", "99999"), "PSA company 99999 does not exist at FakePsa"),
    (("--resource", "S-1:NOPE"), "resource S-1:NOPE is not linked"),
])
def test_an_unknown_id_is_not_found_and_nothing_is_stored(idsync: Any, world: World,
                                                         args: tuple[str, str],
                                                         expected: str) -> None:
    link_both_products(idsync)
    result = idsync("price-source", "set", "catalog", *args)
    assert result.exit_code == 4 and expected in result.stderr
    assert "hint:" in result.stderr and settings(idsync) == []


def test_a_provider_account_id_given_as_company_names_the_right_one(idsync: Any,
                                                                    world: World) -> None:
    link_both_products(idsync)
    result = idsync("price-source", "set", "catalog", "--company", "A-100")
    assert result.exit_code == 4
    assert "A-100 is the ingram account 'Contoso Ltd', linked to PSA company 250" in \
        " ".join(result.stderr.split())
    assert settings(idsync) == []


def test_a_catalog_item_that_matches_neither_sku_nor_name_needs_a_confirmation(
        idsync: Any, world: World) -> None:
    assert idsync("link", "company", "A-100", "250").exit_code == 0
    assert idsync("link", "subscription", "S-1", "871").exit_code == 0
    # Exchange Online billed as Business Premium: a costly slip
    refused = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "813")
    assert refused.exit_code == 5 and "does not match resource S-1:CFQ7TTC0LH16" in \
        " ".join(refused.stderr.split())
    assert world.psa()["postings"] == []
    assert idsync("link", "resource", "S-1:CFQ7TTC0LH16", "813", "--yes").exit_code == 0


@pytest.mark.e2e
@pytest.mark.parametrize("psa", ["connectwise", "autotask"])
def test_unknown_agreements_and_companies_are_not_found_at_both_psas(psa: str,
                                                                     tmp_path: Path) -> None:
    with simulated_tenant(psa, tmp_path) as tenant:
        tenant.link_everything()
        rt = tenant.runtime()
        try:
            link = rt.store.active_resource_links()[0]
            title = rt.psa.title
            assert price_sources.scope_id(rt, Scope.AGREEMENT, link.agreement_id) == \
                link.agreement_id
            for scope, what in ((Scope.AGREEMENT, "agreement"), (Scope.COMPANY, "PSA company")):
                with pytest.raises(NotFoundError, match=f"{what} 99999 does not exist at "
                                                        f"{title}"):
                    price_sources.scope_id(rt, scope, "99999")
            assert rt.store.price_sources() == []
        finally:
            rt.close()
