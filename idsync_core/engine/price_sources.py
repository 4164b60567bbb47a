"""Setting a price source for a company, an agreement or a linked resource, with its checks.

Two rules hold at every scope, because a price source set on a company reaches every posting
of every product linked under it just as surely as one set on a single link:

* **every id is checked before anything is stored**: a company or agreement that does not exist
  at the PSA, or a resource that is not linked, is "not found" (exit 4) — never a setting that
  silently applies to nothing (or, worse, to a provider account id typed as a PSA company);
* **below cost needs a confirmation**: when the setting would post any product linked under the
  scope below cost (:func:`pricing.below_cost`), nothing is stored unless the operator confirmed
  it, and the refusal names each product with both figures. A product linked *later* under the
  scope is checked when it is linked (:func:`new_link_below_cost`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from idsync_core.engine import pricing
from idsync_core.engine.pricing import PriceChoice, PriceSetting, Scope
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import ConfirmationRequired, NotFoundError

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.models import CatalogItem, Resource
    from idsync_core.store import CompanyLink, PriceSourceSetting, ResourceLink


@dataclass(frozen=True)
class Product:
    """A product linked under a scope: what a price source set there would post."""

    link: ResourceLink
    catalog: CatalogItem
    resource: Resource | None


def scope_id(runtime: Runtime, scope: Scope, object_id: str, provider: str | None = None) -> str:
    """The store's id for a scope, once the object is known to exist.

    ``object_id`` is a PSA company id, a PSA agreement id, or (scope ``link``) the provider's
    resource id of a linked resource.
    """
    if scope is Scope.LINK:
        name = runtime.provider(provider).name
        link = runtime.store.resource_link(name, object_id)
        if link is None:
            raise NotFoundError(f"resource {object_id} is not linked at {name}",
                                hint="`idsync links` lists the linked resources; link it with "
                                     "`idsync link resource`")
        return str(link.id)
    psa = runtime.psa
    try:
        if scope is Scope.COMPANY:
            next(iter(psa.list_agreements(object_id)), None)
        else:
            next(iter(psa.list_lines(object_id, runtime.today)), None)
    except NotFoundError:
        what = "PSA company" if scope is Scope.COMPANY else "agreement"
        raise NotFoundError(f"{what} {object_id} does not exist at {psa.title}",
                            hint=_listing_hint(runtime, scope, object_id)) from None
    return object_id


def _listing_hint(runtime: Runtime, scope: Scope, object_id: str) -> str:
    if scope is Scope.AGREEMENT:
        return "`idsync agreements PSA_COMPANY_ID` lists a company's agreements"
    for link in runtime.store.active_company_links():
        if link.account_id == object_id:  # a provider account id typed as a PSA company
            return (f"{object_id} is the {link.provider} account {link.account_name!r}, linked "
                    f"to PSA company {link.psa_company_id} ({link.psa_company_name}): use "
                    f"--company {link.psa_company_id}")
    return "`idsync companies psa` lists the PSA companies"


def products_under(runtime: Runtime, reader: Reader, scope: Scope, key: str, *,
                   with_resources: bool) -> list[Product]:
    """Every product linked under the scope (``key`` as :func:`scope_id` returns it).

    ``with_resources`` also reads each one's provider resource (a markup starts from its cost).
    """
    links = [link for link in runtime.store.active_resource_links()
             if _under(reader, link, scope, key)]
    catalog = reader.catalog_items(sorted({link.catalog_item_id for link in links}))
    products = []
    for link in links:
        item = catalog.get(link.catalog_item_id)
        if item is None:
            continue  # a product gone from the catalog posts nothing; sync reports it
        resource = None
        if with_resources:
            sub_link = reader.snapshot.subscription_links.get(link.subscription_link_id)
            if sub_link is not None:
                resource = reader.resources(link.provider, sub_link.subscription_id).get(
                    link.resource_id)
        products.append(Product(link, item, resource))
    return products


def _under(reader: Reader, link: ResourceLink, scope: Scope, key: str) -> bool:
    if scope is Scope.LINK:
        return str(link.id) == key
    if scope is Scope.AGREEMENT:
        return link.agreement_id == key
    sub_link = reader.snapshot.subscription_links.get(link.subscription_link_id)
    company = reader.snapshot.company_links.get(sub_link.company_link_id) if sub_link else None
    return company is not None and company.psa_company_id == key


def below_cost_message(setting: PriceSetting, products: list[Product], *,
                       where: str) -> str | None:
    """What to confirm when the setting posts any of the products below cost, else None."""
    findings = [(product, reason) for product in products
                if (reason := pricing.below_cost(setting, catalog=product.catalog,
                                                 resource=product.resource)) is not None]
    if not findings:
        return None
    lines = "; ".join(f"{p.catalog.name} (catalog item {p.catalog.id}, for resource "
                      f"{p.link.resource_id}): {reason}" for p, reason in findings)
    return f"the {setting.kind} price source {where} would post below cost: {lines}"


def confirm_not_below_cost(setting: PriceSetting, products: list[Product], *, where: str,
                           confirmed: bool) -> None:
    """Raise :class:`ConfirmationRequired` naming every product the setting posts below cost."""
    message = below_cost_message(setting, products, where=where)
    if message is not None and not confirmed:
        raise ConfirmationRequired(
            message, hint="confirm with --yes (or answer yes) if that is intended; nothing "
                          "was stored")


def set_price_source(runtime: Runtime, scope: Scope, object_id: str, choice: PriceChoice, *,
                     confirmed: bool, provider: str | None = None) -> PriceSourceSetting:
    """Check the ids and the costs, then store the setting (audited)."""
    choice.validate()
    key = scope_id(runtime, scope, object_id, provider)
    reader = Reader(runtime)
    needs_resources = choice.kind is pricing.PriceSourceKind.MARKUP
    products = products_under(runtime, reader, scope, key, with_resources=needs_resources)
    confirm_not_below_cost(choice, products, where=f"for {scope.value} {object_id}",
                           confirmed=confirmed)
    return store_setting(runtime, scope, key, choice)


def setting_of(scope: Scope, key: str, choice: PriceChoice) -> PriceSourceSetting:
    """The store's row for a checked choice (``key``: the store's scope id)."""
    from idsync_core.store import PriceSourceSetting

    return PriceSourceSetting(scope=scope.value, scope_id=key, kind=choice.kind.value,
                              price=choice.price, cost=choice.cost,
                              markup_percent=choice.markup_percent)


def store_setting(runtime: Runtime, scope: Scope, key: str,
                  choice: PriceChoice) -> PriceSourceSetting:
    """Store a checked setting (audited)."""
    setting = setting_of(scope, key, choice)
    runtime.store.set_price_source(setting)
    return setting


def clear_price_source(runtime: Runtime, scope: Scope, object_id: str,
                       provider: str | None = None) -> None:
    """Remove a setting; the next less specific one applies again."""
    key = scope_id(runtime, scope, object_id, provider) if scope is Scope.LINK else object_id
    if not runtime.store.clear_price_source(scope.value, key):
        raise NotFoundError(f"no price source is set for {scope.value} {object_id}",
                            hint="`idsync price-source list` shows the settings")


def new_link_below_cost(reader: Reader, link: ResourceLink, company_link: CompanyLink,
                        catalog: CatalogItem, resource: Resource,
                        choice: PriceChoice | None) -> str | None:
    """What to confirm about a product about to be linked, under the price source it will post
    with: the one chosen for the link, else the agreement's or the company's (inherited)."""
    setting: PriceSetting | None = choice
    where = "chosen for this link"
    if setting is None:
        inherited, scope = pricing.effective_setting(
            reader.snapshot.price_source, link_id=None, agreement_id=link.agreement_id,
            psa_company_id=company_link.psa_company_id)
        if inherited is None or scope is None:
            return None
        setting, where = inherited, f"of {scope.value} {inherited.scope_id} (inherited)"
    return below_cost_message(setting, [Product(link, catalog, resource)], where=where)
