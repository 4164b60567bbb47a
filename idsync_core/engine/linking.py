"""Linking, in the operator's order, with its rules; and the one-time reconciliation.

1. company: a provider account ↔ a PSA company;
2. subscription: only under a linked account, and only to an agreement of *that* PSA company;
3. resource: only under a linked subscription, to a catalog product; then the PSA line is
   brought equal to the provider at once (:func:`link_resource`).

One active link per provider object (the store enforces it too), and one resource per agreement
line: two resources billed onto one line would overwrite each other's quantity, so that mapping
is refused rather than summed. Unlinking stamps the link as removed; its history stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from idsync_core.engine import pricing
from idsync_core.engine.planning import plan_link
from idsync_core.engine.posting import resolve_open
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime
from idsync_core.engine.sync import LinkOutcome, reconcile_link
from idsync_core.errors import ConfirmationRequired, NotFoundError, RefusedError

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.models import Agreement, Company, ProviderAccount, Resource, Subscription
    from idsync_core.store import CompanyLink, PriceSourceSetting, ResourceLink, SubscriptionLink


@dataclass
class PriceChoice:
    """A price source chosen on the command line for one scope."""

    kind: pricing.PriceSourceKind
    price: Decimal | None = None
    cost: Decimal | None = None
    markup_percent: Decimal | None = None

    def validate(self) -> None:
        if self.kind is pricing.PriceSourceKind.CUSTOM and (self.price is None or
                                                            self.cost is None):
            raise RefusedError("a custom price source needs both --price and --cost")
        if self.kind is pricing.PriceSourceKind.MARKUP and self.markup_percent is None:
            raise RefusedError("a markup price source needs --markup PERCENT")
        for name, value in (("price", self.price), ("cost", self.cost)):
            if value is not None and value < 0:
                raise RefusedError(f"--{name} cannot be negative")


def _find_account(runtime: Runtime, provider: str, account_id: str) -> ProviderAccount:
    for account in runtime.provider(provider).list_accounts(None):
        if account.id == account_id:
            return account
    raise NotFoundError(f"account {account_id} does not exist at {provider}",
                        hint="list them with `idsync companies provider`")


def _find_company(runtime: Runtime, company_id: str) -> Company:
    for company in runtime.psa.list_companies(None):
        if company.id == company_id:
            return company
    raise NotFoundError(f"PSA company {company_id} does not exist",
                        hint="list them with `idsync companies psa`")


def provider_name(runtime: Runtime, provider: str | None) -> str:
    return runtime.provider(provider).name


def link_company(runtime: Runtime, provider: str | None, account_id: str,
                 psa_company_id: str) -> CompanyLink:
    from idsync_core.store import CompanyLink

    provider = provider_name(runtime, provider)
    existing = runtime.store.company_link(provider, account_id)
    if existing is not None:
        raise RefusedError(f"account {account_id} is already linked to PSA company "
                           f"{existing.psa_company_id}",
                           hint=f"`idsync unlink company {account_id}` first to change it")
    account = _find_account(runtime, provider, account_id)
    company = _find_company(runtime, psa_company_id)
    link = CompanyLink(provider=provider, account_id=account.id, account_name=account.name,
                       psa_company_id=company.id, psa_company_name=company.name)
    runtime.store.add_link(link, account=account.name, psa_company=company.name)
    return link


def _find_subscription(runtime: Runtime, reader: Reader, provider: str,
                       subscription_id: str) -> tuple[Subscription, CompanyLink]:
    links = [c for c in runtime.store.active_company_links() if c.provider == provider]
    for company_link in links:
        found = reader.subscriptions(provider, company_link.account_id).get(subscription_id)
        if found is not None:
            return found, company_link
    raise RefusedError(
        f"subscription {subscription_id} is not under any linked {provider} account",
        hint="link its account first (`idsync link company ACCOUNT_ID PSA_COMPANY_ID`); "
             "`idsync subscriptions ACCOUNT_ID` lists an account's subscriptions")


def link_subscription(runtime: Runtime, provider: str | None, subscription_id: str,
                      agreement_id: str) -> SubscriptionLink:
    from idsync_core.store import SubscriptionLink

    provider = provider_name(runtime, provider)
    existing = runtime.store.subscription_link(provider, subscription_id)
    if existing is not None:
        raise RefusedError(f"subscription {subscription_id} is already linked to agreement "
                           f"{existing.agreement_id}",
                           hint=f"`idsync unlink subscription {subscription_id}` first")
    reader = Reader(runtime)
    subscription, company_link = _find_subscription(runtime, reader, provider, subscription_id)
    agreement = reader.agreements(company_link.psa_company_id).get(agreement_id)
    if agreement is None:
        raise RefusedError(
            f"agreement {agreement_id} does not belong to PSA company "
            f"{company_link.psa_company_id} ({company_link.psa_company_name}), which account "
            f"{company_link.account_id} is linked to",
            hint=f"`idsync agreements {company_link.psa_company_id}` lists its agreements")
    if agreement.is_expired(runtime.today):
        raise RefusedError(f"agreement {agreement_id} ({agreement.name}) is expired or "
                           "cancelled; postings to it would not be billed",
                           hint="pick an active agreement")
    link = SubscriptionLink(company_link_id=company_link.id, provider=provider,
                            subscription_id=subscription.id, subscription_name=subscription.name,
                            agreement_id=agreement.id, agreement_name=agreement.name)
    runtime.store.add_link(link, subscription=subscription.name, agreement=agreement.name)
    return link


def _find_resource(runtime: Runtime, reader: Reader, provider: str,
                   resource_id: str) -> tuple[Resource, SubscriptionLink]:
    for sub_link in runtime.store.active_subscription_links():
        if sub_link.provider != provider:
            continue
        found = reader.resources(provider, sub_link.subscription_id).get(resource_id)
        if found is not None:
            return found, sub_link
    raise RefusedError(
        f"resource {resource_id} is not on any linked {provider} subscription",
        hint="link its subscription first (`idsync link subscription SUBSCRIPTION_ID "
             "AGREEMENT_ID`); `idsync resources SUBSCRIPTION_ID` lists its resources")


def check_custom_cost(choice: PriceChoice | None, catalog_cost: Decimal | None,
                      confirmed: bool) -> None:
    """A custom cost below the PSA's configured cost needs an explicit confirmation."""
    if choice is None or choice.kind is not pricing.PriceSourceKind.CUSTOM:
        return
    if choice.cost is None or catalog_cost is None or choice.cost >= catalog_cost:
        return
    if not confirmed:
        raise ConfirmationRequired(
            f"the custom cost {choice.cost} is below the cost configured in the PSA "
            f"({catalog_cost})",
            hint="confirm with --yes if that is intended")


