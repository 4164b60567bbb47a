"""Faults aimed at one exact request, and finding which request a listing sends.

The simulator's :class:`~idsync_core.simulation.Fault` matches a path *substring*, which cannot
tell Autotask's ``POST /ContractServiceAdjustments`` (a write) from
``POST /ContractServiceAdjustments/query`` (a read). :class:`PathFault` matches the whole path
against a regular expression instead; it is still a ``Fault``, so the simulator's own fault
plan applies it, consumes it and logs the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from idsync_core.simulation import Fault, LoggedRequest
from idsync_core.simulation.faults import FaultKind


@dataclass
class PathFault(Fault):
    """A :class:`Fault` for requests whose method is ``method`` and whose path (no query
    string) matches ``path_pattern`` in full."""

    path_pattern: str = ".*"

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            re.fullmatch(self.path_pattern, path) is not None
        )


def aimed_at(request: LoggedRequest, *, kind: FaultKind = "status", status: int = 500,
             retry_after: float | None = None, body: str | None = None,
             times: int = 1) -> PathFault:
    """A fault for the next ``times`` requests with this request's method and exact path.

    A 429 without ``body`` is rendered by the simulator's ``throttle_response`` (the API's own
    words, and whatever Retry-After it puts in); with a ``body`` it is plain JSON, with a
    Retry-After header only when ``retry_after`` is given.
    """
    return PathFault(kind=kind, status=status, retry_after=retry_after, body=body, times=times,
                     method=request.method, path_pattern=re.escape(request.path))


def data_request(requests: list[LoggedRequest]) -> LoggedRequest:
    """The request that fetched a listing's rows: the first request whose path the listing
    used most often (paging repeats it); the first of them when every path was used once.

    Token and discovery requests come first and are sent once, so they are not picked when the
    listing paged; when it did not, the *last* request is the data request.
    """
    if not requests:
        raise AssertionError("the listing sent no request to the simulator: is its result "
                             "cached from an earlier call, or not read over HTTP at all?")
    counts: dict[tuple[str, str], int] = {}
    for entry in requests:
        counts[(entry.method, entry.path)] = counts.get((entry.method, entry.path), 0) + 1
    best = max(counts.values())
    if best == 1:
        return requests[-1]
    return next(e for e in requests if counts[(e.method, e.path)] == best)
