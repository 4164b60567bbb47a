"""``idsync demo``: the whole story on the built-in simulators, in seconds.

Nothing needs configuring: the provider simulator (Ingram Micro marketplace) and a PSA simulator
(ConnectWise, or Autotask with ``--psa autotask``) are served on 127.0.0.1 with their example
tenants, the store is a SQLite file in a temporary folder, and the operator's flow runs against
them through the same engine as every other command: pick the company, the agreement, the
resource and its product, the price source, confirm — then the one-time reconciliation, a
change at the provider, and the syncs that bring the PSA along. Objects are found by name and
SKU, as an operator would, not by ids baked in here.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from idsync_core.cli import logs
from idsync_core.cli.output import print_json, say
from idsync_core.engine import linking
from idsync_core.engine.dates import next_period_start
from idsync_core.engine.pricing import PriceChoice, PriceSourceKind, money_text
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime, today_from_env
from idsync_core.engine.sync import LinkOutcome, sync_all
from idsync_core.errors import ConfigurationError, NotFoundError

if TYPE_CHECKING:
    from idsync_core.plugins import PluginInfo

PROVIDER_PLUGIN = "odin"
PROVIDER_NAME = "ingram"
CUSTOMER = "Contoso"
SKU = "CFQ7TTC0LH16"
PSA_LABEL = {"connectwise": "ConnectWise", "autotask": "Autotask"}


class Story:
    """Prints each step for people, or collects it for ``--json``."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.steps: list[dict[str, Any]] = []

    def step(self, title: str, text: str, **data: Any) -> None:
        self.steps.append({"step": title, "text": text, **data})
        if not self.as_json:
            say("")
            say(title, style="bold cyan")
            say(text)


@contextmanager
def serve(plugin: PluginInfo, seed: dict[str, Any] | None = None) -> Iterator[
        tuple[Any, str]]:
    # Imported here: the web framework and server are for the demo only, and every other
    # command (and `--help`) starts faster without them.
    from idsync_core.simulation import ServerThread

    factory: Callable[[dict[str, Any] | None], Any] | None = getattr(
        plugin.connector, "simulator", None)
    if factory is None:
        raise ConfigurationError(f"the {plugin.name} connector ships no simulator")
    simulator = factory(seed)
    with ServerThread(simulator.app) as server:
        yield simulator, server.url


def outcome_text(outcome: LinkOutcome, psa_label: str) -> str:
    plan = outcome.plan
    lines = [f"{plan.desired} {plan.link.resource_name} licences at Ingram, {plan.actual} in "
             f"{psa_label}"]
    if not plan.changes:
        return lines[0] + " → already equal, nothing posted"
    for change, posting in zip(plan.changes, outcome.postings, strict=False):
        a = change.adjustment
        kind = "addition" if a.delta > 0 else "reduction"
        lines.append(f"  → {kind} of {abs(a.delta)} units {posting.status}, effective "
                     f"{a.effective_date} at {money_text(a.unit_price)} "
                     f"(cost {money_text(a.unit_cost)})")
    return "\n".join(lines)


def complete_demo_psa(incomplete: str) -> list[str]:
    """Shell completion of ``--psa``: the PSAs the demo tells the story on."""
    return [name for name in PSA_LABEL if name.startswith(incomplete)]


def demo(
    psa: str = typer.Option("connectwise", "--psa", autocompletion=complete_demo_psa,
                            help="connectwise or autotask."),
    as_json: bool = typer.Option(False, "--json", help="Print the steps as JSON."),
    keep: Path | None = typer.Option(None, "--keep", help="Keep the store and config in this "
                                     "folder instead of a temporary one."),
) -> None:
    """Show the whole IDSync story on the built-in simulators (nothing to configure)."""
    # Imported here, like the simulators: pydantic's models and settings are not for `--help`.
    from idsync_core.plugins import discover_plugins
    from idsync_core.settings import IdsyncSettings, StoreSettings, SyncSettings

    started = time.perf_counter()
    plugins = discover_plugins()
    for name in (psa, PROVIDER_PLUGIN):
        if name not in plugins:
            raise NotFoundError(f"the {name} connector is not installed",
                                hint="install with: pip install -r requirements-dev.txt")
    if psa not in PSA_LABEL:
        raise NotFoundError(f"no demo for the PSA {psa!r}", hint="use connectwise or autotask")
    label = PSA_LABEL[psa]
    story = Story(as_json)
    with ExitStack() as stack:
        folder = keep or Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix="idsync-demo-")))
        folder.mkdir(parents=True, exist_ok=True)
        provider_sim, provider_url = stack.enter_context(serve(plugins[PROVIDER_PLUGIN]))
        psa_sim, psa_url = stack.enter_context(serve(plugins[psa]))
        settings = IdsyncSettings.model_construct(
            psa=psa_sim.connection_settings(psa_url),
            providers={PROVIDER_NAME: provider_sim.connection_settings(provider_url)},
            store=StoreSettings(url=f"sqlite:///{folder / 'idsync.db'}"),
            sync=SyncSettings())
        rt = Runtime(settings, today=today_from_env())
        stack.callback(rt.close)
        story.step("The setup",
                   f"Ingram Micro marketplace simulator on {provider_url}\n"
                   f"{label} simulator on {psa_url}\nstore: {folder / 'idsync.db'}",
                   provider_url=provider_url, psa_url=psa_url)
        walk(rt, story, label, provider_url)
    elapsed = time.perf_counter() - started
    if as_json:
        print_json({"psa": psa, "seconds": round(elapsed, 2), "steps": story.steps})
    else:
        say("")
        say(f"Done in {elapsed:.1f} s.", style="green")
        say(f"Try it yourself: `idsync simulator serve {PROVIDER_PLUGIN}` and `idsync simulator "
            f"serve {psa}`, then `idsync link`.")


