"""Settings: file discovery, environment overrides, clear errors, URL safety."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from idsync_core.errors import ConfigurationError
from idsync_core.settings import BaseUrl, load_settings


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "idsync.toml"
    config.write_text('[psa]\nplugin = "connectwise"\nprivate_key = "from-file"\n'
                      '[providers.ingram]\nplugin = "odin"\n[store]\nurl = "sqlite://"\n')
    monkeypatch.setenv("IDSYNC_PSA__PRIVATE_KEY", "from-env")
    monkeypatch.setenv("IDSYNC_PROVIDERS__INGRAM__PASSWORD", "pw")
    monkeypatch.setenv("IDSYNC_SYNC__DECREASE_EFFECTIVE", "today")
    settings, path = load_settings(config)
    assert path == config
    assert settings.psa == {"plugin": "connectwise", "private_key": "from-env"}
    assert settings.providers["ingram"] == {"plugin": "odin", "password": "pw"}
    assert settings.store.url == "sqlite://"
    assert settings.sync.decrease_effective == "today"


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('[psa]\nplugin = "x"\n')
    monkeypatch.setenv("IDSYNC_CONFIG", str(config))
    assert load_settings()[0].psa == {"plugin": "x"}


def test_a_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_malformed_toml_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "idsync.toml"
    config.write_text("[psa\nplugin = 1\n")
    with pytest.raises(ConfigurationError, match="is not valid TOML"):
        load_settings(config)


def test_bad_core_setting_is_named(tmp_path: Path) -> None:
    config = tmp_path / "idsync.toml"
    config.write_text('[sync]\ndecrease_effective = "yesterday"\n')
    with pytest.raises(ConfigurationError, match=r"sync\.decrease_effective"):
        load_settings(config)


class Urls(BaseModel):
    url: BaseUrl


@pytest.mark.parametrize("url", ["https://api-na.myconnectwise.net", "http://127.0.0.1:8080",
                                 "http://localhost:9/x/", "http://[::1]:80"])
def test_base_url_accepts_https_and_loopback_http(url: str) -> None:
    assert Urls(url=url).url == url.rstrip("/")


@pytest.mark.parametrize(("url", "why"), [
    ("http://api.example.com", "only allowed for 127.0.0.1"),
    ("http://10.0.0.5", "only allowed for 127.0.0.1"),
    ("ftp://x", "absolute http"),
    ("https://user:pw@host", "must not carry credentials"),
])
def test_base_url_refuses_plain_http_elsewhere(url: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        Urls(url=url)


def test_unknown_outcome_wait_is_a_duration_of_at_least_twice_the_longest_timeout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from idsync_core.engine.runtime import Runtime

    config = tmp_path / "idsync.toml"
    config.write_text('[psa]\nplugin = "autotask"\ntimeout = 90\n'
                      '[providers.ingram]\nplugin = "odin"\n'
                      '[sync]\nunknown_outcome_wait = "2m"\n')
    settings, path = load_settings(config)
    assert settings.sync.unknown_outcome_wait == timedelta(minutes=2)
    with pytest.raises(ConfigurationError, match=r"shorter than twice the longest request "
                       r"timeout \(90 s, \[psa\] timeout\)") as refused:
        Runtime(settings, config_path=path).unknown_outcome_wait  # noqa: B018
    assert refused.value.hint is not None and "'3m'" in refused.value.hint
    monkeypatch.setenv("IDSYNC_SYNC__UNKNOWN_OUTCOME_WAIT", "3m")
    settings, path = load_settings(config)
    assert Runtime(settings, config_path=path).unknown_outcome_wait == timedelta(minutes=3)
    # the connector's default counts where none is set: Autotask's is 60 s
    config.write_text('[psa]\nplugin = "autotask"\n[sync]\nunknown_outcome_wait = "90s"\n')
    monkeypatch.delenv("IDSYNC_SYNC__UNKNOWN_OUTCOME_WAIT")
    settings, path = load_settings(config)
    with pytest.raises(ConfigurationError, match=r"60 s"):
        Runtime(settings, config_path=path).unknown_outcome_wait  # noqa: B018
    config.write_text('[sync]\nunknown_outcome_wait = "15 minutes"\n')
    with pytest.raises(ConfigurationError, match="not a duration like 90s, 15m"):
        load_settings(config)
