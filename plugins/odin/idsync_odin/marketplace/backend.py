"""Backend ``marketplace``: customers, subscriptions and product lines from Ingram's API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import partial
from urllib.parse import urlsplit

import httpx

from idsync_core.http import RetryPolicy
from idsync_core.models import ProviderAccount, Resource, Subscription, SubscriptionStatus
from idsync_odin.backend import Backend
from idsync_odin.marketplace import mapping
from idsync_odin.marketplace.client import MarketplaceClient
from idsync_odin.rows import describe, keep_good
from idsync_odin.settings import OdinSettings


class MarketplaceBackend(Backend):
    def __init__(
        self,
        settings: OdinSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.client = MarketplaceClient(settings, transport=transport, retry=retry, sleep=sleep,
                                        clock=clock)

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
        subscription that changes status between two listings is reported once."""
        self.client.customer(account_id)  # NotFoundError now, not at the first row
        return self._subscriptions(account_id)

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
