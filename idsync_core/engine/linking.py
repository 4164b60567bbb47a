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

import difflib
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from idsync_core.engine import price_sources, pricing
from idsync_core.engine.planning import LinePlan, plan_link
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


def _find_account(runtime: Runtime, provider: str, account_id: str,
                  reader: Reader | None = None) -> ProviderAccount:
    accounts = reader.accounts(provider).values() if reader else (
        runtime.provider(provider).list_accounts(None))
    for account in accounts:
        if account.id == account_id:
            return account
    raise NotFoundError(f"account {account_id} does not exist at {provider}",
                        hint="list them with `idsync companies provider`")


def _find_company(runtime: Runtime, company_id: str, reader: Reader | None = None) -> Company:
    for company in reader.companies().values() if reader else runtime.psa.list_companies(None):
        if company.id == company_id:
            return company
    raise NotFoundError(f"PSA company {company_id} does not exist",
                        hint="list them with `idsync companies psa`")


def provider_name(runtime: Runtime, provider: str | None) -> str:
    return runtime.provider(provider).name


def new_company_link(runtime: Runtime, provider: str, account_id: str, psa_company_id: str,
                     reader: Reader | None = None) -> CompanyLink:
    """The company link step 1 would store, once its rules hold (not stored here).

    ``reader``: reads shared across many calls (bulk linking); by default, read afresh."""
    from idsync_core.store import CompanyLink

    existing = runtime.store.company_link(provider, account_id)
    if existing is not None:
        raise RefusedError(f"account {account_id} is already linked to PSA company "
                           f"{existing.psa_company_id}",
                           hint=f"`idsync unlink company {account_id}` first to change it")
    account = _find_account(runtime, provider, account_id, reader)
    company = _find_company(runtime, psa_company_id, reader)
    return CompanyLink(provider=provider, account_id=account.id, account_name=account.name,
                       psa_company_id=company.id, psa_company_name=company.name)


def link_company(runtime: Runtime, provider: str | None, account_id: str,
                 psa_company_id: str, *, reader: Reader | None = None) -> CompanyLink:
    link = new_company_link(runtime, provider_name(runtime, provider), account_id,
                            psa_company_id, reader)
    runtime.store.add_link(link, account=link.account_name, psa_company=link.psa_company_name)
    return link


def _find_subscription(runtime: Runtime, reader: Reader, provider: str, subscription_id: str,
                       account_id: str | None = None) -> tuple[Subscription, CompanyLink]:
    """The subscription under a linked account; else why not: it lives under an account that
    is not linked (refused), or nowhere at the provider (not found). ``account_id``: the
    account the caller knows it under (bulk linking), so only that account's link is read."""
    if account_id is not None:
        known = runtime.store.company_link(provider, account_id)
        linked = {known.account_id: known} if known is not None else {}
    else:
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


def check_agreement_choice(agreement: Agreement, today: date) -> None:
    """A subscription may bill onto an active agreement only (the guided flow asks again)."""
    if agreement.is_expired(today):
        raise RefusedError(f"agreement {agreement.id} ({agreement.name}) is expired or "
                           "cancelled; postings to it would not be billed",
                           hint="pick an active agreement")


def new_subscription_link(runtime: Runtime, reader: Reader, provider: str,
                          subscription_id: str, agreement_id: str, *,
                          company_link: CompanyLink | None = None,
                          account_id: str | None = None) -> SubscriptionLink:
    """The subscription link step 2 would store, once its rules hold (not stored here).

    ``company_link``: the account's link when it is not stored yet (the guided flow's chain);
    else the subscription is looked for under the linked accounts.
    """
    from idsync_core.store import SubscriptionLink

    existing = runtime.store.subscription_link(provider, subscription_id)
    if existing is not None:
        raise RefusedError(f"subscription {subscription_id} is already linked to agreement "
                           f"{existing.agreement_id}",
                           hint=f"`idsync unlink subscription {subscription_id}` first")
    if company_link is None:
        subscription, company_link = _find_subscription(runtime, reader, provider,
                                                        subscription_id, account_id)
    else:
        found = reader.subscriptions(provider, company_link.account_id).get(subscription_id)
        if found is None:
            raise NotFoundError(f"subscription {subscription_id} is not one of account "
                                f"{company_link.account_id}'s at {provider}",
                                hint=f"`idsync subscriptions {company_link.account_id}` lists "
                                     "them")
        subscription = found
    agreement = reader.agreements(company_link.psa_company_id).get(agreement_id)
    if agreement is None:
        raise RefusedError(
            f"agreement {agreement_id} does not belong to PSA company "
            f"{company_link.psa_company_id} ({company_link.psa_company_name}), which account "
            f"{company_link.account_id} is linked to",
            hint=f"`idsync agreements {company_link.psa_company_id}` lists its agreements")
    check_agreement_choice(agreement, runtime.today)
    return SubscriptionLink(company_link_id=company_link.id, provider=provider,
                            subscription_id=subscription.id, subscription_name=subscription.name,
                            agreement_id=agreement.id, agreement_name=agreement.name)


