"""``idsync plugins`` and ``idsync check``: what is installed, and whether it works."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import version as package_version
from typing import TYPE_CHECKING, Any

import typer

from idsync_core.cli import logs
from idsync_core.cli.context import runtime
from idsync_core.cli.output import CSV, say, table
from idsync_core.errors import ExitCode, IdsyncError

if TYPE_CHECKING:
    from idsync_core.plugins import Connection

JSON = typer.Option(False, "--json", help="Print a JSON array instead of a table.")


def plugins(as_json: bool = JSON, as_csv: bool = CSV) -> None:
    """Installed connectors: name, kind, version, distribution and the hooks each implements."""
    from idsync_core.plugins import discover_plugins  # not for `--help`: it loads pydantic

    rows = [{"id": info.name, "name": info.name, "kind": info.kind, "version": info.version,
             "distribution": info.distribution, "hooks": list(info.hooks)}
            for info in sorted(discover_plugins().values(), key=lambda i: i.name)]
    table(rows, ["name", "kind", "version", "distribution", "hooks"], as_json=as_json,
          as_csv=as_csv, title="Installed connectors", empty="no connector is installed")


def check(as_json: bool = JSON, as_csv: bool = CSV) -> None:
    """Reach and authenticate every configured connection."""
    rt = runtime()
    if not rt.settings.psa and not rt.provider_names:
        logs.error("nothing is configured; see the README's Configuration section")
        raise typer.Exit(int(ExitCode.CONFIGURATION))
    targets: list[tuple[str, Mapping[str, Any], Callable[[], Connection]]] = [
        ("psa", rt.settings.psa or {}, lambda: rt.psa)]
    targets += [(f"providers.{name}", rt.settings.providers[name],
                 lambda n=name: rt.provider(n))  # type: ignore[misc]
                for name in rt.provider_names]
    rows: list[dict[str, object]] = []
    worst = ExitCode.OK
    for section, raw, connect in targets:
        connector = str(raw.get("plugin") or "no connector")
        row: dict[str, object] = {"id": section, "name": f"{connector} ({section})",
                                  "connector": connector, "connection": section}
        try:
            row.update(ok=True, detail=connect().check(), exit_code=0)
        except IdsyncError as exc:
            row.update(ok=False, detail=exc.message, exit_code=int(exc.exit_code))
            worst = max(worst, exc.exit_code)
        rows.append(row)
    table(rows, ["name", "ok", "detail"], as_json=as_json, as_csv=as_csv, title="Connections")
    if worst:
        raise typer.Exit(int(worst))


def print_version(wanted: bool) -> None:
    """``idsync --version``: the core's version, then each installed connector's."""
    if not wanted:
        return
    from idsync_core.plugins import discover_plugins  # only when asked: it loads pydantic

    say(f"idsync {package_version('idsync')}")
    try:
        plugins = discover_plugins()
    except IdsyncError as exc:  # two connectors with one name: say so, still show the core
        say(f"connectors: {exc.message}")
        raise typer.Exit(int(exc.exit_code)) from None
    for info in sorted(plugins.values(), key=lambda i: i.name):
        say(f"{info.name} {info.version or '(version unknown)'} ({info.kind}, "
            f"{info.distribution or 'unknown distribution'})")
    raise typer.Exit()
