"""Backend ``marketplace``: customers, subscriptions and product lines from Ingram's API."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from urllib.parse import urlsplit

from idsync_core.caching import ParentIndex
from idsync_core.http.wiring import REAL, Wiring
from idsync_core.models import ProviderAccount, Resource, Subscription, SubscriptionStatus
from idsync_odin.backend import Backend
from idsync_odin.marketplace import mapping
from idsync_odin.marketplace.client import MarketplaceClient
from idsync_odin.rows import describe, keep_good, log
from idsync_odin.settings import OdinSettings


class MarketplaceBackend(Backend):
    def __init__(
        self,
        settings: OdinSettings,
        *,
        wiring: Wiring = REAL,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.client = MarketplaceClient(settings, wiring=wiring)
        self._by_account: ParentIndex[Subscription] = ParentIndex(self._every_subscription)

    def check(self) -> str:
        total = self.client.total("/customers")
        customers = f"{total} customers" if total is not None else "customers readable"
        host = urlsplit(self.settings.base_url).netloc
        return (f"Ingram Micro Cloud Marketplace at {host} (marketplace "
                f"{self.settings.marketplace}) as {self.settings.username}: {customers}")

    def close(self) -> None:
        self.client.close()

    def fetch_accounts(self) -> Iterator[ProviderAccount]:
        return keep_good(self.client.list_all("/customers"), mapping.account,
                         lambda row: describe("Ingram customer", row, "id", "name"))

    def fetch_subscriptions(self, account_id: str) -> Iterator[Subscription]:
        """One listing per status: ``status`` takes a single value (a list is refused with
        400), and which statuses an unfiltered listing returns is not documented. A
        subscription that changes status between two listings is reported once.

        The first account asked for is listed with ``customerId`` (6 requests: the customer,
        then one listing per status). From the second one on, the connector lists the
        reseller's subscriptions of every customer once per status instead (500 a page) and
        answers every account from that: a sync asks for every linked account, and per-account
        listings would cost 6 requests each where the whole tenant costs 5 + 1 per 500
        subscriptions. Like the detail cache it lives as long as the connector instance, i.e.
        one run. An account without subscriptions there is checked with ``GET /customers/{id}``
        (unknown: NotFoundError)."""
        indexed = self._by_account.lookup(account_id)
        if indexed is not None:
            if not indexed:
                self.client.customer(account_id)  # NotFoundError now for an unknown account
            return iter(indexed)
        self.client.customer(account_id)  # NotFoundError now, not at the first row
        return self._subscriptions(account_id)

    def _every_subscription(self) -> list[tuple[str, Subscription]] | None:
        """Every subscription of the reseller with its customer id, or None when a row names
        no customer (it could not be placed; per-account listings are used instead)."""
        found: list[tuple[str, Subscription]] = []
        seen: set[str] = set()
        for status in mapping.STATUSES:
            for row in self.client.list_all("/subscriptions", {"status": status}):
                owner = mapping.owner(row)
                if owner is None:
                    log.info("an Ingram subscription row names no customerId; listing each "
                             "account's subscriptions separately")
                    return None
                convert = partial(mapping.subscription, account_id=owner, queried=status)
                for sub in keep_good([row], convert,
                                     lambda row: describe("Ingram subscription", row, "id")):
                    if sub.id not in seen:
                        seen.add(sub.id)
                        found.append((owner, sub))
        return found

    def _subscriptions(self, account_id: str) -> Iterator[Subscription]:
        seen: set[str] = set()
        for status in mapping.STATUSES:
            rows = self.client.list_all("/subscriptions",
                                        {"customerId": account_id, "status": status})
            convert = partial(mapping.subscription, account_id=account_id, queried=status)
            for sub in keep_good(rows, convert,
                                 lambda row: describe("Ingram subscription", row, "id")):
                if sub.id not in seen:
                    seen.add(sub.id)
                    yield sub

    def fetch_lines(self, subscription_id: str) -> tuple[SubscriptionStatus | None,
                                                         list[Resource]]:
        detail = self.client.subscription(subscription_id)
        return mapping.lines(detail, subscription_id, self.settings.usage_mpns)
