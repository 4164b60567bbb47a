"""APS ids of the wrong kind, and a base URL that is no APS bus, through the ``idsync`` CLI.

On the bus every resource has an id of one shape (a UUID), so an operator can paste the
provider's, a reseller's or a subscription's id where a customer account's belongs: each is
"not found" (exit 4) for every command, as an unknown id is. A base URL that answers an HTML
404 page is a configuration error (exit 3).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from typer.testing import CliRunner

from idsync_core.cli.main import app
from idsync_core.simulation import ServerThread
from idsync_odin.simulator import create_aps_simulator
from idsync_odin.simulator.aps import PROVIDER, RESELLER

pytestmark = pytest.mark.e2e


def run(config: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(config), *args], catch_exceptions=False)


def write_config(tmp_path: Path, settings: dict[str, Any]) -> Path:
    config = tmp_path / "idsync.toml"
    config.write_text("[providers.ingram]\n" + "".join(
        f"{key} = {json.dumps(value)}\n" for key, value in settings.items()))
    return config


@pytest.fixture
def aps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "odin")
    monkeypatch.setenv("IDSYNC_STORE__URL", f"sqlite:///{tmp_path / 'idsync.db'}")
    sim = create_aps_simulator(None)
    with ServerThread(sim.app) as server:
        yield write_config(tmp_path, sim.connection_settings(server.url))


def test_ids_that_are_no_customer_account_are_not_found_everywhere(aps: Path) -> None:
    contoso = json.loads(run(aps, "companies", "provider", "--search", "contoso",
                             "--json").stdout)[0]["id"]
    subscription = json.loads(run(aps, "subscriptions", contoso, "--json").stdout)[0]["id"]
    for wrong, kind in ((PROVIDER.aps_id, "a PROVIDER account"),
                        (RESELLER.aps_id, "a RESELLER account"),
                        (subscription, "a pa/subscription resource")):
        listed = run(aps, "subscriptions", wrong)
        assert listed.exit_code == 4, listed.stdout
        assert f"{wrong} is not a customer account at the APS bus: it is {kind}" \
            in listed.stderr
        assert run(aps, "link", "company", wrong, "1").exit_code == 4
    for account in (contoso, PROVIDER.aps_id, RESELLER.aps_id):
        resources = run(aps, "resources", account)
        assert resources.exit_code == 4, resources.stdout
        assert "is not a subscription at the APS bus" in resources.stderr


def test_check_against_a_url_that_is_no_aps_bus_is_a_configuration_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "odin")

    async def not_here(request: Request) -> HTMLResponse:
        return HTMLResponse("<html><body><h1>404 Not Found</h1></body></html>", status_code=404)

    website = Starlette()
    website.add_route("/{path:path}", not_here)
    with ServerThread(website) as server:
        config = write_config(tmp_path, {"plugin": "odin", "backend": "aps",
                                         "base_url": server.url, "aps_token": "t"})
        checked = run(config, "check", "--json")
    assert checked.exit_code == 3
    row = next(r for r in json.loads(checked.stdout) if r["connection"] == "providers.ingram")
    assert (row["name"], row["ok"], row["exit_code"]) == ("odin (providers.ingram)", False, 3)
    assert "is not an APS REST bus" in row["detail"]
