"""The plugin README stays in step with the code: settings, seed format, control routes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from idsync_odin.settings import OdinSettings
from idsync_odin.simulator import create_simulator
from idsync_odin.simulator.seed import (
    Seed,
    SeedCredentials,
    SeedCustomer,
    SeedProduct,
    SeedSubscription,
    SeedThrottle,
)

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"^\| `(\w+)` \|", README, flags=re.MULTILINE))
    assert set(OdinSettings.model_fields) | {"plugin"} <= documented


def test_the_seed_example_in_the_readme_loads() -> None:
    block = re.search(r"### Seed format.*?```json\n(.*?)```", README, flags=re.DOTALL)
    assert block is not None
    sim = create_simulator(json.loads(block.group(1)))
    product = sim.world.subscriptions["1000177"].product("CFQ7TTC0LH16")
    assert product is not None and product.quantity == 8


def test_every_seed_key_is_documented() -> None:
    keys = set()
    for model in (Seed, SeedCustomer, SeedSubscription, SeedProduct, SeedThrottle,
                  SeedCredentials):
        keys |= set(model.model_fields)
    section = README[README.index("### Seed format"):]
    assert {key for key in keys if f'"{key}"' not in section and f"`{key}`" not in section} == (
        set())


def test_control_routes_are_documented() -> None:
    for route in ("GET /_sim/state", "POST /_sim/subscriptions/{id}/products/{mpn}",
                  "POST /_sim/subscriptions/{id}", "DELETE /_sim/tokens", "/_sim/settings"):
        assert route in README
