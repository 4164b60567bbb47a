"""The suggestion file: what ``idsync suggest`` writes and ``idsync link --accept`` reads.

It is meant to be reviewed and edited by a person, in a spreadsheet (CSV) or an editor (JSON):
flip ``accepted``, change ``target_id`` to another candidate, set a price source. Reading is
strict about what linking needs (a known level, an id, a target for every accepted row, numbers
that are numbers) and names the row at fault; everything else (names, reasons, scores) is for
the reader and ignored.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from idsync_core.engine import pricing
from idsync_core.engine.onboarding.suggest import Candidate, Level, Status, Suggestion, Suggestions
from idsync_core.engine.pricing import PriceChoice

COLUMNS = ("level", "provider", "id", "name", "parent_id", "target_id", "target_name", "score",
           "status", "accepted", "reason", "candidates", "price_source", "price", "cost",
           "markup")
TRUE = {"true", "yes", "y", "1", "x"}
FALSE = {"false", "no", "n", "0", ""}


class SuggestionFileError(ValueError):
    """The file cannot be linked from; the message names the row and the field."""


def record(row: Suggestion) -> dict[str, Any]:
    price = row.price
    return {
        "level": row.level.value, "provider": row.provider, "id": row.id, "name": row.name,
        "parent_id": row.parent_id, "target_id": row.target_id or "",
        "target_name": row.target_name,
        "score": "" if row.score is None else f"{row.score:.2f}",
        "status": row.status.value, "accepted": row.accepted, "reason": row.reason,
        "candidates": [{"id": c.id, "name": c.name, "score": f"{c.score:.2f}"}
                       for c in row.candidates],
        "price_source": price.kind.value if price else "",
        "price": _text(price.price if price else None),
        "cost": _text(price.cost if price else None),
        "markup": _text(price.markup_percent if price else None),
    }


def _text(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def document(suggestions: Suggestions, generated_at: str) -> dict[str, Any]:
    return {"provider": suggestions.provider, "generated_at": generated_at,
            "counts": suggestions.counts(), "unreadable": suggestions.unreadable,
            "rows": [record(row) for row in suggestions.rows]}


def to_json(suggestions: Suggestions, generated_at: str) -> str:
    return json.dumps(document(suggestions, generated_at), indent=2, ensure_ascii=False) + "\n"


def to_csv(rows: Iterable[Suggestion]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        flat = record(row)
        flat["accepted"] = "yes" if row.accepted else "no"
        flat["candidates"] = "; ".join(f"{c['id']} {c['name']} ({c['score']})"
                                       for c in flat["candidates"])
        writer.writerow(flat)
    return buffer.getvalue()


def read(path: Path) -> list[Suggestion]:
    """The rows of a suggestion file (JSON or CSV, by its content)."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet may add a BOM
    except OSError as exc:
        raise SuggestionFileError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SuggestionFileError(f"{path} is not UTF-8 text") from None
    if text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SuggestionFileError(f"{path} is not valid JSON: {exc}") from None
        raw = data.get("rows") if isinstance(data, dict) else data
        if not isinstance(raw, list):
            raise SuggestionFileError(f"{path}: no `rows` list")
        return [parse(item, n) for n, item in enumerate(raw, 1)]
    reader = csv.DictReader(io.StringIO(text))
    missing = {"level", "id", "target_id", "accepted"} - set(reader.fieldnames or [])
    if missing:
        raise SuggestionFileError(f"{path}: no column {', '.join(sorted(missing))} (is it a file "
                                  "written by `idsync suggest --csv`?)")
    return [parse(item, n) for n, item in enumerate(reader, 2)]


def parse(item: object, number: int) -> Suggestion:
    where = f"row {number}"
    if not isinstance(item, dict):
        raise SuggestionFileError(f"{where} is not an object")

    def field(name: str) -> str:
        value = item.get(name)
        return "" if value is None else str(value).strip()

    try:
        level = Level(field("level"))
    except ValueError:
        raise SuggestionFileError(f"{where}: level {field('level')!r} is not one of company, "
                                  "subscription, resource") from None
    accepted_text = field("accepted").lower()
    if accepted_text not in TRUE | FALSE:
        raise SuggestionFileError(f"{where}: accepted {field('accepted')!r} is not yes or no")
    row = Suggestion(level, field("provider"), field("id"), field("name"), field("parent_id"),
                     field("target_id") or None, field("target_name"),
                     accepted=accepted_text in TRUE, reason=field("reason"))
    if not row.id:
        raise SuggestionFileError(f"{where}: no id")
    row.status = Status.ACCEPTED if row.accepted else Status.REVIEW
    if row.accepted and not row.target_id:
        raise SuggestionFileError(f"{where} ({row.id}) is accepted but has no target_id")
    if row.accepted and level is not Level.COMPANY and not row.parent_id:
        raise SuggestionFileError(f"{where} ({row.id}) is accepted but has no parent_id")
    row.price = price_choice(field("price_source"), field("price"), field("cost"),
                             field("markup"), where)
    row.candidates = [Candidate(str(c.get("id", "")), str(c.get("name", "")), 0.0)
                      for c in item.get("candidates") or [] if isinstance(c, dict)] \
        if isinstance(item.get("candidates"), list) else []
    return row


def price_choice(kind: str, price: str, cost: str, markup: str,
                 where: str) -> PriceChoice | None:
    if not (kind or price or cost or markup):
        return None
    try:
        source = pricing.PriceSourceKind(kind or ("markup" if markup else "custom"))
    except ValueError:
        raise SuggestionFileError(f"{where}: price_source {kind!r} is not one of "
                                  + ", ".join(k.value for k in pricing.PriceSourceKind)) from None
    return PriceChoice(source, _number(price, "price", where),
                               _number(cost, "cost", where), _number(markup, "markup", where))


def _number(text: str, name: str, where: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise SuggestionFileError(f"{where}: {name} {text!r} is not a number") from None
    if not value.is_finite():
        raise SuggestionFileError(f"{where}: {name} {text!r} is not a number")
    return value
