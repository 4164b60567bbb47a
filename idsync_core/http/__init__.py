"""Shared HTTP plumbing for connectors: one client with retries, Retry-After, rate budgets,
per-endpoint concurrency limits, error mapping and JSON checks, paging helpers, and bearer
tokens (the OAuth 2.0 client-credentials grant among them).

Every connector builds on :class:`ApiClient` so these behaviours are written (and tested) once.
"""

from idsync_core.http.budget import ConcurrencyLimiter, RateBudget
from idsync_core.http.client import ApiClient, RetryPolicy, parse_retry_after
from idsync_core.http.oauth2 import ClientCredentials
from idsync_core.http.paging import ensure_same_origin, next_link, paginate
from idsync_core.http.tokens import BearerToken, IssuedToken, refresh_margin

__all__ = [
    "ApiClient",
    "BearerToken",
    "ClientCredentials",
    "ConcurrencyLimiter",
    "IssuedToken",
    "RateBudget",
    "RetryPolicy",
    "ensure_same_origin",
    "next_link",
    "paginate",
    "parse_retry_after",
    "refresh_margin",
]
