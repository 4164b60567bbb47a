"""``idsync status``: the last run, what is left open and who holds the lock — with an exit code
a monitoring check can use as it is (see :mod:`idsync_core.engine.status`)."""

from __future__ import annotations

from datetime import timedelta

import typer

from idsync_core.cli.context import runtime
from idsync_core.cli.output import cell, print_json, say
from idsync_core.durations import parse_duration
from idsync_core.engine.status import describe_age, monitor_status


def status(
    max_age: str | None = typer.Option(None, "--max-age", help="Exit 3 when the last run "
                                       "finished longer ago than this (90m, 2h, 1d)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """The last run, open failures, unknown outcomes waiting and the lock; exit 0 clean, 7
    failures or unknown outcomes, 3 no run completed or the last one older than --max-age."""
    try:
        age_limit = parse_duration(max_age) if max_age is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--max-age") from None
    found = monitor_status(runtime(), max_age=age_limit)
    code, meaning = found.verdict()
    record = found.record()
    if as_json:
        print_json(record)
        raise typer.Exit(int(code))
    run = record["last_run"]
    if run is None:
        say("No run recorded yet.")
    else:
        say(f"Last run: {run['command']} by {run['actor']} ({run['origin']}), "
            f"{cell(run['started_at'])} to {cell(run['finished_at'])} UTC, "
            f"{describe_age(found.age or timedelta())} ago: {run['outcome']}")
        say("  " + ", ".join(f"{count} {run[count]}" for count in (
            "posted", "unchanged", "failed", "waiting", "skipped")))
        if run["error"]:
            say(f"  {run['error']}")
    say(f"Failure log: {found.open_failures} failed posting(s); {found.waiting} posting(s) "
        "waiting for their outcome.")
    for lock in record["locks"]:
        say(f"Lock {lock['name']!r} held by {lock['holder']} since {cell(lock['since'])} UTC "
            f"({describe_age(found.now - lock['since'])}).")
    if not record["locks"]:
        say("No run holds the lock.")
    say(f"Status: {meaning} (exit {int(code)}).")
    raise typer.Exit(int(code))
