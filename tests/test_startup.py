"""What a command loads before it does anything: the module list, not the time.

Every cron run, every shell completion and every end-to-end test starts the CLI, so the commands
that only look (``--help``, ``plugins``, ``check``) import no store, no migration code, no web
framework and no simulator; ``--help`` and shell completion not even IDSync's pydantic models
or its settings. Each command runs in a fresh interpreter, as ``idsync`` does, which then lists
``sys.modules``. The time itself is measured in ``benchmarks/startup_bench.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

HEAVY = ("sqlalchemy", "alembic", "starlette", "uvicorn", "apprise", "jinja2", "argon2",
         "itsdangerous", "idsync_core.store", "idsync_core.simulation", "idsync_core.web",
         "idsync_connectwise.simulator", "idsync_autotask.simulator", "idsync_odin.simulator")
"""Never loaded by a command that only looks."""

MODELS = ("pydantic_settings", "idsync_core.models", "idsync_core.settings", "idsync_core.plugins")
"""Not loaded by ``--help`` or completion either: they take longer to import than the CLI itself."""

DRIVER = """
import json, sys
report, sys.argv = sys.argv[1], ["idsync", *sys.argv[2:]]
from idsync_core.cli.entry import run
try:
    run()
    code = 0
except SystemExit as exc:
    code = exc.code
with open(report, "w") as f:
    json.dump({"exit": code, "modules": sorted(sys.modules)}, f)
"""
"""Runs ``idsync ARGS`` through the console entry point, then writes what got imported."""


def run_idsync(tmp_path: Path, *args: str, config: Path | None = None,
               env_extra: dict[str, str] | None = None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDSYNC_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "no-user-config")
    env.update(env_extra or {})
    if config is not None:
        env["IDSYNC_CONFIG"] = str(config)
    report = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(report), *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert report.exists(), proc.stderr
    result: dict[str, Any] = json.loads(report.read_text())
    result["stdout"] = proc.stdout
    return result


def loaded(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)]


def test_help_loads_only_the_cli(tmp_path: Path) -> None:
    result = run_idsync(tmp_path, "--help")
    assert result["exit"] == 0
    assert "sync" in result["stdout"] and "idsync_core.cli.sync" in result["modules"]
    # Typer parses option values with pydantic adapters, but `--help` parses none.
    assert loaded(result["modules"], (*HEAVY, *MODELS, "pydantic.main")) == []


def test_shell_completion_loads_only_the_cli(tmp_path: Path) -> None:
    result = run_idsync(tmp_path, env_extra={"_IDSYNC_COMPLETE": "complete_bash",
                                             "COMP_WORDS": "idsync sy", "COMP_CWORD": "1"})
    assert result["exit"] == 0
    assert result["stdout"].split() == ["sync"]
    assert loaded(result["modules"], HEAVY + MODELS) == []


def test_plugins_loads_the_connectors_without_their_simulators(tmp_path: Path) -> None:
    result = run_idsync(tmp_path, "plugins", "--json")
    assert result["exit"] == 0
    assert {row["name"] for row in json.loads(result["stdout"])} >= {
        "connectwise", "autotask", "odin"}
    assert {"idsync_connectwise.connector", "idsync_autotask.connector",
            "idsync_odin.connector"} <= set(result["modules"])
    assert loaded(result["modules"], HEAVY) == []


class Refusing(BaseHTTPRequestHandler):
    """Answers every request 401: reachable, so ``check`` fails at once instead of retrying."""

    def answer(self) -> None:
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_check_reaches_the_connections_without_store_or_simulators(
        tmp_path: Path, refusing_server: str) -> None:
    config = tmp_path / "idsync.toml"
    config.write_text(f"""
[psa]
plugin = "connectwise"
site = "{refusing_server}"
company_id = "acme"
public_key = "public"
private_key = "private"
client_id = "client"

[providers.ingram]
plugin = "odin"
base_url = "{refusing_server}/marketplace/us"
marketplace = "us"
username = "api"
password = "secret"
subscription_key = "key"
""")
    result = run_idsync(tmp_path, "check", "--json", config=config)
    rows = {row["id"]: row for row in json.loads(result["stdout"])}
    assert set(rows) == {"psa", "providers.ingram"}
    assert all("refused the credentials" in row["detail"] for row in rows.values()), rows
    assert result["exit"] == 3  # configuration: the credentials
    assert loaded(result["modules"], HEAVY) == []
