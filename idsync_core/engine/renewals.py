"""The renewals report: subscriptions whose term renews soon, so seats can be reduced first.

A committed term (Microsoft's annual NCE subscriptions) can only lose seats at renewal: once
it renews, the customer owes the seats for another term. The report lists, for every
subscription of a linked customer that renews within the window, the renewal date (Ingram
``renewalDate``), the commitment term and billing period (``subscriptionPeriod``,
``billingPeriod``) where the provider gives them, the seats and the monthly value.

The monthly value is seats × the provider's unit price, divided by the months of the billing
period when the provider names one (UNCONFIRMED that Ingram's unit price is per billing period;
with no billing period it is taken as monthly). Providers or subscriptions without a renewal
date cannot be placed and are counted apart (the APS backend gives none).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from idsync_core.engine.posting import RUN_STOPPERS
from idsync_core.engine.pricing import CENT
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import IdsyncError

COLUMNS = ["renewal_date", "days_left", "customer", "account_id", "subscription_id",
           "subscription", "status", "commitment_term", "billing_term", "seats",
           "monthly_value", "linked", "problem"]
MONTHS = {"m": 1, "y": 12}


@dataclass
class Renewals:
    rows: list[dict[str, Any]]
    without_date: int = 0
    """Subscriptions looked at whose provider gives no renewal date."""
    problems: list[str] = field(default_factory=list)
    """Customers whose subscriptions could not be read."""


def months_of(term: str | None) -> int | None:
    """``1y`` → 12, ``3m`` → 3; None for no term or one in days."""
    match = re.fullmatch(r"(\d+)([dmy])", term or "")
    if match is None or match.group(2) not in MONTHS:
        return None
    return int(match.group(1)) * MONTHS[match.group(2)]


def renewals(runtime: Runtime, within: timedelta) -> Renewals:
    """Subscriptions of the linked customers renewing from today to ``today + within``."""
    from idsync_core.engine.reader import Reader

    reader = Reader(runtime)
    today, last_day = runtime.today, runtime.today + within
    linked = {(s.provider, s.subscription_id) for s in runtime.store.active_subscription_links()}
    found = Renewals(rows=[])
    for company in runtime.store.active_company_links():
        try:
            subscriptions = reader.subscriptions(company.provider, company.account_id)
        except RUN_STOPPERS:
            raise
        except IdsyncError as exc:
            found.problems.append(f"account {company.account_id}: {exc.message}")
            continue
        for sub in subscriptions.values():
            if sub.terminated:
                continue
            if sub.renewal_date is None:
                found.without_date += 1
                continue
            if not today <= sub.renewal_date <= last_day:
                continue
            row = {"renewal_date": sub.renewal_date, "days_left": (sub.renewal_date - today).days,
                   "customer": company.account_name, "account_id": company.account_id,
                   "subscription_id": sub.id, "subscription": sub.name, "status": sub.status,
                   "commitment_term": sub.commitment_term, "billing_term": sub.billing_term,
                   "seats": None, "monthly_value": None,
                   "linked": (company.provider, sub.id) in linked, "problem": None}
            try:
                seats = [r for r in reader.resources(company.provider, sub.id).values()
                         if r.seat_based and r.quantity is not None]
            except RUN_STOPPERS:
                raise
            except IdsyncError as exc:
                row["problem"] = exc.message
            else:
                row["seats"] = sum((r.quantity for r in seats if r.quantity), Decimal(0))
                row["monthly_value"] = monthly_value(seats, sub.billing_term)
            found.rows.append(row)
    found.rows.sort(key=lambda r: (r["renewal_date"], r["customer"], r["subscription_id"]))
    return found


def monthly_value(resources: list[Any], billing_term: str | None) -> Decimal | None:
    """Seats × unit price per month, rounded half-up to the cent; None when a resource has no
    price."""
    if any(r.unit_price is None for r in resources):
        return None
    per_period = sum((r.quantity * r.unit_price for r in resources), Decimal(0))
    return (per_period / (months_of(billing_term) or 1)).quantize(CENT, ROUND_HALF_UP)
