"""Domain objects every connector returns and the engine works with.

Connectors translate their API's JSON into these models at the edge, so the engine never sees a
vendor's field names. The models are *lenient* (unknown fields are kept, most fields optional)
because real APIs add and omit fields; they are strict only where the engine needs a value to be
right: ids, quantities and money. Money and quantities are `Decimal`, never float.

Ids are strings everywhere: ConnectWise and Autotask use integers, Ingram uses strings, and the
store must hold all of them in one column.
"""

from __future__ import annotations

import enum
import re
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from idsync_core.numbers import to_decimal


def _to_decimal(value: object) -> object:
    """Ints, decimal strings and Decimals go to pydantic as they are; a float (from a plain
    ``json.loads`` of ``18.7``) goes through :func:`idsync_core.numbers.to_decimal`, which
    reads it as the text the API sent, so binary fractions never creep in."""
    if isinstance(value, float):
        return to_decimal(value)
    return value


Money = Annotated[Decimal, BeforeValidator(_to_decimal)]
Quantity = Annotated[Decimal, BeforeValidator(_to_decimal)]


_TERM = re.compile(r"p?(\d+)\s*-?\s*(d|day|days|m|mo|month|months|y|yr|year|years)", re.I)
_TERM_ALIASES = {"monthly": "1m", "month": "1m", "annual": "1y", "annually": "1y",
                 "yearly": "1y", "year": "1y", "daily": "1d"}


def normalize_term(text: str | None) -> str | None:
    """A commitment or billing term in one canonical form: a count and ``d``/``m``/``y``.

    ``1y``, ``P1Y``, ``1 year``, ``12 months``, ``annual``, ``monthly`` → ``1y``, ``12m``, ...
    (12 months stays ``12m``: the provider said months). None when the text is no term, so a
    caller can refuse it rather than guess.
    """
    if text is None:
        return None
    cleaned = text.strip().lower()
    if cleaned in _TERM_ALIASES:
        return _TERM_ALIASES[cleaned]
    match = _TERM.fullmatch(cleaned)
    if match is None or int(match.group(1)) == 0:
        return None
    return f"{int(match.group(1))}{match.group(2)[0]}"


class DomainModel(BaseModel):
    """Base for all domain models: unknown fields are kept, numeric ids become strings."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, populate_by_name=True)


class AgreementStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class BillingCycle(enum.StrEnum):
    """How often an agreement is invoiced; decides where "the next billing period" starts."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMI_ANNUAL = "semi_annual"
    YEARLY = "yearly"
    ONE_TIME = "one_time"
    UNKNOWN = "unknown"


class Company(DomainModel):
    """A customer company in the PSA."""

    id: str
    name: str
    identifier: str | None = None
    custom_fields: dict[str, str] = Field(default_factory=dict)
    """Custom fields (ConnectWise) / user-defined fields (Autotask) by name. Onboarding reads
    the one named in ``[onboarding] account_id_fields``: a provider account id recorded on the
    PSA side."""


class Agreement(DomainModel):
    """A PSA agreement (ConnectWise) or recurring service contract (Autotask) of one company."""

    id: str
    company_id: str
    name: str
    status: AgreementStatus = AgreementStatus.ACTIVE
    start_date: date | None = None
    end_date: date | None = None
    billing_cycle: BillingCycle = BillingCycle.UNKNOWN
    recurring: bool | None = None
    """True/False where the PSA tells recurring-service contracts from other kinds (Autotask
    ``contractType`` 7); None where it does not. Onboarding suggests only recurring ones."""
    currency: str | None = None
    """The ISO 4217 code the agreement bills in, where the PSA says (ConnectWise
    ``currency.currencyCode``); None where it does not. A ``provider`` or ``markup`` price in
    another currency is refused (:func:`idsync_core.engine.pricing.currency_mismatch`)."""

    def is_expired(self, today: date) -> bool:
        """Expired means: not active any more, or its end date is in the past."""
        if self.status in (AgreementStatus.EXPIRED, AgreementStatus.CANCELLED):
            return True
        if self.status is AgreementStatus.INACTIVE:
            return True
        return self.end_date is not None and self.end_date < today


class MarkedRecord(DomainModel):
    """One PSA record (a ConnectWise addition) that carries an IDSync marker.

    Connectors with markers report them on the line (:attr:`AgreementLine.marked`) so the
    engine can tell IDSync's own duplicate — two records carrying one key, a write that landed
    after it was posted again — from a change made by hand.
    """

    key: str
    """The idempotency key inside the marker ``[idsync:KEY]``."""
    record_id: str
    quantity: Quantity
    effective_date: date | None = None
    end_date: date | None = None
    """The first day it no longer bills (ConnectWise: its cancelled date); None: open-ended."""

    def active_on(self, day: date) -> bool:
        return (self.effective_date is None or self.effective_date <= day) and (
            self.end_date is None or self.end_date > day)


