"""``idsync web``: loopback by default, a remote host only when asked (and then TLS, or a
warning), and the command serves the console for real."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from idsync_fakes.world import World


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``idsync web`` hands to uvicorn (nothing is served)."""
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(app=app, **options))
    return seen


def test_loopback_by_default_and_it_says_when_nobody_can_log_in(
        idsync: Any, world: World, served: dict[str, Any]) -> None:
    result = idsync("web")
    assert result.exit_code == 0, result.stderr
    assert (served["host"], served["port"]) == ("127.0.0.1", 8400)
    assert served["ssl_certfile"] is None and served["proxy_headers"] is False
    assert "IDSync web console on http://127.0.0.1:8400/" in result.stderr
    assert "no user can log in yet" in result.stderr
    from starlette.testclient import TestClient

    client = TestClient(served["app"], base_url="http://127.0.0.1")
    assert client.get("/login").status_code == 200
    assert client.get("/login", headers={"host": "console.example"}).status_code == 400


def test_a_remote_host_needs_allow_remote(idsync: Any, world: World,
                                          served: dict[str, Any]) -> None:
    refused = idsync("web", "--host", "0.0.0.0")
    assert refused.exit_code == 2
    assert "refusing to serve the console on 0.0.0.0" in refused.stderr and not served
    allowed = idsync("web", "--host", "0.0.0.0", "--allow-remote")
    assert allowed.exit_code == 0 and served["host"] == "0.0.0.0"
    assert "served over plain HTTP on 0.0.0.0" in allowed.stderr


def test_behind_a_tls_proxy_the_forwarded_headers_are_believed_from_the_proxy_only(
        idsync: Any, world: World, served: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDSYNC_WEB__BEHIND_PROXY", "true")
    result = idsync("web", "--host", "0.0.0.0", "--allow-remote")
    assert result.exit_code == 0 and "plain HTTP" not in result.stderr
    assert served["proxy_headers"] is True and served["forwarded_allow_ips"] == ["127.0.0.1"]


def test_tls_needs_both_files_and_they_must_exist(idsync: Any, world: World, tmp_path: Path,
                                                 served: dict[str, Any]) -> None:
    half = idsync("web", "--certfile", str(tmp_path / "cert.pem"))
    assert half.exit_code == 2 and "both --certfile and --keyfile" in half.stderr
    missing = idsync("web", "--certfile", str(tmp_path / "cert.pem"), "--keyfile",
                     str(tmp_path / "key.pem"))
    assert missing.exit_code == 3 and "cert.pem does not exist" in missing.stderr
    (tmp_path / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    remote = idsync("web", "--host", "0.0.0.0", "--allow-remote", "--certfile",
                    str(tmp_path / "cert.pem"), "--keyfile", str(tmp_path / "key.pem"))
    assert remote.exit_code == 0 and "plain HTTP" not in remote.stderr
    assert served["ssl_certfile"] == str(tmp_path / "cert.pem")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.e2e
def test_the_command_serves_the_console_until_stopped(world: World) -> None:
    port = free_port()
    env = {**os.environ, **world.env(), "PYTHONPATH": str(Path(__file__).parent / "fakes")}
    proc = subprocess.Popen([sys.executable, "-m", "idsync_core", "web", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 60
        answer = None
        while answer is None and proc.poll() is None and time.monotonic() < deadline:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
            except httpx.TransportError:
                time.sleep(0.05)  # not listening yet: poll again
        assert answer is not None, proc.stderr.read() if proc.stderr else ""
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
        assert answer.headers["x-frame-options"] == "DENY"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0