def walk(rt: Runtime, story: Story, label: str, provider_url: str) -> None:

    provider = rt.provider(PROVIDER_NAME)
    account = next(iter(provider.list_accounts(CUSTOMER)), None)
    company = next(iter(rt.psa.list_companies(CUSTOMER)), None)
    if account is None or company is None:
        raise NotFoundError(f"the example tenants have no {CUSTOMER!r} customer")
    linking.link_company(rt, PROVIDER_NAME, account.id, company.id)
    story.step("1. Pick the company",
               f"Ingram customer {account.name} [{account.id}] ↔ {label} company "
               f"{company.name} [{company.id}]", account_id=account.id, company_id=company.id)

    reader = Reader(rt)
    subscription, resource = next(
        ((s, r) for s in provider.list_subscriptions(account.id)
         for r in reader.resources(PROVIDER_NAME, s.id).values() if r.sku == SKU), (None, None))
    agreements = linking.visible_agreements(rt, company.id, include_expired=False,
                                            include_linked=False)
    agreement = next((a for a in agreements if "365" in a.name), None)
    if subscription is None or resource is None or agreement is None:
        raise NotFoundError("the example tenants lack the Exchange Online subscription or "
                            "the Microsoft 365 agreement")
    hidden = len(list(rt.psa.list_agreements(company.id))) - len(agreements)
    hidden_note = f" ({hidden} expired or linked agreement(s) hidden)" if hidden else ""
    linking.link_subscription(rt, PROVIDER_NAME, subscription.id, agreement.id)
    story.step("2. Pick the agreement",
               f"subscription {subscription.name} [{subscription.id}] ↔ agreement "
               f"{agreement.name} [{agreement.id}], billed {agreement.billing_cycle.value}"
               f"{hidden_note}",
               subscription_id=subscription.id, agreement_id=agreement.id)

    item = next((i for i in rt.psa.list_catalog(search=SKU) if i.identifier == SKU), None)
    if item is None:
        raise NotFoundError(f"the {label} catalog has no {SKU}")
    story.step("3. Pick the resource and its product",
               f"{resource.name} (SKU {resource.sku}, {resource.quantity} seats) bills as "
               f"{label} product {item.name} [{item.id}] at {money_text(item.price)} "
               f"(cost {money_text(item.cost)})",
               resource_id=resource.id, catalog_item_id=item.id)
    story.step("4. Choose the price source", "catalog: the price and cost set in the "
               f"{label} product catalog", price_source="catalog")

    result = linking.link_resource(rt, PROVIDER_NAME, resource.id, item.id,
                                   price=PriceChoice(PriceSourceKind.CATALOG))
    story.step("5. Set relation → the one-time reconciliation", outcome_text(result, label),
               status=result.status)

    change_quantity(provider_url, subscription.id, resource.sku, 10)
    story.step("Later: the customer buys 2 more seats at Ingram",
               f"{resource.name}: 8 → 10 at the provider")
    summary = sync_all(rt)
    story.step("idsync sync", "\n".join(outcome_text(o, label) for o in summary.notable),
               counts=dict(summary.counts()))

    change_quantity(provider_url, subscription.id, resource.sku, 6)
    story.step("Then: 4 seats are released at Ingram",
               f"{resource.name}: 10 → 6 at the provider; decreases wait for the next "
               "billing period, so nobody gets a prorated credit")
    summary = sync_all(rt)
    story.step("idsync sync", "\n".join(outcome_text(o, label) for o in summary.notable),
               counts=dict(summary.counts()))

    summary = sync_all(rt)
    story.step("idsync sync, once more", "nothing changed, nothing posted: "
               + ", ".join(f"{status} {count}" for status, count in summary.counts().items()),
               counts=dict(summary.counts()))
    next_start = next_period_start(agreement, rt.today)
    quantities = {day: sum((line.quantity for line in rt.psa.list_lines(agreement.id, day)
                            if line.catalog_item_id == item.id), Decimal(0))
                  for day in (rt.today, next_start)}
    journal = rt.store.journal_entries()
    story.step("The adjustments log",
               "\n".join(f"{e.effective_date}  {e.delta:+}  {e.status}  "
                         f"({e.from_quantity} → {e.target_quantity})" for e in reversed(journal))
               + f"\n{label} bills {quantities[rt.today]} seats today and "
               f"{quantities[next_start]} from {next_start}; Ingram has 6.",
               postings=len(journal), psa_today=quantities[rt.today],
               psa_next_period=quantities[next_start])


def change_quantity(provider_url: str, subscription_id: str, sku: str, quantity: int) -> None:
    """Change a seat count at the marketplace simulator (its documented control route)."""
    import httpx

    response = httpx.post(f"{provider_url}/_sim/subscriptions/{subscription_id}/products/{sku}",
                          json={"quantity": quantity}, timeout=10)
    if response.status_code >= 400:
        logs.error(f"the provider simulator refused the change: {response.text}")
        response.raise_for_status()
