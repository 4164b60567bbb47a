"""The distribution installs the way a third party's would (pip builds the wheel from
pyproject.toml into a fresh directory), IDSync lists the connector, and the wheel carries the
simulator's example seed (package data a wheel can easily leave out)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from idsync_core.testing.install import install_and_list

PROJECT = Path(__file__).parents[1]


def test_pip_installs_the_distribution_and_idsync_plugins_lists_it(tmp_path: Path) -> None:
    target = tmp_path / "site"
    [plugin] = install_and_list(PROJECT, target, plugin="pax8", module="idsync_pax8")
    assert plugin == {
        "id": "pax8", "name": "pax8", "kind": "provider", "version": "0.1.0",
        "distribution": "idsync-pax8",
        "hooks": ["idsync_check", "idsync_close", "idsync_list_accounts",
                  "idsync_list_resources", "idsync_list_subscriptions"],
    }
    assert (target / "idsync_pax8" / "simulator" / "seed_example.json").is_file()


def test_loading_the_connector_does_not_load_its_simulator() -> None:
    """Every idsync command loads the installed connectors; the simulator (and Starlette) are
    for ``simulator serve``, ``demo`` and tests only."""
    probe = ("import sys, idsync_pax8.connector; "
             "print(sorted(m for m in sys.modules if m.startswith(('starlette', 'uvicorn', "
             "'idsync_pax8.simulator', 'idsync_core.simulation'))))")
    loaded = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                            text=True, timeout=60)
    assert loaded.stdout.strip() == "[]"
