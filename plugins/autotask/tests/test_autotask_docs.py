"""The plugin README stays in step with the code: every setting, every seed key, a valid example."""

from __future__ import annotations

import json
import re
from pathlib import Path

from idsync_autotask.settings import AutotaskSettings
from idsync_autotask.simulator import create_simulator
from idsync_autotask.simulator.seed import Seed

README = (Path(__file__).parent.parent / "README.md").read_text("utf-8")


def test_every_setting_is_documented() -> None:
    for name in AutotaskSettings.model_fields:
        assert f"| `{name}` |" in README, f"README lacks the setting {name}"


def test_every_seed_key_is_documented() -> None:
    for field in Seed.model_fields.values():
        assert f"`{field.alias}`" in README, f"README lacks the seed key {field.alias}"


def test_the_seed_example_in_the_readme_builds_a_tenant() -> None:
    (example,) = re.findall(r"```json\n(.*?)```", README, re.S)
    sim = create_simulator(json.loads(example))
    assert sim.connection_settings("http://127.0.0.1:1")["username"] == "api@msp.example"
