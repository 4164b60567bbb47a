"""What both backends share: the rules that turn provider data into IDSync's answers.

A backend (marketplace or APS) only knows its wire format: how to list customers, list one
customer's subscriptions and read one subscription's product lines. This base class adds the
rules that must not differ between them:

* the account search (case-insensitive "name contains", applied here because neither API's own
  name filter is documented precisely enough to rely on);
* each subscription's lines are read once for all who ask while they are among the last 64 read
  (:class:`OnceCache`): the engine asks once per subscription and run and keeps the answer while
  it plans from it, so a larger cache would only hold a sync's memory up;
* a terminated subscription bills nothing: its seat-based lines report quantity 0, whatever the
  provider still shows;
* a line id appearing twice in one subscription is ambiguous: every line with it is skipped
  with a warning, so IDSync reports "resource no longer listed" instead of posting a guess.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator
from decimal import Decimal

from idsync_core.caching import OnceCache
from idsync_core.models import ProviderAccount, Resource, Subscription, SubscriptionStatus
from idsync_odin.rows import log


class Backend(ABC):
    """One provider API behind the ``odin`` connector."""

    def __init__(self) -> None:
        self._lines: OnceCache[str, list[Resource]] = OnceCache()

    # -- what a backend implements ----------------------------------------------------------

    @abstractmethod
    def check(self) -> str:
        """Authenticate and reach the API; one line for the operator."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def fetch_accounts(self) -> Iterable[ProviderAccount]:
        """Every customer account, all pages, odd rows already skipped."""

    @abstractmethod
    def fetch_subscriptions(self, account_id: str) -> Iterable[Subscription]:
        """Every subscription of the account whatever its status; NotFoundError if unknown."""

    @abstractmethod
    def fetch_lines(self, subscription_id: str) -> tuple[SubscriptionStatus | None,
                                                         list[Resource]]:
        """The subscription's status (None when the API did not say) and its product lines
        as the provider reports them; NotFoundError for an unknown subscription."""

    # -- the shared rules -------------------------------------------------------------------

    def accounts(self, search: str | None) -> Iterator[ProviderAccount]:
        needle = (search or "").strip().casefold()
        for account in self.fetch_accounts():
            if needle in account.name.casefold():
                yield account

    def subscriptions(self, account_id: str) -> Iterator[Subscription]:
        return iter(self.fetch_subscriptions(account_id))

    def resources(self, subscription_id: str) -> list[Resource]:
        return self._lines.get(subscription_id, lambda: self._settle(subscription_id))

    def _settle(self, subscription_id: str) -> list[Resource]:
        status, lines = self.fetch_lines(subscription_id)
        counts = Counter(line.id for line in lines)
        for line_id, count in counts.items():
            if count > 1:
                log.warning("skipping %d lines of subscription %s that share the id %s: "
                            "which one is billed is ambiguous", count, subscription_id, line_id)
        unique = [line for line in lines if counts[line.id] == 1]
        if status is SubscriptionStatus.TERMINATED:
            return [line.model_copy(update={"quantity": Decimal(0)}) if line.seat_based else line
                    for line in unique]
        return unique
