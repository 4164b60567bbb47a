"""Core test fixtures: the fake connectors (real entry-point discovery) and a seeded world."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

FAKES = Path(__file__).parent / "fakes"
if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))  # makes the idsync-fakes distribution visible

from idsync_fakes.world import World  # noqa: E402  (needs the path above)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World.create(tmp_path)
    for key, value in w.env().items():
        monkeypatch.setenv(key, value)
    return w


@pytest.fixture
def linked(idsync: Any, world: World) -> World:
    """The world with Contoso linked down to its Exchange resource (on agreement 871)."""
    for args in (("company", "A-100", "250"), ("subscription", "S-1", "871"),
                 ("resource", "S-1:CFQ7TTC0LH16", "812")):
        assert idsync("link", *args).exit_code == 0
    return world


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def idsync(world: World) -> Iterator[Any]:
    """Run the CLI in-process: ``idsync("links", "--json")`` → :class:`Result`."""
    from idsync_core.cli.main import app

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        result = runner.invoke(app, list(args), input=input, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    yield invoke