def link_resource(runtime: Runtime, provider: str | None, resource_id: str,
                  catalog_item_id: str, *, price: PriceChoice | None = None,
                  confirmed: bool = False, dry_run: bool = False) -> LinkOutcome:
    """Link a resource to a catalog product, then post the difference once (see module doc).

    With ``dry_run`` nothing is stored or posted: the result shows what would be.
    """
    from idsync_core.store import ResourceLink

    provider = provider_name(runtime, provider)
    existing = runtime.store.resource_link(provider, resource_id)
    if existing is not None:
        raise RefusedError(f"resource {resource_id} is already linked to catalog item "
                           f"{existing.catalog_item_id} on agreement {existing.agreement_id}",
                           hint=f"`idsync unlink resource {resource_id}` first")
    reader = Reader(runtime)
    resource, sub_link = _find_resource(runtime, reader, provider, resource_id)
    if not resource.seat_based:
        raise RefusedError(f"resource {resource_id} ({resource.name}) has no seat count "
                           "(usage-based); it cannot be reconciled as seats",
                           hint="bill usage-based products by hand")
    catalog = reader.catalog_item(catalog_item_id)
    if not catalog.active:
        raise RefusedError(f"catalog item {catalog_item_id} ({catalog.name}) is inactive",
                           hint="reactivate it in the PSA or pick another")
    taken = runtime.store.resource_link_on_line(sub_link.agreement_id, catalog_item_id)
    if taken is not None:
        raise RefusedError(
            f"catalog item {catalog_item_id} on agreement {sub_link.agreement_id} already "
            f"bills resource {taken.resource_id}; two resources on one line would overwrite "
            "each other's quantity",
            hint="link this resource to another catalog item, or unlink the other one")
    if price is not None:
        price.validate()
        check_custom_cost(price, catalog.cost, confirmed)
    company_link = runtime.store.company_link_by_id(sub_link.company_link_id)
    assert company_link is not None
    link = ResourceLink(subscription_link_id=sub_link.id, provider=provider,
                        resource_id=resource.id, resource_name=resource.name,
                        agreement_id=sub_link.agreement_id, catalog_item_id=catalog.id,
                        catalog_item_name=catalog.name)
    if dry_run:
        setting = _setting_of(pricing.Scope.LINK, "", price) if price is not None else None
        with runtime.dry_run():
            plan = plan_link(runtime, reader, link, sub_link, company_link,
                             price_setting=setting)
        return LinkOutcome(plan, dry_run=True)
    runtime.store.add_link(link, resource=resource.name, catalog_item=catalog.name,
                           agreement=sub_link.agreement_id)
    if price is not None:
        set_price_source(runtime, pricing.Scope.LINK, str(link.id), price)
    return reconcile(runtime, reader, link, origin="link", link_created=True)


def _setting_of(scope: pricing.Scope, scope_id: str, choice: PriceChoice) -> PriceSourceSetting:
    from idsync_core.store import PriceSourceSetting

    return PriceSourceSetting(scope=scope.value, scope_id=scope_id, kind=choice.kind.value,
                              price=choice.price, cost=choice.cost,
                              markup_percent=choice.markup_percent)


def set_price_source(runtime: Runtime, scope: pricing.Scope, scope_id: str,
                     choice: PriceChoice) -> PriceSourceSetting:
    choice.validate()
    setting = _setting_of(scope, scope_id, choice)
    runtime.store.set_price_source(setting)
    return setting


def reconcile(runtime: Runtime, reader: Reader, link: ResourceLink, *, origin: str,
              link_created: bool = False) -> LinkOutcome:
    """Bring one linked PSA line equal to the provider now (journaled, exactly once)."""
    with runtime.store.lock("sync"):
        resolve_open(runtime, reader)
        reader.forget_snapshot()  # the new link, its price source, the settled journal
        outcome = reconcile_link(runtime, reader, link, origin=origin)
    outcome.link_created = link_created
    return outcome


def agreement_is_visible(agreement: Agreement, *, linked: set[str], include_expired: bool,
                         include_linked: bool, today: date) -> bool:
    """The agreement filter of the linking flow: expired and linked ones hidden unless asked."""
    if not include_expired and agreement.is_expired(today):
        return False
    return include_linked or agreement.id not in linked
