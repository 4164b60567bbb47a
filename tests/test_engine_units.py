"""Pure engine arithmetic: billing periods, change steps, price sources."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from idsync_core.engine.dates import add_months, next_period_start
from idsync_core.engine.planning import steps
from idsync_core.engine.pricing import markup_price, resolve
from idsync_core.models import Agreement, AgreementLine, BillingCycle, CatalogItem, Resource
from idsync_core.store import PriceSourceSetting

D = Decimal
TODAY = date(2026, 11, 25)


def agreement(start: date | None, cycle: BillingCycle) -> Agreement:
    return Agreement(id="1", company_id="1", name="a", start_date=start, billing_cycle=cycle)


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


@pytest.mark.parametrize(("start", "cycle", "expected"), [
    (date(2026, 1, 1), BillingCycle.MONTHLY, date(2026, 12, 1)),
    (date(2025, 3, 15), BillingCycle.QUARTERLY, date(2026, 12, 15)),
    (date(2024, 7, 1), BillingCycle.YEARLY, date(2027, 7, 1)),
    (date(2026, 1, 25), BillingCycle.MONTHLY, date(2026, 12, 25)),  # today is a period start
    (None, BillingCycle.UNKNOWN, date(2026, 12, 1)),
    (date(2027, 2, 1), BillingCycle.MONTHLY, date(2027, 2, 1)),  # not started yet
    (date(2026, 1, 31), BillingCycle.MONTHLY, date(2026, 11, 30)),  # clamped month end
])
def test_next_period_start(start: date | None, cycle: BillingCycle, expected: date) -> None:
    assert next_period_start(agreement(start, cycle), TODAY) == expected


NEXT = date(2026, 12, 1)


@pytest.mark.parametrize(("desired", "q_today", "q_next", "expected"), [
    (D(8), D(0), D(0), [(TODAY, D(0), D(8))]),                      # the seed example
    (D(5), D(8), D(8), [(NEXT, D(8), D(-3))]),                      # decrease → next period
    (D(8), D(8), D(8), []),                                          # equal: nothing
    (D(8), D(8), D(5), [(NEXT, D(5), D(3))]),                        # undo a scheduled decrease
    (D(10), D(8), D(5), [(TODAY, D(8), D(2)), (NEXT, D(7), D(3))]),  # both at once
    (D(0), D(3), D(3), [(NEXT, D(3), D(-3))]),                       # terminated → 0
])
def test_steps(desired: Decimal, q_today: Decimal, q_next: Decimal,
               expected: list[tuple[date, Decimal, Decimal]]) -> None:
    assert steps(desired, TODAY, q_today, NEXT, q_next) == expected


def test_steps_with_decreases_effective_today() -> None:
    assert steps(D(5), TODAY, D(8), TODAY, D(8)) == [(TODAY, D(8), D(-3))]
    assert steps(D(9), TODAY, D(8), TODAY, D(8)) == [(TODAY, D(8), D(1))]


CATALOG = CatalogItem(id="812", name="Exchange", price="4.80", cost="4.00")
RESOURCE = Resource(id="r", subscription_id="s", name="Exchange", quantity=8,
                    unit_price="4.50", unit_cost="3.90")
LINE = AgreementLine(id="l", agreement_id="1", catalog_item_id="812", quantity=2,
                     as_of=TODAY, unit_price="5.10", unit_cost="4.10")


def setting(kind: str, **values: Decimal) -> PriceSourceSetting:
    return PriceSourceSetting(scope="link", scope_id="1", kind=kind, **values)


def test_price_sources() -> None:
    assert (p := resolve(None, catalog=CATALOG, line=LINE, resource=RESOURCE)).price == D(
        "4.80") and p.cost == D("4.00")
    agreement_price = resolve(setting("agreement"), catalog=CATALOG, line=LINE,
                              resource=RESOURCE)
    assert (agreement_price.price, agreement_price.cost) == (D("5.10"), D("4.10"))
    fallback = resolve(setting("agreement"), catalog=CATALOG, line=None, resource=RESOURCE)
    assert (fallback.price, fallback.source) == (D("4.80"), "agreement → catalog")
    custom = resolve(setting("custom", price=D("6"), cost=D("3.5")), catalog=CATALOG,
                     line=LINE, resource=RESOURCE)
    assert (custom.price, custom.cost) == (D("6"), D("3.5"))
    provider = resolve(setting("provider"), catalog=CATALOG, line=LINE, resource=RESOURCE)
    assert (provider.price, provider.cost) == (D("4.50"), D("3.90"))
    markup = resolve(setting("markup", markup_percent=D("15")), catalog=CATALOG, line=LINE,
                     resource=RESOURCE)
    assert (markup.price, markup.cost) == (D("4.49"), D("3.90"))  # 3.90 × 1.15 = 4.485 → 4.49


def test_markup_rounds_half_up_exactly() -> None:
    assert markup_price(D("0.10"), D("5")) == D("0.11")  # 0.105 → 0.11 (no float error)
    assert markup_price(D("19.99"), D("0")) == D("19.99")
