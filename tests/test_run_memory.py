"""A sync's memory does not grow with the tenant: it streams links in and outcomes out.

It reads the links from the store a batch at a time as its workers get to them, counts every
outcome but keeps only those that are not unchanged, and forgets an agreement's lines and its
subscription's resources once that agreement's links are done.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from idsync_core.engine.planning import LinePlan
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime
from idsync_core.engine.sync import LinkOutcome, agreement_groups, run_links
from idsync_core.settings import load_settings
from idsync_core.store import ResourceLink
from idsync_fakes.world import World


@pytest.fixture
def linked(idsync: Any, world: World) -> World:
    """Contoso's two seat resources on agreement 871 and Fabrikam's one on 880, all linked."""
    for args in (("company", "A-100", "250"), ("subscription", "S-1", "871"),
                 ("resource", "S-1:CFQ7TTC0LH16", "812"), ("resource", "S-1:CFQ7TTC0LCHC", "813"),
                 ("company", "A-200", "251"), ("subscription", "S-2", "880"),
                 ("resource", "S-2:CFQ7TTC0LH16", "812")):
        assert idsync("link", *args).exit_code == 0
    return world


def runtime() -> Runtime:
    settings, path = load_settings()
    return Runtime(settings, config_path=path)


def test_sync_json_lists_the_links_that_are_not_unchanged_and_counts_them_all(
    idsync: Any, linked: World
) -> None:
    linked.set_provider_quantity("S-1:CFQ7TTC0LCHC", "5")
    record = idsync("sync", "--json").json()
    assert (record["posted"], record["unchanged"]) == (1, 2)
    assert [(link["resource_id"], link["status"]) for link in record["links"]] == [
        ("S-1:CFQ7TTC0LCHC", "posted")]
    assert idsync("sync", "--json").json()["links"] == []  # all three unchanged, all counted
    dry = idsync("sync", "--dry-run", "--json").json()
    assert (dry["unchanged"], dry["links"]) == (3, [])


def test_links_of_one_agreement_form_one_group() -> None:
    links = [ResourceLink(id=n, agreement_id=agreement) for n, agreement in
             enumerate(["871", "871", "880", "890", "890"])]
    assert [[link.id for link in group] for group in agreement_groups(iter(links))] == [
        [0, 1], [2], [3, 4]]


def test_a_run_reads_links_as_its_workers_get_to_them(linked: World,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDSYNC_SYNC__CONCURRENCY", "1")
    rt = runtime()
    [real, *_] = rt.store.active_resource_links()
    read: list[int] = []

    def many_agreements(batch: int = 500) -> Iterator[ResourceLink]:
        for n in range(50):  # one link on each of 50 agreements
            read.append(n)
            yield ResourceLink(id=n + 1, subscription_link_id=real.subscription_link_id,
                               provider="ingram", resource_id=f"R-{n}", agreement_id=f"A-{n:02}",
                               catalog_item_id="812")

    monkeypatch.setattr(rt.store, "iter_active_resource_links", many_agreements)
    reader = Reader(rt)
    read_when_done: list[int] = []

    def plan_nothing(reader: Reader, link: ResourceLink) -> LinkOutcome:
        sub_link = reader.snapshot.subscription_links[link.subscription_link_id]
        company_link = reader.snapshot.company_links[sub_link.company_link_id]
        return LinkOutcome(LinePlan(link=link, subscription_link=sub_link,
                                    company_link=company_link))

    run_links(rt, None, plan_nothing, reader=reader,
              on_outcome=lambda outcome: read_when_done.append(len(read)))
    assert len(read_when_done) == 50
    # One worker with two groups read ahead: when a link is done, at most the group after the
    # next two has been read (and its first link, which tells it ended), never the rest.
    assert all(count <= done + 4 for done, count in enumerate(read_when_done, 1))


def test_what_a_run_read_is_forgotten_once_it_is_done_with_it_not_before(
    idsync: Any, linked: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Contoso gets a second agreement (872, with subscription S-3's resource): its agreements
    and its account's subscriptions are read once for both agreements' links, and forgotten
    with the last of them; each agreement's lines and subscription's resources right after
    its own links."""
    from idsync_core.engine.sync import reconcile_link

    linked.edit_psa(agreements=linked.psa()["agreements"] + [{
        "id": "872", "company_id": "250", "name": "Contoso - Azure", "status": "active",
        "start_date": "2026-01-01", "billing_cycle": "monthly"}])
    provider = linked.provider()
    provider["subscriptions"].append({"id": "S-3", "account_id": "A-100", "name": "Azure",
                                      "status": "active"})
    provider["resources"].append({"id": "S-3:CFQ7TTC0LH16", "subscription_id": "S-3",
                                  "name": "Exchange Online (Plan 1)", "sku": "CFQ7TTC0LH16",
                                  "quantity": "2"})
    linked.provider_file.write_text(json.dumps(provider))
    for args in (("subscription", "S-3", "872"), ("resource", "S-3:CFQ7TTC0LH16", "812")):
        assert idsync("link", *args).exit_code == 0
    monkeypatch.setenv("IDSYNC_SYNC__CONCURRENCY", "1")  # Contoso's two agreements in turn
    rt = runtime()
    reader = Reader(rt)
    outcomes: list[LinkOutcome] = []
    run_links(rt, None, lambda r, link: reconcile_link(rt, r, link, origin="sync"),
              on_outcome=outcomes.append, reader=reader)
    assert len(outcomes) == 4
    calls = rt.connection_calls()
    assert calls["psa"]["idsync_list_agreements"] == 2  # 250 once for 871 and 872, and 251
    assert calls["providers.ingram"]["idsync_list_subscriptions"] == 2  # A-100 once, A-200
    assert calls["psa"]["idsync_list_lines"] == 6  # 871, 872, 880: today and next period
    assert calls["providers.ingram"]["idsync_list_resources"] == 3  # S-1, S-3, S-2
    reader.agreements("250")  # each read again now: the run forgot them
    reader.subscriptions("ingram", "A-100")
    reader.lines("871", rt.today)
    reader.resources("ingram", "S-1")
    assert rt.connection_calls()["psa"]["idsync_list_agreements"] == 3
    assert rt.connection_calls()["psa"]["idsync_list_lines"] == 7
    assert rt.connection_calls()["providers.ingram"] == {
        **calls["providers.ingram"], "idsync_list_subscriptions": 3, "idsync_list_resources": 4}
