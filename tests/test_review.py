"""The review queue: the approval policy, approve and dismiss, on the fake connectors.

Approving goes through the exactly-once path of ``apply``: a change posts once however many
people approve it, never while a sync holds the lock, and not at all once it no longer holds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from idsync_core.engine import review
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import LockBusyError
from idsync_core.settings import load_settings
from idsync_core.store import acting_as
from idsync_fakes.world import World

EXCHANGE, PREMIUM = "S-1:CFQ7TTC0LH16", "S-1:CFQ7TTC0LCHC"


@pytest.fixture
def linked(idsync: Any, world: World) -> World:
    """Contoso's two seat products linked (8 and 3 seats posted), then the provider moves: one
    up (8 → 10), one down (3 → 1)."""
    for args in (("company", "A-100", "250"), ("subscription", "S-1", "871"),
                 ("resource", EXCHANGE, "812"), ("resource", PREMIUM, "813")):
        assert idsync("link", *args).exit_code == 0, args
    world.set_provider_quantity(EXCHANGE, "10")
    world.set_provider_quantity(PREMIUM, "1")
    return world


@pytest.fixture
def runtime(linked: World) -> Iterator[Runtime]:
    settings, path = load_settings()
    rt = Runtime(settings, config_path=path)
    yield rt
    rt.close()


def queued(idsync: Any) -> dict[str, dict[str, Any]]:
    """The review queue by resource id."""
    result = idsync("review", "--json")
    assert result.exit_code == 0, result.stderr
    return {row["resource_id"]: row for row in result.json()}


def postings(world: World) -> int:
    return len(world.psa()["postings"])


def test_auto_post_increases_posts_the_increase_and_holds_the_decrease(
        idsync: Any, linked: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDSYNC_SYNC__AUTO_POST", "increases")
    result = idsync("sync", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    record = result.json()
    assert (record["posted"], record["held"]) == (1, 1)
    statuses = {link["resource_id"]: [c["status"] for c in link["changes"]]
                for link in record["links"]}
    assert statuses == {EXCHANGE: ["posted"], PREMIUM: ["held for review"]}
    assert linked.quantity("871", "812") == "10"
    assert linked.quantity("871", "813", "2026-12-01") == "3"  # the decrease waits
    waiting = queued(idsync)
    assert list(waiting) == [PREMIUM]
    assert (waiting[PREMIUM]["delta"], waiting[PREMIUM]["effective_date"]) == ("-2",
                                                                                "2026-12-01")


def test_auto_post_none_posts_nothing_and_the_text_output_names_the_keys(
        idsync: Any, linked: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDSYNC_SYNC__AUTO_POST", "none")
    before = postings(linked)
    result = idsync("sync", "--yes")
    assert result.exit_code == 0, result.stderr
    assert postings(linked) == before
    keys = [row["key"] for row in queued(idsync).values()]
    assert len(keys) == 2 and all(key in result.stdout for key in keys)
    assert "idsync approve" in result.stderr


def test_auto_post_all_is_the_default_and_an_unknown_policy_is_a_configuration_error(
        idsync: Any, linked: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDSYNC_SYNC__AUTO_POST", "some")
    bad = idsync("sync", "--yes")
    assert bad.exit_code == 3 and "auto_post" in bad.stderr
    monkeypatch.delenv("IDSYNC_SYNC__AUTO_POST")
    assert idsync("sync", "--yes", "--json").json()["posted"] == 2
    assert queued(idsync) == {}


def test_approve_posts_once_and_a_second_approval_posts_nothing(
        idsync: Any, linked: World) -> None:
    key = queued(idsync)[PREMIUM]["key"]
    before = postings(linked)
    first = idsync("approve", key)
    assert first.exit_code == 0, first.stderr
    assert "posted" in first.stdout
    assert postings(linked) == before + 1
    assert linked.quantity("871", "813", "2026-12-01") == "1"
    assert linked.quantity("871", "812") == "8"  # only the approved change
    again = idsync("approve", key)
    assert again.exit_code == 7
    assert "posted already" in again.stderr
    assert postings(linked) == before + 1


def test_approving_a_change_that_no_longer_holds_skips_it_and_says_so(
        idsync: Any, linked: World) -> None:
    key = queued(idsync)[EXCHANGE]["key"]
    linked.set_provider_quantity(EXCHANGE, "12")  # the world moved after the page was shown
    before = postings(linked)
    result = idsync("approve", key)
    assert result.exit_code == 7
    assert "no longer holds" in result.stderr and "nothing was posted" in result.stderr
    assert postings(linked) == before
    assert queued(idsync)[EXCHANGE]["delta"] == "4"  # the new change waits instead


def test_approving_while_a_sync_holds_the_lock_is_refused_and_posts_nothing(
        idsync: Any, linked: World, runtime: Runtime) -> None:
    key = queued(idsync)[EXCHANGE]["key"]
    before = postings(linked)
    with runtime.store.lock("sync"):
        result = idsync("approve", key)
    assert result.exit_code == 8
    assert "a sync is running; try again in a minute" in result.stderr
    assert postings(linked) == before
    assert idsync("approve", key).exit_code == 0  # and once it is free, it posts
    assert postings(linked) == before + 1


def test_two_people_approving_one_change_at_once_post_it_once(
        linked: World, runtime: Runtime) -> None:
    [item] = [i for i in review.queue(runtime).items if i.plan.link.resource_id == EXCHANGE]
    before = postings(linked)
    answers: list[str] = []
    start = threading.Barrier(2)

    def approve_as(name: str) -> None:
        settings, path = load_settings()
        rt = Runtime(settings, config_path=path)
        try:
            start.wait()
            with acting_as(name):
                approval = review.approve(rt, [item.key], link_ids=[item.link_id])
            answers.extend(d.status for d in approval.decisions)
        except LockBusyError as exc:
            answers.append(exc.message)
        finally:
            rt.close()

    people = [threading.Thread(target=approve_as, args=(f"web:{n}",)) for n in ("ann", "bob")]
    for person in people:
        person.start()
    for person in people:
        person.join(timeout=120)
    assert postings(linked) == before + 1
    assert linked.quantity("871", "812") == "10"
    assert sorted(answers)[0] in ("a sync is running; try again in a minute", "gone")
    assert sorted(answers)[1] == "posted"


def test_a_dismissed_change_stays_hidden_and_unposted_until_its_numbers_change(
        idsync: Any, linked: World) -> None:
    key = queued(idsync)[PREMIUM]["key"]
    dismissed = idsync("dismiss", key)
    assert dismissed.exit_code == 0 and "dismissed" in dismissed.stdout
    assert list(queued(idsync)) == [EXCHANGE]
    assert "1 dismissed change(s) hidden" in idsync("review").stderr
    record = idsync("sync", "--yes", "--json").json()  # auto_post = "all": all but that one
    assert (record["posted"], record["held"]) == (1, 1)
    assert linked.quantity("871", "813", "2026-12-01") == "3"
    assert idsync("dismiss", key).stdout.strip().endswith("dismissed already")
    linked.set_provider_quantity(PREMIUM, "2")  # new numbers: a new change, shown again
    again = queued(idsync)
    assert list(again) == [PREMIUM] and again[PREMIUM]["key"] != key
    assert idsync("sync", "--yes", "--json").json()["posted"] == 1
    assert linked.quantity("871", "813", "2026-12-01") == "2"


def test_dismissing_a_change_the_plan_does_not_have_is_refused(idsync: Any,
                                                               linked: World) -> None:
    result = idsync("dismiss", "0" * 32)
    assert result.exit_code == 4
    assert "there is no change 00000000000000000000000000000000 in the plan" in result.stderr


def test_approvals_and_their_postings_are_audited_under_the_persons_name(
        linked: World, runtime: Runtime) -> None:
    key = next(i.key for i in review.queue(runtime).items
               if i.plan.link.resource_id == EXCHANGE)
    with acting_as("web:ann"):
        approval = review.approve(runtime, [key])
    assert [d.status for d in approval.decisions] == ["posted"]
    entries = {(e.action, e.subject): e.origin for e in runtime.store.audit_entries(limit=20)}
    assert entries[("review.approve", f"journal:{key}")] == "web:ann"
    # posted from the sync's worker threads: they act for the same person
    assert entries[("adjustment.posted", f"journal:{key}")] == "web:ann"
    run = runtime.store.last_run()
    assert run is not None and (run.command, run.origin) == ("approve", "web:ann")


def test_retry_reruns_only_the_links_in_the_failure_log(idsync: Any, linked: World,
                                                       runtime: Runtime) -> None:
    assert review.retry(runtime).notable == []  # an empty failure log: nothing to do
    linked.edit_psa(fail_next_post="reject")
    failed = idsync("approve", queued(idsync)[EXCHANGE]["key"])
    assert failed.exit_code == 7 and "not allowed on this agreement" in failed.stderr
    summary = review.retry(runtime)
    assert [(o.plan.link.resource_id, o.status) for o in summary.notable] == [
        (EXCHANGE, "posted")]
    assert linked.quantity("871", "812") == "10"
    assert linked.quantity("871", "813", "2026-12-01") == "3"  # not in the failure log
