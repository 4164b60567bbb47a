"""Connector discovery through entry points, and the per-connection facade."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from idsync_core.errors import ConfigurationError, PluginError
from idsync_core.plugins import discover_plugins, open_connection


def fake_distribution(site: Path, name: str, entry_points: str) -> None:
    """Write an installed-distribution record (``.dist-info``) with these entry points."""
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    return path


def test_fakes_are_discovered_with_their_metadata(world: object) -> None:
    found = discover_plugins()
    assert set(found) == {"fake-psa", "fake-provider"}
    psa = found["fake-psa"]
    assert (psa.kind, psa.distribution, psa.version) == ("psa", "idsync-fakes", "0.1.0")
    assert "idsync_post_adjustment" in psa.hooks and "idsync_find_adjustment" in psa.hooks
    assert found["fake-provider"].kind == "provider"


def test_a_plugin_that_fails_to_import_is_a_warning(
    site: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake_distribution(site, "idsync-broken", "[idsync]\nbroken = no_such_module:Thing\n")
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "broken,fake-psa")
    with caplog.at_level(logging.WARNING):
        found = discover_plugins()
    assert set(found) == {"fake-psa"}
    assert "skipping plugin 'broken'" in caplog.text and "failed to import" in caplog.text


def test_a_connector_missing_required_hooks_is_skipped(
    site: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (site / "half_done.py").write_text(
        "from idsync_core.settings import ConnectorSettings\n"
        "class Half:\n    kind = 'psa'\n    settings_model = ConnectorSettings\n")
    fake_distribution(site, "idsync-half", "[idsync]\nhalf = half_done:Half\n")
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "half")
    with caplog.at_level(logging.WARNING):
        assert discover_plugins() == {}
    assert "must implement idsync_check" in caplog.text


def test_two_plugins_with_one_name_are_a_clear_error(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_distribution(site, "idsync-impostor", "[idsync]\nfake-psa = idsync_fakes.provider:X\n")
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "fake-psa")
    with pytest.raises(PluginError, match="two plugins are named 'fake-psa'"):
        discover_plugins()


def test_load_plugins_limits_and_empty_means_none(monkeypatch: pytest.MonkeyPatch,
                                                  world: object) -> None:
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "fake-provider")
    assert set(discover_plugins()) == {"fake-provider"}
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "")
    assert discover_plugins() == {}


def test_settings_errors_name_the_key_and_hide_the_value(world: object) -> None:
    plugins = discover_plugins()
    with pytest.raises(ConfigurationError) as info:
        open_connection("psa", {"plugin": "fake-psa", "state_fille": "hunter2-secret"}, "psa",
                        plugins)
    message = str(info.value)
    assert "[psa] state_file: Field required" in message
    assert "[psa] state_fille: unknown setting" in message
    assert "hunter2-secret" not in message


def test_unknown_plugin_and_wrong_kind(world: object) -> None:
    plugins = discover_plugins()
    with pytest.raises(ConfigurationError, match="not installed"):
        open_connection("psa", {"plugin": "halopsa"}, "psa", plugins)
    with pytest.raises(ConfigurationError, match="is a provider connector, not a psa one"):
        open_connection("psa", {"plugin": "fake-provider", "state_file": "x"}, "psa", plugins)


def test_each_connection_calls_only_its_connector(world: object) -> None:
    from idsync_fakes.world import World

    assert isinstance(world, World)
    plugins = discover_plugins()
    psa = open_connection("psa", {"plugin": "fake-psa", "state_file": str(world.psa_file)},
                          "psa", plugins)
    provider = open_connection("providers.ingram", {"plugin": "fake-provider",
                                                    "state_file": str(world.provider_file)},
                               "provider", plugins)
    assert [c.name for c in psa.list_companies("contoso")] == ["Contoso Ltd"]  # type: ignore[attr-defined]
    assert [a.id for a in provider.list_accounts(None)] == ["A-100", "A-200"]  # type: ignore[attr-defined]
    assert psa.metrics.calls["idsync_list_companies"] == 1
    psa.dry_run.enabled = True
    from datetime import date

    from idsync_core.errors import RefusedError
    from idsync_core.models import Adjustment

    with pytest.raises(RefusedError, match="dry run"):
        psa.post_adjustment(Adjustment(  # type: ignore[attr-defined]
            agreement_id="871", catalog_item_id="812", delta=1, target_quantity=1,
            effective_date=date(2026, 11, 25), idempotency_key="k" * 16))
    assert world.psa()["postings"] == []


def test_plugins_command_json(idsync: object) -> None:
    result = idsync("plugins", "--json")  # type: ignore[operator]
    assert result.exit_code == 0
    rows = result.json()
    assert {r["name"] for r in rows} == {"fake-psa", "fake-provider"}
    assert all({"id", "name", "kind", "version", "distribution", "hooks"} <= set(r) for r in rows)
