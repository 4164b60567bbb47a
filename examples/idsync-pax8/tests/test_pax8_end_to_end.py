"""The operator's flow with Pax8 as the provider and ConnectWise as the PSA, both simulated on
127.0.0.1, through the ``idsync`` command: link Contoso's Exchange Online subscription, post the
8 seats once, then follow a change at Pax8 and a cancellation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from idsync_connectwise.simulator import create_simulator as create_connectwise
from idsync_core.cli.main import app
from idsync_core.simulation import ServerThread
from idsync_pax8.simulator import Pax8Simulator, create_simulator

CONTOSO_PAX8 = "3f1d2c4e-5a6b-4c7d-8e9f-0a1b2c3d4e01"
EXCHANGE = "a0c4e6f8-1000-4b2d-8c3e-000000000001"
CONTOSO_CW, AGREEMENT, EXCHANGE_ITEM = "19297", "871", "1201"  # the ConnectWise example seed
TODAY = "2026-11-25"


def toml_table(name: str, settings: dict[str, Any]) -> str:
    return f"[{name}]\n" + "".join(f"{key} = {json.dumps(value)}\n"
                                   for key, value in settings.items())


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Pax8Simulator,
                                                                              str, Any]]:
    pax8, connectwise = create_simulator(), create_connectwise(None)
    with ServerThread(pax8.app) as pax8_server, ServerThread(connectwise.app) as cw_server:
        config = tmp_path / "idsync.toml"
        config.write_text(toml_table("psa", connectwise.connection_settings(cw_server.url))
                          + toml_table("providers.pax8",
                                       pax8.connection_settings(pax8_server.url)))
        for key, value in {"IDSYNC_CONFIG": str(config), "IDSYNC_TODAY": TODAY,
                           "IDSYNC_LOAD_PLUGINS": "pax8,connectwise",
                           "IDSYNC_STORE__URL": f"sqlite:///{tmp_path / 'idsync.db'}"}.items():
            monkeypatch.setenv(key, value)
        yield pax8, pax8_server.url, connectwise


def idsync(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return json.loads(result.stdout) if "--json" in args else result.stdout


def exchange_seats() -> str | None:
    """What ConnectWise bills Contoso for Exchange Online today, read back through IDSync."""
    lines = idsync("lines", AGREEMENT, "--json")
    return next((line["quantity"] for line in lines
                 if line["catalog_item_id"] == EXCHANGE_ITEM), None)


def postings() -> list[tuple[str, str]]:
    return sorted((row["delta"], row["status"]) for row in idsync("log", "--json"))


def test_link_post_8_then_follow_pax8(world: tuple[Pax8Simulator, str, Any]) -> None:
    _, pax8_url, _ = world
    assert exchange_seats() is None
    assert "Pax8 at 127.0.0.1" in idsync("check")
    idsync("link", "company", CONTOSO_PAX8, CONTOSO_CW)
    idsync("link", "subscription", EXCHANGE, AGREEMENT)
    linked = idsync("link", "resource", EXCHANGE, EXCHANGE_ITEM, "--json")
    assert (linked["provider_quantity"], linked["psa_quantity"]) == ("8", "0")
    [change] = linked["changes"]
    assert (change["delta"], change["status"], change["effective_date"]) == ("8", "posted", TODAY)
    assert exchange_seats() == "8"

    idsync("sync", "--yes", "--json")  # nothing changed at Pax8: nothing posted
    assert postings() == [("8", "posted")]

    httpx.post(f"{pax8_url}/_sim/subscriptions/{EXCHANGE}",
               json={"quantity": 10}).raise_for_status()
    idsync("sync", "--yes", "--json")
    assert exchange_seats() == "10"
    assert postings() == [("2", "posted"), ("8", "posted")]

    httpx.post(f"{pax8_url}/_sim/subscriptions/{EXCHANGE}",
               json={"status": "Cancelled"}).raise_for_status()
    idsync("sync", "--yes", "--json")  # terminated: brought to 0 from the next billing period
    assert exchange_seats() == "10"
    assert postings() == [("-10", "posted"), ("2", "posted"), ("8", "posted")]
