"""Messages say exactly what they mean: brackets in data or in table names are never eaten
(Rich markup), and every form of stderr — terminal, log file, JSON — carries the same text."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from typer.testing import CliRunner

from idsync_core.cli import logs
from idsync_core.cli.main import app
from idsync_fakes.world import World

BRACKETED = "[bold]Contoso[/bold] [EU] Ltd"


def rename_contoso(world: World) -> None:
    psa = world.psa()
    psa["companies"][0]["name"] = BRACKETED
    world.psa_file.write_text(json.dumps(psa))


def test_config_errors_show_their_table_names(idsync: Any, world: World) -> None:
    world.config.write_text('[psa]\nplugin = "connect[wize]"\n')
    missing_plugin = idsync("catalog")
    assert missing_plugin.exit_code == 3
    assert "[psa] plugin = 'connect[wize]' is not installed" in missing_plugin.stderr
    no_provider = idsync("companies", "provider")
    assert no_provider.exit_code == 3
    assert 'add a [providers.NAME] table, e.g. [providers.ingram] plugin = "odin"' \
        in no_provider.stderr
    world.config.write_text(f'[psa]\nplugin = "fake-psa"\nstate_file = "{world.psa_file}"\n'
                            'privat_key = "x"\n')
    unknown_key = idsync("companies", "psa")
    assert unknown_key.exit_code == 3 and "[psa] privat_key: unknown setting" in unknown_key.stderr


def test_refusals_and_not_found_show_bracketed_data(idsync: Any, world: World) -> None:
    rename_contoso(world)
    assert idsync("link", "company", "A-100", "250").exit_code == 0
    wrong_company = idsync("link", "subscription", "S-1", "880")
    assert wrong_company.exit_code == 5 and f"250 ({BRACKETED})" in wrong_company.stderr
    unknown = idsync("link", "company", "A-[1]", "250")
    assert unknown.exit_code == 4 and "account A-[1] does not exist" in unknown.stderr
    bad_number = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812", "--price", "[red]4[/red]",
                        "--cost", "1")
    assert bad_number.exit_code == 2 and "'[red]4[/red]' is not a number" in bad_number.stderr


def test_tables_and_reconciliations_show_bracketed_data(idsync: Any, world: World) -> None:
    rename_contoso(world)
    assert BRACKETED in idsync("companies", "psa").stdout
    assert idsync("link", "company", "A-100", "250").exit_code == 0
    assert idsync("link", "subscription", "S-1", "871").exit_code == 0
    linked = idsync("link", "resource", "S-1:CFQ7TTC0LH16", "812")
    assert "unit price 4.80, cost 4.00 [catalog]: posted" in linked.stdout


@pytest.mark.e2e
def test_on_a_terminal_brackets_survive_too(terminal: Any, world: World) -> None:
    rename_contoso(world)
    listed = terminal("companies", "psa")
    assert listed.exit_code == 0 and BRACKETED in listed.output
    world.config.write_text('[psa]\nplugin = "connect[wize]"\n')
    failed = terminal("companies", "psa")
    assert failed.exit_code == 3
    assert "error: [psa] plugin = 'connect[wize]' is not installed" in failed.output
    assert "hint: install the connector's package" in failed.output


def test_an_internal_error_keeps_its_brackets(world: World, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    from idsync_core.cli import records

    def broken() -> Any:
        raise RuntimeError("boom in [store] table")

    monkeypatch.setattr(records, "runtime", broken)
    result = CliRunner().invoke(app, ["links"])
    assert result.exit_code == 1
    assert "internal error: RuntimeError: boom in [store] table" in result.stderr
    assert "run again with --debug" in result.stderr
    with_traceback = CliRunner().invoke(app, ["--debug", "links"])
    assert "Traceback (most recent call last)" in with_traceback.stderr


@pytest.mark.parametrize("say", [
    lambda text: logs.error(text, hint=f"hint {text}"),
    lambda text: logs.error(text, label="failed"),
    lambda text: logs.warning(text, label="not reconciled"),
    lambda text: logs.notice(text),
    lambda text: logging.getLogger("idsync_core.somewhere").warning("%s", text),
])
def test_every_stderr_form_keeps_the_text(say: Any, capsys: pytest.CaptureFixture[str]) -> None:
    for log_format in logs.LogFormat:
        logs.configure(verbose=False, debug=False, log_format=log_format)
        say(BRACKETED)
        written = capsys.readouterr().err
        if log_format is logs.LogFormat.JSON:
            records = [json.loads(line) for line in written.splitlines()]
            assert records[0]["message"] == BRACKETED
            assert all(r["time"] and r["level"] for r in records)
        else:
            assert BRACKETED in written
            assert all(line[:4].isdigit() for line in written.splitlines())  # timestamped