def link_subscription(runtime: Runtime, provider: str | None, subscription_id: str,
                      agreement_id: str, *, reader: Reader | None = None,
                      account_id: str | None = None) -> SubscriptionLink:
    """``reader``: reads shared across many calls; ``account_id``: the subscription's account
    where the caller knows it (bulk linking), so only that account's link is looked at."""
    link = new_subscription_link(runtime, reader or Reader(runtime),
                                 provider_name(runtime, provider), subscription_id,
                                 agreement_id, account_id=account_id)
    runtime.store.add_link(link, subscription=link.subscription_name,
                           agreement=link.agreement_name)
    return link


def _find_resource(runtime: Runtime, reader: Reader, provider: str, resource_id: str,
                   subscription_id: str | None = None) -> tuple[Resource, SubscriptionLink]:
    """The resource on a linked subscription; else why not: it is on a subscription of a
    linked account that is not linked itself (refused), or on none of them (not found).
    ``subscription_id``: the subscription the caller knows it on (bulk linking), so only that
    subscription's link is read."""
    if subscription_id is not None:
        known = runtime.store.subscription_link(provider, subscription_id)
        sub_links = [known] if known is not None else []
    else:
        sub_links = [s for s in runtime.store.active_subscription_links()
                     if s.provider == provider]
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


@dataclass
class NewResourceLink:
    """The resource link step 3 would store, with what must be confirmed before it is."""

    link: ResourceLink
    resource: Resource
    catalog: CatalogItem
    sub_link: SubscriptionLink
    company_link: CompanyLink
    to_confirm: list[str]

    def confirm(self, confirmed: bool) -> None:
        if self.to_confirm and not confirmed:
            raise ConfirmationRequired("; ".join(self.to_confirm),
                                       hint="confirm with --yes (or answer yes) if that is "
                                            "intended; nothing was linked")


def new_resource_link(runtime: Runtime, reader: Reader, provider: str, resource_id: str,
                      catalog_item_id: str, price: PriceChoice | None, *,
                      sub_link: SubscriptionLink | None = None,
                      company_link: CompanyLink | None = None,
                      subscription_id: str | None = None) -> NewResourceLink:
    """The checks of step 3 (not stored here). ``sub_link``/``company_link``: the parents when
    they are not stored yet (the guided flow's chain); else the resource is looked for on the
    linked subscriptions."""
    from idsync_core.store import ResourceLink

    existing = runtime.store.resource_link(provider, resource_id)
    if existing is not None:
        raise RefusedError(f"resource {resource_id} is already linked to catalog item "
                           f"{existing.catalog_item_id} on agreement {existing.agreement_id}",
                           hint=f"`idsync unlink resource {resource_id}` first")
    if sub_link is None:
        resource, sub_link = _find_resource(runtime, reader, provider, resource_id,
                                            subscription_id)
    else:
        found = reader.resources(provider, sub_link.subscription_id).get(resource_id)
        if found is None:
            raise NotFoundError(f"resource {resource_id} is not on subscription "
                                f"{sub_link.subscription_id} at {provider}")
        resource = found
    if company_link is None:
        company_link = runtime.store.company_link_by_id(sub_link.company_link_id)
        assert company_link is not None
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
    refuse_other_currency(reader, resource, sub_link, company_link, price)
    link = ResourceLink(subscription_link_id=sub_link.id, provider=provider,
                        resource_id=resource.id, resource_name=resource.name,
                        agreement_id=sub_link.agreement_id, catalog_item_id=catalog.id,
                        catalog_item_name=catalog.name)
    to_confirm = [m for m in (product_mismatch(resource, catalog),
                              price_sources.new_link_below_cost(reader, link, company_link,
                                                                catalog, resource, price))
                  if m is not None]
    return NewResourceLink(link, resource, catalog, sub_link, company_link, to_confirm)


