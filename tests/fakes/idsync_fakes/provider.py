"""A fake provider: accounts, subscriptions and resources from a JSON file.

``failing_subscriptions`` in the state lists subscriptions whose resources cannot be read (an
API error), to test that one failing read does not stop a run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from idsync_core.errors import ApiError, NotFoundError
from idsync_core.hookspecs import hookimpl
from idsync_core.models import ProviderAccount, Resource, Subscription
from idsync_core.settings import ConnectorSettings
from idsync_fakes import state


class FakeProviderSettings(ConnectorSettings):
    state_file: Path


class FakeProvider:
    kind = "provider"
    settings_model = FakeProviderSettings

    def __init__(self, settings: FakeProviderSettings) -> None:
        self.path = settings.state_file

    @hookimpl
    def idsync_check(self) -> str:
        return f"fake provider at {self.path.name}"

    @hookimpl
    def idsync_close(self) -> None:
        pass

    @hookimpl
    def idsync_list_accounts(self, search: str | None) -> Iterator[ProviderAccount]:
        for row in state.load(self.path)["accounts"]:
            if search is None or search.lower() in row["name"].lower():
                yield ProviderAccount.model_validate(row)

    @hookimpl
    def idsync_list_subscriptions(self, account_id: str) -> list[Subscription]:
        world = state.load(self.path)
        if not any(a["id"] == account_id for a in world["accounts"]):
            raise NotFoundError(f"fake provider: no account {account_id}")
        return [Subscription.model_validate(s) for s in world["subscriptions"]
                if s["account_id"] == account_id]

    @hookimpl
    def idsync_list_resources(self, subscription_id: str) -> list[Resource]:
        world = state.load(self.path)
        if not any(s["id"] == subscription_id for s in world["subscriptions"]):
            raise NotFoundError(f"fake provider: no subscription {subscription_id}")
        if subscription_id in world.get("failing_subscriptions", []):
            raise ApiError(f"fake provider: subscription {subscription_id} timed out (HTTP 504)")
        return [Resource.model_validate(r) for r in world["resources"]
                if r["subscription_id"] == subscription_id]
