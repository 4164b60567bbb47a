"""Onboarding end to end through the CLI on the simulators: ConnectWise and Autotask, with the
Ingram marketplace and the Odin APS backends; a re-run, and kill -9 in the middle of a bulk
link followed by a re-run."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from idsync_core.store import Store
from idsync_fakes.simulated import SimulatedTenant, simulated_tenant
from idsync_odin.simulator.seed import example_seed

pytestmark = pytest.mark.e2e
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def provider_seed(backend: str) -> dict[str, Any]:
    seed = example_seed()
    seed["backend"] = backend
    return seed


@pytest.fixture(params=[("connectwise", "marketplace"), ("autotask", "marketplace"),
                        ("connectwise", "aps"), ("autotask", "aps")],
                ids=lambda p: "-".join(p))
def tenant(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SimulatedTenant]:
    psa, backend = request.param
    with simulated_tenant(psa, tmp_path, provider_seed=provider_seed(backend)) as t:
        yield t


def run(tenant: SimulatedTenant, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tenant.command(*args), env=tenant.env(), capture_output=True,
                          text=True, timeout=180, check=False)


def psa_writes(tenant: SimulatedTenant) -> int:
    return sum(e.method in WRITES and not e.path.startswith("/_sim")
               and "/query" not in e.path  # Autotask reads by POSTing a query
               for e in tenant.psa_sim.controls.log.entries())


def assert_every_linked_line_equals_the_provider(tenant: SimulatedTenant) -> int:
    rt = tenant.runtime()
    try:
        provider = rt.provider("ingram")
        links = list(rt.store.active_resource_links())
        subs = {s.id: s.subscription_id for s in rt.store.active_subscription_links()}
        for link in links:
            resource = next(r for r in provider.list_resources(subs[link.subscription_link_id])
                            if r.id == link.resource_id)
            today, _ = tenant.psa_quantities(link)
            assert today == (resource.quantity or Decimal(0)), link.resource_id
        return len(links)
    finally:
        rt.close()


def test_suggest_then_link_accept_then_a_rerun_posts_nothing(tenant: SimulatedTenant) -> None:
    path = tenant.folder / "onboarding.json"
    suggested = run(tenant, "suggest", "--out", str(path))
    assert suggested.returncode == 0, suggested.stderr
    rows = json.loads(path.read_text())["rows"]
    accepted = [r for r in rows if r["accepted"]]
    assert {r["level"] for r in accepted} == {"company", "subscription", "resource"}
    assert {r["name"] for r in rows if r["level"] == "company" and r["accepted"]} >= {
        "Contoso Ltd", "Fabrikam Inc"}

    linked = run(tenant, "link", "--accept", str(path), "--yes", "--json")
    assert linked.returncode == 0, linked.stderr
    outcome = json.loads(linked.stdout)
    assert outcome["failed"] == 0
    assert any(r["status"] == "linked, posted" for r in outcome["rows"])
    assert assert_every_linked_line_equals_the_provider(tenant) == sum(
        r["level"] == "resource" for r in accepted)

    tenant.psa_sim.controls.log.clear()
    again = run(tenant, "link", "--accept", str(path), "--yes", "--json")
    assert again.returncode == 0, again.stderr
    assert {r["status"] for r in json.loads(again.stdout)["rows"]} == {"unchanged"}
    assert psa_writes(tenant) == 0
    # what is left to suggest: nothing accepted twice
    assert not [r for r in json.loads(run(tenant, "suggest", "--json").stdout)["rows"]
                if r["accepted"]]


def wait_for(condition: Any, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> bool:
    """Until ``condition()`` holds (True) or the process ended (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    raise AssertionError("the condition never held")


@pytest.mark.parametrize("psa", ["connectwise", "autotask"])
def test_kill_9_in_the_middle_of_a_bulk_link_then_a_rerun(psa: str, tmp_path: Path) -> None:
    with simulated_tenant(psa, tmp_path) as tenant:
        path = tenant.folder / "onboarding.json"
        assert run(tenant, "suggest", "--out", str(path)).returncode == 0
        store = Store(f"sqlite:///{tenant.folder / 'idsync.db'}")
        tenant.psa_sim.controls.latency_ms = 150  # postings in flight long enough to land in
        proc = subprocess.Popen(tenant.command("link", "--accept", str(path), "--yes"),
                                env=tenant.env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        # kill it once some postings are journaled, before the run is over
        mid_run = wait_for(lambda: len(store.journal_entries()) >= 1, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert mid_run, "the bulk link finished before it could be killed"
        tenant.psa_sim.controls.latency_ms = 0
        # A posting the kill interrupted may still land: during the quarantine the re-run
        # links what is left and posts nothing for those lines (exit 7 says so) ...
        during = run(tenant, "link", "--accept", str(path), "--yes", "--json")
        assert during.returncode in (0, 7), during.stderr
        if during.returncode == 7:
            assert "waiting for the outcome of an earlier posting" in " ".join(
                during.stderr.split())
        # ... and once it is over, the same file brings every line equal.
        tenant.let_quarantine_pass()
        rerun = run(tenant, "link", "--accept", str(path), "--yes", "--json")
        assert rerun.returncode == 0, rerun.stderr
        rows = json.loads(rerun.stdout)["rows"]
        assert {r["status"].split(",")[0] for r in rows} <= {"linked", "unchanged"}
        assert assert_every_linked_line_equals_the_provider(tenant) == sum(
            r["level"] == "resource" for r in rows)
        # nothing posted twice: every posted journal entry is one PSA write, none pending
        entries = store.journal_entries()
        assert {e.status for e in entries} <= {"posted", "superseded", "failed"}
        store.close()
