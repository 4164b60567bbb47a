"""ConnectWise JSON → domain models, and the quantity-as-of-a-date rule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from idsync_connectwise import mapping
from idsync_core.errors import ApiError, NotFoundError
from idsync_core.models import AgreementStatus, BillingCycle
from idsync_core.numbers import integer_id


def addition(id: int, product: int, quantity: Any, effective: str | None,
             cancelled: str | None = None, sequence: int | None = None,
             **extra: Any) -> mapping.Addition:
    return mapping.Addition.of({
        "id": id, "product": {"id": product, "identifier": f"P{product}"}, "quantity": quantity,
        "effectiveDate": f"{effective}T00:00:00Z" if effective else None,
        "cancelledDate": f"{cancelled}T00:00:00Z" if cancelled else None,
        "sequenceNumber": sequence, **extra})


def test_an_addition_is_active_from_its_effective_date_until_the_day_before_cancelling() -> None:
    a = addition(1, 5, 3, "2026-02-01", "2026-03-01")
    assert not a.active_on(date(2026, 1, 31))
    assert a.active_on(date(2026, 2, 1)) and a.active_on(date(2026, 2, 28))
    assert not a.active_on(date(2026, 3, 1))
    assert addition(2, 5, 1, None).active_on(date(1990, 1, 1))


def test_quantity_as_of_sums_the_active_additions_exactly() -> None:
    rows = [addition(1, 5, 12, "2025-07-01"), addition(2, 5, 2, "2025-07-01", "2025-10-01"),
            addition(3, 5, Decimal("0.5"), "2026-02-01"), addition(4, 5, None, "2025-01-01")]
    assert mapping.quantity_on(rows, date(2025, 8, 1)) == Decimal(14)
    assert mapping.quantity_on(rows, date(2026, 1, 31)) == Decimal(12)
    assert mapping.quantity_on(rows, date(2026, 2, 1)) == Decimal("12.5")


def test_lines_one_per_product_priced_from_the_first_addition_by_sequence() -> None:
    rows = [
        addition(10, 7, 3, "2026-02-01", sequence=3, unitPrice=Decimal("5.00")),
        addition(11, 5, 2, "2026-01-01", "2026-01-15", sequence=1, unitPrice=Decimal("4.80"),
                 unitCost=Decimal("4.00"), description="Exchange [idsync:abc]"),
        addition(12, 5, 6, "2026-01-15", sequence=2, unitPrice=Decimal("5.20")),
    ]
    lines = mapping.lines("871", rows, date(2026, 1, 20))
    assert [(line.catalog_item_id, line.id, line.quantity) for line in lines] == [
        ("5", "11", Decimal(6)), ("7", "10", Decimal(0))]
    first = lines[0]
    assert (first.unit_price, first.unit_cost, first.name) == (
        Decimal("4.80"), Decimal("4.00"), "Exchange")
    assert lines[1].name == "P7" and lines[1].as_of == date(2026, 1, 20)


@pytest.mark.parametrize(("row", "status"), [
    ({"agreementStatus": "Active"}, AgreementStatus.ACTIVE),
    ({"agreementStatus": "Expired"}, AgreementStatus.EXPIRED),
    ({"agreementStatus": "Active", "cancelledFlag": True}, AgreementStatus.CANCELLED),
    ({}, AgreementStatus.ACTIVE),
    ({"agreementStatus": "Suspended"}, AgreementStatus.INACTIVE),
])
def test_agreement_status(row: dict[str, Any], status: AgreementStatus) -> None:
    assert mapping.agreement_status(row) is status


@pytest.mark.parametrize(("name", "cycle"), [
    ("Monthly", BillingCycle.MONTHLY), ("Quarterly", BillingCycle.QUARTERLY),
    ("Semi-Annual", BillingCycle.SEMI_ANNUAL), ("Annually", BillingCycle.YEARLY),
    ("Yearly", BillingCycle.YEARLY), ("One Time", BillingCycle.ONE_TIME),
    ("Every full moon", BillingCycle.UNKNOWN),
])
def test_billing_cycle_names(name: str, cycle: BillingCycle) -> None:
    assert mapping.billing_cycle({"billingCycle": {"id": 1, "name": name}}) is cycle


def test_an_agreement_past_its_end_date_is_expired() -> None:
    agreement = mapping.agreement({
        "id": 5, "name": "A", "company": {"id": 9}, "agreementStatus": "Active",
        "startDate": "2025-01-01T00:00:00Z", "endDate": "2025-12-31T00:00:00Z",
        "noEndingDateFlag": False, "billingCycle": None, "oneTimeFlag": True})
    assert (agreement.id, agreement.company_id) == ("5", "9")
    assert agreement.billing_cycle is BillingCycle.ONE_TIME
    assert agreement.is_expired(date(2026, 1, 1)) and not agreement.is_expired(date(2025, 6, 1))
    open_ended = mapping.agreement({"id": 6, "company": {"id": 9}, "noEndingDateFlag": True,
                                    "endDate": "2020-01-01T00:00:00Z"})
    assert open_ended.end_date is None


def test_catalog_items_keep_inactive_ones_and_decimal_prices() -> None:
    item = mapping.catalog_item({"id": 1205, "identifier": "CFQ7TTC0LFLX",
                                 "description": "Microsoft 365 E3", "price": Decimal("43.20"),
                                 "cost": 36, "inactiveFlag": True})
    assert (item.id, item.name, item.price, item.cost, item.active) == (
        "1205", "Microsoft 365 E3", Decimal("43.20"), Decimal(36), False)


def test_markers_are_replaced_not_stacked() -> None:
    text = mapping.with_marker("Exchange Online [idsync:old]", "[idsync:new]")
    assert text == "Exchange Online [idsync:new]"
    assert mapping.with_marker("", "[idsync:new]") == "[idsync:new]"


def test_what_the_engine_needs_is_checked() -> None:
    with pytest.raises(ApiError, match="without an id"):
        mapping.company({"name": "x"})
    with pytest.raises(ApiError, match="without a company"):
        mapping.agreement({"id": 1})
    with pytest.raises(ApiError, match="where a date belongs"):
        mapping.cw_date("31/12/2025")
    with pytest.raises(NotFoundError, match="ids are numbers"):
        integer_id("ABC-1", "agreement", "ConnectWise")


@pytest.mark.parametrize(("raw", "text"), [
    (Decimal("8.0"), "8"), (Decimal("26.40"), "26.4"), (100, "100"), ("1E+2", "100"),
    (18.7, "18.7"), (Decimal("-0.50"), "-0.5"),
])
def test_numbers_read_as_an_operator_typed_them(raw: object, text: str) -> None:
    assert str(mapping.decimal(raw)) == text


def test_a_number_that_is_not_one_is_an_api_error() -> None:
    with pytest.raises(ApiError, match="where a number belongs"):
        mapping.decimal("NaN")


@pytest.mark.parametrize(("currency", "code"), [
    ({"id": 7, "currencyCode": "eur", "symbol": "€"}, "EUR"),
    ({"id": 7, "symbol": "$"}, None),  # a reference without its code: not stated
    (None, None),
])
def test_an_agreement_states_its_currency_where_connectwise_does(currency: Any,
                                                                 code: str | None) -> None:
    row = {"id": 1, "name": "A", "company": {"id": 2}, "currency": currency}
    assert mapping.agreement(row).currency == code
