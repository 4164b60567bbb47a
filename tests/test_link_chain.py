"""``link_chain``: the guided flow's whole chain is checked first and stored together."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from idsync_core.engine import linking
from idsync_core.engine.pricing import PriceChoice, PriceSourceKind
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import ConfirmationRequired, NotFoundError, RefusedError
from idsync_core.settings import load_settings
from idsync_fakes.world import World


@pytest.fixture
def rt(world: World) -> Iterator[Runtime]:
    settings, path = load_settings()
    runtime = Runtime(settings, config_path=path)
    yield runtime
    runtime.close()


def chain(**changes: object) -> linking.LinkChain:
    values: dict[str, object] = {
        "provider": "ingram", "account_id": "A-100", "psa_company_id": "250",
        "subscription_id": "S-1", "agreement_id": "871", "resource_id": "S-1:CFQ7TTC0LH16",
        "catalog_item_id": "812"}
    values.update(changes)
    return linking.LinkChain(**values)  # type: ignore[arg-type]


def stored(rt: Runtime) -> tuple[int, int, int, int]:
    store = rt.store
    return (len(store.active_company_links()), len(store.active_subscription_links()),
            len(store.active_resource_links()), len(store.price_sources()))


@pytest.mark.parametrize(("changes", "error", "words"), [
    ({"catalog_item_id": "814"}, RefusedError, "inactive"),
    ({"catalog_item_id": "999"}, NotFoundError, "does not exist"),
    ({"agreement_id": "870"}, RefusedError, "expired"),
    ({"agreement_id": "880"}, RefusedError, "does not belong to PSA company 250"),
    ({"subscription_id": "S-2", "resource_id": "S-2:CFQ7TTC0LH16"}, NotFoundError,
     "is not one of account A-100's"),
    ({"resource_id": "S-1:AZURE"}, RefusedError, "usage-based"),
    ({"price": PriceChoice(PriceSourceKind.CUSTOM, Decimal("5"), Decimal("1"))},
     ConfirmationRequired, "below the PSA cost"),
])
def test_a_refused_last_step_stores_nothing(rt: Runtime, world: World, changes: dict[str, object],
                                            error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        linking.link_chain(rt, chain(**changes))
    assert stored(rt) == (0, 0, 0, 0)
    assert world.psa()["postings"] == []


def test_the_whole_chain_is_linked_with_its_price_and_reconciled(rt: Runtime,
                                                                 world: World) -> None:
    custom = PriceChoice(PriceSourceKind.CUSTOM, Decimal("5.25"), Decimal("4.10"))
    outcome = linking.link_chain(rt, chain(price=custom))
    assert outcome.status == "posted" and outcome.link_created
    assert stored(rt) == (1, 1, 1, 1)
    [posting] = world.psa()["postings"]
    assert (posting["delta"], posting["unit_price"]) == ("8", "5.25")
    subscription = rt.store.subscription_link("ingram", "S-1")
    assert subscription is not None
    assert subscription.company_link_id == rt.store.company_link("ingram", "A-100").id  # type: ignore[union-attr]


def test_links_made_already_are_used_not_made_twice(rt: Runtime, world: World) -> None:
    linking.link_company(rt, "ingram", "A-100", "250")
    linking.link_subscription(rt, "ingram", "S-1", "871")
    outcome = linking.link_chain(rt, chain(psa_company_id=None, agreement_id=None))
    assert outcome.status == "posted" and stored(rt) == (1, 1, 1, 0)
    with pytest.raises(RefusedError, match="already linked to PSA company 250"):
        linking.link_chain(rt, chain(psa_company_id="251",
                                     resource_id="S-1:CFQ7TTC0LCHC", catalog_item_id="813"))


def test_a_preview_stores_nothing_and_names_what_set_relation_would_ask(rt: Runtime,
                                                                        world: World) -> None:
    below = PriceChoice(PriceSourceKind.CUSTOM, Decimal("5"), Decimal("1"))
    outcome, to_confirm = linking.preview_chain(rt, chain(price=below))
    assert outcome.dry_run and outcome.status == "planned"
    assert [(c.adjustment.delta, c.adjustment.unit_cost) for c in outcome.plan.changes] == [
        (Decimal(8), Decimal(1))]
    assert len(to_confirm) == 1 and "below the PSA cost" in to_confirm[0]
    assert stored(rt) == (0, 0, 0, 0) and world.psa()["postings"] == []


def test_the_likely_product_is_the_skus_mapping_else_the_same_sku(rt: Runtime) -> None:
    from idsync_core.engine.onboarding.mappings import map_product

    resource = next(r for r in rt.provider("ingram").list_resources("S-1")
                    if r.id == "S-1:CFQ7TTC0LH16")
    assert [i.id for i in linking.likely_products(rt, "ingram", resource)][:1] == ["812"]
    assert "814" not in [i.id for i in linking.likely_products(rt, "ingram", resource)]
    map_product(rt, "ingram", "CFQ7TTC0LH16", "813", term=None, price=None, confirmed=True)
    assert [i.id for i in linking.likely_products(rt, "ingram", resource)][:1] == ["813"]
