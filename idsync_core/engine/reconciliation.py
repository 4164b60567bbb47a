"""The reconciliation report: every linked line, provider against PSA, as finance checks it.

It is the comparison MSPs do by hand every month (the provider's subscription report beside the
PSA's contract lines): per linked resource the customer, subscription, resource and SKU, the
PSA company, agreement and product, the provider quantity, the PSA quantity as of a date and
their difference, the unit price and cost the price source gives (and the margin), the price
source, and IDSync's last posting for the line with its date.

The provider has no history: its quantity is today's. The PSA quantity is read as of the date
asked for (the PSA knows its lines' history), as the PSA shows it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from idsync_core.engine.report import build_report
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import IdsyncError

COLUMNS = ["customer", "account_id", "subscription_id", "subscription", "resource_id",
           "resource", "sku", "psa_company_id", "psa_company", "agreement_id", "agreement",
           "product_id", "product", "provider_quantity", "psa_quantity", "as_of", "difference",
           "unit_price", "unit_cost", "unit_margin", "margin", "price_source", "last_posting",
           "last_posting_date", "last_posted_at", "problem"]
"""The report's columns, in order (CSV header, HTML table)."""


def reconciliation(runtime: Runtime, as_of: date | None = None) -> list[dict[str, Any]]:
    """One row per linked resource (read-only: nothing is posted)."""
    from idsync_core.engine.reader import Reader

    day = as_of or runtime.today
    report = build_report(runtime)
    last = runtime.store.last_postings()
    reader = Reader(runtime)
    rows = []
    for plan in sorted(report.plans, key=lambda p: (p.company_link.account_name,
                                                    p.link.agreement_id, p.link.resource_id)):
        link, sub_link, company = plan.link, plan.subscription_link, plan.company_link
        psa_quantity, problem = plan.actual, plan.problem
        if day != runtime.today and not problem:
            try:
                line = reader.lines(link.agreement_id, day).get(link.catalog_item_id)
                psa_quantity = line.quantity if line else Decimal(0)
            except IdsyncError as exc:
                psa_quantity, problem = None, exc.message
        price = plan.pricing.price if plan.pricing else None
        cost = plan.pricing.cost if plan.pricing else None
        unit_margin = price - cost if price is not None and cost is not None else None
        posting = last.get(link.id)
        rows.append({
            "customer": company.account_name, "account_id": company.account_id,
            "subscription_id": sub_link.subscription_id,
            "subscription": sub_link.subscription_name, "resource_id": link.resource_id,
            "resource": link.resource_name, "sku": plan.resource.sku if plan.resource else None,
            "psa_company_id": company.psa_company_id, "psa_company": company.psa_company_name,
            "agreement_id": link.agreement_id, "agreement": sub_link.agreement_name,
            "product_id": link.catalog_item_id, "product": link.catalog_item_name,
            "provider_quantity": plan.desired, "psa_quantity": psa_quantity, "as_of": day,
            "difference": plan.desired - psa_quantity
            if plan.desired is not None and psa_quantity is not None else None,
            "unit_price": price, "unit_cost": cost, "unit_margin": unit_margin,
            "margin": unit_margin * psa_quantity
            if unit_margin is not None and psa_quantity is not None else None,
            "price_source": plan.pricing.source if plan.pricing else None,
            "last_posting": posting.delta if posting else None,
            "last_posting_date": posting.effective_date if posting else None,
            "last_posted_at": posting.updated_at if posting else None,
            "problem": problem,
        })
    return rows


def totals(rows: list[dict[str, Any]]) -> dict[str, Decimal]:
    """The sums a person reads first: seats on each side, their difference, the margin."""
    def total(column: str) -> Decimal:
        return sum((row[column] for row in rows if row[column] is not None), Decimal(0))

    return {column: total(column) for column in ("provider_quantity", "psa_quantity",
                                                 "difference", "margin")}
