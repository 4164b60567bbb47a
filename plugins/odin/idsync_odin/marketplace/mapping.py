"""Marketplace JSON rows -> IDSync domain models.

* account = customer (``id``, ``name``, and ``externalId``: an id the reseller recorded for it);
* subscription = subscription row (``id``, ``customerId``, ``name``, ``status``); statuses map
  pending -> pending, active -> active, hold -> suspended, terminated and removed -> terminated;
  ``subscriptionPeriod`` / ``billingPeriod`` (``{type, duration}``, in newer API versions) are
  the commitment and billing terms. UNCONFIRMED which words ``type`` takes: day/month/year
  (any case, singular or plural) are read, anything else leaves the term unknown;
  ``renewalDate`` (``YYYY-MM-DD``) is when the term renews; one that is no date is left out
  (warned): the subscription still syncs;
* resource = one ``products[]`` line of ``GET /subscriptions/{id}``, with the id
  ``"<subscription id>:<mpn>"`` (``"<subscription id>:<product id>"`` when the line has no MPN):
  MPN is the part number the operator also knows from the PSA catalog, and it stays the same
  from run to run. ``quantity`` is the licence count; ``unitPrice``/``unitCost`` are
  ``{"currency", "amount": "<decimal string>"}``.
* a line without a ``quantity`` (null or absent), or whose MPN is in ``usage_based_mpns``
  (the Azure plan by default), is usage-based: ``seat_based=False``, ``quantity=None``.

Required: customer id and name; subscription id; a line's MPN or id, and a well-formed
quantity when there is one. A row failing that raises :class:`OddRow` (warned and skipped).
A malformed price only loses the price (warned): the quantity is what the sync needs.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from idsync_core.errors import ApiError
from idsync_core.models import ProviderAccount, Resource, Subscription, SubscriptionStatus
from idsync_odin.rows import (
    OddRow,
    decimal,
    describe,
    keep_good,
    log,
    optional_text,
    quantity,
    require_dict,
    text,
)

STATUSES: dict[str, SubscriptionStatus] = {
    "pending": SubscriptionStatus.PENDING,
    "active": SubscriptionStatus.ACTIVE,
    "hold": SubscriptionStatus.SUSPENDED,
    "terminated": SubscriptionStatus.TERMINATED,
    "removed": SubscriptionStatus.TERMINATED,
}
"""Every status the API documents; ``status`` filters take exactly one of these per call."""


def account(row: object) -> ProviderAccount:
    row = require_dict(row)
    return ProviderAccount.model_validate({"id": text(row, "id"), "name": text(row, "name"),
                                           "external_id": optional_text(row, "externalId"),
                                           "provider_status": row.get("status")})


def period(row: dict[str, Any], field: str) -> str | None:
    """``{"type": "year", "duration": 1}`` as ``"1 year"`` (the model normalizes it)."""
    value = row.get(field)
    if not isinstance(value, dict) or not value.get("type"):
        return None
    duration = value.get("duration", 1)
    return f"{duration} {value['type']}" if isinstance(duration, int) else None


def owner(row: object) -> str | None:
    """The ``customerId`` of a subscription row, None when absent or unreadable."""
    try:
        return optional_text(require_dict(row), "customerId")
    except OddRow:
        return None


def subscription(row: object, *, account_id: str, queried: str) -> Subscription:
    """A subscription row of ``GET /subscriptions?customerId=...&status=<queried>``.

    Rows of another customer are dropped (warned): whether the API honours ``customerId`` is
    not confirmed, and a foreign subscription must never be billed to this account.
    """
    row = require_dict(row)
    sub_id = text(row, "id")
    owner = optional_text(row, "customerId")
    if owner is not None and owner != account_id:
        raise OddRow(f"it belongs to customer {owner}, not {account_id}")
    raw_status = optional_text(row, "status") or queried
    status = STATUSES.get(raw_status.lower())
    if status is None:
        log.warning("Ingram subscription %s has the unknown status %r; taking the %r it was "
                    "listed under", sub_id, raw_status, queried)
        status, raw_status = STATUSES[queried], queried
    return Subscription.model_validate({
        "id": sub_id, "account_id": account_id,
        "name": optional_text(row, "name") or f"Subscription {sub_id}",
        "status": status, "provider_status": raw_status,
        "commitment_term": period(row, "subscriptionPeriod"),
        "billing_term": period(row, "billingPeriod"),
        "renewal_date": renewal_date(row, sub_id),
    })


def renewal_date(row: dict[str, Any], sub_id: str) -> date | None:
    value = row.get("renewalDate")
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        log.warning("Ingram subscription %s: ignoring the renewal date %r: not a date", sub_id,
                    value)
        return None


def detail_status(detail: dict[str, Any]) -> SubscriptionStatus | None:
    raw = detail.get("status")
    return STATUSES.get(raw.lower()) if isinstance(raw, str) else None


def lines(detail: object, subscription_id: str,
          usage_mpns: frozenset[str]) -> tuple[SubscriptionStatus | None, list[Resource]]:
    """The status and product lines of one ``GET /subscriptions/{id}`` answer; odd lines are
    skipped (warned), an answer without a readable ``products`` list is an ``ApiError``: its
    quantities are unknown, so nothing may be decided from it."""
    where = f"Ingram subscription {subscription_id}"
    products = detail.get("products") if isinstance(detail, dict) else None
    if not isinstance(detail, dict) or not isinstance(products, list | None):
        raise ApiError(f"{where}: the detail answer has no readable `products` list",
                       hint="nothing was changed; report this answer's shape")
    resources = list(keep_good(
        products or [],
        lambda row: line(row, subscription_id, usage_mpns),
        lambda row: describe(f"a product line of {where}:", row, "mpn", "id"),
    ))
    return detail_status(detail), resources


def line(row: object, subscription_id: str, usage_mpns: frozenset[str]) -> Resource:
    row = require_dict(row)
    mpn = optional_text(row, "mpn")
    product_id = optional_text(row, "id")
    key = mpn or product_id
    if key is None:
        raise OddRow("it has neither `mpn` nor `id`")
    raw_quantity = row.get("quantity")
    usage_based = raw_quantity is None or (mpn is not None and mpn in usage_mpns)
    count = None if usage_based else quantity(raw_quantity, "quantity")
    price, currency = money(row, "unitPrice", subscription_id, key)
    cost, cost_currency = money(row, "unitCost", subscription_id, key)
    return Resource.model_validate({
        "id": f"{subscription_id}:{key}",
        "subscription_id": subscription_id,
        "name": optional_text(row, "name") or key,
        "sku": mpn or "",
        "quantity": count,
        "unit_price": price,
        "unit_cost": cost,
        "seat_based": not usage_based,
        "product_id": product_id,
        "vendor": row.get("vendor"),
        "currency": currency or cost_currency,
    })


def money(row: dict[str, Any], field: str, subscription_id: str,
          key: str) -> tuple[Decimal | None, str | None]:
    """``{"currency": "USD", "amount": "4.80"}`` -> (Decimal("4.80"), "USD"); absent -> None.

    A malformed amount is warned about and dropped: the line stays, without that price.
    """
    value = row.get(field)
    if value is None:
        return None, None
    try:
        if not isinstance(value, dict):
            raise OddRow(f"`{field}` is not an object")
        currency = value.get("currency")
        return (decimal(value.get("amount"), f"{field}.amount"),
                currency if isinstance(currency, str) else None)
    except OddRow as exc:
        log.warning("Ingram subscription %s, product %s: ignoring the price: %s",
                    subscription_id, key, exc)
        return None, None
