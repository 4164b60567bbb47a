"""Every dry run arms each connection's write guard: a preview that reaches a write fails loudly.

``plan``, ``sync --dry-run`` and ``link --dry-run`` (and the console's previews, which call the
same engine functions) post nothing by construction; the guard is the last line of defence
should a code path under them ever call a write hook.
"""

from __future__ import annotations

from typing import Any

import pytest

from idsync_core.engine import linking, sync
from idsync_core.engine import planning as real_planning
from idsync_core.engine.runtime import Runtime
from idsync_core.settings import load_settings
from idsync_fakes.world import World


@pytest.fixture
def planning_posts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planning that misbehaves: it posts what it planned (through the PSA connection)."""
    def plan_and_post(runtime: Runtime, *args: Any, **kwargs: Any) -> Any:
        plan = real_planning.plan_link(runtime, *args, **kwargs)
        for change in plan.changes:
            runtime.psa.post_adjustment(change.adjustment)
        return plan

    monkeypatch.setattr(sync, "plan_link", plan_and_post)
    monkeypatch.setattr(linking, "plan_link", plan_and_post)


@pytest.mark.parametrize("command", [("plan",), ("plan", "--json"), ("sync", "--dry-run"),
                                     ("link", "resource", "S-1:CFQ7TTC0LCHC", "813",
                                      "--dry-run")])
def test_a_dry_run_that_reaches_a_write_fails_loudly_and_posts_nothing(
    idsync: Any, linked: World, planning_posts: None, command: tuple[str, ...]
) -> None:
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "10")
    before = linked.psa()["postings"]
    result = idsync(*command)
    assert result.exit_code == 5, result.stdout + result.stderr
    assert "dry run: refusing to post an adjustment" in result.stderr
    assert linked.psa()["postings"] == before


def test_the_same_misbehaviour_would_post_without_the_guard(
    idsync: Any, linked: World, planning_posts: None
) -> None:
    """What the test above guards against: outside a dry run, the misbehaving planning posts."""
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "10")
    before = len(linked.psa()["postings"])
    idsync("sync", "--yes")
    assert len(linked.psa()["postings"]) > before


def test_a_dry_run_arms_connections_open_and_opened_and_disarms_after(linked: World) -> None:
    settings, path = load_settings()
    rt = Runtime(settings, config_path=path)
    psa = rt.psa
    assert not psa.dry_run.enabled
    with rt.dry_run():
        assert psa.dry_run.enabled
        provider = rt.provider()  # opened during the dry run
        assert provider.dry_run.enabled
        with rt.dry_run():  # nested (a preview inside a preview)
            pass
        assert psa.dry_run.enabled and provider.dry_run.enabled
    assert not psa.dry_run.enabled and not provider.dry_run.enabled
    rt.close_connections()
    assert not rt.psa.dry_run.enabled  # a connection opened afterwards is not armed
