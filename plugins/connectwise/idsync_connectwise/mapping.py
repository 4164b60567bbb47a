"""ConnectWise JSON → IDSync domain models, and the "quantity as of a date" rule.

ConnectWise has no "agreement line": an agreement carries *additions*, each a quantity of one
catalog product from its ``effectiveDate`` until its ``cancelledDate``. A product's quantity on a
date is the sum of its additions active on that date, which is what ConnectWise invoices. Rows
are read leniently (any field may be missing) except for ids, which the engine needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from idsync_core.errors import ApiError
from idsync_core.models import (
    Agreement,
    AgreementLine,
    AgreementStatus,
    BillingCycle,
    CatalogItem,
    Company,
    MarkedRecord,
    marker_key,
)
from idsync_core.numbers import NotANumber, to_decimal

Row = dict[str, Any]

MARKER = re.compile(r"\s*\[idsync:[^\]]*\]")
"""An IDSync marker in a free-text field (see ``Adjustment.marker``)."""


def row_id(row: Row, what: str) -> str:
    value = row.get("id")
    if value is None:
        raise ApiError(f"ConnectWise sent a {what} without an id: {sorted(row)[:8]}")
    return str(value)


def decimal(value: object) -> Decimal | None:
    """A JSON number (:func:`idsync_core.numbers.to_decimal`) as Decimal; None when absent.

    ConnectWise's numbers are .NET doubles, so 8 seats arrive as ``8.0``; trailing zeros are
    dropped (``8``, ``26.4``) so quantities read as an operator typed them. The value is exact.
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        number = to_decimal(value)
    except NotANumber:
        raise ApiError(f"ConnectWise sent {value!r} where a number belongs") from None
    return Decimal(int(number)) if number == number.to_integral_value() else number.normalize()


