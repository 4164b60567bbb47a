"""Shared pieces for the API simulators that ship with each connector.

A simulator is a stateful Starlette app speaking one API's real wire format. These pieces give
every simulator the same operator controls: a request log, injectable faults and latency, a
server-side rate limit, control routes under ``/_sim/``, JSON seeding, and a loopback server.
"""

from idsync_core.simulation.base import Simulator
from idsync_core.simulation.faults import Fault, FaultPlan
from idsync_core.simulation.middleware import SimulatorControls, SimulatorMiddleware
from idsync_core.simulation.requestlog import LoggedRequest, RequestLog
from idsync_core.simulation.server import ServerThread

__all__ = [
    "Fault",
    "FaultPlan",
    "LoggedRequest",
    "RequestLog",
    "ServerThread",
    "Simulator",
    "SimulatorControls",
    "SimulatorMiddleware",
]
