"""End-to-end support: the built-in simulators served on loopback, linked as an operator would.

``simulated_tenant(psa, folder)`` serves the Ingram marketplace simulator and a PSA simulator
with their example tenants, writes an ``idsync.toml`` pointing at them, and offers the runtime
and helpers tests need: link every resource by customer name and SKU, change a provider
quantity, read a PSA line through the connector.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from idsync_core.engine import linking
from idsync_core.engine.dates import next_period_start
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import RefusedError
from idsync_core.plugins import discover_plugins
from idsync_core.settings import load_settings
from idsync_core.simulation import ServerThread
from idsync_core.store import ResourceLink
from idsync_fakes.quarantine import let_quarantine_pass

TODAY = "2026-11-25"


@dataclass
class SimulatedTenant:
    psa_plugin: str
    folder: Path
    config: Path
    provider_sim: Any
    provider_url: str
    psa_sim: Any
    psa_url: str

    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("IDSYNC_")}
        return {**base, "IDSYNC_CONFIG": str(self.config), "IDSYNC_TODAY": TODAY}

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "idsync_core", *args]

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.folder / 'idsync.db'}"

    def let_quarantine_pass(self) -> int:
        """As if ``[sync] unknown_outcome_wait`` had passed since every open posting."""
        return let_quarantine_pass(self.store_url)

    def runtime(self) -> Runtime:
        settings, path = load_settings(self.config)
        return Runtime(settings, config_path=path, today=date.fromisoformat(TODAY))

    def set_provider_quantity(self, subscription_id: str, sku: str, quantity: int) -> None:
        httpx.post(f"{self.provider_url}/_sim/subscriptions/{subscription_id}/products/{sku}",
                   json={"quantity": quantity}, timeout=10).raise_for_status()

    def link_everything(self) -> list[ResourceLink]:
        """Link each customer, subscription and seat resource by name and SKU (in-process)."""
        rt = self.runtime()
        try:
            provider = rt.provider("ingram")
            companies = {c.name: c for c in rt.psa.list_companies()}
            catalog = {i.identifier: i for i in rt.psa.list_catalog() if i.active}
            for account in provider.list_accounts():
                company = companies.get(account.name)
                if company is None:
                    continue
                linking.link_company(rt, "ingram", account.id, company.id)
                agreements = [a for a in rt.psa.list_agreements(company.id)
                              if not a.is_expired(rt.today)]
                for sub in provider.list_subscriptions(account.id):
                    if not agreements:
                        break
                    agreement = max(agreements, key=lambda a: difflib.SequenceMatcher(
                        None, a.name, sub.name).ratio())
                    try:
                        linking.link_subscription(rt, "ingram", sub.id, agreement.id)
                    except RefusedError:
                        continue
                    for resource in provider.list_resources(sub.id):
                        item = catalog.get(resource.sku)
                        if item is None or not resource.seat_based:
                            continue
                        try:
                            linking.link_resource(rt, "ingram", resource.id, item.id)
                        except RefusedError:
                            continue
            return list(rt.store.active_resource_links())
        finally:
            rt.close()

    def resource_keys(self) -> dict[int, tuple[str, str] | None]:
        """link id → (subscription id, SKU) to change its quantity at the provider; None for
        the links of terminated subscriptions (their quantity is 0 whatever the seat count)."""
        rt = self.runtime()
        try:
            provider = rt.provider("ingram")
            terminated = {s.id for c in rt.store.active_company_links()
                          for s in provider.list_subscriptions(c.account_id) if s.terminated}
            subs = {s.id: s.subscription_id for s in rt.store.active_subscription_links()}
            keys: dict[int, tuple[str, str] | None] = {}
            for link in rt.store.active_resource_links():
                sub_id = subs[link.subscription_link_id]
                sku = next(r.sku for r in provider.list_resources(sub_id)
                           if r.id == link.resource_id)
                keys[link.id] = None if sub_id in terminated else (sub_id, sku)
            return keys
        finally:
            rt.close()

    def psa_quantities(self, link: ResourceLink) -> tuple[Decimal, Decimal]:
        """The line's PSA quantity today and on the agreement's next period start."""
        rt = self.runtime()
        try:
            company_id = next(c.psa_company_id for c in rt.store.active_company_links()
                              for s in rt.store.active_subscription_links()
                              if s.id == link.subscription_link_id and s.company_link_id == c.id)
            agreement = next(a for a in rt.psa.list_agreements(company_id)
                             if a.id == link.agreement_id)
            days = (rt.today, next_period_start(agreement, rt.today))
            return tuple(  # type: ignore[return-value]
                sum((line.quantity for line in rt.psa.list_lines(link.agreement_id, day)
                     if line.catalog_item_id == link.catalog_item_id), Decimal(0))
                for day in days)
        finally:
            rt.close()


@contextmanager
def simulated_tenant(psa_plugin: str, folder: Path, *,
                     psa_settings: dict[str, Any] | None = None,
                     provider_seed: dict[str, Any] | None = None) -> Iterator[SimulatedTenant]:
    """``psa_settings``: extra keys for the ``[psa]`` table (e.g. a short ``timeout``);
    ``provider_seed``: the odin simulator's seed (default: its example, marketplace)."""
    plugins = discover_plugins()
    with ExitStack() as stack:
        provider_sim = plugins["odin"].connector.simulator(  # type: ignore[attr-defined]
            provider_seed)
        psa_sim = plugins[psa_plugin].connector.simulator(None)  # type: ignore[attr-defined]
        provider = stack.enter_context(ServerThread(provider_sim.app))
        psa = stack.enter_context(ServerThread(psa_sim.app))
        config = folder / "idsync.toml"
        tables = {"psa": {**psa_sim.connection_settings(psa.url), **(psa_settings or {})},
                  "providers.ingram": provider_sim.connection_settings(provider.url),
                  "store": {"url": f"sqlite:///{folder / 'idsync.db'}"}}
        config.write_text("\n".join(
            f"[{name}]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in table.items()) + "\n"
            for name, table in tables.items()))
        yield SimulatedTenant(psa_plugin, folder, config, provider_sim, provider.url, psa_sim,
                              psa.url)
