"""Core test fixtures: the fake connectors (real entry-point discovery) and a seeded world."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect
import pytest
from typer.testing import CliRunner

FAKES = Path(__file__).parent / "fakes"
if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))  # makes the idsync-fakes distribution visible

from idsync_fakes.world import World  # noqa: E402  (needs the path above)


@pytest.fixture(autouse=True)
def no_user_directories(tmp_path_factory: pytest.TempPathFactory,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's own config or store (``~/.config/idsync``,
    ``~/.local/share/idsync``): each gets empty ones of its own."""
    home = tmp_path_factory.mktemp("user-dirs")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World.create(tmp_path)
    for key, value in w.env().items():
        monkeypatch.setenv(key, value)
    return w


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


@pytest.fixture
def linked(idsync: Any, world: World) -> World:
    """Contoso's Exchange Online line linked (A-100 → 250, S-1 → 871, the resource → 812)."""
    for args in (("company", "A-100", "250"), ("subscription", "S-1", "871"),
                 ("resource", "S-1:CFQ7TTC0LH16", "812")):
        assert idsync("link", *args).exit_code == 0
    return world


@dataclass
class TerminalRun:
    exit_code: int
    output: str  # stdout and stderr as the terminal showed them


@pytest.fixture
def terminal(world: World) -> Any:
    """Run the CLI on a real pseudo-terminal: ``terminal("companies", "psa")`` →
    :class:`TerminalRun` (what an operator sees: Rich tables, colours)."""
    def run(*args: str, env: dict[str, str] | None = None) -> TerminalRun:
        child = pexpect.spawn(sys.executable, ["-m", "idsync_core", *args],
                              env={**os.environ, **world.env(), "PYTHONPATH": str(FAKES),
                                   "COLUMNS": "120", "TERM": "dumb", **(env or {})},
                              encoding="utf-8", timeout=60, dimensions=(50, 120))
        child.expect(pexpect.EOF)
        child.close()
        return TerminalRun(child.exitstatus, child.before.replace("\r\n", "\n"))

    return run
