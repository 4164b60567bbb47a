"""APS JSON resources -> IDSync domain models.

* account = an ``http://parallels.com/aps/types/pa/account/1.2`` resource of ``type``
  CUSTOMER; its id is the APS resource id (``aps.id``, a UUID: what the bus addresses it by),
  its name ``companyName``; the platform's numeric account id is kept as ``account_number``;
* subscription = a ``.../pa/subscription/1.0`` resource; id = ``aps.id``, the numeric
  ``subscriptionId`` kept as ``subscription_number``. Status (UNCONFIRMED which flags a
  platform sets; these are the ones its resources carry): ``isTerminated`` -> terminated,
  ``disabled`` -> suspended, an ``aps.status`` other than ``aps:ready`` -> pending, else active;
* resource = one ``SubscriptionResource`` of ``GET /aps/2/resources/{subscription}/resources``,
  with the id ``"<subscription aps id>:<resource type id>"``.

Quantity of a resource: its ``limit``, the amount the customer bought (what the provider
bills), not its ``usage`` (what is assigned today). A resource without ``limit`` is unlimited
(the bus omits the field; ``-1`` is read the same way), and a resource measured in anything but
``unit`` (b, kb, mb, gb, ...) is no seat count: both are listed with ``seat_based=False`` and
``quantity=None``, so IDSync never posts them. Reconciling an unlimited resource by its usage
would bill whatever happens to be consumed on the day the sync runs: not a safe default.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from idsync_core.errors import ApiError, NotFoundError
from idsync_core.models import ProviderAccount, Resource, Subscription, SubscriptionStatus
from idsync_odin.aps.rql import ACCOUNT_TYPE, SUBSCRIPTION_TYPE
from idsync_odin.rows import (
    OddRow,
    describe,
    keep_good,
    optional_text,
    quantity,
    require_dict,
    text,
)

SEAT_UNIT = "unit"
READY = "aps:ready"


def aps_id(row: dict[str, Any]) -> str:
    meta = row.get("aps")
    if not isinstance(meta, dict):
        raise OddRow("`aps` is missing")
    return text(meta, "id")


def account(row: object) -> ProviderAccount:
    row = require_dict(row)
    return ProviderAccount.model_validate({
        "id": aps_id(row), "name": text(row, "companyName"),
        "account_number": optional_text(row, "id"),
    })


def _type_family(type_uri: object) -> str:
    """An APS type without its version (``.../pa/account/1.2`` → ``.../pa/account``): a
    platform on another minor version of the type is the same kind of resource."""
    return str(type_uri).rsplit("/", 1)[0]


def _kind(row: dict[str, Any]) -> str:
    meta = row.get("aps")
    type_uri = meta.get("type") if isinstance(meta, dict) else None
    if _type_family(type_uri) == _type_family(ACCOUNT_TYPE):
        return f"a {row.get('type') or 'typeless'} account"
    return f"a {_type_family(type_uri).rsplit('/types/', 1)[-1]} resource"


def require_customer_account(row: object, account_id: str) -> None:
    """The resource an account id names must be a customer's account: the provider's own, a
    reseller's or any other resource is not one IDSync can bill (exit 4, as for an unknown id)."""
    row = require_dict(row)
    kind = _kind(row)
    if kind != "a CUSTOMER account":
        raise NotFoundError(f"{account_id} is not a customer account at the APS bus: it is "
                            f"{kind}", hint="`idsync companies provider` lists the customers")


def require_subscription(row: object, subscription_id: str) -> None:
    """The resource a subscription id names must be a subscription (not an account, …)."""
    row = require_dict(row)
    meta = row.get("aps")
    type_uri = meta.get("type") if isinstance(meta, dict) else None
    if _type_family(type_uri) != _type_family(SUBSCRIPTION_TYPE):
        raise NotFoundError(f"{subscription_id} is not a subscription at the APS bus: it is "
                            f"{_kind(row)}",
                            hint="`idsync subscriptions ACCOUNT_ID` lists an account's "
                                 "subscriptions")


def subscription(row: object, *, account_id: str) -> Subscription:
    """A subscription listed for ``account_id``; one linked to another account (the ``account``
    relation, selected into the row) is refused: it must never be billed to this one."""
    row = require_dict(row)
    sub_id = aps_id(row)
    owner = row.get("account")
    owner_id = aps_id(owner) if isinstance(owner, dict) else None
    if owner_id is not None and owner_id != account_id:
        raise OddRow(f"it belongs to account {owner_id}, not {account_id}")
    status, raw = status_of(row)
    return Subscription.model_validate({
        "id": sub_id, "account_id": account_id,
        "name": optional_text(row, "name") or f"Subscription {sub_id}",
        "status": status, "provider_status": raw,
        "subscription_number": optional_text(row, "subscriptionId"),
    })


def status_of(row: dict[str, Any]) -> tuple[SubscriptionStatus, str]:
    meta = row.get("aps")
    aps_status = meta.get("status") if isinstance(meta, dict) else None
    if row.get("isTerminated") is True:
        return SubscriptionStatus.TERMINATED, "terminated"
    if row.get("disabled") is True:
        return SubscriptionStatus.SUSPENDED, "disabled"
    if isinstance(aps_status, str) and aps_status != READY:
        return SubscriptionStatus.PENDING, aps_status
    return SubscriptionStatus.ACTIVE, "active"


def lines(rows: object, subscription_id: str) -> list[Resource]:
    where = f"APS subscription {subscription_id}"
    if not isinstance(rows, list):
        raise ApiError(f"{where}: the resources answer is not a JSON array",
                       hint="nothing was changed; report this answer's shape")
    return list(keep_good(rows, lambda row: line(row, subscription_id),
                          lambda row: describe(f"a resource of {where}:", row, "id", "title")))


def limit_of(raw: object) -> Decimal | None:
    """None when unlimited: ``limit`` omitted or null, or ``-1`` (the OSS API's "unlimited")."""
    if raw is None or (isinstance(raw, int) and not isinstance(raw, bool) and raw == -1):
        return None
    return quantity(raw, "limit")


def line(row: object, subscription_id: str) -> Resource:
    row = require_dict(row)
    type_id = text(row, "id")
    unit = (optional_text(row, "unit") or SEAT_UNIT).lower()
    limit = limit_of(row.get("limit"))
    usage = row.get("usage")
    seat_based = limit is not None and unit == SEAT_UNIT
    return Resource.model_validate({
        "id": f"{subscription_id}:{type_id}",
        "subscription_id": subscription_id,
        "name": optional_text(row, "title") or optional_text(row, "apsType")
                or f"Resource type {type_id}",
        "sku": type_id,
        "quantity": limit if seat_based else None,
        "seat_based": seat_based,
        "unit": unit,
        "limit": limit,
        "usage": quantity(usage, "usage") if usage is not None else None,
        "aps_type": optional_text(row, "apsType"),
    })
