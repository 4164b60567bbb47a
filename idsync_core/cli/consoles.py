"""The two Rich consoles: stdout for data, stderr for everything else.

Neither reads markup or emoji codes: text built from data (a ``[providers.NAME]`` table, an id in
brackets, a ``:colon:`` word) prints exactly as written; styles are applied with
:class:`rich.text.Text`. Neither wraps lines: a terminal wraps them itself, and a log file keeps
each message on one line.
"""

from __future__ import annotations

from rich.console import Console

out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)
