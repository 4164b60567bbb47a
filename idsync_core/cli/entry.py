"""The ``idsync`` console entry point, kept apart from the app so it imports nothing slow
before the signal handlers are in place (:mod:`idsync_core.cli.signals`)."""

from __future__ import annotations

from idsync_core.cli import signals


def run() -> None:
    signals.install()
    from idsync_core.cli.main import app

    app()
