"""The ``idsync`` application: global options and the command groups."""

from __future__ import annotations

from pathlib import Path

import typer

from idsync_core.cli import (
    audit,
    browse,
    demo,
    logs,
    records,
    review,
    signals,
    status,
    sync,
    system,
    web,
)
from idsync_core.cli.context import CliState, IdsyncTyper, current_state
from idsync_core.cli.link import link_app, unlink_app
from idsync_core.cli.notify import notify_app
from idsync_core.cli.onboarding import ignore_app, map_app, suggest_command
from idsync_core.cli.price_source import price_app
from idsync_core.cli.reports import report_app
from idsync_core.cli.simulator import simulator_app
from idsync_core.cli.users import user_app

app = IdsyncTyper(
    help="IDSync keeps your PSA's billed quantities equal to what your cloud distributor "
         "provisioned.",
    epilog="Exit codes: 0 ok, 1 internal error, 2 usage, 3 configuration, 4 not found, "
           "5 refused, 6 remote API error, 7 some postings failed, 8 another run holds the lock, "
           "130 cancelled.",
)


@app.callback()
def main(
    ctx: typer.Context,
    config: Path | None = typer.Option(None, "--config", "-c", envvar="IDSYNC_CONFIG",
                                       help="idsync.toml to use (default: the user config "
                                            "directory)."),
    db: str | None = typer.Option(None, "--db", help="SQLAlchemy URL of the store "
                                  "(overrides the store url setting)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what IDSync does on "
                                 "stderr: connections, listings, changes, postings."),
    debug: bool = typer.Option(False, "--debug", help="Also log each HTTP request, and show "
                               "tracebacks of internal errors."),
    log_format: logs.LogFormat = typer.Option(logs.LogFormat.TEXT, "--log-format",
                                              help="stderr as text, or one JSON object a line "
                                                   "for log shippers."),
    _version: bool = typer.Option(False, "--version", callback=system.print_version,
                                  is_eager=True, help="Show the versions of IDSync and of each "
                                                      "installed connector, and exit."),
) -> None:
    logs.configure(verbose=verbose, debug=debug, log_format=log_format)
    stopped = signals.stopped_before_starting()
    if stopped is not None:
        logs.notice("stopped before it started; nothing was done")
        raise typer.Exit(stopped)
    state = CliState(config=config, db=db, debug=debug)
    current_state.set(state)
    ctx.call_on_close(state.close)


app.command()(demo.demo)
app.command()(system.plugins)
app.command()(system.check)
browse.register(app)
app.add_typer(link_app, name="link")
app.add_typer(unlink_app, name="unlink")
app.add_typer(price_app, name="price-source")
app.add_typer(map_app, name="map")
app.command("suggest")(suggest_command)
app.add_typer(ignore_app, name="ignore")
app.command()(records.links)
app.command()(records.log)
for command in (sync.plan, sync.apply, sync.sync, sync.retry):
    app.command()(command)
app.command()(status.status)
app.add_typer(notify_app, name="notify")
app.command()(audit.audit)
app.add_typer(report_app, name="report")
app.command("review")(review.review_command)
app.command()(review.approve)
app.command()(review.dismiss)
app.add_typer(user_app, name="user")
app.command()(web.web)
app.add_typer(simulator_app, name="simulator")
