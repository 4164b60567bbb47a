"""The connector contract: one documented pluggy hook per operation.

A connector is a class, published under the entry-point group ``idsync``. IDSync builds one
instance per configured connection (from that connection's validated settings) and registers it
in a plugin manager of its own, so every hook below is answered by exactly one connector:
``firstresult=True`` returns that connector's value. Cross-cutting wrappers (metrics, the dry-run
guard) are registered beside it with ``wrapper=True``.

Rules every implementation follows:

* Return domain models from :mod:`idsync_core.models`, never raw JSON.
* Listing hooks return an *iterable* and may stream (a generator), so memory stays flat on large
  tenants; they return *everything*, following every page of the API.
* Failures raise the errors of :mod:`idsync_core.errors`: ``ConfigurationError`` when credentials
  or settings are wrong (naming the setting to check), ``NotFoundError`` for an unknown id,
  ``ApiError`` (or a subclass) when the remote API fails after retries.
* Hooks evolve by *adding* parameters only; pluggy lets an implementation accept a subset of a
  hook's parameters, so older connectors keep working.

The full guide, with a worked example for each hook, is ``docs/writing-a-connector.md``; a test
keeps it in step with this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pluggy

from idsync_core.models import (
    Adjustment,
    Agreement,
    AgreementLine,
    CatalogItem,
    Company,
    PostedAdjustment,
    ProviderAccount,
    Resource,
    Subscription,
)

PROJECT_NAME = "idsync"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class CommonSpecs:
    """Hooks every connector, PSA or provider, implements."""

    @hookspec(firstresult=True)
    def idsync_check(self) -> str:
        """Prove the connection works: reach the API and authenticate.

        Returns one line for the operator, e.g. ``"ConnectWise 2025.1 at api-na.myconnectwise.net
        as acme"``. Raises ``ConfigurationError`` when credentials are refused and ``ApiError``
        when the API cannot be reached. Never include a secret in the line.
        """

    @hookspec
    def idsync_close(self) -> None:
        """Release what the connection holds (HTTP clients, files). Called once, at the end."""


class PsaSpecs:
    """Hooks a PSA connector (ConnectWise, Autotask, ...) implements."""

    @hookspec(firstresult=True)
    def idsync_list_companies(self, search: str | None) -> Iterable[Company]:
        """Every customer company that is not deleted (or only those whose name contains
        ``search``, case-insensitively). All pages, in a stable order.
        """

    @hookspec(firstresult=True)
    def idsync_list_agreements(self, company_id: str) -> Iterable[Agreement]:
        """Every agreement (ConnectWise) or recurring contract (Autotask) of one company,
        including expired ones: the engine filters. Raises ``NotFoundError`` for an unknown
        company.
        """

    @hookspec(firstresult=True)
    def idsync_list_lines(self, agreement_id: str, as_of: date) -> Iterable[AgreementLine]:
        """One line per catalog product on the agreement, with its quantity as of ``as_of``.

        The quantity is what the PSA bills on that date (ConnectWise: the sum of that product's
        additions active on the date; Autotask: the units of the period row covering it), so it
        must be read from the PSA, never from a local counter. ``unit_price``/``unit_cost`` are
        those of the product's first line by sequence. Raises ``NotFoundError`` for an unknown
        agreement.
        """

    @hookspec(firstresult=True)
    def idsync_list_catalog(
        self, search: str | None, ids: list[str] | None
    ) -> Iterable[CatalogItem]:
        """Catalog products/services, inactive ones included (``active=False``).

        ``search`` matches identifier or name; ``ids`` restricts to those ids (unknown ids are
        simply absent from the result). Both None: the whole catalog, every page.
        """

    @hookspec(firstresult=True)
    def idsync_post_adjustment(self, adjustment: Adjustment) -> PostedAdjustment:
        """Post one quantity change and confirm it.

        Adds ``adjustment.delta`` units (signed) of the catalog item to the agreement from
        ``adjustment.effective_date`` at the given price and cost, writes
        ``adjustment.marker`` into a free-text field where the API has one, then re-reads the
        line and returns the quantity found as of the effective date. Must not retry a request
        whose outcome is unknown: raise ``OutcomeUnknownError`` instead, and the engine re-reads
        before deciding anything. Raises ``RejectedError`` when the PSA refuses the change.
        """

    @hookspec(firstresult=True)
    def idsync_find_adjustment(self, adjustment: Adjustment) -> PostedAdjustment | None:
        """Optional: find an earlier posting of this exact change by its marker.

        Used after a crash left a journal entry ``pending``. Return None when the API cannot
        search records (the engine then decides from the quantity alone) or nothing carries the
        marker.
        """


    @hookspec(firstresult=True)
    def idsync_undo_duplicate(self, adjustment: Adjustment, record_id: str) -> PostedAdjustment:
        """Optional: make one record IDSync wrote twice bill nothing; for connectors that
        report :attr:`AgreementLine.marked`.

        ``record_id`` is the extra record (one of two carrying one marker; the engine keeps the
        oldest). ``adjustment`` describes the compensation: ``delta`` is minus the record's
        quantity, ``effective_date`` the record's own, and its ``marker`` replaces the record's
        marker, so the record no longer counts as a duplicate and a crash in the middle is
        settled by the marker like any posting (ConnectWise: the addition is cancelled from its
        own effective date). Must be idempotent; returns the quantity as of the effective date.
        """


class ProviderSpecs:
    """Hooks a provider connector (Ingram Micro marketplace, Odin, a CSV export, ...) implements."""

    @hookspec(firstresult=True)
    def idsync_list_accounts(self, search: str | None) -> Iterable[ProviderAccount]:
        """Every customer account (or those whose name contains ``search``), all pages."""

    @hookspec(firstresult=True)
    def idsync_list_subscriptions(self, account_id: str) -> Iterable[Subscription]:
        """Every subscription of the account, whatever its status (terminated ones included, so
        the engine can bring their lines to 0). Raises ``NotFoundError`` for an unknown account.
        """

    @hookspec(firstresult=True)
    def idsync_list_resources(self, subscription_id: str) -> Iterable[Resource]:
        """Every product line of the subscription with its current quantity, each with an id that
        stays the same from run to run. Lines without a seat count have ``seat_based=False``.
        Raises ``NotFoundError`` for an unknown subscription.
        """


ALL_SPECS = (CommonSpecs, PsaSpecs, ProviderSpecs)
PSA_HOOKS = ("idsync_check", "idsync_list_companies", "idsync_list_agreements",
             "idsync_list_lines", "idsync_list_catalog", "idsync_post_adjustment")
PROVIDER_HOOKS = ("idsync_check", "idsync_list_accounts", "idsync_list_subscriptions",
                  "idsync_list_resources")
"""The hooks a connector of each kind must implement; the others are optional."""
