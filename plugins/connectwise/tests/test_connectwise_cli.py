"""The ConnectWise connector through the ``idsync`` CLI, against its simulator (and the Ingram
marketplace simulator on the provider side): list, filter, link with the one-time
reconciliation, a decrease, a re-run that posts nothing, and a sync through a 429/5xx storm.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from idsync_connectwise.simulator import ConnectWiseSimulator, create_simulator
from idsync_core.http import RetryPolicy
from idsync_core.plugins import discover_plugins
from idsync_core.simulation import Fault, RequestLog, ServerThread

pytestmark = pytest.mark.e2e
SKU = "CFQ7TTC0LH16"
CW_429 = json.dumps({"error": "ConnectWiseAPI",
                     "message": "Too many requests. Please try again in 0 seconds."})


@dataclass
class Cli:
    config: Path
    db: str
    psa: ConnectWiseSimulator
    provider_url: str
    settle: Callable[[RequestLog], RequestLog]

    def __call__(self, *args: str) -> Any:
        from idsync_core.cli.main import app

        result = CliRunner().invoke(app, ["--config", str(self.config), "--db", self.db, *args],
                                    catch_exceptions=False)
        assert result.exit_code == 0, f"{args}: {result.stdout}{result.stderr}"
        return json.loads(result.stdout) if "--json" in args else result.stdout

    def writes(self) -> int:
        log = self.settle(self.psa.controls.log)
        return log.count(method="POST") + log.count(method="PATCH")

    def provider_quantity(self, subscription_id: str, quantity: int) -> None:
        answer = httpx.post(f"{self.provider_url}/_sim/subscriptions/{subscription_id}/products/"
                            f"{SKU}", json={"quantity": quantity})
        assert answer.status_code == 200


def toml_table(name: str, values: dict[str, Any]) -> str:
    lines = [f"[{name}]"] + [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        settled: Callable[[RequestLog], RequestLog]) -> Iterator[Cli]:
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "odin,connectwise")
    monkeypatch.setenv("IDSYNC_TODAY", "2026-11-25")
    monkeypatch.delenv("IDSYNC_CONFIG", raising=False)
    monkeypatch.setattr(RetryPolicy, "backoff", lambda self, attempt: 0.0)  # no real backoff
    plugins = discover_plugins()
    if "odin" not in plugins:
        pytest.skip("the odin connector (the provider side of this test) is not installed")
    provider = plugins["odin"].connector.simulator(None)  # type: ignore[attr-defined]
    psa = create_simulator()
    with ServerThread(provider.app) as provider_server, ServerThread(psa.app) as psa_server:
        config = tmp_path / "idsync.toml"
        config.write_text(toml_table("psa", psa.connection_settings(psa_server.url))
                          + toml_table("providers.ingram",
                                       provider.connection_settings(provider_server.url)))
        yield Cli(config, f"sqlite:///{tmp_path / 'idsync.db'}", psa, provider_server.url,
                  settled)


EXCHANGE = "1201"  # the catalog id of CFQ7TTC0LH16 in the example seed


def lines_of(cli: Cli, agreement_id: str, on: str) -> Decimal:
    return sum((Decimal(str(line["quantity"]))
                for line in cli("lines", agreement_id, "--as-of", on, "--json")
                if line["catalog_item_id"] == EXCHANGE), Decimal(0))


def test_link_reconcile_decrease_and_rerun(cli: Cli) -> None:
    assert "ConnectWise 2025.1" in cli("check")
    (company,) = cli("companies", "psa", "--search", "contoso", "--json")
    assert company["name"] == "Contoso Ltd"
    names = [a["name"] for a in cli("agreements", "19300", "--json")]
    assert names == ["Adventure Works - Microsoft 365"]  # the expired one is hidden
    assert len(cli("agreements", "19300", "--include-expired", "--json")) == 2
    (item,) = [i for i in cli("catalog", "--search", SKU, "--json") if i["identifier"] == SKU]
    assert item["id"] == EXCHANGE

    (account,) = cli("companies", "provider", "--search", "contoso", "--json")
    subscription = next(s for s in cli("subscriptions", account["id"], "--json")
                        if s["name"] == "Contoso - Microsoft 365")
    (resource,) = cli("resources", subscription["id"], "--json")
    cli("link", "company", account["id"], company["id"])
    cli("link", "subscription", subscription["id"], "871")
    cli("link", "resource", resource["id"], item["id"], "--price-source", "catalog", "--yes")
    [added] = cli.psa.tenant.additions_of(871)
    assert (added["quantity"], added["effectiveDate"]) == (8, "2026-11-25T00:00:00Z")
    assert "[idsync:" in added["description"] and cli.writes() == 1

    cli.provider_quantity(subscription["id"], 5)
    cli("sync", "--yes", "--json")
    assert lines_of(cli, "871", "2026-11-30") == 8      # billed to the end of the period
    assert lines_of(cli, "871", "2026-12-01") == 5
    assert [a["cancelledDate"] for a in cli.psa.tenant.additions_of(871)] == [
        "2026-12-01T00:00:00Z", None]

    writes = cli.writes()
    cli("sync", "--yes", "--json")
    assert cli.writes() == writes  # nothing changed, nothing posted

    faults = cli.psa.controls.faults
    faults.add(Fault(status=429, times=4, retry_after=0, body=CW_429))
    faults.add(Fault(status=503, times=2, method="GET", path_contains="/additions"))
    faults.add(Fault(kind="html", status=502, times=1, method="GET"))
    cli.provider_quantity(subscription["id"], 9)
    cli("sync", "--yes", "--json")
    assert lines_of(cli, "871", "2026-11-25") == 9
    assert lines_of(cli, "871", "2026-12-01") == 9
    log = cli.settle(cli.psa.controls.log)
    assert log.count(status=429) == 4 and log.count(status=503) == 2
