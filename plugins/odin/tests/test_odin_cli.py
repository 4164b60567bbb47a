"""The ``odin`` connector through the ``idsync`` CLI, on both backends: list, link, and a
quantity change at the provider reaching the PSA (the ConnectWise simulator) through the engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from idsync_core.plugins import discover_plugins
from idsync_core.simulation import ServerThread
from idsync_odin.simulator import OdinSimulator, create_aps_simulator, create_marketplace_simulator

pytestmark = pytest.mark.e2e
SKU = "CFQ7TTC0LH16"


def toml_table(name: str, values: dict[str, Any]) -> str:
    lines = [f"[{name}]"] + [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


@dataclass
class Cli:
    config: Path
    db: str
    provider: OdinSimulator
    provider_url: str

    def __call__(self, *args: str) -> Any:
        from idsync_core.cli.main import app

        result = CliRunner().invoke(app, ["--config", str(self.config), "--db", self.db, *args],
                                    catch_exceptions=False)
        assert result.exit_code == 0, f"{args}: {result.stdout}{result.stderr}"
        return json.loads(result.stdout) if "--json" in args else result.stdout


@pytest.fixture(params=["marketplace", "aps"])
def cli(request: pytest.FixtureRequest, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "odin,connectwise")
    for key in ("IDSYNC_CONFIG", "IDSYNC_TODAY"):
        monkeypatch.delenv(key, raising=False)
    plugins = discover_plugins()
    if "connectwise" not in plugins:
        pytest.skip("the connectwise connector (the PSA side of this test) is not installed")
    factory = create_aps_simulator if request.param == "aps" else create_marketplace_simulator
    provider = factory(None)
    psa = plugins["connectwise"].connector.simulator(None)  # type: ignore[attr-defined]
    with ServerThread(provider.app) as provider_server, ServerThread(psa.app) as psa_server:
        config = tmp_path / "idsync.toml"
        config.write_text(toml_table("psa", psa.connection_settings(psa_server.url))
                          + toml_table("providers.ingram",
                                       provider.connection_settings(provider_server.url)))
        yield Cli(config, f"sqlite:///{tmp_path / 'idsync.db'}", provider, provider_server.url)


def test_list_link_and_sync_a_provider_change(cli: Cli) -> None:
    accounts = cli("companies", "provider", "--search", "contoso", "--json")
    assert [a["name"] for a in accounts] == ["Contoso Ltd"]
    account_id = accounts[0]["id"]
    subscriptions = cli("subscriptions", account_id, "--json")
    assert {s["name"]: s["status"] for s in subscriptions} == {
        "Contoso - Microsoft 365": "active", "Contoso - Azure plan": "active"}
    m365 = next(s["id"] for s in subscriptions if s["name"] == "Contoso - Microsoft 365")
    (exo,) = cli("resources", m365, "--json")
    assert (exo["name"], Decimal(str(exo["quantity"])), exo["seat_based"]) == (
        "Exchange Online (Plan 1)", Decimal(8), True)

    (company,) = cli("companies", "psa", "--search", "Contoso", "--json")
    agreement = next(a for a in cli("agreements", company["id"], "--json")
                     if "365" in a["name"])
    item = next(i for i in cli("catalog", "--search", SKU, "--json") if i["identifier"] == SKU)
    cli("link", "company", account_id, company["id"])
    cli("link", "subscription", m365, agreement["id"])
    cli("link", "resource", exo["id"], item["id"], "--price-source", "catalog", "--yes")
    assert psa_quantity(cli, agreement["id"], item["id"]) == Decimal(8)

    answer = httpx.post(f"{cli.provider_url}/_sim/subscriptions/{m365}/products/{SKU}",
                        json={"quantity": 10})
    assert answer.status_code == 200
    cli("sync", "--yes", "--json")
    assert psa_quantity(cli, agreement["id"], item["id"]) == Decimal(10)
    cli("sync", "--yes", "--json")
    assert psa_quantity(cli, agreement["id"], item["id"]) == Decimal(10)


def psa_quantity(cli: Cli, agreement_id: str, item_id: str) -> Decimal:
    return sum((Decimal(str(line["quantity"])) for line in cli("lines", agreement_id, "--json")
                if line["catalog_item_id"] == item_id), Decimal(0))
