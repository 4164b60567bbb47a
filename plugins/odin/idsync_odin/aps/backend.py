"""Backend ``aps``: accounts, subscriptions and resources from the APS REST bus."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from urllib.parse import urlsplit

from idsync_core.errors import ApiError, ConfigurationError, NotFoundError
from idsync_core.http.wiring import REAL, Wiring
from idsync_core.models import ProviderAccount, Resource, Subscription, SubscriptionStatus
from idsync_odin.aps import mapping, rql
from idsync_odin.aps.client import ApsClient, content_range
from idsync_odin.backend import Backend
from idsync_odin.rows import describe, keep_good
from idsync_odin.settings import OdinSettings

CUSTOMER = "CUSTOMER"
"""The ``type`` of a customer account (others: the provider and its RESELLERs)."""


class ApsBackend(Backend):
    def __init__(
        self,
        settings: OdinSettings,
        *,
        wiring: Wiring = REAL,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.client = ApsClient(settings, wiring=wiring)

    def check(self) -> str:
        try:
            response = self.client.request("GET", "/aps/2/resources?" + rql.query(
                rql.implementing(rql.ACCOUNT_TYPE), rql.eq("type", CUSTOMER), rql.limit(0, 1)))
            self.client.json_of(response)
        except (NotFoundError, ApiError) as exc:
            if isinstance(exc, ApiError) and exc.status not in range(200, 300):
                raise  # a failing bus, not a wrong address
            raise ConfigurationError(
                f"{self.settings.base_url} is not an APS REST bus: {exc.message}",
                hint="check base_url: the brand endpoint or the controller, the part before "
                     "/aps/2/") from None
        span = content_range(response.headers.get("Content-Range"))
        total = span[1] if span else None
        accounts = f"{total} customer accounts" if total is not None else "accounts readable"
        how = "APS-Token" if self.settings.aps_token else f"OAuth {self.settings.consumer_key}"
        return (f"Odin APS bus at {urlsplit(self.settings.base_url).netloc} ({how}): "
                f"{accounts}")

    def close(self) -> None:
        self.client.close()

    def fetch_accounts(self) -> Iterator[ProviderAccount]:
        rows = self.client.list_all(rql.implementing(rql.ACCOUNT_TYPE), rql.eq("type", CUSTOMER))
        return keep_good(rows, mapping.account,
                         lambda row: describe("APS account", row, "companyName", "id"))

    def fetch_subscriptions(self, account_id: str) -> Iterator[Subscription]:
        """The subscriptions linked to the account (relation ``account``, UNCONFIRMED name),
        selecting that relation into each row so ownership is checked, not assumed."""
        account = self.client.resource(account_id, "account")  # NotFoundError now, not later
        mapping.require_customer_account(account, account_id)
        rows = self.client.list_all(rql.implementing(rql.SUBSCRIPTION_TYPE),
                                    rql.eq("account.aps.id", account_id), rql.select("account"))
        return keep_good(rows, partial(mapping.subscription, account_id=account_id),
                         lambda row: describe("APS subscription", row, "subscriptionId", "name"))

    def fetch_lines(self, subscription_id: str) -> tuple[SubscriptionStatus | None,
                                                         list[Resource]]:
        subscription = self.client.resource(subscription_id, "subscription")
        mapping.require_subscription(subscription, subscription_id)
        status = mapping.status_of(subscription)[0]
        rows = self.client.subscription_resources(subscription_id)
        return status, mapping.lines(rows, subscription_id)
