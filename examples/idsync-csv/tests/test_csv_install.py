"""The distribution installs the way a third party's would, and IDSync then lists the connector.

pip builds a wheel from pyproject.toml with the declared build backend and installs it into a
fresh directory (``--target``); the ``idsync`` command of this environment, run as a separate
process with that directory on its path (how a ``--target`` install is used), must find the
connector through the entry point recorded in the installed ``.dist-info``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).parents[1]


def idsync_command() -> str:
    beside = Path(sys.executable).with_name("idsync")
    found = str(beside) if beside.exists() else shutil.which("idsync")
    assert found, "the idsync command is not installed in this environment"
    return found


def test_pip_installs_the_distribution_and_idsync_plugins_lists_it(tmp_path: Path) -> None:
    assert importlib.util.find_spec("hatchling"), (
        "the build backend hatchling is not installed: pip install hatchling (it is in "
        "IDSync's dev extras)")
    target = tmp_path / "site"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PIP_", "IDSYNC_"))}
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
         "--no-build-isolation", "--no-cache-dir", "--target", str(target), str(PROJECT)],
        check=True, env=env, capture_output=True, text=True, timeout=120)
    installed = {p.name for p in target.iterdir()}
    assert {"idsync_csv", "idsync_csv-0.1.0.dist-info"} <= installed, installed

    env |= {"PYTHONPATH": str(target), "IDSYNC_LOAD_PLUGINS": "csv"}
    where = subprocess.run([sys.executable, "-c", "import idsync_csv; print(idsync_csv.__file__)"],
                           check=True, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert where.stdout.strip().startswith(str(target)), "not the copy pip just installed"
    listed = subprocess.run([idsync_command(), "plugins", "--json"], check=True, env=env,
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    [plugin] = json.loads(listed.stdout)
    assert plugin == {
        "id": "csv", "name": "csv", "kind": "provider", "version": "0.1.0",
        "distribution": "idsync-csv",
        "hooks": ["idsync_check", "idsync_close", "idsync_list_accounts",
                  "idsync_list_resources", "idsync_list_subscriptions"],
    }
