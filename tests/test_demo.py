"""``idsync demo`` and ``idsync simulator serve``, run as an operator would (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

pytestmark = pytest.mark.e2e


def idsync(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDSYNC_")}
    return subprocess.run([sys.executable, "-m", "idsync_core", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, check=False)


@pytest.mark.parametrize("psa", ["connectwise", "autotask"])
def test_demo_tells_the_whole_story(psa: str) -> None:
    result = idsync("demo", "--psa", psa, "--json")
    assert result.returncode == 0, result.stderr
    story = json.loads(result.stdout)
    steps = {step["step"]: step for step in story["steps"]}
    assert "8 Exchange Online (Plan 1) licences at Ingram, 0 in" in steps[
        "5. Set relation → the one-time reconciliation"]["text"]
    assert "addition of 8 units posted" in steps[
        "5. Set relation → the one-time reconciliation"]["text"]
    log = steps["The adjustments log"]
    assert (log["postings"], log["psa_today"], log["psa_next_period"]) == (3, "10", "6")
    assert steps["idsync sync, once more"]["counts"] == {"unchanged": 1}
    assert story["seconds"] < 30


def test_demo_for_people_reads_well() -> None:
    result = idsync("demo", "--psa", "autotask")
    assert result.returncode == 0, result.stderr
    assert "1. Pick the company" in result.stdout
    assert "→ reduction of 4 units posted" in result.stdout
    assert "nothing changed, nothing posted: unchanged 1" in result.stdout  # no Python repr
    assert "`idsync simulator serve autotask`" in result.stdout  # the PSA it just showed


def test_simulator_serve_prints_url_and_config_then_stops_cleanly() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDSYNC_")}
    proc = subprocess.Popen([sys.executable, "-m", "idsync_core", "simulator", "serve", "odin",
                             "--latency-ms", "1"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "odin simulator listening on http://127.0.0.1:" in first
        url = first.rsplit(" ", 1)[1].strip()
        snippet = [proc.stdout.readline() for _ in range(4)]
        assert any("[providers.odin]" in line for line in snippet)
        assert httpx.get(f"{url}/_sim/requests", timeout=5).json() == []
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
