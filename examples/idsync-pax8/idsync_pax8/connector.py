"""The ``pax8`` provider connector: Pax8 companies, subscriptions and their seat counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from idsync_core.errors import NotFoundError
from idsync_core.hookspecs import hookimpl
from idsync_core.http.wiring import REAL, Wiring
from idsync_core.models import ProviderAccount, Resource, Subscription
from idsync_pax8 import mapping
from idsync_pax8.client import Pax8Client
from idsync_pax8.settings import Pax8Settings

if TYPE_CHECKING:
    from idsync_pax8.simulator import Pax8Simulator


class Pax8:
    """Pax8 partner API, as an IDSync provider.

    ``wiring`` is for tests: another transport, a retry policy, and the ``sleep``/``clock``
    that time 429 backoffs and token lifetimes (the conformance suite passes its own clock).
    """

    kind = "provider"
    settings_model = Pax8Settings

    @staticmethod
    def simulator(seed: dict[str, Any] | None) -> Pax8Simulator:
        """The simulator of ``seed``, imported on call: every command loads the connector,
        and none but ``simulator serve``, ``demo`` and tests should pay for Starlette."""
        from idsync_pax8.simulator import create_simulator

        return create_simulator(seed)

    def __init__(self, settings: Pax8Settings, *, wiring: Wiring = REAL) -> None:
        self.settings = settings
        self.client = Pax8Client(settings, wiring=wiring)

    @hookimpl
    def idsync_check(self) -> str:
        body = self.client.get_json("/companies", params={"page": 0, "size": 1})
        total = (body.get("page") or {}).get("totalElements") if isinstance(body, dict) else None
        companies = f"{total} companies" if isinstance(total, int) else "companies readable"
        return (f"Pax8 at {urlsplit(self.settings.base_url).netloc} as application "
                f"{self.settings.client_id}: {companies}")

    @hookimpl
    def idsync_close(self) -> None:
        self.client.close()

    @hookimpl
    def idsync_list_accounts(self, search: str | None) -> Iterator[ProviderAccount]:
        """Every company; ``search`` is matched here, as the list has no name filter."""
        for row in self.client.rows("/companies"):
            found = mapping.account(row)
            if search is None or search.lower() in found.name.lower():
                yield found

    @hookimpl
    def idsync_list_subscriptions(self, account_id: str) -> Iterator[Subscription]:
        """The company's subscriptions, every status. The company is read first: an unknown
        ``companyId`` is not a plain 404 in the list (UNCONFIRMED: 403, per Pax8's examples)."""
        self._company(account_id)
        for row in self.client.rows("/subscriptions", {"companyId": account_id}):
            found = mapping.subscription(row)
            if found is not None:
                yield found

    @hookimpl
    def idsync_list_resources(self, subscription_id: str) -> list[Resource]:
        """The subscription's one product line, from ``GET /subscriptions/{id}`` (one request:
        nothing to page)."""
        try:
            row = self.client.get_json(f"/subscriptions/{quote(subscription_id, safe='')}")
        except NotFoundError:
            raise NotFoundError(f"Pax8 subscription {subscription_id} does not exist",
                                hint="list a company's subscriptions with "
                                     "`idsync subscriptions ACCOUNT`") from None
        return [mapping.resource(row, currency=self.settings.currency,
                                 usage_based=self.settings.usage_based_products)]

    def _company(self, account_id: str) -> None:
        try:
            self.client.get_json(f"/companies/{quote(account_id, safe='')}")
        except NotFoundError:
            raise NotFoundError(f"Pax8 company {account_id} does not exist",
                                hint="list them with `idsync companies provider`") from None
