"""The plugin README stays in step with the code: settings, the toml example, seed keys."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from idsync_connectwise.settings import ConnectWiseSettings
from idsync_connectwise.simulator import example_seed

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"^\| `(\w+)` \|", README, flags=re.MULTILINE))
    assert set(ConnectWiseSettings.model_fields) <= documented


def test_the_toml_example_is_a_valid_connection() -> None:
    block = re.search(r"`idsync.toml`:\n\n```toml\n(.*?)```", README, flags=re.DOTALL)
    assert block is not None
    table = tomllib.loads(block.group(1))["psa"]
    assert table.pop("plugin") == "connectwise"
    settings = ConnectWiseSettings.model_validate({**table, "private_key": "from-the-env"})
    assert settings.site == "https://api-na.myconnectwise.net"


def test_every_seed_key_is_documented() -> None:
    section = README[README.index("### Seed format"):]
    documented = set(re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE))
    assert set(example_seed()) <= documented
    for key in example_seed()["login"]:
        assert f"`{key}`" in section


def test_the_control_routes_are_documented() -> None:
    for route in ("GET /_sim/state", "GET /_sim/agreements/{id}/additions", "/_sim/requests",
                  "/_sim/faults", "/_sim/config"):
        assert route in README
