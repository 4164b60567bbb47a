"""The ``odin`` provider connector: IDSync's hooks, answered by the configured backend.

``backend = "marketplace"`` (the default) reads the Ingram Micro Cloud Marketplace API;
``backend = "aps"`` reads the APS REST bus of an Odin / CloudBlue Commerce platform. Both
return the same domain models under the same rules (:mod:`idsync_odin.backend`), so the engine
cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from idsync_core.hookspecs import hookimpl
from idsync_core.http.wiring import REAL, Wiring
from idsync_core.models import ProviderAccount, Resource, Subscription
from idsync_odin.aps.backend import ApsBackend
from idsync_odin.backend import Backend
from idsync_odin.marketplace.backend import MarketplaceBackend
from idsync_odin.settings import OdinSettings

if TYPE_CHECKING:
    from idsync_odin.simulator import OdinSimulator


def build_backend(settings: OdinSettings, *, wiring: Wiring = REAL) -> Backend:
    if settings.backend == "aps":
        return ApsBackend(settings, wiring=wiring)
    return MarketplaceBackend(settings, wiring=wiring)


class Odin:
    """Ingram Micro Cloud Marketplace / Odin (CloudBlue Commerce) provider connector.

    ``wiring`` is for tests: another transport, a retry policy, and the ``sleep``/``clock``
    used for Retry-After waits and token lifetimes (:class:`idsync_core.http.wiring.Wiring`).
    """

    kind = "provider"
    title = "Ingram Micro / Odin"
    settings_model = OdinSettings

    @staticmethod
    def simulator(seed: dict[str, Any] | None = None) -> OdinSimulator:
        """A simulator of the API the seed's ``backend`` names (docs/writing-a-connector.md §6).

        Imported when called: only `idsync simulator serve`, the demo and tests need it, and it
        pulls in Starlette, which every other command would pay for at start-up.
        """
        from idsync_odin.simulator import create_simulator

        return create_simulator(seed)

    def __init__(
        self,
        settings: OdinSettings,
        *,
        wiring: Wiring = REAL,
    ) -> None:
        self.settings = settings
        self.backend = build_backend(settings, wiring=wiring)

    @hookimpl
    def idsync_check(self) -> str:
        return self.backend.check()

    @hookimpl
    def idsync_close(self) -> None:
        self.backend.close()

    @hookimpl
    def idsync_list_accounts(self, search: str | None) -> Iterable[ProviderAccount]:
        return self.backend.accounts(search)

    @hookimpl
    def idsync_list_subscriptions(self, account_id: str) -> Iterable[Subscription]:
        return self.backend.subscriptions(account_id)

    @hookimpl
    def idsync_list_resources(self, subscription_id: str) -> Iterable[Resource]:
        return self.backend.resources(subscription_id)
