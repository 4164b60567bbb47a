"""``python -m idsync_core`` runs the ``idsync`` command."""

from idsync_core.cli.entry import run

run()
