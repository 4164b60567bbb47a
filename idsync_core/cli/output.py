"""Rendering: tables for people on stdout, JSON for scripts, diagnostics on stderr.

Data goes to stdout and everything else (progress, warnings, errors: :mod:`.logs`) to stderr,
so ``idsync ... --json | jq`` always gets clean JSON.

* Nothing printed is read as Rich markup (:mod:`.consoles`): text built from data shows its
  ``[brackets]`` literally.
* On a terminal a listing is a Rich table whose id columns are never folded. Elsewhere (a pipe,
  cron's log file) it is plain, full-width rows — one line per row, nothing squeezed to 80
  columns, ids whole — that ``grep``/``cut`` can read.
* Values print as people read them: lists joined with commas (no Python reprs), money with at
  least two decimals (columns named ``*price`` / ``*cost``), ``—`` for nothing.
* ``--csv`` prints a listing for a spreadsheet: a header row naming every field the ``--json``
  objects carry, decimals exact as in JSON, nothing for nothing.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import pydantic  # cheap: pydantic imports BaseModel on first access, not here
import typer
from rich.table import Table
from rich.text import Text

from idsync_core.cli import logs
from idsync_core.cli.consoles import err, out
from idsync_core.engine.pricing import money_text

__all__ = ["CSV", "cell", "err", "event", "out", "print_csv", "print_json", "say", "table",
           "to_jsonable"]

CSV = typer.Option(False, "--csv", help="Print CSV (a header row, exact decimals) instead of a "
                   "table.")


def to_jsonable(value: Any) -> Any:
    """Decimals become strings (exact), dates ISO strings, models plain dicts."""
    if isinstance(value, pydantic.BaseModel):
        return to_jsonable(value.model_dump())
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def print_json(data: Any) -> None:
    """Straight to stdout: rich would hold and measure a large document several times over."""
    sys.stdout.write(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False))
    sys.stdout.write("\n")
    sys.stdout.flush()


def csv_text(value: Any) -> str:
    """One value in a CSV cell: exact (as in JSON), lists and objects as JSON, "" for None."""
    value = to_jsonable(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def print_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] = ()) -> None:
    """The rows as CSV on stdout: ``columns`` first, then every other field of the rows."""
    fields = list(columns)
    for row in rows:
        fields += [key for key in row if key not in fields]
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([csv_text(row.get(field)) for field in fields])
    sys.stdout.flush()


def cell(value: Any, column: str = "") -> str:
    """One value as people read it (``column`` tells money from other numbers)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return money_text(value) if is_money(column) else format(value, "f")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(cell(v, column) for v in value) or "—"
    return " ".join(str(value).splitlines())


def is_money(column: str) -> bool:
    return column.endswith(("price", "cost"))


def is_id(column: str) -> bool:
    return column == "id" or column.endswith("_id")


def say(text: str, *, style: str | None = None) -> None:
    """One line for people on stdout, printed literally (styled on a terminal)."""
    out.print(Text(text, style=style or ""))


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, as_json: bool,
          as_csv: bool = False, title: str | None = None, empty: str = "nothing to show") -> None:
    """One listing, as a table, a JSON array of the row objects (``as_json``) or CSV
    (``as_csv``: the table's columns first, then the other fields of the JSON objects)."""
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv")
    if as_json:
        print_json(list(rows))
        return
    if as_csv:
        print_csv(rows, columns)
        return
    if not rows:
        logs.notice(empty)
        return
    cells = [[cell(row.get(column), column) for column in columns] for row in rows]
    headers = [column.replace("_", " ") for column in columns]
    if not out.is_terminal:
        plain_rows(title, headers, cells)
        return
    grid = Table(title=title, title_justify="left", header_style="bold")
    for column, header in zip(columns, headers, strict=True):
        if is_id(column):  # ids stay whole and copyable
            longest = max(len(header), *(len(row[columns.index(column)]) for row in cells))
            grid.add_column(header, no_wrap=True, min_width=longest)
        else:
            grid.add_column(header, overflow="fold")
    for row in cells:
        grid.add_row(*row)
    out.print(grid)


def plain_rows(title: str | None, headers: list[str], cells: list[list[str]]) -> None:
    """The table as aligned text, one line per row, as wide as its content."""
    widths = [max(len(header), *(len(row[i]) for row in cells))
              for i, header in enumerate(headers)]
    lines = [title] if title else []
    lines += ["  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))
              .rstrip() for row in (headers, *cells)]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def event(text: str) -> None:
    """A line on stdout that says what just happened (a run's summary): in a log file (stdout
    not a terminal) it starts with its timestamp, like the log lines around it."""
    if out.is_terminal:
        say(text)
    else:
        sys.stdout.write(f"{logs.timestamp(time.time())} {text}\n")
        sys.stdout.flush()
