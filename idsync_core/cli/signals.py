"""Stop requests (SIGTERM, Ctrl-C) from the first instant of the process.

The handlers are installed by the entry point *before* the CLI's imports, so a service manager's
SIGTERM that arrives while IDSync is still starting is not lost to Python's default action
(death by signal, an exit status of -15). Three phases:

* **starting** (imports, option parsing): a signal is recorded; the command then stops before
  it does anything (:func:`stopped_before_starting`);
* **a command that can stop between postings** (``sync``, ``apply``, ``retry``, inside
  :func:`graceful`): the first signal lets the postings in flight finish and starts no new one;
  a second one aborts;
* **any other command**: a signal interrupts it at once, like Ctrl-C.

Only the standard library is imported here: this module runs before everything else.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGTERM, signal.SIGINT)

stop_requested = threading.Event()
"""Set by the first SIGTERM or Ctrl-C; a graceful command checks it between postings."""

_phase = "starting"
_received: list[int] = []


def _on_signal(signum: int, _frame: object) -> None:
    _received.append(signum)
    if _phase == "starting":
        stop_requested.set()
    elif _phase == "graceful" and not stop_requested.is_set():
        stop_requested.set()
        print("stopping after the postings in flight (again to abort)…", file=sys.stderr)
    else:
        raise KeyboardInterrupt


def install() -> None:
    """Record stop requests from now on (the entry point calls it first thing)."""
    for sig in SIGNALS:
        signal.signal(sig, _on_signal)


def stopped_before_starting() -> int | None:
    """Leave the starting phase; return the exit code to stop with when a signal came first
    (0 for SIGTERM, a clean stop; 130 for Ctrl-C), else None and the command runs."""
    global _phase
    _phase = "running"
    if not stop_requested.is_set():
        return None
    return 130 if signal.SIGINT in _received else 0


@contextmanager
def graceful() -> Iterator[threading.Event]:
    """Within: a stop request finishes the postings in flight and starts no new one."""
    global _phase
    previous, _phase = _phase, "graceful"
    try:
        yield stop_requested
    finally:
        _phase = previous
