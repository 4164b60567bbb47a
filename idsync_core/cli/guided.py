"""``idsync link`` with no arguments: the linking flow as a guided, numbered-list dialogue.

The same steps an operator knows from the web portal: pick the customer and its PSA company, the
subscription and the agreement, the resource and the product it bills as, the price source, then
confirm and see the one-time reconciliation.

* **Nothing is linked until "Set relation?" is confirmed.** The steps only collect choices;
  :func:`idsync_core.engine.linking.link_chain` then checks every rule of every step (the same as
  ``idsync link company|subscription|resource``) and stores the links together.
* **What can be answered again is asked again**: a search that finds nothing, an expired
  agreement picked after ``e`` (with the reason), a number that is not one, an empty answer,
  a step with nothing left to choose (back to the step before).
* **Ctrl-C (or the end of input) before the confirmation**: "cancelled, nothing changed",
  exit 130.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, TypeVar, cast

import typer

from idsync_core.cli import logs
from idsync_core.cli.inputs import confirm_or_refuse
from idsync_core.cli.output import say
from idsync_core.cli.render import render_reconcile
from idsync_core.engine import linking
from idsync_core.engine.pricing import PriceChoice, PriceSourceKind, money_text
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import ExitCode, RefusedError

if TYPE_CHECKING:  # annotations only: `--help` loads no pydantic model
    from idsync_core.models import (
        Agreement,
        CatalogItem,
        Company,
        ProviderAccount,
        Resource,
        Subscription,
    )
    from idsync_core.plugins import ProviderConnection

T = TypeVar("T")


def pick(title: str, items: Sequence[T], label: Callable[[T], str], *,
         suggested: int | None = None, toggles: dict[str, str] | None = None) -> T | str:
    """Show a numbered list and return the chosen item, or the key of a toggle; anything
    else (an empty answer, a number out of range) is asked again."""
    toggles = toggles or {}
    say("")
    say(title, style="bold")
    if not items:
        say("  (nothing to choose from)")
    for number, item in enumerate(items, 1):
        mark = "  ← suggested" if suggested is not None and number == suggested + 1 else ""
        say(f"  {number:>2}. {label(item)}{mark}")
    for key, text in toggles.items():
        say(f"   {key}. {text}")
    default = str(suggested + 1) if suggested is not None else ""
    while True:
        answer: str = typer.prompt("Choose", default=default, show_default=bool(default))
        answer = answer.strip().lower()
        if answer in toggles:
            return answer
        if answer.isdigit() and 1 <= int(answer) <= len(items):
            return items[int(answer) - 1]
        choices = [f"1–{len(items)}"] if items else []
        say(f"  please answer {' or '.join(choices + list(toggles))}")


def choose(title: str, items: Sequence[T], label: Callable[[T], str], *,
           suggested: int | None = None) -> T:
    return cast(T, pick(title, items, label, suggested=suggested))  # no toggles: an item


def ask_decimal(text: str) -> Decimal:
    """A number, asked again until it is one."""
    while True:
        answer = typer.prompt(text).strip()
        try:
            number = Decimal(answer)
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite():
            return number
        say(f"  {answer!r} is not a number; for example 4.80")


@dataclass
class Choices:
    """What the operator picked, for the summary before "Set relation?"."""

    account: ProviderAccount
    company: Company | None  # None: the account is linked already
    company_name: str
    subscription: Subscription
    agreement: Agreement | None  # None: the subscription is linked already
    agreement_name: str
    resource: Resource
    item: CatalogItem
    price: PriceChoice


class Flow:
    """The dialogue's steps; each returns None when the operator must go a step back."""

    def __init__(self, rt: Runtime, connection: ProviderConnection) -> None:
        self.rt = rt
        self.connection = connection
        self.name = connection.name

    def account(self) -> ProviderAccount:
        while True:
            search = typer.prompt("Search provider customers by name (empty: all)",
                                  default="", show_default=False).strip()
            accounts = list(self.connection.list_accounts(search or None))
            if accounts:
                return choose(f"Customers at {self.name}", accounts,
                              lambda a: f"{a.name}  [{a.id}]")
            say(f"  no customer at {self.name} matches {search!r}; search again")

    def company(self, account: ProviderAccount) -> Company:
        unlinked_only = True
        search = typer.prompt("Search PSA companies", default=account.name).strip()
        while True:
            companies = linking.psa_companies(self.rt, search or None,
                                              unlinked_only=unlinked_only)
            toggles = {"u": "show all companies" if unlinked_only else
                       "only companies with unlinked agreements", "s": "search again"}
            chosen = pick("PSA companies" + (" with unlinked agreements" if unlinked_only
                                             else "") + (f" matching {search!r}" if search
                                                         else ""),
                          companies, lambda c: f"{c.name}  [{c.id}]", toggles=toggles)
            if chosen == "u":
                unlinked_only = not unlinked_only
            elif chosen == "s":
                search = typer.prompt("Search PSA companies (empty: all)", default="",
                                      show_default=False).strip()
            else:
                return cast("Company", chosen)

    def subscription(self, account: ProviderAccount) -> Subscription | None:
        subscriptions = list(self.connection.list_subscriptions(account.id))
        if not subscriptions:
            say(f"  {account.name} has no subscription at {self.name}; choose another customer")
            return None
        store = self.rt.store
        return choose(f"Subscriptions of {account.name}", subscriptions,
                      lambda s: f"{s.name}  [{s.id}] {s.status.value}"
                      + ("  (linked)" if store.subscription_link(self.name, s.id) else ""))

    def agreement(self, psa_company_id: str, company_name: str) -> Agreement:
        show_expired = show_linked = False
        while True:
            agreements = linking.visible_agreements(self.rt, psa_company_id,
                                                    include_expired=show_expired,
                                                    include_linked=show_linked)
            toggles = {"e": ("hide" if show_expired else "show") + " expired agreements",
                       "l": ("hide" if show_linked else "show") + " linked agreements"}
            chosen = pick(f"Agreements of {company_name}", agreements,
                          lambda a: f"{a.name}  [{a.id}] {a.billing_cycle.value}"
                          + ("  (expired)" if a.is_expired(self.rt.today) else ""),
                          toggles=toggles)
            if chosen == "e":
                show_expired = not show_expired
            elif chosen == "l":
                show_linked = not show_linked
            else:
                agreement = cast("Agreement", chosen)
                try:
                    linking.check_agreement_choice(agreement, self.rt.today)
                except RefusedError as exc:
                    say(f"  {exc.message}; pick another")
                    continue
                return agreement

    def resource(self, subscription: Subscription) -> Resource | None:
        resources = linking.linkable_resources(self.rt, self.name, subscription.id)
        if not resources:
            say(f"  {subscription.name} has no seat-based resource left to link; choose "
                "another subscription")
            return None
        return choose(f"Resources of {subscription.name} not linked yet", resources,
                      lambda r: f"{r.name}  [{r.id}] sku {r.sku}, quantity {r.quantity}")

    def item(self, resource: Resource, term: str | None) -> CatalogItem:
        catalog = linking.likely_products(self.rt, self.name, resource, term)
        if not catalog:
            raise RefusedError("the PSA catalog has no active product to bill as",
                               hint="add the product to the PSA catalog first")
        return choose(f"PSA products for {resource.name}", catalog[:15],
                      lambda i: f"{i.name}  [{i.id}] {i.identifier}, price "
                      f"{money_text(i.price)}, cost {money_text(i.cost)}", suggested=0)

    def price(self) -> PriceChoice:
        while True:
            kind = choose("Price source", list(PriceSourceKind), lambda k: k.value, suggested=0)
            choice = PriceChoice(kind)
            if kind is PriceSourceKind.CUSTOM:
                choice.price = ask_decimal("Unit price")
                choice.cost = ask_decimal("Unit cost")
            elif kind is PriceSourceKind.MARKUP:
                choice.markup_percent = ask_decimal("Markup percent on the provider cost")
            try:
                choice.validate()
            except RefusedError as exc:
                say(f"  {exc.message}; choose again")
                continue
            return choice

    def collect(self) -> Choices:
        store = self.rt.store
        while True:
            account = self.account()
            company_link = store.company_link(self.name, account.id)
            company = None if company_link else self.company(account)
            company_id = company_link.psa_company_id if company_link else \
                cast("Company", company).id
            company_name = company_link.psa_company_name if company_link else \
                cast("Company", company).name
            while True:
                subscription = self.subscription(account)
                if subscription is None:
                    break
                sub_link = store.subscription_link(self.name, subscription.id)
                agreement = None if sub_link else self.agreement(company_id, company_name)
                resource = self.resource(subscription)
                if resource is None:
                    continue
                return Choices(account, company, company_name, subscription, agreement,
                               sub_link.agreement_name if sub_link else
                               cast("Agreement", agreement).name,
                               resource, self.item(resource, subscription.commitment_term),
                               self.price())


