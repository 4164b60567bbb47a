"""Product mappings: one decision per SKU, reused for every customer.

``map product SKU CATALOG_ITEM_ID`` says the provider's SKU (Ingram ``mpn``; the APS resource
type id on Odin) bills as that PSA catalog item, optionally for one commitment term only (an
annual and a monthly Exchange Online billed as two PSA products) and with a default price
source that linking through the mapping sets on the link. :func:`suggest_mappings` proposes
one for each SKU seen at the provider without one: the catalog item carrying the same SKU, else
the best name match (by the rules of :mod:`.names`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from idsync_core.engine import pricing
from idsync_core.engine.onboarding.names import NameIndex
from idsync_core.engine.pricing import PriceChoice
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import ConfirmationRequired, NotFoundError, RefusedError

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.models import CatalogItem, Resource
    from idsync_core.store import ProductMapping

ANY_TERM = ""


def canonical_term(term: str | None) -> str:
    """The stored form of a ``--term`` (``annual`` → ``1y``); refused when it is no term."""
    if term is None or not term.strip():
        return ANY_TERM
    from idsync_core.models import normalize_term

    canonical = normalize_term(term)
    if canonical is None:
        raise RefusedError(f"{term!r} is not a commitment term",
                           hint="use e.g. 1m, monthly, 1y, annual or 3y")
    return canonical


def map_product(runtime: Runtime, provider: str, sku: str, catalog_item_id: str, *,
                term: str | None = None, price: PriceChoice | None = None,
                confirmed: bool = False) -> ProductMapping:
    """Record that ``sku`` bills as the catalog item (replacing an earlier mapping of it)."""
    if not sku.strip():
        raise RefusedError("the SKU cannot be empty")
    item = Reader(runtime).catalog_item(catalog_item_id)  # NotFoundError when unknown
    if not item.active:
        raise RefusedError(f"catalog item {catalog_item_id} ({item.name}) is inactive",
                           hint="reactivate it in the PSA or pick another")
    if price is not None:
        price.validate()
        below = pricing.below_cost(price, catalog=item, resource=None)
        if below is not None and not confirmed:
            raise ConfirmationRequired(
                f"the {price.kind.value} price source of this mapping would post {item.name} "
                f"(catalog item {item.id}) below cost: {below}",
                hint="confirm with --yes (or answer yes) if that is intended; nothing was "
                     "stored")
    from idsync_core.store import ProductMapping

    mapping = ProductMapping(provider=provider, sku=sku, term=canonical_term(term),
                             catalog_item_id=item.id, catalog_item_name=item.name,
                             price_kind=price.kind.value if price else None,
                             price=price.price if price else None,
                             cost=price.cost if price else None,
                             markup_percent=price.markup_percent if price else None)
    runtime.store.set_product_mapping(mapping)
    return mapping


def unmap(runtime: Runtime, provider: str, sku: str, term: str | None = None) -> None:
    if not runtime.store.remove_product_mapping(provider, sku, canonical_term(term)):
        raise NotFoundError(f"no product mapping for SKU {sku}"
                            + (f" ({canonical_term(term)})" if term else "") + f" at {provider}",
                            hint="`idsync map list` shows them")


def price_of(mapping: ProductMapping) -> PriceChoice | None:
    """The mapping's default price source, as linking takes it."""
    if mapping.price_kind is None:
        return None
    return PriceChoice(pricing.PriceSourceKind(mapping.price_kind), mapping.price,
                               mapping.cost, mapping.markup_percent)


@dataclass(frozen=True)
class MappingTable:
    """Every mapping of one provider, looked up by SKU and term."""

    by_key: dict[tuple[str, str], ProductMapping]

    @classmethod
    def of(cls, mappings: Iterable[ProductMapping]) -> MappingTable:
        return cls({(m.sku.casefold(), m.term): m for m in mappings})

    def find(self, sku: str, term: str | None) -> ProductMapping | None:
        """The mapping for this SKU and term, else the SKU's any-term mapping."""
        key = sku.casefold()
        return (self.by_key.get((key, term)) if term else None) or self.by_key.get(
            (key, ANY_TERM))


@dataclass(frozen=True)
class CatalogMatch:
    item: CatalogItem | None
    score: float | None
    reason: str
    confident: bool
    candidates: list[tuple[CatalogItem, float]] = field(default_factory=list)


class Catalog:
    """The active catalog items, by SKU (identifier, manufacturer part number, vendor SKU) and
    by name."""

    def __init__(self, items: Sequence[CatalogItem]) -> None:
        self.active = [item for item in items if item.active]
        self.by_id = {item.id: item for item in items}
        self.by_sku: dict[str, list[CatalogItem]] = {}
        for item in self.active:
            for code in {code.casefold() for code in item.skus()}:
                self.by_sku.setdefault(code, []).append(item)
        self.names = NameIndex(self.active, lambda item: item.name, what="catalog item")

    def match(self, sku: str, name: str) -> CatalogMatch:
        """By SKU, else by name (confident under the rules of :mod:`.names`)."""
        same_sku = self.by_sku.get(sku.casefold(), []) if sku else []
        if len(same_sku) == 1:
            return CatalogMatch(same_sku[0], 1.0, "same SKU", True, [(same_sku[0], 1.0)])
        if len(same_sku) > 1:
            return CatalogMatch(None, 1.0, f"{len(same_sku)} catalog items carry SKU {sku}",
                                False, [(item, 1.0) for item in same_sku])
        found = self.names.match(name)
        return CatalogMatch(found.best, found.score, found.reason, found.confident,
                            [(c.item, c.score) for c in found.candidates])


@dataclass(frozen=True)
class MappingSuggestion:
    sku: str
    name: str
    resources: int
    match: CatalogMatch


def suggest_mappings(catalog: Catalog, table: MappingTable,
                     resources: Iterable[tuple[Resource, str | None]]) -> list[MappingSuggestion]:
    """One suggestion per SKU seen among ``resources`` (with their subscription's term) that
    no mapping covers, most-used first."""
    seen: Counter[str] = Counter()
    names: dict[str, str] = {}
    for resource, term in resources:
        if not resource.sku or not resource.seat_based or table.find(resource.sku, term):
            continue
        seen[resource.sku] += 1
        names.setdefault(resource.sku, resource.name)
    return [MappingSuggestion(sku, names[sku], count, catalog.match(sku, names[sku]))
            for sku, count in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))]