class AgreementLine(DomainModel):
    """One catalog product on an agreement, with its quantity *as of* a given date.

    ConnectWise: the sum of the additions of that product active on ``as_of``; Autotask: the
    ``units`` of the ContractServiceUnits row covering ``as_of``. ``unit_price``/``unit_cost`` are
    those of the product's first line on the agreement by sequence (the "Agreement" price source).
    ``marked``: the line's records that carry an IDSync marker and still bill (oldest first);
    empty where the PSA has no free-text field for markers.
    """

    id: str
    agreement_id: str
    catalog_item_id: str
    name: str = ""
    quantity: Quantity
    as_of: date
    unit_price: Money | None = None
    unit_cost: Money | None = None
    marked: list[MarkedRecord] = Field(default_factory=list)


class CatalogItem(DomainModel):
    """A ConnectWise catalog product or Autotask service that agreement lines bill as."""

    id: str
    identifier: str = ""
    name: str
    price: Money | None = None
    cost: Money | None = None
    active: bool = True
    manufacturer_part_number: str | None = None
    """The maker's part number (ConnectWise ``manufacturerPartNumber``, Autotask
    ``manufacturerServiceProviderProductNumber``): where a PSA keeps the distributor's SKU when
    its own identifier is an internal code."""
    vendor_sku: str | None = None
    """The vendor's SKU where the PSA has a field for it (ConnectWise ``vendorSku``)."""

    def skus(self) -> list[str]:
        """Every code under which this item may carry a provider SKU."""
        return [code for code in (self.identifier, self.manufacturer_part_number,
                                  self.vendor_sku) if code]


class ProviderAccount(DomainModel):
    """A customer account at the provider (an Ingram Micro marketplace customer)."""

    id: str
    name: str
    external_id: str | None = None
    """An id the reseller recorded at the provider for this customer (Ingram ``externalId``),
    e.g. its PSA company id or identifier."""


class SubscriptionStatus(enum.StrEnum):
    ACTIVE = "active"
    PENDING = "pending"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class Subscription(DomainModel):
    """A provider subscription of one account; terminated means every resource counts as 0."""

    id: str
    account_id: str
    name: str
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    commitment_term: str | None = None
    """The commitment term where the provider gives it (Ingram ``subscriptionPeriod``), in
    :func:`normalize_term`'s form (``1m``, ``1y``)."""
    billing_term: str | None = None
    """How often it is billed where the provider says (Ingram ``billingPeriod``), same form."""
    renewal_date: date | None = None
    """When its term renews, where the provider says (Ingram ``renewalDate``): the last day to
    reduce seats before a committed term renews (``idsync report renewals``)."""

    @field_validator("commitment_term", "billing_term")
    @classmethod
    def _canonical_term(cls, value: str | None) -> str | None:
        return normalize_term(value) if value is not None else None

    @property
    def terminated(self) -> bool:
        return self.status is SubscriptionStatus.TERMINATED


class Resource(DomainModel):
    """A product line of a subscription, with the quantity the provider bills.

    ``seat_based`` is False for products with no seat count (usage-based Azure and the like): they
    are listed, never reconciled as seats. ``quantity`` is None only for those.
    """

    id: str
    subscription_id: str
    name: str
    sku: str = ""
    quantity: Quantity | None = None
    unit_price: Money | None = None
    unit_cost: Money | None = None
    currency: str | None = None
    """The ISO 4217 code of ``unit_price`` and ``unit_cost`` where the provider states it
    (Ingram's ``{"currency", "amount"}``); None where it does not."""
    seat_based: bool = True

    @field_validator("quantity")
    @classmethod
    def _non_negative(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value < 0:
            raise ValueError("a resource quantity cannot be negative")
        return value


class Adjustment(DomainModel):
    """One intended change to a PSA agreement line: add ``delta`` units from ``effective_date``.

    ``target_quantity`` is what the line should read as of ``effective_date`` once the change is
    in; connectors use it to confirm a post by re-reading. ``idempotency_key`` is deterministic for
    the intended change, so a retry or a re-run carries the same key; connectors that have a
    free-text field store it there as a marker.
    """

    agreement_id: str
    catalog_item_id: str
    delta: Quantity
    target_quantity: Quantity
    effective_date: date
    unit_price: Money | None = None
    unit_cost: Money | None = None
    idempotency_key: str = Field(min_length=8)
    description: str = ""

    @field_validator("delta")
    @classmethod
    def _non_zero(cls, value: Decimal) -> Decimal:
        if value == 0:
            raise ValueError("an adjustment must change the quantity")
        return value

    @property
    def marker(self) -> str:
        """The text placed in the PSA record so a later run can find this exact change."""
        return marker_of(self.idempotency_key)


MARKER = re.compile(r"\[idsync:([0-9A-Za-z_-]{8,64})\]")
"""An IDSync marker in a PSA free-text field; group 1 is the idempotency key."""


def marker_of(key: str) -> str:
    return f"[idsync:{key}]"


def marker_key(text: str) -> str | None:
    """The idempotency key of the (last) IDSync marker in ``text``, if it carries one."""
    found = MARKER.findall(text or "")
    return found[-1] if found else None


class PostedAdjustment(DomainModel):
    """What the PSA recorded for an adjustment; ``record_id`` is None where the API returns none."""

    record_id: str | None = None
    quantity_after: Quantity | None = None
