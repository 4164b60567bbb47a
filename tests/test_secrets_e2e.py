"""Secrets never leak: not in output, logs, tracebacks or --json, whatever goes wrong."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from idsync_fakes.simulated import simulated_tenant

pytestmark = pytest.mark.e2e
SECRET = "s3cr3t-Pr1vate-K3y-do-not-print"


@pytest.mark.parametrize("psa", ["connectwise", "autotask"])
def test_wrong_credentials_never_print_the_secret(psa: str, tmp_path: Path) -> None:
    with simulated_tenant(psa, tmp_path) as tenant:
        assert tenant.link_everything()  # with the right credentials
        secret_key = "private_key" if psa == "connectwise" else "secret"
        env = {**tenant.env(), f"IDSYNC_PSA__{secret_key.upper()}": SECRET,
               "IDSYNC_PROVIDERS__INGRAM__PASSWORD": SECRET}
        for args in (["--verbose", "--debug", "check", "--json"],
                     ["--verbose", "--debug", "companies", "psa", "--json"],
                     ["--verbose", "--debug", "sync", "--yes", "--json"]):
            run = subprocess.run(tenant.command(*args), env=env, capture_output=True,
                                 text=True, timeout=120, check=False)
            assert run.returncode in (3, 6), (args, run.returncode, run.stderr)
            assert SECRET not in run.stdout + run.stderr, args
            if args[2] == "check":
                rows = json.loads(run.stdout)
                assert [r["ok"] for r in rows] == [False, False]
                assert all("refused the credentials" in r["detail"] or "check" in r["detail"]
                           for r in rows)
