"""What a connector's simulator offers, so ``idsync demo`` and ``idsync simulator serve`` can
run any of them the same way.

A connector class opts in with a ``simulator`` attribute: a callable taking a seed (the parsed
JSON of the simulator's documented seed format, or None for its built-in example) and returning a
:class:`Simulator`.
"""

from __future__ import annotations

from typing import Any, Protocol

from starlette.types import ASGIApp

from idsync_core.simulation.middleware import SimulatorControls


class Simulator(Protocol):
    app: ASGIApp
    """The API, wrapped in :class:`SimulatorMiddleware`, with the ``/_sim/`` control routes."""

    controls: SimulatorControls

    def connection_settings(self, base_url: str) -> dict[str, Any]:
        """The settings table (``plugin = ...`` included) that points a connection at this
        simulator served at ``base_url``, with the credentials it accepts."""
        ...
