"""What a connector author tells the conformance suite: :class:`SuiteConfig` and its parts.

Everything has a default except the plugin's name, but a connector passes only when the author
tells the suite what its seed holds: a tenant larger than a page for *every* listing
(:class:`LargeTenant`), rows whose quantities, statuses and prices are known (:class:`Known`),
and, for an API with tokens, the token request (:class:`TokenRequest`). The suite skips a check
only for a reason it can state: the author declared the capability missing (``missing``), or the
check cannot apply (no HTTP, an optional hook not implemented). A check that needs something the
author did not provide *fails* with a message saying what to add, so nothing is skipped by
omission.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from idsync_core.simulation import Simulator
from idsync_core.testing.clock import SuiteClock

CAPABILITIES: dict[str, str] = {
    "auth": "refused credentials (or unusable settings) raise ConfigurationError",
    "paging": "listings return every row of a tenant larger than one page",
    "search": "the `search` parameter of the listings filters by name",
    "not_found": "an unknown id raises NotFoundError",
    "decrease": "a negative delta can be posted (PSA)",
    "find_adjustment": "idsync_find_adjustment finds a posting by its marker (PSA; skipped "
                       "anyway when the optional hook is not implemented)",
    "retry_after": "a 429 answer's Retry-After is waited for, as long as it asks (on the suite's "
                   "clock), then the read succeeds (HTTP)",
    "backoff": "a 429 answer without Retry-After is waited out with a bounded backoff, then the "
               "read succeeds (HTTP)",
    "token_renewal": "a token the API refuses (401) after it worked is renewed once and the "
                     "request repeated; a token is replaced before its lifetime ends (HTTP)",
    "statuses": "subscription (provider) or agreement (PSA) statuses read as the seed has them "
                "(SuiteConfig.known)",
    "prices": "unit prices and costs read as the seed has them, not swapped "
              "(SuiteConfig.known)",
    "retries": "a 5xx answer to a read is retried (HTTP)",
    "html_errors": "an HTML page instead of JSON is a clear ApiError (HTTP)",
    "lost_answer": "a write whose answer is lost raises OutcomeUnknownError and is not "
                   "repeated (HTTP, PSA)",
}
"""The capabilities a connector may declare missing in ``SuiteConfig.missing``, with what each
check verifies. Declaring one skips its checks with the reason given."""

LISTING_HOOKS: dict[str, tuple[str, ...]] = {
    "psa": ("list_companies", "list_agreements", "list_lines", "list_catalog"),
    "provider": ("list_accounts", "list_subscriptions", "list_resources"),
}

SettingsFactory = Callable[[Path, Any], Mapping[str, Any]]
"""``(directory, seed) -> settings table``: builds a connector's world without HTTP (writes its
files into ``directory``) and returns the settings that point a connection at it."""

SimulatorFactory = Callable[[Any], Simulator]
"""``(seed) -> Simulator``, the shape of a connector class's ``simulator`` attribute."""

ConnectorFactory = Callable[[Any, SuiteClock], object]
"""``(settings, clock) -> connector``: builds the connector with the suite's ``clock.sleep`` and
``clock.monotonic``, for a connector class that does not take ``sleep=`` and ``clock=``."""

KNOWN_FIELDS: dict[str, str] = {
    "quantity": "quantities", "seat_based": "quantities", "status": "statuses",
    "unit_price": "prices", "unit_cost": "prices", "price": "prices", "cost": "prices"}
"""The fields a :class:`Known` row may name, and the check that compares each."""


@dataclass(frozen=True)
class SampleIds:
    """Ids the suite reads (and, for a PSA, posts to). None: the suite picks from the listings.

    For a PSA, ``agreement_id``/``catalog_item_id`` choose where the posting checks post: pick an
    active agreement and a catalog item the PSA accepts on it.
    """

    account_id: str | None = None
    subscription_id: str | None = None
    company_id: str | None = None
    agreement_id: str | None = None
    catalog_item_id: str | None = None


class _Call:
    """A listing call: ``hook`` (the facade method, ``list_accounts``; the ``idsync_`` prefix
    is accepted too) with keyword arguments ``args`` (``as_of`` as a ``date`` for
    ``list_lines``)."""

    hook: str
    args: Mapping[str, Any]

    @property
    def method(self) -> str:
        return self.hook.removeprefix("idsync_")

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.method}({args})"


@dataclass(frozen=True)
class Listing(_Call):
    """One listing call and how many rows it must return, e.g.
    ``Listing("list_subscriptions", 1200, {"account_id": "A-1"})``."""

    hook: str
    expected: int
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Known(_Call):
    """A row of the seed and what the connector must report for it, e.g.
    ``Known("list_resources", {"subscription_id": "S-1"}, "S-1:CFQ7TTC0LH16",
    {"quantity": 8, "unit_price": "4.80", "unit_cost": "4.00"})``.

    ``values`` names fields of the row's model (see :data:`KNOWN_FIELDS`) with the value the
    seed gives them, in any form the model accepts (``"4.80"``, ``8``, ``"terminated"``). Rows
    are read from the default world (``SuiteConfig.seed``). Shape checks cannot tell a quantity
    read from one reported as 0, an active subscription from a cancelled one, or a price from a
    cost; these can.
    """

    hook: str
    args: Mapping[str, Any]
    id: str
    values: Mapping[str, Any]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.values) - set(KNOWN_FIELDS))
        if unknown or not self.values:
            raise ValueError(f"Known row {self.id!r}: values may name {sorted(KNOWN_FIELDS)}; "
                             f"got {sorted(self.values)}")


