"""Price sources: where the unit price and cost of a posting come from.

Settable per company, per agreement or per resource link; the most specific setting wins and the
default is Catalog. Kinds:

* ``catalog``  — the PSA catalog item's price and cost;
* ``agreement`` — the price of that product's first line on the agreement (by sequence), cost
  likewise; falls back to the catalog when the agreement has no such line yet;
* ``custom``  — a price and cost the operator typed;
* ``provider`` — the marketplace's unit price and cost for the resource;
* ``markup``  — the provider's unit cost plus a percentage, rounded half-up to the cent.

A setting that would post below cost — a custom cost under the PSA cost, a markup price under
the PSA cost, a negative markup, a price under its own cost — is allowed only when confirmed
(:func:`below_cost`; :mod:`price_sources` applies it at every scope).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Protocol

from idsync_core.errors import RefusedError

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.models import Agreement, AgreementLine, CatalogItem, Resource
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


class PriceSetting(Protocol):
    """A price source as stored (``PriceSourceSetting``) or as chosen (:class:`PriceChoice`)."""

    @property
    def kind(self) -> str: ...
    @property
    def price(self) -> Decimal | None: ...
    @property
    def cost(self) -> Decimal | None: ...
    @property
    def markup_percent(self) -> Decimal | None: ...


@dataclass
class PriceChoice:
    """A price source an operator chose for one scope (before it is stored)."""

    kind: PriceSourceKind
    price: Decimal | None = None
    cost: Decimal | None = None
    markup_percent: Decimal | None = None

    def validate(self) -> None:
        if self.kind is PriceSourceKind.CUSTOM and (self.price is None or self.cost is None):
            raise RefusedError("a custom price source needs both --price and --cost")
        if self.kind is PriceSourceKind.MARKUP and self.markup_percent is None:
            raise RefusedError("a markup price source needs --markup PERCENT")
        for name, value in (("price", self.price), ("cost", self.cost)):
            if value is not None and value < 0:
                raise RefusedError(f"--{name} cannot be negative")


class PriceInputError(ValueError):
    """What a person typed for a price source cannot be used; ``field`` names the input
    (``price``, ``cost``, ``markup``, ``price_source``) so a shell can show it there."""

    def __init__(self, field: str, message: str, *, kind: str = "",
                 missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.kind = kind
        self.missing = missing
        """The inputs the chosen kind needs and did not get (the first is ``field``)."""


def parse_choice(kind: str | None, price: str | None, cost: str | None,
                 markup: str | None) -> PriceChoice | None:
    """A price source from typed text (the CLI's options, the console's fields); None when
    nothing was given. Without a kind, a price or cost means ``custom`` and a markup
    ``markup``; what the kind needs must be there, and numbers must be finite numbers."""
    given = {name: value for name, value in (("price", price), ("cost", cost),
                                              ("markup", markup)) if value not in (None, "")}
    if not kind:
        if "price" in given or "cost" in given:
            kind = PriceSourceKind.CUSTOM
        elif "markup" in given:
            kind = PriceSourceKind.MARKUP
        else:
            return None
    try:
        source = PriceSourceKind(kind)
    except ValueError:
        raise PriceInputError("price_source", f"{kind!r} is not a price source: "
                              + ", ".join(k.value for k in PriceSourceKind)) from None
    needed = {PriceSourceKind.CUSTOM: ("price", "cost"),
              PriceSourceKind.MARKUP: ("markup",)}.get(source, ())
    numbers: dict[str, Decimal] = {}
    for name, text in given.items():
        try:
            number = Decimal(str(text).strip())
        except InvalidOperation:
            raise PriceInputError(name, f"{text!r} is not a number") from None
        if not number.is_finite():
            raise PriceInputError(name, f"{text!r} is not a finite number")
        numbers[name] = number
    missing = tuple(name for name in needed if name not in given)
    if missing:
        raise PriceInputError(missing[0], f"the {source.value} price source needs "
                              + " and ".join(missing), kind=source.value, missing=missing)
    return PriceChoice(source, numbers.get("price"), numbers.get("cost"), numbers.get("markup"))


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


def resolve(setting: PriceSetting | None, *, catalog: CatalogItem | None,
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


def currency_mismatch(kind: str, resource: Resource, agreement: Agreement | None) -> str | None:
    """Why a ``provider`` or ``markup`` price cannot go onto this agreement: the provider states
    its amounts in another currency than the agreement bills in. IDSync converts nothing, so
    such a price is refused, never posted as if it were the same money. None when the kind
    takes no provider amount, or when either side does not state its currency."""
    if kind not in (PriceSourceKind.PROVIDER, PriceSourceKind.MARKUP) or agreement is None:
        return None
    theirs, ours = resource.currency, agreement.currency
    if not theirs or not ours or theirs.upper() == ours.upper():
        return None
    return (f"the provider's prices of resource {resource.id} are in {theirs.upper()} and "
            f"agreement {agreement.id} bills in {ours.upper()}: a {kind} price would post "
            f"{theirs.upper()} amounts as {ours.upper()}")


def below_cost(setting: PriceSetting, *, catalog: CatalogItem,
               resource: Resource | None) -> str | None:
    """Why postings of ``catalog`` under ``setting`` would sell below cost, or None.

    Custom: its cost under the PSA's cost of the product, or its price under its own cost.
    Markup: a negative percentage, or a price (provider cost + markup) under the PSA cost.
    ``resource`` gives the provider cost a markup starts from (None: not known yet).
    """
    kind = PriceSourceKind(setting.kind)
    psa_cost = catalog.cost
    if kind is PriceSourceKind.CUSTOM:
        if setting.cost is not None and psa_cost is not None and setting.cost < psa_cost:
            return (f"custom cost {money_text(setting.cost)} is below the PSA cost "
                    f"{money_text(psa_cost)}")
        if setting.price is not None and setting.cost is not None and setting.price < setting.cost:
            return (f"custom price {money_text(setting.price)} is below its cost "
                    f"{money_text(setting.cost)}")
    if kind is PriceSourceKind.MARKUP and setting.markup_percent is not None:
        if setting.markup_percent < 0:
            return (f"markup {setting.markup_percent}% is negative: the price falls below the "
                    "provider's cost")
        provider_cost = resource.unit_cost if resource is not None else None
        if provider_cost is not None and psa_cost is not None:
            price = markup_price(provider_cost, setting.markup_percent)
            if price < psa_cost:
                return (f"markup price {money_text(price)} (provider cost "
                        f"{money_text(provider_cost)} + {setting.markup_percent}%) is below the "
                        f"PSA cost {money_text(psa_cost)}")
    return None
