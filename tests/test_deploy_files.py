"""The production install's files agree with each other: the wheels CI builds and installs are
the ones the Dockerfile installs, every built-in connector among them, and the container runs
as documented (non-root, config and store on volumes, ``sync --yes --every 1h``, a health
check). The Docker build itself cannot run here; its steps are CI's (``.ci/run``)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
CI = (ROOT / ".ci" / "run").read_text()
BUILD_WHEELS = (ROOT / ".ci" / "build-wheels").read_text()


def instructions(name: str) -> list[str]:
    """The arguments of each ``NAME`` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines()
            if line.startswith(name + " ")]


def test_every_built_in_connector_is_built_into_the_wheels() -> None:
    built = set(re.search(r"for project in (.*); do", BUILD_WHEELS).group(1).split())  # type: ignore[union-attr]
    connectors = {f"plugins/{p.name}" for p in (ROOT / "plugins").iterdir()
                  if (p / "pyproject.toml").exists()}
    assert built == {".", *connectors}


def test_ci_and_the_dockerfile_install_the_same_wheels() -> None:
    assert ".ci/build-wheels" in CI and ".ci/build-wheels" in DOCKERFILE
    assert re.search(r"pip install --quiet \"\$install_check\"/dist/\*\.whl", CI)
    assert re.search(r"pip install --no-cache-dir /tmp/wheels/\*\.whl", DOCKERFILE)
    assert "idsync demo --psa connectwise" in CI and "idsync demo --psa autotask" in CI


def test_the_container_runs_as_documented() -> None:
    [user] = instructions("USER")
    assert user not in ("root", "0")
    [volumes] = instructions("VOLUME")
    assert set(re.findall(r'"([^"]+)"', volumes)) == {"/etc/idsync", "/var/lib/idsync"}
    env = " ".join(instructions("ENV"))
    assert "IDSYNC_CONFIG=/etc/idsync/idsync.toml" in env
    assert "IDSYNC_STORE__URL=sqlite:////var/lib/idsync/idsync.db" in env
    assert not re.search(r"(KEY|SECRET|PASSWORD)=", env)  # secrets come from the environment
    [entrypoint] = instructions("ENTRYPOINT")
    [command] = instructions("CMD")
    started = [*json.loads(entrypoint), *json.loads(command)]
    assert started == shlex.split("idsync sync --yes --every 1h")
    [health] = instructions("HEALTHCHECK")
    assert health.endswith('CMD ["idsync", "check"]')
