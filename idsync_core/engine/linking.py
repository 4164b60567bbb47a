"""Linking, in the operator's order, with its rules; and the one-time reconciliation.

1. company: a provider account ↔ a PSA company;
2. subscription: only under a linked account, and only to an agreement of *that* PSA company;
3. resource: only under a linked subscription, to a catalog product; then the PSA line is
   brought equal to the provider at once (:func:`link_resource`).

One active link per provider object (the store enforces it too), and one resource per agreement
line: two resources billed onto one line would overwrite each other's quantity, so that mapping
is refused rather than summed. Unlinking stamps the link as removed; its history stays.

"Does not exist" is told apart from "not allowed": an id the provider or the PSA does not know
is ``NotFoundError`` (exit 4); one that exists but breaks a rule (its account or subscription is
not linked, another company's agreement) is ``RefusedError`` (exit 5). A resource whose catalog
item matches neither its SKU nor its name, or that would post below cost under its price source
(chosen, or inherited from its agreement or company), needs a confirmation.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from idsync_core.engine import price_sources, pricing
from idsync_core.engine.planning import plan_link
from idsync_core.engine.posting import resolve_open
from idsync_core.engine.pricing import PriceChoice
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime
from idsync_core.engine.sync import LinkOutcome, reconcile_link
from idsync_core.errors import ConfirmationRequired, NotFoundError, RefusedError

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.models import (
        Agreement,
        CatalogItem,
        Company,
        ProviderAccount,
        Resource,
        Subscription,
    )
    from idsync_core.store import CompanyLink, ResourceLink, SubscriptionLink


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
    """The subscription under a linked account; else why not: it lives under an account that
    is not linked (refused), or nowhere at the provider (not found)."""
    linked = {c.account_id: c for c in runtime.store.active_company_links()
              if c.provider == provider}
    for company_link in linked.values():
        found = reader.subscriptions(provider, company_link.account_id).get(subscription_id)
        if found is not None:
            return found, company_link
    for account in runtime.provider(provider).list_accounts(None):
        if account.id in linked:
            continue
        if subscription_id in reader.subscriptions(provider, account.id):
            raise RefusedError(
                f"subscription {subscription_id} belongs to {provider} account {account.id} "
                f"({account.name}), which is not linked",
                hint=f"link its account first (`idsync link company {account.id} "
                     "PSA_COMPANY_ID`)")
    raise NotFoundError(f"subscription {subscription_id} does not exist at {provider}",
                        hint="`idsync subscriptions ACCOUNT_ID` lists an account's "
                             "subscriptions")


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
    """The resource on a linked subscription; else why not: it is on a subscription of a
    linked account that is not linked itself (refused), or on none of them (not found)."""
    sub_links = [s for s in runtime.store.active_subscription_links() if s.provider == provider]
    for sub_link in sub_links:
        found = reader.resources(provider, sub_link.subscription_id).get(resource_id)
        if found is not None:
            return found, sub_link
    linked_subscriptions = {s.subscription_id for s in sub_links}
    for company_link in runtime.store.active_company_links():
        if company_link.provider != provider:
            continue
        for subscription in reader.subscriptions(provider, company_link.account_id).values():
            if subscription.id in linked_subscriptions:
                continue
            if resource_id in reader.resources(provider, subscription.id):
                raise RefusedError(
                    f"resource {resource_id} is on subscription {subscription.id} "
                    f"({subscription.name}), which is not linked",
                    hint=f"link it first (`idsync link subscription {subscription.id} "
                         "AGREEMENT_ID`)")
    raise NotFoundError(
        f"resource {resource_id} does not exist on any subscription of a linked {provider} "
        "account",
        hint="`idsync resources SUBSCRIPTION_ID` lists a subscription's resources; link its "
             "account and subscription first")


def product_mismatch(resource: Resource, catalog: CatalogItem) -> str | None:
    """Why the catalog item does not look like the resource (neither the SKU nor the name
    agrees), or None: Business Premium billed as the Business Basic item is a costly slip."""
    def same(a: str, b: str) -> bool:
        return bool(a) and " ".join(a.casefold().split()) == " ".join(b.casefold().split())

    if same(resource.sku, catalog.identifier) or same(resource.name, catalog.name):
        return None
    return (f"catalog item {catalog.id} ({catalog.identifier or '—'}: {catalog.name}) does not "
            f"match resource {resource.id} ({resource.sku or '—'}: {resource.name}) by SKU or "
            "name")


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
    company_link = runtime.store.company_link_by_id(sub_link.company_link_id)
    assert company_link is not None
    link = ResourceLink(subscription_link_id=sub_link.id, provider=provider,
                        resource_id=resource.id, resource_name=resource.name,
                        agreement_id=sub_link.agreement_id, catalog_item_id=catalog.id,
                        catalog_item_name=catalog.name)
    to_confirm = [m for m in (product_mismatch(resource, catalog),
                              price_sources.new_link_below_cost(reader, link, company_link,
                                                                catalog, resource, price))
                  if m is not None]
    if to_confirm and not confirmed:
        raise ConfirmationRequired("; ".join(to_confirm),
                                   hint="confirm with --yes (or answer yes) if that is "
                                        "intended; nothing was linked")
    if dry_run:
        plan = plan_link(runtime, reader, link, sub_link, company_link, price_setting=price)
        return LinkOutcome(plan, dry_run=True)
    runtime.store.add_link(link, resource=resource.name, catalog_item=catalog.name,
                           agreement=sub_link.agreement_id)
    if price is not None:
        price_sources.store_setting(runtime, pricing.Scope.LINK, str(link.id), price)
    return reconcile(runtime, reader, link, origin="link", link_created=True)


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
