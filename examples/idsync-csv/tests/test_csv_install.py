"""The distribution installs the way a third party's would, and IDSync then lists the connector
(pip builds the wheel from pyproject.toml into a fresh directory; see
idsync_core.testing.install)."""

from __future__ import annotations

from pathlib import Path

from idsync_core.testing.install import install_and_list

PROJECT = Path(__file__).parents[1]


def test_pip_installs_the_distribution_and_idsync_plugins_lists_it(tmp_path: Path) -> None:
    target = tmp_path / "site"
    [plugin] = install_and_list(PROJECT, target, plugin="csv", module="idsync_csv")
    assert {p.name for p in target.iterdir()} >= {"idsync_csv", "idsync_csv-0.1.0.dist-info"}
    assert plugin == {
        "id": "csv", "name": "csv", "kind": "provider", "version": "0.1.0",
        "distribution": "idsync-csv",
        "hooks": ["idsync_check", "idsync_close", "idsync_list_accounts",
                  "idsync_list_resources", "idsync_list_subscriptions"],
    }
