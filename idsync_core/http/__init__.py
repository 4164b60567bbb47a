"""Shared HTTP plumbing for connectors: one client with retries, Retry-After, rate budgets,
per-endpoint concurrency limits, error mapping and JSON checks, plus paging helpers.

Every connector builds on :class:`ApiClient` so these behaviours are written (and tested) once.
"""

from idsync_core.http.budget import ConcurrencyLimiter, RateBudget
from idsync_core.http.client import ApiClient, RetryPolicy, parse_retry_after
from idsync_core.http.paging import ensure_same_origin, next_link, paginate

__all__ = [
    "ApiClient",
    "ConcurrencyLimiter",
    "RateBudget",
    "RetryPolicy",
    "ensure_same_origin",
    "next_link",
    "paginate",
    "parse_retry_after",
]
