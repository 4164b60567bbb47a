"""The connector guide and the README say what IDSync does: quoted messages are the ones IDSync
produces, the guide's code imports what exists and calls no client method that does not.

(That every hook has a section of the guide is tests/test_hook_docs.py.)
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from idsync_core.http import ApiClient, RetryPolicy

ROOT = Path(__file__).parents[1]
GUIDE = (ROOT / "docs" / "writing-a-connector.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
BAD_TABLE = """[psa]
plugin = "connectwise"
site = "https://api-na.myconnectwise.net"
company_id = "acme"
public_key = "AbCdEf123"
privat_key = "typed wrong"
"""


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def printed_settings_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The lines IDSync reports for a ``[psa]`` table with a typo (``privat_key``) and, so,
    two keys missing: ``idsync check --json``, whose detail is the error's own text."""
    from idsync_core.cli.main import app

    config = tmp_path / "idsync.toml"
    config.write_text(BAD_TABLE)
    monkeypatch.setenv("IDSYNC_CONFIG", str(config))
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "connectwise")
    result = CliRunner().invoke(app, ["check", "--json"])
    assert result.exit_code == 3, result.stdout
    [connection] = json.loads(result.stdout)
    return [line.strip() for line in connection["detail"].splitlines()]


@pytest.mark.parametrize("doc", ["README.md", "docs/writing-a-connector.md"])
def test_the_quoted_settings_error_is_the_one_idsync_prints(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, doc: str) -> None:
    printed = printed_settings_error(tmp_path, monkeypatch)
    assert printed[:1] == ["invalid settings for the connectwise connection:"]
    text = (ROOT / doc).read_text(encoding="utf-8")
    quoted = re.search(r"```text\n(\s*invalid settings for the .*?)```", text, flags=re.DOTALL)
    assert quoted is not None, f"{doc} quotes no settings error"
    lines = [line.strip() for line in quoted.group(1).splitlines() if line.strip()]
    assert len(lines) == 3 and set(lines) <= set(printed), (lines, printed)


@pytest.mark.parametrize(("service", "path", "headers", "quoted"), [
    ("HaloPSA", "/api/client", {"Retry-After": "17"},
     "HaloPSA GET /api/client: throttled, Retry-After asks for 17 s"),
    ("Pax8 API", "/v1/companies", {},
     "Pax8 API GET /v1/companies: throttled, no Retry-After; backing off 5 s"),
])
def test_the_quoted_429_log_lines_are_the_clients(caplog: pytest.LogCaptureFixture,
                                                  service: str, path: str,
                                                  headers: dict[str, str], quoted: str) -> None:
    assert quoted in GUIDE
    base = "https://api.example.test"
    client = ApiClient(base, service=service, credentials_hint="-",
                       retry=RetryPolicy(base_delay=0.01), sleep=lambda seconds: None)
    caplog.set_level(logging.INFO, logger="idsync_core.http.client")
    with respx.mock(assert_all_mocked=True) as mock:
        mock.get(f"{base}{path}").mock(side_effect=[httpx.Response(429, headers=headers),
                                                    httpx.Response(200, json={})])
        client.get_json(path)
    assert caplog.messages == [quoted]


def test_the_guides_imports_exist() -> None:
    imports = [statement for block in python_blocks(GUIDE) for statement in re.findall(
        r"^from idsync_core[\w.]* import (?:\([^)]*\)|[^\n]*)", block, flags=re.MULTILINE)]
    assert len(imports) >= 5
    for statement in imports:
        exec(statement, {})  # an ImportError names what the guide promises and lacks


def test_the_guide_calls_no_client_method_that_does_not_exist() -> None:
    """``self.client.pages(...)`` once stood in the guide; ApiClient has no ``pages``. A method
    the guide's examples call must be ApiClient's or defined in the guide's own client code."""
    code = "\n".join(python_blocks(GUIDE))
    called = set(re.findall(r"self\.client\.(\w+)\(", code))
    defined = set(re.findall(r"^\s+def (\w+)\(", code, flags=re.MULTILINE))
    assert called, "the guide's examples call no client method?"
    unknown = sorted(name for name in called - defined if not hasattr(ApiClient, name))
    assert not unknown, f"the guide calls self.client.{unknown[0]}(), which nothing defines"


def test_the_human_output_keeps_the_bracketed_section_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from idsync_core.cli.main import app

    config = tmp_path / "idsync.toml"
    config.write_text(BAD_TABLE)
    monkeypatch.setenv("IDSYNC_CONFIG", str(config))
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", "connectwise")
    result = CliRunner().invoke(app, ["companies", "psa"])
    assert "[psa] privat_key: unknown setting" in result.stderr
