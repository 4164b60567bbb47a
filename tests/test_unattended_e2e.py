"""Unattended runs on the real connectors and simulators, as cron runs them: a failing sync
sends exactly one message to a webhook on loopback, naming what failed and why, with none of
the configuration's secrets; an undeliverable one leaves the exit code alone; ``status`` reads
what the runs recorded; the renewals report reads Ingram's renewal dates."""

from __future__ import annotations

import json
import socket
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from idsync_core.simulation import Fault
from idsync_fakes.simulated import SimulatedTenant, simulated_tenant
from idsync_fakes.webhook import webhook

pytestmark = pytest.mark.e2e
SECRET_KEYS = {"private_key", "secret", "integration_code", "password", "subscription_key",
               "consumer_secret", "aps_token"}
REFUSAL = {  # a posting the PSA refuses, in each API's own error body
    "connectwise": ("/additions", {"code": "InvalidObject",
                                   "message": "Product is not allowed on this agreement"}),
    "autotask": ("/ContractServiceAdjustments",
                 {"errors": ["Product is not allowed on this contract"]}),
}


def secrets_of(tenant: SimulatedTenant) -> list[str]:
    config = tomllib.loads(tenant.config.read_text())
    tables = [config["psa"], *config["providers"].values()]
    return [str(t[key]) for t in tables for key in SECRET_KEYS if t.get(key)]


def run(tenant: SimulatedTenant, *args: str, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(tenant.command(*args), env={**tenant.env(), **(env or {})},
                          capture_output=True, text=True, timeout=300, check=False)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("psa", ["connectwise", "autotask"])
def test_a_failing_scheduled_sync_is_notified_once_without_secrets(psa: str,
                                                                   tmp_path: Path) -> None:
    hook_secret = "webhook-password-7f3a"
    with simulated_tenant(psa, tmp_path) as tenant, webhook() as hook:
        links = tenant.link_everything()
        assert links
        secrets = [*secrets_of(tenant), hook_secret]
        assert len(secrets) >= 3  # the PSA's, Ingram's and the webhook's
        assert run(tenant, "status").returncode == 3  # linking is no run
        assert run(tenant, "sync", "--yes").returncode == 0
        assert run(tenant, "status", "--max-age", "1h").returncode == 0
        tenant.set_provider_quantity("1000177", "CFQ7TTC0LH16", 11)
        path, body = REFUSAL[psa]
        tenant.psa_sim.controls.faults.add(Fault(status=400, method="POST", path_contains=path,
                                                 body=json.dumps(body), times=1))
        notify = {"IDSYNC_NOTIFY__URLS": json.dumps([hook.url(hook_secret)])}
        failing = run(tenant, "sync", "--yes", env=notify)
        assert failing.returncode == 7, failing.stderr
        [message] = hook.received
        text = message["title"] + "\n" + message["message"]
        assert message["type"] == "failure" and "1 failed" in message["title"]
        assert "Contoso Ltd (account 1000275" in text
        assert "Exchange Online (Plan 1)" in text and "(resource 1000177:CFQ7TTC0LH16)" in text
        assert "Product is not allowed on this" in text  # the PSA's own message
        for secret in secrets:
            assert secret not in text
            assert secret not in failing.stdout + failing.stderr
        status = run(tenant, "status", "--json")
        assert status.returncode == 7
        assert json.loads(status.stdout)["last_run"]["failed"] == 1

        tenant.psa_sim.controls.faults.add(Fault(status=400, method="POST", path_contains=path,
                                                 body=json.dumps(body), times=1))
        lost = {"IDSYNC_NOTIFY__URLS": json.dumps(
            [f"json://idsync:{hook_secret}@127.0.0.1:{closed_port()}/notify"])}
        undelivered = run(tenant, "sync", "--yes", env=lost)
        assert undelivered.returncode == 7  # as the run says, whatever the delivery did
        assert "was not delivered" in undelivered.stderr
        assert hook_secret not in undelivered.stderr
        assert len(hook.received) == 1


def test_renewals_come_from_ingram_renewal_dates(tmp_path: Path) -> None:
    with simulated_tenant("connectwise", tmp_path) as tenant:
        tenant.link_everything()
        report = run(tenant, "report", "renewals", "--within", "60d", "--json")
        assert report.returncode == 0, report.stderr
        rows = json.loads(report.stdout)
        assert [(r["subscription_id"], r["renewal_date"], r["seats"]) for r in rows] == [
            ("1000177", "2027-01-01", "8")]
        reconciliation = run(tenant, "report", "reconciliation", "--json")
        assert reconciliation.returncode == 0, reconciliation.stderr
        assert {r["resource_id"]: r["difference"] for r in json.loads(reconciliation.stdout)
                }["1000177:CFQ7TTC0LH16"] == "0"
