"""An API that cannot be reached, or that throttles past the wait IDSync accepts, stops a run
once with exit 6 naming the connection — not exit 7 after a minute of per-link retries."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from idsync_core.simulation import Fault
from idsync_fakes.simulated import simulated_tenant

pytestmark = pytest.mark.e2e


def test_a_dead_psa_stops_the_run_once_with_exit_6(tmp_path: Path) -> None:
    with simulated_tenant("connectwise", tmp_path) as tenant:
        links = tenant.link_everything()
        assert len(links) >= 3
        port = tenant.psa_url.rsplit(":", 1)[1]
        # the PSA's port now answers nothing: a closed port on loopback
        tenant.config.write_text(tenant.config.read_text().replace(
            f"127.0.0.1:{port}", "127.0.0.1:9"))
        run = subprocess.run(tenant.command("sync", "--yes"), env=tenant.env(),
                             capture_output=True, text=True, timeout=300, check=False)
        assert run.returncode == 6, run.stderr
        said = " ".join(run.stderr.split())
        assert said.count("ConnectWise at http://127.0.0.1:9 is not reachable") == 1
        assert "failed:" not in said and "Traceback" not in said


def test_throttling_past_the_accepted_wait_is_exit_6(tmp_path: Path) -> None:
    with simulated_tenant("connectwise", tmp_path) as tenant:
        tenant.link_everything()
        tenant.psa_sim.controls.faults.add(Fault(status=429, retry_after=3600, times=1000,
                                                 method="GET"))
        run = subprocess.run(tenant.command("sync", "--yes"), env=tenant.env(),
                             capture_output=True, text=True, timeout=300, check=False)
        assert run.returncode == 6, run.stderr
        said = " ".join(run.stderr.split())
        assert said.count("is throttling") == 1 and "failed:" not in said
