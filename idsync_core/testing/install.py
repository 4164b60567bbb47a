"""Install a connector's distribution the way a user would, and ask IDSync what it found.

An editable install in the developer's environment proves little about the package: a missing
entry point, a module left out of the wheel or a wrong ``packages`` setting only show once pip
builds the wheel from ``pyproject.toml`` and installs it somewhere else. :func:`install_and_list`
does that: pip builds and installs the project into a fresh directory (``--target``), and the
``idsync`` command of this environment, run as a separate process with that directory on its
path, lists the plugins it discovers through the installed ``.dist-info``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any


def idsync_command() -> str:
    """The ``idsync`` command installed beside this Python, else on the PATH."""
    beside = Path(sys.executable).with_name("idsync")
    found = str(beside) if beside.exists() else shutil.which("idsync")
    if not found:
        raise AssertionError("the idsync command is not installed in this environment")
    return found


def install_and_list(project: Path, target: Path, *, plugin: str,
                     module: str) -> list[dict[str, Any]]:
    """Install ``project`` into ``target`` (which must not exist yet) and return what
    ``idsync plugins --json`` lists with only ``plugin`` loaded. ``module`` is the package the
    distribution ships: it must be imported from ``target``, not from a development copy.

    Needs the project's build backend installed (``--no-build-isolation``: tests run offline).
    """
    backend = _build_backend(project)
    if importlib.util.find_spec(backend) is None:
        raise AssertionError(f"the build backend {backend} is not installed: pip install "
                             f"{backend} (IDSync's dev extras have hatchling)")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PIP_", "IDSYNC_"))}
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
         "--no-build-isolation", "--no-cache-dir", "--target", str(target), str(project)],
        check=True, env=env, capture_output=True, text=True, timeout=120)
    env |= {"PYTHONPATH": str(target), "IDSYNC_LOAD_PLUGINS": plugin}
    where = subprocess.run([sys.executable, "-c", f"import {module}; print({module}.__file__)"],
                           check=True, env=env, capture_output=True, text=True, cwd=target)
    if not where.stdout.strip().startswith(str(target)):
        raise AssertionError(f"{module} was imported from {where.stdout.strip()}, not from the "
                             f"copy pip installed into {target}")
    listed = subprocess.run([idsync_command(), "plugins", "--json"], check=True, env=env,
                            capture_output=True, text=True, cwd=target, timeout=60)
    plugins: list[dict[str, Any]] = json.loads(listed.stdout)
    return plugins


def _build_backend(project: Path) -> str:
    """The top-level module of the project's ``build-backend`` (``hatchling`` for
    ``hatchling.build``)."""
    config = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    backend = str(config.get("build-system", {}).get("build-backend", "setuptools.build_meta"))
    return backend.split(".")[0].split(":")[0]
