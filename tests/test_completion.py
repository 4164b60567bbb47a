"""Shell completion (``idsync --install-completion``) also completes the names IDSync knows:
simulators, the demo's PSAs and the configured provider connections."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from idsync_fakes.world import World

pytestmark = pytest.mark.e2e
FAKES = Path(__file__).parent / "fakes"


def complete(words: list[str], env: dict[str, str]) -> list[str]:
    """What bash completion offers for the last word of ``idsync WORDS``."""
    line = " ".join(["idsync", *words])
    result = subprocess.run(
        [sys.executable, "-c", "from idsync_core.cli.main import app; app(prog_name='idsync')"],
        env={**os.environ, **env, "_IDSYNC_COMPLETE": "complete_bash", "COMP_WORDS": line,
             "COMP_CWORD": str(len(words))},
        capture_output=True, text=True, timeout=60, check=False)
    return result.stdout.split()


def test_simulator_and_connector_names_complete(world: World) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDSYNC_")}
    env["IDSYNC_LOAD_PLUGINS"] = "connectwise,autotask,odin"
    assert complete(["simulator", "serve", ""], env) == ["autotask", "connectwise", "odin"]
    assert complete(["simulator", "serve", "co"], env) == ["connectwise"]
    assert complete(["demo", "--psa", "a"], env) == ["autotask"]


def test_provider_connections_complete_from_the_configuration(world: World) -> None:
    env = {**world.env(), "PYTHONPATH": str(FAKES)}
    assert complete(["companies", "provider", "--provider", ""], env) == ["ingram"]
    assert complete(["subscriptions", "A-100", "--provider", "x"], env) == []