def refuse_other_currency(reader: Reader, resource: Resource, sub_link: SubscriptionLink,
                          company_link: CompanyLink, price: PriceChoice | None) -> None:
    """A ``provider`` or ``markup`` price — chosen for the link, else inherited from its
    agreement or company — in another currency than the agreement's is refused, not confirmed:
    no answer makes one currency's amounts another's."""
    if price is not None:
        kind: str = price.kind
    else:
        inherited, _scope = pricing.effective_setting(
            reader.snapshot.price_source, link_id=None, agreement_id=sub_link.agreement_id,
            psa_company_id=company_link.psa_company_id)
        kind = inherited.kind if inherited is not None else pricing.PriceSourceKind.CATALOG
    if kind not in (pricing.PriceSourceKind.PROVIDER, pricing.PriceSourceKind.MARKUP):
        return
    agreement = reader.agreement(company_link.psa_company_id, sub_link.agreement_id)
    mismatch = pricing.currency_mismatch(kind, resource, agreement)
    if mismatch is not None:
        raise RefusedError(mismatch, hint="use the catalog, agreement or custom price source "
                                          "for it (IDSync converts no currency)")


RECONCILED_BY_CALLER = "linked; the caller reconciles it"


def link_resource(runtime: Runtime, provider: str | None, resource_id: str,
                  catalog_item_id: str, *, price: PriceChoice | None = None,
                  confirmed: bool = False, dry_run: bool = False,
                  reader: Reader | None = None, subscription_id: str | None = None,
                  reconcile_now: bool = True) -> LinkOutcome:
    """Link a resource to a catalog product, then post the difference once (see module doc).

    With ``dry_run`` nothing is stored or posted: the result shows what would be.

    Bulk linking passes its ``reader`` (reads shared across rows), the resource's
    ``subscription_id`` (only that subscription's link is looked at) and
    ``reconcile_now=False``: the link is stored with every rule applied, and the caller
    reconciles its new links in one pass under one lock (the outcome's ``skipped_reason`` is
    :data:`RECONCILED_BY_CALLER`).
    """
    provider = provider_name(runtime, provider)
    reader = reader or Reader(runtime)
    new = new_resource_link(runtime, reader, provider, resource_id, catalog_item_id, price,
                            subscription_id=subscription_id)
    new.confirm(confirmed)
    if dry_run:
        with runtime.dry_run():  # a connector that writes while planning fails loudly
            plan = plan_link(runtime, reader, new.link, new.sub_link, new.company_link,
                             price_setting=price)
        return LinkOutcome(plan, dry_run=True)
    _store(runtime, None, None, new, price)
    if not reconcile_now:
        return LinkOutcome(LinePlan(link=new.link, subscription_link=new.sub_link,
                                    company_link=new.company_link), link_created=True,
                           skipped_reason=RECONCILED_BY_CALLER)
    return reconcile(runtime, reader, new.link, origin="link", link_created=True)


def _store(runtime: Runtime, company: CompanyLink | None, subscription: SubscriptionLink | None,
           new: NewResourceLink, price: PriceChoice | None) -> None:
    """The links still needed and the price source, in one transaction (all or none)."""
    setting = price_sources.setting_of(pricing.Scope.LINK, "", price) if price else None
    runtime.store.add_chain(
        (company, {"account": company.account_name, "psa_company": company.psa_company_name})
        if company else None,
        (subscription, {"subscription": subscription.subscription_name,
                        "agreement": subscription.agreement_name}) if subscription else None,
        (new.link, {"resource": new.resource.name, "catalog_item": new.catalog.name,
                    "agreement": new.sub_link.agreement_id,
                    "psa_company": new.company_link.psa_company_id}),
        setting)


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


