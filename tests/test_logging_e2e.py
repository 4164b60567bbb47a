"""What an operator reads on stderr against the real simulators, both PSAs: ``--verbose``
says what IDSync does, ``--debug`` each HTTP request (never a secret), ``--log-format json``
one object a line, and an unknown id is named for what it is."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from idsync_fakes.simulated import SimulatedTenant, simulated_tenant

pytestmark = pytest.mark.e2e
TITLE = {"connectwise": "ConnectWise", "autotask": "Autotask"}
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d ")


def run(tenant: SimulatedTenant, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tenant.command(*args), env=tenant.env(), capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(params=["connectwise", "autotask"])
def tenant(request: pytest.FixtureRequest, tmp_path: Path) -> SimulatedTenant:
    with simulated_tenant(request.param, tmp_path) as tenant:
        yield tenant  # type: ignore[misc]


def test_unknown_ids_are_named_for_what_they_are(tenant: SimulatedTenant) -> None:
    title = TITLE[tenant.psa_plugin]
    agreements = run(tenant, "agreements", "99999")
    assert agreements.returncode == 4
    assert f"error: company 99999 does not exist at {title}\n" in agreements.stderr
    lines = run(tenant, "lines", "99999")
    assert lines.returncode == 4
    assert f"error: agreement 99999 does not exist at {title}\n" in lines.stderr
    assert "HTTP" not in agreements.stderr + lines.stderr


def test_verbose_tells_what_idsync_does_with_timestamps(tenant: SimulatedTenant) -> None:
    title = TITLE[tenant.psa_plugin]
    result = run(tenant, "--verbose", "companies", "psa", "--json")
    assert result.returncode == 0, result.stderr
    count = len(json.loads(result.stdout))
    lines = result.stderr.splitlines()
    assert all(STAMP.match(line) for line in lines), lines
    assert any(line.endswith(f"[psa] connection opened: the {tenant.psa_plugin} connector "
                             "0.1.0") for line in lines)
    assert any(line.endswith(f" {title}: {count} companies") for line in lines)
    assert not any("HTTP" in line for line in lines)  # that is --debug's


def test_debug_adds_each_request_without_secrets(tenant: SimulatedTenant) -> None:
    result = run(tenant, "--debug", "catalog", "--json")
    assert result.returncode == 0, result.stderr
    requests = [line for line in result.stderr.splitlines() if " → HTTP " in line]
    assert requests and all(re.search(r"debug: \w[\w ]* (GET|POST) /\S* → HTTP \d{3} in \d+ ms$",
                                      line) for line in requests), requests
    settings = tenant.config.read_text()
    secrets = re.findall(r'(?:private_key|secret|password|subscription_key) = "([^"]+)"',
                         settings)
    assert secrets and not any(secret in result.stderr for secret in secrets)
    assert "?" not in "".join(requests)  # no query strings: they may carry conditions or keys


def test_json_log_format_is_one_object_a_line(tenant: SimulatedTenant) -> None:
    result = run(tenant, "--log-format", "json", "--verbose", "lines", "99999")
    assert result.returncode == 4
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    error = records[-1]
    assert (error["level"], error["logger"]) == ("error", "idsync.operator")
    assert error["message"] == f"agreement 99999 does not exist at {TITLE[tenant.psa_plugin]}"
    assert error["hint"].startswith("`idsync agreements")
