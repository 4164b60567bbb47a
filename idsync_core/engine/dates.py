"""Effective dates: when an adjustment starts counting.

Increases start today (the day the change was found; the PSA prorates). Decreases start on the
first day of the agreement's next billing period, so the customer is not sent a prorated credit
for seats already invoiced this period — unless ``[sync] decrease_effective = "today"``.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.models import Agreement
    from idsync_core.settings import DecreasePolicy

PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "semi_annual": 6, "yearly": 12}
"""Months per billing period, by ``BillingCycle`` value (a StrEnum looks its value up)."""


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the end of shorter months (Jan 31 → Feb 28)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def next_period_start(agreement: Agreement, today: date) -> date:
    """The first day of the agreement's next billing period after ``today``.

    Periods are counted from the agreement's start date in steps of its billing cycle. An
    agreement with no start date is taken to bill on calendar months; an unknown or one-time
    cycle is treated as monthly (the shortest common cycle, so a decrease is never delayed by
    more than a month). An agreement that has not started yet: its start date.
    """
    months = PERIOD_MONTHS.get(agreement.billing_cycle, 1)
    anchor = agreement.start_date or date(today.year, today.month, 1)
    if anchor > today:
        return anchor
    elapsed = (today.year - anchor.year) * 12 + (today.month - anchor.month)
    step = elapsed // months
    candidate = add_months(anchor, step * months)
    while candidate <= today:
        step += 1
        candidate = add_months(anchor, step * months)
    return candidate


def decrease_date(agreement: Agreement, today: date, policy: DecreasePolicy) -> date:
    if policy == "today":  # DecreasePolicy.TODAY
        return today
    return next_period_start(agreement, today)