def linked_agreement_ids(runtime: Runtime) -> set[str]:
    return {s.agreement_id for s in runtime.store.active_subscription_links()}


def visible_agreements(runtime: Runtime, psa_company_id: str, *, include_expired: bool,
                       include_linked: bool) -> list[Agreement]:
    """A company's agreements as the linking flow offers them (:func:`agreement_is_visible`)."""
    linked = linked_agreement_ids(runtime)
    return [a for a in runtime.psa.list_agreements(psa_company_id)
            if agreement_is_visible(a, linked=linked, include_expired=include_expired,
                                    include_linked=include_linked, today=runtime.today)]


def has_unlinked_agreement(runtime: Runtime, psa_company_id: str,
                           linked: set[str] | None = None) -> bool:
    """Does the company still have an active agreement no subscription is linked to? (The
    PSA company list of the linking flow shows only those by default.)"""
    linked = linked_agreement_ids(runtime) if linked is None else linked
    return any(not a.is_expired(runtime.today) and a.id not in linked
               for a in runtime.psa.list_agreements(psa_company_id))


def psa_companies(runtime: Runtime, search: str | None, *,
                  unlinked_only: bool) -> list[Company]:
    """PSA companies matching ``search``; ``unlinked_only``: only those with an active
    agreement not linked yet."""
    linked = linked_agreement_ids(runtime)
    return [company for company in runtime.psa.list_companies(search)
            if not unlinked_only or has_unlinked_agreement(runtime, company.id, linked)]


UnlinkLevel = Literal["company", "subscription", "resource"]


def unlink(runtime: Runtime, level: UnlinkLevel, provider: str | None,
           object_id: str) -> CompanyLink | SubscriptionLink | ResourceLink:
    """Remove one link (its history stays), children first: an account with linked
    subscriptions, or a subscription with linked resources, is refused."""
    name = provider_name(runtime, provider)
    store = runtime.store
    link: CompanyLink | SubscriptionLink | ResourceLink | None
    if level == "company":
        link = store.company_link(name, object_id)
        if link is not None and any(s.company_link_id == link.id
                                    for s in store.active_subscription_links()):
            raise RefusedError(f"account {object_id} still has linked subscriptions",
                               hint="unlink them first (`idsync links` shows them)")
    elif level == "subscription":
        link = store.subscription_link(name, object_id)
        if link is not None and any(r.subscription_link_id == link.id
                                    for r in store.active_resource_links()):
            raise RefusedError(f"subscription {object_id} still has linked resources",
                               hint="unlink them first (`idsync links` shows them)")
    else:
        link = store.resource_link(name, object_id)
    if link is None:
        raise NotFoundError(f"no active {level} link for {object_id} at {name}",
                            hint="`idsync links` lists the links")
    store.remove_link(link, object_id=object_id)
    return link


@dataclass
class LinkChain:
    """One resource's whole linking chain, as the guided ``idsync link`` collects it.

    ``psa_company_id`` is None when the account is linked already, ``agreement_id`` when the
    subscription is. :func:`link_chain` stores the links still needed only once every rule of
    every step holds, so a flow abandoned (or refused) half-way has linked nothing.
    """

    provider: str | None
    account_id: str
    subscription_id: str
    resource_id: str
    catalog_item_id: str
    psa_company_id: str | None = None
    agreement_id: str | None = None
    price: PriceChoice | None = None


@dataclass
class CheckedChain:
    """A chain whose every rule held: the links it still needs (None: stored already)."""

    new_company: CompanyLink | None
    new_subscription: SubscriptionLink | None
    resource: NewResourceLink
    reader: Reader


