"""``idsync link`` with no arguments: the linking flow as a guided, numbered-list dialogue.

The same steps an operator knows from the web portal: pick the customer and its PSA company, the
subscription and the agreement, the resource and the product it bills as, the price source, then
confirm and see the one-time reconciliation. Every step calls the same engine functions as the
``idsync link company|subscription|resource`` commands, so the rules are the same.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar, cast

import typer

from idsync_core.cli.inputs import confirm_or_refuse, decimal_option
from idsync_core.cli.output import out
from idsync_core.cli.render import render_reconcile
from idsync_core.engine import linking
from idsync_core.engine.pricing import PriceSourceKind
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import RefusedError

if TYPE_CHECKING:  # annotations only: `--help` loads no pydantic model
    from idsync_core.models import CatalogItem, Company, Resource

T = TypeVar("T")


def pick(title: str, items: Sequence[T], label: Callable[[T], str], *,
         suggested: int | None = None, toggles: dict[str, str] | None = None) -> T | str:
    """Show a numbered list and return the chosen item, or the key of a toggle."""
    toggles = toggles or {}
    out.print(f"\n[bold]{title}[/bold]")
    for number, item in enumerate(items, 1):
        mark = "  ← suggested" if suggested is not None and number == suggested + 1 else ""
        out.print(f"  {number:>2}. {label(item)}{mark}")
    for key, text in toggles.items():
        out.print(f"   {key}. {text}")
    if not items and not toggles:
        raise RefusedError(f"{title}: nothing to choose from")
    while True:
        default = str(suggested + 1) if suggested is not None else None
        answer: str = typer.prompt("Choose", default=default).strip().lower()
        if answer in toggles:
            return answer
        if answer.isdigit() and 1 <= int(answer) <= len(items):
            return items[int(answer) - 1]
        out.print(f"  please answer 1–{len(items)}" + (
            f" or {', '.join(toggles)}" if toggles else ""))


def choose(title: str, items: Sequence[T], label: Callable[[T], str], *,
           suggested: int | None = None) -> T:
    return cast(T, pick(title, items, label, suggested=suggested))  # no toggles: an item


def similarity(resource: Resource, item: CatalogItem) -> float:
    """How likely the catalog item bills this resource: an equal SKU wins, then the name."""
    if resource.sku and resource.sku.lower() == item.identifier.lower():
        return 2.0
    return difflib.SequenceMatcher(None, resource.name.lower(), item.name.lower()).ratio()


def guided_link(rt: Runtime, provider: str | None) -> None:
    from idsync_core.models import Agreement, Company

    connection = rt.provider(provider)
    name = connection.name
    store = rt.store

    # 1. the customer and its PSA company
    search = typer.prompt("Search provider customers by name (empty: all)", default="",
                          show_default=False)
    accounts = list(connection.list_accounts(search or None))
    account = choose(f"Customers at {name}", accounts, lambda a: f"{a.name}  [{a.id}]")
    company_link = store.company_link(name, account.id)
    if company_link is None:
        unlinked_only = True
        search = typer.prompt("Search PSA companies", default=account.name)
        while True:
            linked = {s.agreement_id for s in store.active_subscription_links()}
            companies: list[Company] = []
            for company in rt.psa.list_companies(search or None):
                if unlinked_only and not any(
                        not a.is_expired(rt.today) and a.id not in linked
                        for a in rt.psa.list_agreements(company.id)):
                    continue
                companies.append(company)
            toggle = {"u": "show all companies" if unlinked_only else
                      "only companies with unlinked agreements", "s": "search again"}
            chosen = pick("PSA companies" + (" with unlinked agreements" if unlinked_only
                                             else ""), companies,
                          lambda c: f"{c.name}  [{c.id}]", toggles=toggle)
            if chosen == "u":
                unlinked_only = not unlinked_only
            elif chosen == "s":
                search = typer.prompt("Search PSA companies", default="")
            elif isinstance(chosen, Company):
                company_link = linking.link_company(rt, name, account.id, chosen.id)
                out.print(f"Linked {account.name} to {chosen.name}.")
                break
    else:
        out.print(f"{account.name} is linked to PSA company {company_link.psa_company_name} "
                  f"[{company_link.psa_company_id}].")

    # 2. the subscription and the agreement
    subscriptions = list(connection.list_subscriptions(account.id))
    subscription = choose(f"Subscriptions of {account.name}", subscriptions,
                          lambda s: f"{s.name}  [{s.id}] {s.status.value}"
                          + ("  (linked)" if store.subscription_link(name, s.id) else ""))
    sub_link = store.subscription_link(name, subscription.id)
    if sub_link is None:
        show_expired = show_linked = False
        while True:
            linked = {s.agreement_id for s in store.active_subscription_links()}
            agreements = [a for a in rt.psa.list_agreements(company_link.psa_company_id)
                          if linking.agreement_is_visible(
                              a, linked=linked, include_expired=show_expired,
                              include_linked=show_linked, today=rt.today)]
            toggles = {"e": ("hide" if show_expired else "show") + " expired agreements",
                       "l": ("hide" if show_linked else "show") + " linked agreements"}
            chosen_agreement = pick(
                f"Agreements of {company_link.psa_company_name}", agreements,
                lambda a: f"{a.name}  [{a.id}] {a.billing_cycle.value}"
                + ("  (expired)" if a.is_expired(rt.today) else ""), toggles=toggles)
            if chosen_agreement == "e":
                show_expired = not show_expired
            elif chosen_agreement == "l":
                show_linked = not show_linked
            elif isinstance(chosen_agreement, Agreement):
                sub_link = linking.link_subscription(rt, name, subscription.id,
                                                     chosen_agreement.id)
                out.print(f"Linked {subscription.name} to {chosen_agreement.name}.")
                break
    else:
        out.print(f"{subscription.name} is linked to agreement {sub_link.agreement_name} "
                  f"[{sub_link.agreement_id}].")

    # 3. the resource and the product it bills as
    resources = [r for r in connection.list_resources(subscription.id)
                 if r.seat_based and store.resource_link(name, r.id) is None]
    resource = choose(f"Resources of {subscription.name} not linked yet", resources,
                      lambda r: f"{r.name}  [{r.id}] sku {r.sku}, quantity {r.quantity}")
    catalog = [item for item in rt.psa.list_catalog() if item.active]
    catalog.sort(key=lambda item: similarity(resource, item), reverse=True)
    item = choose(f"PSA products for {resource.name}", catalog[:15],
                  lambda i: f"{i.name}  [{i.id}] {i.identifier}, price {i.price}, cost {i.cost}",
                  suggested=0 if catalog else None)

    # 4. the price source
    kinds = list(PriceSourceKind)
    kind = choose("Price source", kinds, lambda k: k.value, suggested=0)
    price = cost = markup = None
    if kind is PriceSourceKind.CUSTOM:
        price = decimal_option(typer.prompt("Unit price"), "price")
        cost = decimal_option(typer.prompt("Unit cost"), "cost")
    elif kind is PriceSourceKind.MARKUP:
        markup = decimal_option(typer.prompt("Markup percent on the provider cost"), "markup")
    choice = linking.PriceChoice(kind, price, cost, markup)

    # 5. confirm and reconcile
    out.print(f"\n{resource.name} ({resource.quantity} at {name}) will bill as {item.name} on "
              f"agreement {sub_link.agreement_name}, price source {kind.value}.")
    if not typer.confirm("Set relation?", default=True):
        raise RefusedError("not confirmed; the resource was not linked")
    result = confirm_or_refuse(
        lambda confirmed: linking.link_resource(rt, name, resource.id, item.id, price=choice,
                                                confirmed=confirmed), False)
    render_reconcile(result, as_json=False)
