"""What IDSync says on stderr — messages for the operator and log records — in one of three forms.

* **A terminal**: ``error: …``, ``hint: …``, ``warning: …`` in colour; log records with their time.
* **Not a terminal** (cron's ``>> /var/log/idsync.log 2>&1``, a systemd journal): plain text, and
  every line starts with its ISO 8601 timestamp, so the log says when each run said what.
* **``--log-format json``**: one JSON object per line (``time``, ``level``, ``logger``,
  ``message`` and, when there is one, ``hint``) for log shippers.

Messages for the operator are records of the ``idsync.operator`` logger, always shown. The other
records come from each module's own logger: ``--verbose`` shows INFO (connections opened, each
listing with its row count, the engine's changes and postings), ``--debug`` adds DEBUG (every
HTTP request: method, path, status and time — never headers or bodies, which carry secrets).

Text is never read as Rich markup: a message built from data (a ``[providers.NAME]`` table, an
id in brackets) prints exactly as written.
"""

from __future__ import annotations

import enum
import json
import logging
import sys
from datetime import datetime

from rich.text import Text

from idsync_core.cli.consoles import err

OPERATOR = logging.getLogger("idsync.operator")
STYLES = {"error": "bold red", "internal error": "bold red", "failed": "red",
          "hint": "yellow", "warning": "yellow", "not reconciled": "yellow"}
NOISY = ("httpx", "httpcore", "alembic", "uvicorn", "uvicorn.access", "uvicorn.error")


class LogFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


def error(message: str, *, hint: str | None = None, label: str = "error",
          traceback: bool = False) -> None:
    """An error for the operator (``label`` names it: error, internal error, failed, …);
    ``traceback``: with the one being handled (``--debug``)."""
    OPERATOR.error(message, extra={"label": label, "hint": hint}, exc_info=traceback)


def warning(message: str, *, label: str = "warning") -> None:
    OPERATOR.warning(message, extra={"label": label, "hint": None})


def notice(message: str) -> None:
    """A line of progress for the operator that is not data (``plan saved to …``)."""
    OPERATOR.info(message, extra={"label": None, "hint": None})


def timestamp(created: float) -> str:
    return datetime.fromtimestamp(created).astimezone().isoformat(timespec="seconds")


class StderrHandler(logging.Handler):
    """Writes every record to stderr in the form chosen for this invocation (module doc)."""

    def __init__(self, log_format: LogFormat) -> None:
        super().__init__()
        self.log_format = log_format

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.log_format is LogFormat.JSON:
                self._emit_json(record)
            elif err.is_terminal:
                self._emit_terminal(record)
            else:
                self._emit_plain(record)
        except Exception:  # logging must never take the command down
            self.handleError(record)

    @staticmethod
    def _parts(record: logging.LogRecord) -> list[tuple[str | None, str]]:
        """(label, text) of each line: the message, then its hint."""
        if record.name == OPERATOR.name:
            label = getattr(record, "label", None)
        else:
            label = {"DEBUG": "debug", "INFO": None}.get(record.levelname,
                                                         record.levelname.lower())
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        parts: list[tuple[str | None, str]] = [(label, text)]
        hint = getattr(record, "hint", None)
        if hint:
            parts.append(("hint", hint))
        return parts

    def _emit_json(self, record: logging.LogRecord) -> None:
        entry = {"time": timestamp(record.created), "level": record.levelname.lower(),
                 "logger": record.name, "message": record.getMessage()}
        hint = getattr(record, "hint", None)
        if hint:
            entry["hint"] = hint
        if record.exc_info:
            entry["traceback"] = logging.Formatter().formatException(record.exc_info)
        sys.stderr.write(json.dumps(entry, ensure_ascii=False) + "\n")
        sys.stderr.flush()

    def _emit_terminal(self, record: logging.LogRecord) -> None:
        when = "" if record.name == OPERATOR.name else \
            datetime.fromtimestamp(record.created).strftime("%H:%M:%S ")
        for label, text in self._parts(record):
            line = Text(when, style="dim")
            if label:
                line.append(f"{label}: ", style=STYLES.get(label, "bold"))
            line.append(text)
            err.print(line)

    def _emit_plain(self, record: logging.LogRecord) -> None:
        when = timestamp(record.created)
        lines = []
        for label, text in self._parts(record):
            first, *rest = text.splitlines() or [""]
            lines.append(f"{when} {label + ': ' if label else ''}{first}")
            lines += [f"{when}   {line}" for line in rest]
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()


def configure(*, verbose: bool, debug: bool, log_format: LogFormat) -> None:
    """Route every record to stderr; ``--verbose`` shows INFO, ``--debug`` DEBUG too."""
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, handlers=[StderrHandler(log_format)], force=True)
    OPERATOR.setLevel(logging.INFO)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