def summary(choices: Choices, provider: str) -> list[str]:
    lines = [f"customer {choices.account.name} [{choices.account.id}] → PSA company "
             f"{choices.company_name}" + ("" if choices.company else " (linked already)"),
             f"subscription {choices.subscription.name} [{choices.subscription.id}] → agreement "
             f"{choices.agreement_name}" + ("" if choices.agreement else " (linked already)")]
    r, item = choices.resource, choices.item
    lines.append(f"resource {r.name} ({r.quantity} at {provider}) → {item.name} [{item.id}], "
                 f"price source {choices.price.kind.value}")
    return lines


@contextmanager
def cancellable() -> Iterator[None]:
    """Ctrl-C or the end of input while choosing: nothing was stored yet, so say so."""
    try:
        yield
    except (KeyboardInterrupt, typer.Abort):  # Abort: Ctrl-C or end of input at a prompt
        say("")
        logs.error("cancelled, nothing changed")
        raise typer.Exit(ExitCode.CANCELLED) from None


def guided_link(rt: Runtime, provider: str | None) -> None:
    connection = rt.provider(provider)
    with cancellable():
        choices = Flow(rt, connection).collect()
        say("")
        say("Set relation:", style="bold")
        for line in summary(choices, connection.name):
            say(f"  {line}")
        if not typer.confirm("Set relation?", default=True):
            raise RefusedError("not confirmed; nothing was linked")
    chain = linking.LinkChain(
        provider=connection.name, account_id=choices.account.id,
        subscription_id=choices.subscription.id, resource_id=choices.resource.id,
        catalog_item_id=choices.item.id,
        psa_company_id=choices.company.id if choices.company else None,
        agreement_id=choices.agreement.id if choices.agreement else None, price=choices.price)
    result = confirm_or_refuse(
        lambda confirmed: linking.link_chain(rt, chain, confirmed=confirmed), False)
    if choices.company is not None:
        say(f"Linked {choices.account.name} to PSA company {choices.company.name}.")
    if choices.agreement is not None:
        say(f"Linked {choices.subscription.name} to agreement {choices.agreement.name}.")
    render_reconcile(result, as_json=False)
