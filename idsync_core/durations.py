"""Durations as operators write them: ``90s``, ``15m``, ``1h``, ``2d``.

One parser for every place that takes one (``sync --every``, ``[sync] unknown_outcome_wait``),
so they accept the same spellings and say the same thing about a bad one.
"""

from __future__ import annotations

import re
from datetime import timedelta

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"\s*(\d+)\s*([smhd])\s*")


def parse_duration(text: str) -> timedelta:
    """``15m`` → 15 minutes. Raises ``ValueError`` naming the accepted forms."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 90s, 15m, 1h or 1d")
    return timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])


def format_duration(duration: timedelta) -> str:
    """The shortest exact spelling: 900 s → ``15m``, 5400 s → ``90m``, 45 s → ``45s``."""
    seconds = int(duration.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds and seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]}{unit}"
    return f"{seconds}s"
