"""Autotask JSON rows → IDSync domain models, and the few values sent back.

Autotask returns camelCase fields, date-times in UTC with or without ``Z`` (and with varying
fractions), and numbers that are money. Dates of contracts and service periods are calendar
dates stored at midnight, so the date part is taken as written.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from idsync_core.errors import RejectedError
from idsync_core.models import (
    Agreement,
    AgreementStatus,
    BillingCycle,
    CatalogItem,
    Company,
)
from idsync_core.numbers import NotANumber, to_decimal

RECURRING_SERVICE_CONTRACT = 7
"""``Contract.contractType`` of a Recurring Service contract, the only kind with services."""

ACTIVE_CONTRACT = 1
"""``Contract.status``: 1 Active, 0 Inactive."""

_CYCLE_WORDS = (
    ("semi", BillingCycle.SEMI_ANNUAL),
    ("half", BillingCycle.SEMI_ANNUAL),
    ("quarter", BillingCycle.QUARTERLY),
    ("month", BillingCycle.MONTHLY),
    ("year", BillingCycle.YEARLY),
    ("annual", BillingCycle.YEARLY),
    ("one time", BillingCycle.ONE_TIME),
)


def parse_date(value: Any) -> date | None:
    """The calendar date of an Autotask date-time (``2026-01-01T00:00:00[.fff][Z]``)."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def api_date(day: date) -> str:
    """A date as Autotask's date-time fields take it: midnight UTC of that day."""
    return f"{day.isoformat()}T00:00:00Z"


def money(value: Any) -> Decimal | None:
    """A JSON number as Decimal (:func:`idsync_core.numbers.to_decimal`); None when absent or
    not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return to_decimal(value)
    except NotANumber:
        return None


def whole_units(value: Decimal) -> int:
    """Autotask counts service units in whole numbers (``unitChange`` is an int32)."""
    if value != value.to_integral_value():
        raise RejectedError(f"Autotask service units are whole numbers; cannot post {value}")
    return int(value)


def billing_cycle(label: str | None) -> BillingCycle:
    """A ``contractPeriodType`` picklist label (e.g. "Monthly", "Semi-Annual") as a cycle."""
    if not label:
        return BillingCycle.UNKNOWN
    lowered = label.lower().replace("-", " ")
    for word, cycle in _CYCLE_WORDS:
        if word in lowered:
            return cycle
    return BillingCycle.UNKNOWN


def user_defined_fields(row: dict[str, Any]) -> dict[str, str]:
    """``userDefinedFields`` (``[{name, value}]``, sent with every row) as name → value."""
    fields = row.get("userDefinedFields")
    return {str(f["name"]): str(f["value"]) for f in fields if isinstance(f, dict)
            and f.get("name") and f.get("value") not in (None, "")} \
        if isinstance(fields, list) else {}


def company(row: dict[str, Any]) -> Company:
    return Company(id=str(row["id"]), name=str(row.get("companyName") or ""),
                   identifier=row.get("companyNumber") or None,
                   custom_fields=user_defined_fields(row))


def agreement(row: dict[str, Any], period_labels: dict[str, str]) -> Agreement:
    """A recurring service contract. Status 1 is active, anything else inactive; whether it is
    expired (inactive, or its end date past) is decided by :meth:`Agreement.is_expired`."""
    status = AgreementStatus.ACTIVE if row.get("status") == ACTIVE_CONTRACT else (
        AgreementStatus.INACTIVE)
    period = row.get("contractPeriodType")
    return Agreement(
        id=str(row["id"]),
        company_id=str(row.get("companyID")),
        name=str(row.get("contractName") or ""),
        status=status,
        start_date=parse_date(row.get("startDate")),
        end_date=parse_date(row.get("endDate")),
        billing_cycle=billing_cycle(period_labels.get(str(period)) if period is not None
                                    else None),
        recurring=row.get("contractType") == RECURRING_SERVICE_CONTRACT,
    )


def catalog_item(row: dict[str, Any]) -> CatalogItem:
    """A Services catalog row; its SKU (the distributor's part number) is the identifier."""
    return CatalogItem(
        id=str(row["id"]),
        identifier=str(row.get("sku") or ""),
        name=str(row.get("name") or ""),
        price=money(row.get("unitPrice")),
        cost=money(row.get("unitCost")),
        active=row.get("isActive") is not False,
        manufacturer_part_number=row.get("manufacturerServiceProviderProductNumber") or None,
    )
