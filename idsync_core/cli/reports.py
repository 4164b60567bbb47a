"""``idsync report reconciliation`` and ``idsync report renewals``: what finance reads.

Each prints a table, ``--json``, ``--csv`` (a header row, exact decimals) or — the
reconciliation — ``--html FILE``: one self-contained page (no external file, script or font)
that prints as it shows, lines that differ marked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer

from idsync_core.cli import logs
from idsync_core.cli.context import IdsyncTyper, runtime
from idsync_core.cli.output import CSV, cell, is_money, table
from idsync_core.cli.render import signed
from idsync_core.durations import parse_duration
from idsync_core.engine import reconciliation, renewals
from idsync_core.engine.pricing import money_text

JSON = typer.Option(False, "--json", help="Print a JSON array instead of a table.")
TEMPLATES = Path(__file__).with_name("templates")
NUMBERS = ("quantity", "difference", "price", "cost", "margin", "seats", "value", "days_left",
           "last_posting")

report_app = IdsyncTyper(help="Reports for finance: reconciliation, renewals.")


@report_app.command("reconciliation")
def report_reconciliation(
    as_of: str | None = typer.Option(None, "--as-of", help="PSA quantities as of YYYY-MM-DD "
                                     "(default today)."),
    as_json: bool = JSON,
    as_csv: bool = CSV,
    html: Path | None = typer.Option(None, "--html", help="Also write the report as one "
                                     "self-contained HTML page to FILE."),
) -> None:
    """Every linked line: provider against PSA quantity, prices, margin, last posting."""
    day = parse_date(as_of, "--as-of") if as_of else None
    rt = runtime()
    rows = reconciliation.reconciliation(rt, day)
    if html is not None:
        sums = reconciliation.totals(rows)
        write_html(html, title="Reconciliation", subtitle=f"PSA quantities as of "
                   f"{day or rt.today}; provider quantities of today",
                   columns=HTML_COLUMNS, rows=rows,
                   totals=[("lines", str(len(rows))),
                           ("lines that differ", str(sum(bool(r["difference"]) for r in rows))),
                           ("provider seats", cell(sums["provider_quantity"])),
                           ("PSA seats", cell(sums["psa_quantity"])),
                           ("difference", cell(sums["difference"])),
                           ("margin", money_text(sums["margin"]))],
                   empty="nothing is linked yet")
        logs.notice(f"report written to {html}")
        if not as_json and not as_csv:
            return
    shown = ["customer", "resource", "product", "provider_quantity", "psa_quantity", "difference",
             "unit_price", "unit_cost", "price_source", "last_posting_date"]
    table(rows, reconciliation.COLUMNS if as_csv else shown, as_json=as_json, as_csv=as_csv,
          title=f"Reconciliation as of {day or rt.today}", empty="nothing is linked yet")


@report_app.command("renewals")
def report_renewals(
    within: str = typer.Option("30d", "--within", help="Renewing from today until this long "
                               "from now (30d, 90d)."),
    as_json: bool = JSON,
    as_csv: bool = CSV,
) -> None:
    """Subscriptions of linked customers whose term renews soon, with seats and monthly value."""
    try:
        window = parse_duration(within)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--within") from None
    found = renewals.renewals(runtime(), window)
    for problem in found.problems:
        logs.warning(f"not read: {problem}")
    if found.without_date:
        logs.notice(f"{found.without_date} subscription(s) have no renewal date from the "
                    "provider and are not listed")
    shown = ["renewal_date", "days_left", "customer", "subscription_id", "subscription",
             "commitment_term", "billing_term", "seats", "monthly_value"]
    table(found.rows, renewals.COLUMNS if as_csv else shown, as_json=as_json, as_csv=as_csv,
          title=f"Renewals within {within}", empty="no subscription renews in that window")


def parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)",
                                 param_hint=option) from None


def is_number(column: str) -> bool:
    return column.endswith(NUMBERS)


def named(name: str, code: str) -> Callable[[dict[str, Any]], str]:
    """A cell of a name with its id after it: "Contoso Ltd · A-100"."""
    return lambda row: " · ".join(str(row[k]) for k in (name, code) if row.get(k))


def last_posting(row: dict[str, Any]) -> str:
    if row["last_posting"] is None:
        return ""
    return f"{signed(row['last_posting'])} from {row['last_posting_date']}"


HTML_COLUMNS: list[tuple[str, str | Callable[[dict[str, Any]], str]]] = [
    ("customer", named("customer", "account_id")),
    ("subscription", named("subscription", "subscription_id")),
    ("resource", named("resource", "sku")),
    ("PSA company", named("psa_company", "psa_company_id")),
    ("agreement", named("agreement", "agreement_id")),
    ("product", named("product", "product_id")),
    ("provider quantity", "provider_quantity"), ("PSA quantity", "psa_quantity"),
    ("difference", "difference"), ("unit price", "unit_price"), ("unit cost", "unit_cost"),
    ("margin", "margin"), ("price source", "price_source"),
    ("last posting", last_posting), ("problem", "problem"),
]
"""The printed page's columns: names with their ids, so it fits a landscape page."""


def write_html(path: Path, *, title: str, subtitle: str,
               columns: list[tuple[str, str | Callable[[dict[str, Any]], str]]],
               rows: list[dict[str, Any]], totals: list[tuple[str, str]], empty: str) -> None:
    """One self-contained page: the styles inline, no script, nothing fetched. ``columns``:
    (header, the row's field or a function of the row)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    environment = Environment(loader=FileSystemLoader(TEMPLATES),
                              autoescape=select_autoescape(default=True))
    page = environment.get_template("report.html.j2").render(
        title=title, subtitle=subtitle, empty=empty, totals=totals,
        generated=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        columns=[{"header": header, "number": isinstance(field, str) and is_number(field)}
                 for header, field in columns],
        rows=[{"css": "problem" if row.get("problem") else
               "differs" if row.get("difference") not in (None, Decimal(0)) else "",
               "cells": [(html_cell(row.get(field), field), is_number(field))
                         if isinstance(field, str) else (field(row), False)
                         for _header, field in columns]}
              for row in rows])
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(f"cannot write {path}: {exc.strerror}",
                                 param_hint="--html") from None


def html_cell(value: Any, column: str) -> str:
    """As the table shows it, but empty for nothing (a printed report reads better so)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return cell(value, column if is_money(column) else "")