def check_chain(runtime: Runtime, chain: LinkChain) -> CheckedChain:
    """Check the whole chain with the rules of each step; nothing is stored."""
    provider = provider_name(runtime, chain.provider)
    store = runtime.store
    reader = Reader(runtime)
    new_company = None
    company_link = store.company_link(provider, chain.account_id)
    if company_link is not None:
        if chain.psa_company_id not in (None, company_link.psa_company_id):
            raise RefusedError(f"account {chain.account_id} is already linked to PSA company "
                               f"{company_link.psa_company_id}",
                               hint=f"`idsync unlink company {chain.account_id}` first")
    elif chain.psa_company_id is None:
        raise RefusedError(f"account {chain.account_id} is not linked to a PSA company yet",
                           hint="choose its PSA company")
    else:
        company_link = new_company = new_company_link(runtime, provider, chain.account_id,
                                                      chain.psa_company_id)
    new_subscription = None
    sub_link = store.subscription_link(provider, chain.subscription_id)
    if sub_link is not None:
        if sub_link.company_link_id != company_link.id or chain.agreement_id not in (
                None, sub_link.agreement_id):
            raise RefusedError(f"subscription {chain.subscription_id} is already linked to "
                               f"agreement {sub_link.agreement_id}",
                               hint=f"`idsync unlink subscription {chain.subscription_id}` "
                                    "first")
    elif chain.agreement_id is None:
        raise RefusedError(f"subscription {chain.subscription_id} is not linked to an "
                           "agreement yet", hint="choose its agreement")
    else:
        sub_link = new_subscription = new_subscription_link(
            runtime, reader, provider, chain.subscription_id, chain.agreement_id,
            company_link=company_link)
    new = new_resource_link(runtime, reader, provider, chain.resource_id, chain.catalog_item_id,
                            chain.price, sub_link=sub_link, company_link=company_link)
    return CheckedChain(new_company, new_subscription, new, reader)


def link_chain(runtime: Runtime, chain: LinkChain, *, confirmed: bool = False) -> LinkOutcome:
    """Check the whole chain with the rules of each step, store its links and price source
    together, then reconcile the resource's line once (as :func:`link_resource` does)."""
    checked = check_chain(runtime, chain)
    checked.resource.confirm(confirmed)
    _store(runtime, checked.new_company, checked.new_subscription, checked.resource,
           chain.price)
    return reconcile(runtime, checked.reader, checked.resource.link, origin="link",
                     link_created=True)


def preview_chain(runtime: Runtime, chain: LinkChain) -> tuple[LinkOutcome, list[str]]:
    """What :func:`link_chain` would post (a dry run: nothing stored or posted), and what it
    would ask to confirm first (a cost below the PSA cost, a product that matches neither SKU
    nor name)."""
    checked = check_chain(runtime, chain)
    new = checked.resource
    with runtime.dry_run():  # the console's preview: a connector that writes fails loudly
        plan = plan_link(runtime, checked.reader, new.link, new.sub_link, new.company_link,
                         price_setting=chain.price)
    return LinkOutcome(plan, dry_run=True), new.to_confirm


def similarity(resource: Resource, item: CatalogItem) -> float:
    """How likely the catalog item bills this resource: an equal SKU wins, then the name."""
    if resource.sku and resource.sku.lower() == item.identifier.lower():
        return 2.0
    return difflib.SequenceMatcher(None, resource.name.lower(), item.name.lower()).ratio()


def linkable_resources(runtime: Runtime, provider: str, subscription_id: str) -> list[Resource]:
    """The subscription's resources that can still be linked: seat-based, not linked yet."""
    return [r for r in runtime.provider(provider).list_resources(subscription_id)
            if r.seat_based and runtime.store.resource_link(provider, r.id) is None]


def likely_products(runtime: Runtime, provider: str, resource: Resource,
                    term: str | None = None) -> list[CatalogItem]:
    """The active catalog items, the one the resource most likely bills as first: its SKU's
    product mapping (for the subscription's ``term`` first), else by :func:`similarity`."""
    from idsync_core.engine.onboarding.mappings import MappingTable

    catalog = [item for item in runtime.psa.list_catalog() if item.active]
    mapping = MappingTable.of(runtime.store.product_mappings(provider)).find(
        resource.sku, term) if resource.sku else None
    mapped = mapping.catalog_item_id if mapping is not None else None
    catalog.sort(key=lambda item: (item.id == mapped, similarity(resource, item)), reverse=True)
    return catalog
