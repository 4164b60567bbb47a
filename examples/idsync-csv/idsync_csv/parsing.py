"""Reading a CSV export into accounts, subscriptions and resources.

The format (one row per resource; account and subscription columns repeat) is documented in
README.md. Whole-file problems (missing file, missing column, wrong encoding) are configuration
errors. A bad *row* is reported (file, line, column, what is wrong) and skipped, so one typo
does not stop a month's sync: a skipped row's resource is simply not listed, and IDSync
reports a linked resource that is no longer listed instead of changing its PSA line.

Where rows disagree about a subscription (its account or its status) nobody can tell which row
is right, so every row of that subscription is skipped; the same holds for a resource id that
appears twice. Disagreeing *names* only warn: the first one is kept.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from idsync_core.errors import ConfigurationError
from idsync_core.models import ProviderAccount, Resource, Subscription, SubscriptionStatus
from idsync_csv.settings import CsvSettings

COLUMNS = {
    "account_id": "the provider's id of the customer account (required)",
    "account_name": "the customer's name (required)",
    "subscription_id": "the subscription's id (required)",
    "subscription_name": "the subscription's name (default: its id)",
    "subscription_status": "active, pending, suspended or terminated (default: active)",
    "resource_id": "the product line's id (default: <subscription_id>:<sku>)",
    "sku": "the product's SKU / MPN (required)",
    "resource_name": "the product's name (default: the SKU)",
    "quantity": "seats, a decimal number >= 0; an empty cell means usage-based (no seats)",
    "unit_price": "what the customer pays per seat (optional)",
    "unit_cost": "what the MSP pays per seat (optional)",
}
"""The columns IDSync reads, by header name. Headers are matched ignoring case, and spaces or
dashes count as underscores ("Account ID" is ``account_id``); other columns are ignored."""

REQUIRED_COLUMNS = ("account_id", "account_name", "subscription_id", "sku", "quantity")
STATUSES = ", ".join(s.value for s in SubscriptionStatus)


@dataclass(frozen=True)
class Problem:
    """A row that was skipped (or, ``skipped=False``, only warned about), and why."""

    file: Path
    line: int
    column: str | None
    message: str
    skipped: bool = True

    def __str__(self) -> str:
        where = f"{self.file} line {self.line}" + (f", column {self.column}" if self.column
                                                    else "")
        return f"{where}: {self.message}" + ("" if self.skipped else " (row kept)")


class RowError(Exception):
    def __init__(self, column: str | None, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


@dataclass(frozen=True)
class Row:
    """One well-formed data row."""

    file: Path
    line: int
    account_id: str
    account_name: str
    subscription_id: str
    subscription_name: str
    status: SubscriptionStatus | None
    resource: Resource

    @property
    def where(self) -> str:
        return f"{self.file} line {self.line}"


@dataclass
class Export:
    """Everything the export holds, in the order rows first mention it."""

    files: list[Path]
    accounts: dict[str, ProviderAccount] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    resources: dict[str, list[Resource]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def skipped(self) -> list[Problem]:
        return [p for p in self.problems if p.skipped]


def csv_files(path: Path) -> list[Path]:
    """The file itself, or a directory's ``*.csv`` files in name order."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
        if not files:
            raise ConfigurationError(f"no .csv file in the directory {path}",
                                     hint="export the seat counts there, or set `path` to a file")
        return files
    if not path.is_file():
        raise ConfigurationError(f"the CSV export {path} does not exist",
                                 hint="check the `path` setting of the csv provider")
    return [path]


def number(text: str, column: str) -> Decimal | None:
    """A decimal cell (None when empty); never a float, never negative."""
    text = text.strip()
    if not text:
        return None
    if "," in text:
        raise RowError(column, f"{text!r} is not a number: write decimals with a point and no "
                               "thousands separator (4.80, 1200)")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RowError(column, f"{text!r} is not a number") from None
    if not value.is_finite():
        raise RowError(column, f"{text!r} is not a number")
    if value < 0:
        raise RowError(column, f"{text} is negative")
    return value


def _status(text: str) -> SubscriptionStatus | None:
    text = text.strip().lower()
    if not text:
        return None
    try:
        return SubscriptionStatus(text)
    except ValueError:
        raise RowError("subscription_status",
                       f"{text!r} is not a status (use {STATUSES})") from None


def parse_row(cells: dict[str, str], file: Path, line: int) -> Row:
    """One data row, or :class:`RowError` naming the first bad column."""
    for column in ("account_id", "account_name", "subscription_id", "sku"):
        if not cells.get(column, "").strip():
            raise RowError(column, "is empty")
    value = {name: cells.get(name, "").strip() for name in COLUMNS}
    quantity = number(value["quantity"], "quantity")
    resource = Resource(
        id=value["resource_id"] or f"{value['subscription_id']}:{value['sku']}",
        subscription_id=value["subscription_id"],
        name=value["resource_name"] or value["sku"],
        sku=value["sku"],
        quantity=quantity,
        seat_based=quantity is not None,
        unit_price=number(value["unit_price"], "unit_price"),
        unit_cost=number(value["unit_cost"], "unit_cost"),
    )
    return Row(file, line, value["account_id"], value["account_name"],
               value["subscription_id"], value["subscription_name"] or value["subscription_id"],
               _status(value["subscription_status"]), resource)


