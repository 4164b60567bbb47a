"""A write the PSA holds past the client's timeout, then applies, is never posted twice.

"Not visible yet" is not "did not happen": the simulator holds the posting (its body already
received) while the client gives up, and applies it only when the test releases it. Syncs run
during the hold — one of them killed with SIGKILL — must post nothing for that line; once the
held write lands, a sync confirms it instead of posting it again. On ConnectWise a write that
lands even after the quarantine (so that it was posted again meanwhile) leaves two additions
with one marker, which the next sync undoes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from idsync_core.simulation import Fault
from idsync_core.store import ResourceLink
from idsync_fakes.simulated import SimulatedTenant, simulated_tenant

pytestmark = pytest.mark.e2e
WRITE_PATHS = {"connectwise": "/additions", "autotask": "ContractServiceAdjustments"}
CLIENT_TIMEOUT = 5  # seconds; the held write outlasts it (the test decides when it lands)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def sync(tenant: SimulatedTenant, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tenant.command("sync", "--yes", "--json", *args), env=tenant.env(),
                          capture_output=True, text=True, timeout=300, check=False)


def writes(tenant: SimulatedTenant) -> list[Any]:
    """The postings that reached the PSA simulator's handler (a held one once it lands)."""
    path = WRITE_PATHS[tenant.psa_plugin]
    return [e for e in tenant.psa_sim.controls.log.entries()
            if e.method == "POST" and path in e.path and 200 <= e.status < 300]


@contextmanager
def one_increase(psa: str, tmp_path: Path) -> Iterator[tuple[SimulatedTenant, ResourceLink,
                                                               int]]:
    """A linked tenant, one line whose provider quantity grew by 5, and its target."""
    with simulated_tenant(psa, tmp_path, psa_settings={"timeout": CLIENT_TIMEOUT}) as tenant:
        links = tenant.link_everything()
        assert sync(tenant).returncode == 0  # every line equal: only the one below posts
        keys = tenant.resource_keys()
        link = next(link for link in links if keys[link.id] is not None)
        today, _ = tenant.psa_quantities(link)
        target = int(today) + 5
        tenant.set_provider_quantity(*keys[link.id] or ("", ""), target)
        tenant.psa_sim.controls.log.clear()
        try:
            yield tenant, link, target
        finally:  # a failed assertion must not leave the server holding a request
            tenant.psa_sim.controls.faults.release_holds()


def hold_the_next_write(tenant: SimulatedTenant) -> None:
    tenant.psa_sim.controls.faults.add(Fault(kind="hold", method="POST", times=1,
                                             path_contains=WRITE_PATHS[tenant.psa_plugin]))


def waiting_links(run: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [link for link in json.loads(run.stdout)["links"] if link["status"] == "waiting"]


@pytest.mark.parametrize("psa", ["connectwise", "autotask"])
def test_a_held_write_is_waited_for_through_syncs_and_a_kill_then_confirmed(
        psa: str, tmp_path: Path) -> None:
    with one_increase(psa, tmp_path) as (tenant, link, target):
        hold_the_next_write(tenant)
        first = sync(tenant)  # the client gives up after its timeout; the PSA still holds it
        assert first.returncode == 7, first.stderr
        assert [w["resource_id"] for w in waiting_links(first)] == [link.resource_id]
        assert "wait for the outcome of an earlier posting" in first.stderr
        assert "log --failed" in first.stderr and "retry`" not in first.stderr
        assert tenant.psa_sim.controls.faults.held == 1 and writes(tenant) == []

        during = sync(tenant)  # while held: nothing more is posted for that line
        assert during.returncode == 7, during.stderr
        [waiting] = waiting_links(during)
        assert waiting["waiting_since"] and waiting["resource_id"] == link.resource_id
        failed_log = subprocess.run(tenant.command("log", "--failed", "--json"),
                                    env=tenant.env(), capture_output=True, text=True,
                                    timeout=60, check=True)
        [entry] = json.loads(failed_log.stdout)
        assert entry["status"] == "unknown" and entry["waiting_since"]
        assert entry["note"].startswith("waiting for the outcome of an earlier posting (since")

        log = tenant.psa_sim.controls.log
        reads_before = log.count()
        killed = subprocess.Popen(tenant.command("sync", "--yes"), env=tenant.env(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: log.count() > reads_before, "the killed sync to start reading")
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        after_kill = sync(tenant)
        assert after_kill.returncode == 7, after_kill.stderr
        assert tenant.psa_sim.controls.faults.held == 1 and writes(tenant) == []
        assert tenant.psa_quantities(link)[0] == target - 5  # still not visible

        tenant.psa_sim.controls.faults.release_holds()  # the held write lands now
        wait_for(lambda: len(writes(tenant)) == 1, "the held write to land")
        landed = sync(tenant)
        assert landed.returncode == 0, landed.stderr
        assert json.loads(landed.stdout)["settled_from_earlier_runs"] == 1
        assert len(writes(tenant)) == 1  # confirmed, never posted a second time
        assert tenant.psa_quantities(link) == (target, target)
        quiet = sync(tenant)
        assert quiet.returncode == 0 and json.loads(quiet.stdout)["posted"] == 0


def test_connectwise_undoes_a_write_that_landed_after_the_quarantine(tmp_path: Path) -> None:
    with one_increase("connectwise", tmp_path) as (tenant, link, target):
        hold_the_next_write(tenant)
        assert sync(tenant).returncode == 7  # held past the timeout: waiting
        tenant.let_quarantine_pass()  # …and held for longer than the quarantine
        again = sync(tenant)  # no sign of it: posted again, under the same key
        assert again.returncode == 0, again.stderr
        assert tenant.psa_quantities(link) == (target, target)
        tenant.psa_sim.controls.faults.release_holds()
        wait_for(lambda: len(writes(tenant)) == 2, "the held write to land")
        assert tenant.psa_quantities(link)[0] == target + 5  # two additions, one marker

        plan = subprocess.run(tenant.command("plan", "--json"), env=tenant.env(),
                              capture_output=True, text=True, timeout=120, check=False)
        assert plan.returncode == 0, plan.stderr
        report = json.loads(plan.stdout)
        assert [d["resource_id"] for d in report["duplicates"]] == [link.resource_id]
        assert report["drift"] == []  # IDSync's own duplicate, not a hand edit

        healed = sync(tenant)
        assert healed.returncode == 0, healed.stderr
        assert tenant.psa_quantities(link) == (target, target)
        entries = json.loads(subprocess.run(
            tenant.command("log", "--json"), env=tenant.env(), capture_output=True, text=True,
            timeout=60, check=True).stdout)
        [compensation] = [e for e in entries if e["compensates"]]
        assert compensation["status"] == "posted" and compensation["delta"] == "-5"
        quiet = sync(tenant)
        assert quiet.returncode == 0 and json.loads(quiet.stdout)["posted"] == 0
        assert tenant.psa_quantities(link) == (target, target)