@dataclass(frozen=True)
class LargeTenant:
    """A seed bigger than the API's page size, and the listings that must come back whole.

    With a simulator, each listing must also have taken at least ``min_requests`` requests,
    which proves the seed really spans more than one page (set it to 1 for an API that returns
    everything at once; then say so).
    """

    seed: Any
    listings: Sequence[Listing]
    min_requests: int = 2
    unpaged: Mapping[str, str] = field(default_factory=dict)
    """Listings that are not paged, each with the reason (``{"list_resources": "one GET of the
    subscription returns every product line"}``). Every listing hook of the connector must be
    either in ``listings`` or here."""

    def __post_init__(self) -> None:
        if not self.listings:
            raise ValueError("LargeTenant needs at least one Listing to check")
        blank = sorted(name for name, reason in self.unpaged.items() if not reason.strip())
        if blank:
            raise ValueError(f"LargeTenant.unpaged needs a reason for {blank}")
        both = sorted({listing.method for listing in self.listings} & {
            name.removeprefix("idsync_") for name in self.unpaged})
        if both:
            raise ValueError(f"LargeTenant lists {both} both as paged listings and as unpaged")

    @property
    def covered(self) -> set[str]:
        """The listing methods the large-tenant check covers or the author declared unpaged."""
        return ({listing.method for listing in self.listings}
                | {name.removeprefix("idsync_") for name in self.unpaged})


@dataclass(frozen=True)
class RequestPattern:
    """An HTTP request: its method and a regular expression its *path* (no query string)
    matches in full."""

    method: str
    path: str

    def __post_init__(self) -> None:
        re.compile(self.path)

    def matches(self, method: str, path: str) -> bool:
        return method.upper() == self.method.upper() and re.fullmatch(self.path, path) is not None


@dataclass(frozen=True)
class WriteRequest(RequestPattern):
    """The request that writes a posting, e.g.
    ``WriteRequest("POST", r".*/agreements/\\d+/additions")``. The lost-answer check drops the
    answer to exactly this request."""


@dataclass(frozen=True)
class TokenRequest(RequestPattern):
    """The request that fetches an access token, e.g. ``TokenRequest("POST", r"/v1/token")``.
    The token checks count it: one renewal after a 401, one before the lifetime ends."""


@dataclass(frozen=True)
class SuiteConfig:
    """How to run the conformance suite on one connector.

    ``plugin``: the entry-point name (``plugin = "..."`` in idsync.toml).

    Where the connector's API comes from, one of:

    * a simulator (default: the connector class's ``simulator`` attribute, or ``simulator=``,
      e.g. :class:`~idsync_core.testing.ReplaySimulator` for recorded responses), given
      ``seed`` (None: the simulator's built-in example), served on 127.0.0.1;
    * ``settings=``, for a connector without HTTP (files, a local database): a callable
      ``(directory, seed) -> settings table``. HTTP-level checks are then skipped as not
      applicable.

    How the suite builds the connector: with the suite's clock (:class:`SuiteClock`) when the
    connector class takes ``sleep=`` and ``clock=`` keyword arguments, else with ``connector=``,
    a ``(settings, clock) -> connector`` factory. The checks of waits and token lifetimes need
    it, and it keeps every other check from sleeping for real.

    What the seed holds: ``large_tenant`` (every listing across pages), ``known`` (rows and the
    quantities, statuses and prices they must read as), ``token_request`` (the request that
    fetches a token, for the token checks), ``write_request`` (lost-answer check).

    The rest tunes the checks: ``ids`` (what to read and post to), ``bad_settings`` (overrides
    that make the settings wrong; with a simulator the default replaces every ``SecretStr``
    setting), ``effective_date`` of test postings (default: today, or the agreement's start if
    later), ``missing`` (capability name → reason, see :data:`CAPABILITIES`), ``unknown_id`` (an
    id that exists nowhere), ``retry_after`` (seconds the injected 429 asks for, on the suite's
    clock: 17 by default, a wait no client's default backoff happens to equal),
    ``max_parents`` (how many accounts/companies and subscriptions/agreements to read children
    of).
    """

    plugin: str
    seed: Any = None
    simulator: SimulatorFactory | None = None
    settings: SettingsFactory | None = None
    ids: SampleIds = field(default_factory=SampleIds)
    connector: ConnectorFactory | None = None
    large_tenant: LargeTenant | None = None
    known: Sequence[Known] = ()
    token_request: TokenRequest | None = None
    bad_settings: Mapping[str, Any] | None = None
    write_request: WriteRequest | None = None
    effective_date: date | None = None
    missing: Mapping[str, str] = field(default_factory=dict)
    unknown_id: str = "999999937"
    retry_after: int = 17
    max_parents: int = 3

    @property
    def http(self) -> bool:
        """True when the connector is reached over HTTP (a simulator), not a settings factory."""
        return self.settings is None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.missing) - set(CAPABILITIES))
        if unknown:
            raise ValueError(f"SuiteConfig.missing names unknown capabilities {unknown}; "
                             f"known: {', '.join(CAPABILITIES)}")
        blank = sorted(name for name, reason in self.missing.items() if not reason.strip())
        if blank:
            raise ValueError(f"SuiteConfig.missing needs a reason for {blank}")
        if self.simulator is not None and self.settings is not None:
            raise ValueError("SuiteConfig takes a simulator or a settings factory, not both")
        if self.retry_after < 1:
            raise ValueError("retry_after must be at least 1 second (Retry-After is whole "
                             "seconds)")
        if self.max_parents < 1:
            raise ValueError("max_parents must be at least 1")
