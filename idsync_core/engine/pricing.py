"""Price sources: where the unit price and cost of a posting come from.

Settable per company, per agreement or per resource link; the most specific setting wins and the
default is Catalog. Kinds:

* ``catalog``  — the PSA catalog item's price and cost;
* ``agreement`` — the price of that product's first line on the agreement (by sequence), cost
  likewise; falls back to the catalog when the agreement has no such line yet;
* ``custom``  — a price and cost the operator typed;
* ``provider`` — the marketplace's unit price and cost for the resource;
* ``markup``  — the provider's unit cost plus a percentage, rounded half-up to the cent.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from idsync_core.models import AgreementLine, CatalogItem, Resource
from idsync_core.store import PriceSourceSetting

CENT = Decimal("0.01")


class PriceSourceKind(enum.StrEnum):
    CATALOG = "catalog"
    AGREEMENT = "agreement"
    CUSTOM = "custom"
    PROVIDER = "provider"
    MARKUP = "markup"


class Scope(enum.StrEnum):
    LINK = "link"
    AGREEMENT = "agreement"
    COMPANY = "company"


def money_text(value: Decimal | None) -> str:
    """Money for people: at least two decimals (4.8 → 4.80), never rounded away."""
    if value is None:
        return "—"
    exponent = value.as_tuple().exponent
    shown = value.quantize(CENT) if isinstance(exponent, int) and exponent > -2 else value
    return format(shown, "f")


@dataclass(frozen=True)
class Pricing:
    price: Decimal | None
    cost: Decimal | None
    source: str
    """How the figures were found, for the operator (e.g. ``agreement → catalog``)."""


def effective_setting(lookup: Callable[[str, str], PriceSourceSetting | None], *,
                      link_id: int | None, agreement_id: str,
                      psa_company_id: str) -> tuple[PriceSourceSetting | None, Scope | None]:
    """The most specific price-source setting: link, then agreement, then company.

    ``lookup(scope, scope_id)`` finds a setting (``Store.price_source`` or a run snapshot's).
    """
    candidates: list[tuple[Scope, str | None]] = [
        (Scope.LINK, str(link_id) if link_id is not None else None),
        (Scope.AGREEMENT, agreement_id),
        (Scope.COMPANY, psa_company_id),
    ]
    for scope, scope_id in candidates:
        if scope_id is None:
            continue
        setting = lookup(scope, scope_id)
        if setting is not None:
            return setting, scope
    return None, None


def markup_price(cost: Decimal, percent: Decimal) -> Decimal:
    return (cost * (1 + percent / 100)).quantize(CENT, rounding=ROUND_HALF_UP)


def resolve(setting: PriceSourceSetting | None, *, catalog: CatalogItem | None,
            line: AgreementLine | None, resource: Resource) -> Pricing:
    """Price and cost for a posting under ``setting`` (None: the Catalog default)."""
    kind = PriceSourceKind(setting.kind) if setting else PriceSourceKind.CATALOG
    catalog_pricing = Pricing(catalog.price if catalog else None,
                              catalog.cost if catalog else None, "catalog")
    if kind is PriceSourceKind.CATALOG:
        return catalog_pricing
    if kind is PriceSourceKind.AGREEMENT:
        if line is not None and line.unit_price is not None:
            return Pricing(line.unit_price, line.unit_cost, "agreement")
        return Pricing(catalog_pricing.price, catalog_pricing.cost, "agreement → catalog")
    assert setting is not None
    if kind is PriceSourceKind.CUSTOM:
        return Pricing(setting.price, setting.cost, "custom")
    if kind is PriceSourceKind.PROVIDER:
        return Pricing(resource.unit_price, resource.unit_cost, "provider")
    if resource.unit_cost is None or setting.markup_percent is None:
        return Pricing(None, None, "markup (provider cost unknown)")
    return Pricing(markup_price(resource.unit_cost, setting.markup_percent), resource.unit_cost,
                   f"markup {setting.markup_percent}%")
