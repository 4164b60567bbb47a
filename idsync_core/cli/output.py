"""Rendering: rich tables for people on stdout, JSON for scripts, diagnostics on stderr.

Data goes to stdout and everything else (progress, warnings, errors) to stderr, so
``idsync ... --json | jq`` always gets clean JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import pydantic  # cheap: pydantic imports BaseModel on first access, not here
from rich.console import Console
from rich.table import Table

from idsync_core.engine.pricing import money_text

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


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


def cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def money(value: Decimal | None) -> str:
    """A price for people: at least two decimals (4.8 → 4.80), never rounded away."""
    return money_text(value)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, as_json: bool,
          title: str | None = None, empty: str = "nothing to show") -> None:
    """One listing, as a table or (``as_json``) a JSON array of the row objects."""
    if as_json:
        print_json(list(rows))
        return
    if not rows:
        err.print(f"[dim]{empty}[/dim]")
        return
    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column.replace("_", " "), overflow="fold")  # ids stay copyable
    for row in rows:
        grid.add_row(*(cell(row.get(column)) for column in columns))
    out.print(grid)
