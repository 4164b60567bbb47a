"""Pax8 rows → IDSync models: companies are accounts; a subscription is one product, so it is an
IDSync subscription holding exactly one resource.

A Pax8 subscription is "a product for a company" with its quantity, price and billing term, so
a customer with five products has five subscriptions. IDSync links each to a PSA agreement; the
five may all link to the same agreement (the engine allows several subscriptions per agreement,
one resource per agreement line).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from idsync_core.errors import ApiError
from idsync_core.models import ProviderAccount, Resource, Subscription, SubscriptionStatus
from idsync_core.numbers import NotANumber, to_decimal

log = logging.getLogger(__name__)

STATUSES: dict[str, SubscriptionStatus] = {
    "Active": SubscriptionStatus.ACTIVE,
    "Activated": SubscriptionStatus.ACTIVE,
    # Cancellation requested for a later date: billed until then.
    "PendingCancel": SubscriptionStatus.ACTIVE,
    "PendingManual": SubscriptionStatus.PENDING,
    "PendingAutomated": SubscriptionStatus.PENDING,
    "PendingActivation": SubscriptionStatus.PENDING,
    "WaitingForDetails": SubscriptionStatus.PENDING,
    "Cancelled": SubscriptionStatus.TERMINATED,
    # A trial that became a paid subscription: the paid one is a new subscription.
    "Converted": SubscriptionStatus.TERMINATED,
    # Trials are not billed (UNCONFIRMED): their lines are brought to 0, never billed.
    "Trial": SubscriptionStatus.TERMINATED,
}
"""Pax8's subscription statuses. The engine bills pending ones like active ones; only
terminated brings a line to 0. A status not listed here is not guessed: the row is skipped with
a warning, so a linked line is reported as no longer listed and nothing is posted for it."""


def _text(row: dict[str, Any], key: str, what: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(f"a Pax8 {what} row has no {key}: {str(row)[:120]}")
    return value


def account(row: dict[str, Any]) -> ProviderAccount:
    return ProviderAccount(id=_text(row, "id", "company"), name=_text(row, "name", "company"))


def subscription(row: dict[str, Any]) -> Subscription | None:
    """The subscription, or None (logged) when its status is one this connector does not
    know."""
    sub_id = _text(row, "id", "subscription")
    status = STATUSES.get(str(row.get("status")))
    if status is None:
        log.warning("skipping Pax8 subscription %s: unknown status %r", sub_id, row.get("status"))
        return None
    return Subscription(id=sub_id, account_id=_text(row, "companyId", "subscription"),
                        name=str(row.get("productName") or row.get("productId") or sub_id),
                        status=status)


def resource(row: dict[str, Any], *, currency: str,
             usage_based: frozenset[str]) -> Resource:
    """The subscription's one product line, under the subscription's own id (stable: Pax8
    changes a subscription's quantity in place).

    ``price`` and ``partnerCost`` are per unit (UNCONFIRMED) and pass on only in ``currency``,
    the PSA's: IDSync converts nothing, so a price in another currency is left out (and
    logged) rather than billed as if it were the PSA's.
    """
    sub_id = _text(row, "id", "subscription")
    product = str(row.get("productId") or "")
    quantity = row.get("quantity")
    seat_based = product not in usage_based and quantity is not None
    price, cost = _money(row.get("price")), _money(row.get("partnerCost"))
    row_currency = row.get("currencyCode")
    if (price is not None or cost is not None) and row_currency not in (None, currency):
        log.warning("Pax8 subscription %s is priced in %s, the connection bills in %s: its "
                    "price and cost are not used", sub_id, row_currency, currency)
        price = cost = None
    return Resource(id=sub_id, subscription_id=sub_id,
                    name=str(row.get("productName") or product or sub_id),
                    sku=str(row.get("vendorSkuId") or product),
                    quantity=quantity if seat_based else None, seat_based=seat_based,
                    unit_price=price, unit_cost=cost)


def _money(value: Any) -> Decimal | None:
    """A JSON number (parsed as Decimal or int by the client) or a numeric string."""
    if value is None:
        return None
    try:
        return to_decimal(value)
    except NotANumber as exc:
        raise ApiError(f"a Pax8 price {exc}") from None
