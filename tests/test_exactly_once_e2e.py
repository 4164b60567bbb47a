"""Exactly once under kill -9 and concurrent runs, through the CLI, on the real simulators.

The sync process is killed with SIGKILL at many different moments (during reads, while a
posting is in flight, right after one) while the provider's quantities keep changing; then a
last run completes. Wherever the kills landed, every linked PSA line must end equal to the
provider (nothing lost) and never have been pushed above any quantity the provider had
(nothing doubled).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from idsync_core.simulation import Fault
from idsync_fakes.simulated import simulated_tenant

pytestmark = pytest.mark.e2e
PSAS = ["connectwise", "autotask"]


@pytest.mark.parametrize("psa", PSAS)
def test_kill_9_at_many_points_never_doubles_nor_loses(psa: str, tmp_path: Path) -> None:
    with simulated_tenant(psa, tmp_path) as tenant:
        every_link = tenant.link_everything()
        keys = tenant.resource_keys()
        links = [link for link in every_link if keys[link.id] is not None]
        assert len(links) >= 3
        before = {link.id: tenant.psa_quantities(link) for link in links}
        base = {link.id: before[link.id][1] for link in links}
        seen: dict[int, set[int]] = {link.id: {int(q) for q in before[link.id]}
                                     for link in links}
        tenant.psa_sim.controls.latency_ms = 20
        log = tenant.psa_sim.controls.log
        # Where each kill lands is decided by the run's progress, not by a clock: after its
        # n-th request to the PSA (reading), or right after its n-th write reached the PSA
        # (the posting landed, its answer perhaps not read yet).
        kills = [("requests", 1), ("writes", 1), ("requests", 4), ("writes", 2),
                 ("requests", 8), ("writes", 3), ("requests", 12)]
        interrupted = 0
        for round_no, (what, n) in enumerate(kills, 1):
            for i, link in enumerate(links):
                wanted = max(0, int(base[link.id]) + (round_no if i % 2 else -round_no % 3))
                seen[link.id].add(wanted)
                tenant.set_provider_quantity(*keys[link.id] or ("", ""), wanted)
            log.clear()
            proc = subprocess.Popen(tenant.command("sync", "--yes"), env=tenant.env(),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while proc.poll() is None and (
                    log.count() < n if what == "requests" else
                    len([e for e in log.entries() if e.method in WRITES
                         and not e.path.endswith("/query")]) < n):
                time.sleep(0.005)
            interrupted += proc.poll() is None
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        assert interrupted >= 4, "the kills must land while syncs are running"
        final = {}
        for i, link in enumerate(links):
            final[link.id] = int(base[link.id]) + (10 if i % 2 else -1)
            final[link.id] = max(0, final[link.id])
            seen[link.id].add(final[link.id])
            tenant.set_provider_quantity(*keys[link.id] or ("", ""), final[link.id])
        tenant.psa_sim.controls.latency_ms = 0
        # A kill in the middle of a posting leaves its outcome unknown: the write may still
        # land. During the quarantine a sync posts nothing for those lines, whatever it sees.
        log = tenant.psa_sim.controls.log
        log.clear()
        during = subprocess.run(tenant.command("sync", "--yes", "--json"), env=tenant.env(),
                                capture_output=True, text=True, timeout=120, check=False)
        assert during.returncode in (0, 7), during.stderr
        waiting = [link for link in json.loads(during.stdout)["links"]
                   if link["status"] == "waiting"]
        assert all(change["status"] == "waiting for an earlier posting"
                   for link in waiting for change in link["changes"])
        if during.returncode == 7:
            assert waiting and "wait for the outcome of an earlier posting" in during.stderr
        tenant.let_quarantine_pass()
        done = subprocess.run(tenant.command("sync", "--yes", "--json"), env=tenant.env(),
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        for link in links:
            today, next_period = tenant.psa_quantities(link)
            assert next_period == final[link.id], f"link {link.resource_id}: lost or doubled"
            assert today <= max(seen[link.id]), f"link {link.resource_id}: doubled"
        for link in every_link:
            if keys[link.id] is None:  # terminated: brought to 0 from the next period
                assert tenant.psa_quantities(link)[1] == 0
        again = subprocess.run(tenant.command("sync", "--yes", "--json"), env=tenant.env(),
                               capture_output=True, text=True, timeout=120, check=False)
        assert again.returncode == 0 and '"posted": 0' in again.stdout


@pytest.mark.parametrize("psa", PSAS)
def test_two_syncs_at_once_one_refuses_nothing_doubles(psa: str, tmp_path: Path) -> None:
    with simulated_tenant(psa, tmp_path) as tenant:
        every_link = tenant.link_everything()
        keys = tenant.resource_keys()
        links = [link for link in every_link if keys[link.id] is not None]
        assert len(links) >= 3
        for link in links:
            tenant.set_provider_quantity(*keys[link.id] or ("", ""), 40)
        tenant.psa_sim.controls.latency_ms = 20
        procs = [subprocess.Popen(tenant.command("sync", "--yes"), env=tenant.env(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        codes = sorted(p.wait(timeout=120) for p in procs)
        assert codes in ([0, 0], [0, 8]), codes
        for link in links:
            today, next_period = tenant.psa_quantities(link)
            assert today == next_period == 40


@pytest.mark.parametrize("psa", PSAS)
def test_fault_storms_and_an_expiring_token_are_survived(psa: str, tmp_path: Path) -> None:
    with simulated_tenant(psa, tmp_path) as tenant:
        every_link = tenant.link_everything()
        keys = tenant.resource_keys()
        links = [link for link in every_link if keys[link.id] is not None]
        for link in links:
            tenant.set_provider_quantity(*keys[link.id] or ("", ""), 33)
        httpx.post(f"{tenant.provider_url}/_sim/settings", json={"token_lifetime_seconds": 1},
                   timeout=5).raise_for_status()
        for sim in (tenant.psa_sim, tenant.provider_sim):
            sim.controls.faults.fault_rate = 0.15  # random 429 / 500 / 503 everywhere
        tenant.psa_sim.controls.faults.add(Fault(kind="reset", method="GET", times=2))
        tenant.psa_sim.controls.faults.add(Fault(kind="html", status=502, times=1))
        codes = []
        for _ in range(8):  # what a scheduler does: run again until a run is clean
            run = subprocess.run(tenant.command("sync", "--yes"), env=tenant.env(),
                                 capture_output=True, text=True, timeout=180, check=False)
            codes.append(run.returncode)
            assert run.returncode in (0, 6, 7), run.stderr  # never a crash
            assert "Traceback" not in run.stderr
            if run.returncode == 0:
                break
            tenant.let_quarantine_pass()  # scheduled runs are far apart; a 5xx write waits
        assert codes[-1] == 0, codes
        for sim in (tenant.psa_sim, tenant.provider_sim):
            sim.controls.faults.clear()
        assert sum(sim.controls.log.count(status=s) for sim in (tenant.psa_sim,
                   tenant.provider_sim) for s in (429, 500, 503)) > 0  # the storm happened
        for link in links:
            assert tenant.psa_quantities(link) == (33, 33)
        quiet = subprocess.run(tenant.command("sync", "--yes", "--json"), env=tenant.env(),
                               capture_output=True, text=True, timeout=120, check=False)
        assert quiet.returncode == 0 and '"posted": 0' in quiet.stdout


WRITES = ("POST", "PATCH", "PUT", "DELETE")


@pytest.mark.parametrize("psa", PSAS)
def test_a_second_sync_writes_nothing_per_the_request_log(psa: str, tmp_path: Path) -> None:
    with simulated_tenant(psa, tmp_path) as tenant:
        every_link = tenant.link_everything()
        keys = tenant.resource_keys()
        for link in every_link:
            if keys[link.id] is not None:
                tenant.set_provider_quantity(*keys[link.id] or ("", ""), 41)
        first = subprocess.run(tenant.command("sync", "--yes"), env=tenant.env(),
                               capture_output=True, text=True, timeout=120, check=False)
        assert first.returncode == 0, first.stderr
        log = tenant.psa_sim.controls.log
        assert sum(log.count(method=m) for m in WRITES) > 0
        log.clear()
        second = subprocess.run(tenant.command("sync", "--yes"), env=tenant.env(),
                                capture_output=True, text=True, timeout=120, check=False)
        assert second.returncode == 0, second.stderr
        writes = [e for e in log.entries() if e.method in WRITES
                  and not (psa == "autotask" and e.path.endswith("/query"))]  # queries are POSTs
        assert writes == []
        assert log.count() > 0  # it did read both sides again


def test_sync_every_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with simulated_tenant("connectwise", tmp_path) as tenant:
        tenant.link_everything()
        tenant.psa_sim.controls.log.clear()  # so the wait below is for the sync's own requests
        proc = subprocess.Popen(tenant.command("sync", "--every", "1h"), env=tenant.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:  # readiness: the first run is over, the loop is waiting
            seen.append(line)
            if "next sync at" in line:
                break
        else:
            raise AssertionError("sync --every ended without waiting: " + "".join(seen))
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, "".join(seen) + err
        assert "unchanged" in out
