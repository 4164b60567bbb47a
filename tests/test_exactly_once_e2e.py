"""Exactly once under kill -9 and concurrent runs, through the CLI, on the real simulators.

The sync process is killed with SIGKILL at many different moments (during reads, while a
posting is in flight, right after one) while the provider's quantities keep changing; then a
last run completes. Wherever the kills landed, every linked PSA line must end equal to the
provider (nothing lost) and never have been pushed above any quantity the provider had
(nothing doubled).
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from idsync_core.simulation import Fault
from idsync_fakes.simulated import SimulatedTenant, simulated_tenant

pytestmark = pytest.mark.e2e
PSAS = ["connectwise", "autotask"]


def resource_keys(tenant: SimulatedTenant) -> dict[int, tuple[str, str] | None]:
    """link id → (subscription id, SKU) to change its quantity at the provider; None for the
    links of terminated subscriptions (their quantity is 0 whatever the seat count says)."""
    rt = tenant.runtime()
    try:
        provider = rt.provider("ingram")
        terminated = {s.id for c in rt.store.active_company_links()
                      for s in provider.list_subscriptions(c.account_id) if s.terminated}
        subs = {s.id: s.subscription_id for s in rt.store.active_subscription_links()}
        keys: dict[int, tuple[str, str] | None] = {}
        for link in rt.store.active_resource_links():
            sub_id = subs[link.subscription_link_id]
            sku = next(r.sku for r in provider.list_resources(sub_id) if r.id == link.resource_id)
            keys[link.id] = None if sub_id in terminated else (sub_id, sku)
        return keys
    finally:
        rt.close()


@pytest.mark.parametrize("psa", PSAS)
def test_kill_9_at_many_points_never_doubles_nor_loses(psa: str, tmp_path: Path) -> None:
    with simulated_tenant(psa, tmp_path) as tenant:
        every_link = tenant.link_everything()
        keys = resource_keys(tenant)
        links = [link for link in every_link if keys[link.id] is not None]
        assert len(links) >= 3
        before = {link.id: tenant.psa_quantities(link) for link in links}
        base = {link.id: before[link.id][1] for link in links}
        seen: dict[int, set[int]] = {link.id: {int(q) for q in before[link.id]}
                                     for link in links}
        tenant.psa_sim.controls.latency_ms = 60  # slow enough to be killed mid-run
        kills = [0.4, 0.7, 1.0, 1.3, 1.6, 1.9, 2.3]
        interrupted = 0
        for round_no, delay in enumerate(kills, 1):
            for i, link in enumerate(links):
                wanted = max(0, int(base[link.id]) + (round_no if i % 2 else -round_no % 3))
                seen[link.id].add(wanted)
                tenant.set_provider_quantity(*keys[link.id] or ("", ""), wanted)
            proc = subprocess.Popen(tenant.command("sync", "--yes"), env=tenant.env(),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            interrupted += proc.poll() is None
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        assert interrupted >= 4, "the kills must land while syncs are running"
        final = {}
        for i, link in enumerate(links):
            final[link.id] = int(base[link.id]) + (10 if i % 2 else -1)
            final[link.id] = max(0, final[link.id])
            seen[link.id].add(final[link.id])
            tenant.set_provider_quantity(*keys[link.id] or ("", ""), final[link.id])
        tenant.psa_sim.controls.latency_ms = 0
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
        keys = resource_keys(tenant)
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
        keys = resource_keys(tenant)
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
        keys = resource_keys(tenant)
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
        deadline = time.monotonic() + 60
        while tenant.psa_sim.controls.log.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # inside the first run or already waiting for the next one
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "unchanged" in out