def header_name(cell: str) -> str:
    return cell.strip().lower().replace(" ", "_").replace("-", "_")


def read_file(path: Path, settings: CsvSettings) -> Iterator[Row | Problem]:
    """The rows of one file, well-formed ones as :class:`Row` and bad ones as
    :class:`Problem`. Problems with the file as a whole raise ``ConfigurationError``."""
    try:
        with path.open(newline="", encoding=settings.encoding) as handle:
            reader = csv.reader(handle, delimiter=settings.delimiter)
            header = [header_name(cell) for cell in next(reader, [])]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                found = ", ".join(h for h in header if h) or "none"
                raise ConfigurationError(
                    f"{path} line 1: the header lacks the column(s) {', '.join(missing)} "
                    f"(found: {found})",
                    hint="name the columns as the csv connector's README says, or check the "
                         "`delimiter` setting")
            repeated = sorted({h for h in header if h and header.count(h) > 1})
            if repeated:
                raise ConfigurationError(f"{path} line 1: the column(s) {', '.join(repeated)} "
                                         "appear more than once")
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) > len(header):
                    yield Problem(path, reader.line_num, None, f"the row has {len(cells)} cells, "
                                  f"the header {len(header)}")
                    continue
                try:
                    yield parse_row(dict(zip(header, cells, strict=False)), path,
                                    reader.line_num)
                except RowError as exc:
                    yield Problem(path, reader.line_num, exc.column, exc.message)
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path} is not {settings.encoding} text ({exc.reason})",
                                 hint="save it as UTF-8, or set the `encoding` setting") from None
    except csv.Error as exc:
        raise ConfigurationError(f"{path}: unreadable CSV: {exc}") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None


def _conflict(rows: list[Row]) -> str | None:
    """Why these rows of one subscription cannot all be right, or None."""
    first = rows[0]
    for row in rows[1:]:
        if row.account_id != first.account_id:
            return (f"{first.where} puts it under account {first.account_id!r}, {row.where} "
                    f"under {row.account_id!r}")
    statuses = {row.status for row in rows if row.status is not None}
    if len(statuses) > 1:
        return f"its rows give several statuses ({', '.join(sorted(statuses))})"
    return None


def assemble(files: list[Path], items: list[Row | Problem]) -> Export:
    """Build the export from the rows, skipping the ones that contradict each other."""
    export = Export(files, problems=[i for i in items if isinstance(i, Problem)])
    rows = [i for i in items if isinstance(i, Row)]
    by_subscription: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_subscription[row.subscription_id].append(row)
    kept: list[Row] = []
    for subscription_id, group in by_subscription.items():
        why = _conflict(group)
        if why is None:
            kept += group
            continue
        export.problems += [Problem(r.file, r.line, "subscription_id", f"subscription "
                                    f"{subscription_id!r} is described differently: {why}; "
                                    f"all its {len(group)} rows are skipped") for r in group]
    by_resource: dict[str, list[Row]] = defaultdict(list)
    for row in kept:
        by_resource[row.resource.id].append(row)
    for resource_id, group in by_resource.items():
        if len(group) > 1:
            export.problems += [Problem(r.file, r.line, "resource_id", f"resource {resource_id!r} "
                                        f"appears on {len(group)} rows "
                                        f"({', '.join(g.where for g in group)}); all are skipped")
                                for r in group]
    for row in sorted((r for r in kept if len(by_resource[r.resource.id]) == 1),
                      key=lambda r: (files.index(r.file), r.line)):
        _add(export, row)
    export.problems.sort(key=lambda p: (files.index(p.file), p.line))
    return export


def _add(export: Export, row: Row) -> None:
    account = export.accounts.setdefault(
        row.account_id, ProviderAccount(id=row.account_id, name=row.account_name))
    if account.name != row.account_name:
        export.problems.append(Problem(row.file, row.line, "account_name", f"account "
                                       f"{row.account_id!r} was named {account.name!r} before; "
                                       "keeping that name", skipped=False))
    subscription = export.subscriptions.get(row.subscription_id)
    if subscription is None:
        export.subscriptions[row.subscription_id] = Subscription(
            id=row.subscription_id, account_id=row.account_id, name=row.subscription_name,
            status=row.status or SubscriptionStatus.ACTIVE)
    elif row.status is not None and subscription.status is not row.status:
        # a status given on a later row only, the first rows leaving it empty
        export.subscriptions[row.subscription_id] = subscription.model_copy(
            update={"status": row.status})
    export.resources.setdefault(row.subscription_id, []).append(row.resource)


def read_export(settings: CsvSettings) -> Export:
    """Read every file of the export. Raises ``ConfigurationError`` for unusable files, and in
    ``strict`` mode for any bad row."""
    files = csv_files(settings.path)
    items: list[Row | Problem] = []
    for path in files:
        items += read_file(path, settings)
    export = assemble(files, items)
    if settings.strict and export.problems:
        listed = "\n  ".join(str(p) for p in export.problems[:10])
        more = len(export.problems) - 10
        raise ConfigurationError(
            f"{len(export.problems)} problem(s) in the CSV export:\n  {listed}"
            + (f"\n  ... and {more} more" if more > 0 else ""),
            hint="fix the rows, or set strict = false to skip bad rows and report them")
    return export