def cw_date(value: object) -> date | None:
    """The calendar date of a ConnectWise datetime (``2026-01-01T00:00:00Z``).

    ConnectWise stores agreement and addition dates as midnight UTC; the date part is the
    business date the operator typed.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ApiError(f"ConnectWise sent {value!r} where a date belongs") from None


def format_date(day: date) -> str:
    """The datetime form ConnectWise accepts in JSON bodies (no milliseconds, a ``Z``)."""
    return f"{day.isoformat()}T00:00:00Z"


def without_marker(text: str) -> str:
    return MARKER.sub("", text).strip()


def with_marker(text: str, marker: str) -> str:
    """``text`` carrying ``marker`` (and no earlier IDSync marker)."""
    base = without_marker(text)
    return f"{base} {marker}" if base else marker


def custom_fields(row: Row) -> dict[str, str]:
    """``customFields`` (``[{caption, value, ...}]``) as caption → value, empty values left out."""
    fields = row.get("customFields")
    return {str(f["caption"]): str(f["value"]) for f in fields if isinstance(f, dict)
            and f.get("caption") and f.get("value") not in (None, "")} \
        if isinstance(fields, list) else {}


def company(row: Row) -> Company:
    return Company(id=row_id(row, "company"), name=str(row.get("name") or ""),
                   identifier=row.get("identifier"), custom_fields=custom_fields(row))


_STATUS = {s.value: s for s in AgreementStatus}


def agreement_status(row: Row) -> AgreementStatus:
    """``cancelledFlag`` wins; a missing status is Active (older models omit it); an unknown
    one is treated as Inactive, so the engine hides the agreement instead of posting to it."""
    if row.get("cancelledFlag") is True:
        return AgreementStatus.CANCELLED
    status = row.get("agreementStatus")
    if status is None:
        return AgreementStatus.ACTIVE
    return _STATUS.get(str(status).lower(), AgreementStatus.INACTIVE)


def billing_cycle(row: Row) -> BillingCycle:
    """Billing cycles are records an MSP can name freely; the usual names are recognised."""
    cycle = row.get("billingCycle")
    name = str(cycle.get("name") or "") if isinstance(cycle, dict) else ""
    words = name.lower().replace("-", " ")
    if not words:
        return BillingCycle.ONE_TIME if row.get("oneTimeFlag") else BillingCycle.UNKNOWN
    if "one" in words and "time" in words:
        return BillingCycle.ONE_TIME
    if "semi" in words or "half" in words or "six month" in words:
        return BillingCycle.SEMI_ANNUAL
    if "quarter" in words:
        return BillingCycle.QUARTERLY
    if words.startswith("month"):
        return BillingCycle.MONTHLY
    if "annual" in words or "year" in words:
        return BillingCycle.YEARLY
    return BillingCycle.UNKNOWN


def agreement(row: Row) -> Agreement:
    owner = row.get("company")
    company_id = owner.get("id") if isinstance(owner, dict) else None
    if company_id is None:
        raise ApiError(f"ConnectWise sent agreement {row.get('id')} without a company")
    return Agreement(
        id=row_id(row, "agreement"),
        company_id=str(company_id),
        name=str(row.get("name") or ""),
        status=agreement_status(row),
        start_date=cw_date(row.get("startDate")),
        end_date=None if row.get("noEndingDateFlag") else cw_date(row.get("endDate")),
        billing_cycle=billing_cycle(row),
        currency=currency_code(row),
    )


def currency_code(row: Row) -> str | None:
    """The agreement's ``currency`` reference (a CurrencyReference: ``{id, currencyCode,
    symbol, ...}``) as its ISO code; None when the agreement has none. UNCONFIRMED that every
    ConnectWise site fills ``currencyCode``: without it, the currency is taken as not stated."""
    reference = row.get("currency")
    code = reference.get("currencyCode") if isinstance(reference, dict) else None
    text = str(code or "").strip().upper()
    return text or None


def catalog_item(row: Row) -> CatalogItem:
    identifier = str(row.get("identifier") or "")
    return CatalogItem(
        id=row_id(row, "catalog item"),
        identifier=identifier,
        name=str(row.get("description") or identifier),
        price=decimal(row.get("price")),
        cost=decimal(row.get("cost")),
        active=not row.get("inactiveFlag", False),
        manufacturer_part_number=row.get("manufacturerPartNumber") or None,
        vendor_sku=row.get("vendorSku") or None,
    )


@dataclass(frozen=True)
class Addition:
    """One agreement addition, reduced to what quantities and postings need."""

    id: int
    product_id: str
    quantity: Decimal
    effective: date | None
    cancelled: date | None
    sequence: Decimal | None
    row: Row

    @classmethod
    def of(cls, row: Row) -> Addition:
        product = row.get("product")
        product_id = product.get("id") if isinstance(product, dict) else None
        if product_id is None:
            raise ApiError(f"ConnectWise sent addition {row.get('id')} without a product")
        return cls(
            id=int(row_id(row, "addition")),
            product_id=str(product_id),
            quantity=decimal(row.get("quantity")) or Decimal(0),
            effective=cw_date(row.get("effectiveDate")),
            cancelled=cw_date(row.get("cancelledDate")),
            sequence=decimal(row.get("sequenceNumber")),
            row=row,
        )

    def active_on(self, day: date) -> bool:
        """Billed on ``day``: effective on or before it, not cancelled on or before it.

        A missing effective date counts as "since the agreement began" (UNCONFIRMED what
        ConnectWise bills for one; counting it avoids posting units that already exist).
        """
        return (self.effective is None or self.effective <= day) and (
            self.cancelled is None or self.cancelled > day)

    def text(self, field: str) -> str:
        return str(self.row.get(field) or "")

    @property
    def order(self) -> tuple[Decimal, int]:
        """Position on the agreement: ``sequenceNumber``, then id (the order of creation)."""
        return (self.sequence if self.sequence is not None else Decimal("Infinity"), self.id)


def quantity_on(additions: Iterable[Addition], day: date) -> Decimal:
    return sum((a.quantity for a in additions if a.active_on(day)), Decimal(0))


def marked(additions: Iterable[Addition], marker_field: str) -> list[MarkedRecord]:
    """The additions carrying an IDSync marker that still bill something, oldest first: an
    addition cancelled on (or before) its own effective date never billed and does not count."""
    found = []
    for addition in sorted(additions, key=lambda a: a.id):
        key = marker_key(addition.text(marker_field))
        voided = addition.cancelled is not None and addition.effective is not None and (
            addition.cancelled <= addition.effective)
        if key is None or voided or addition.quantity <= 0:
            continue
        found.append(MarkedRecord(key=key, record_id=str(addition.id), quantity=addition.quantity,
                                  effective_date=addition.effective,
                                  end_date=addition.cancelled))
    return found


def lines(agreement_id: str, additions: Iterable[Addition], as_of: date,
          marker_field: str = "description") -> list[AgreementLine]:
    """One line per product ever added, in agreement order, with its quantity as of ``as_of``.

    Every addition counts whatever its ``billCustomer`` (free or do-not-bill seats are still
    seats the customer has), so IDSync never adds units the customer already holds. The line's
    id, price and cost are those of the product's first addition by sequence (the "Agreement"
    price source); ``marked`` lists its additions that carry an IDSync marker in
    ``marker_field``, so the engine can tell IDSync's own duplicate from a hand-made change.
    """
    by_product: dict[str, list[Addition]] = {}
    for addition in sorted(additions, key=lambda a: a.order):
        by_product.setdefault(addition.product_id, []).append(addition)
    result = []
    for product_id, group in by_product.items():
        first = group[0]
        product = first.row.get("product") or {}
        name = without_marker(first.text("description")) or str(product.get("identifier") or "")
        result.append(AgreementLine(
            id=str(first.id),
            agreement_id=agreement_id,
            catalog_item_id=product_id,
            name=name,
            quantity=quantity_on(group, as_of),
            as_of=as_of,
            unit_price=decimal(first.row.get("unitPrice")),
            unit_cost=decimal(first.row.get("unitCost")),
            marked=marked(group, marker_field),
        ))
    return result
