"""The IDSync connector conformance suite, run on the Autotask connector and its simulator."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

from idsync_core.testing import (
    Known,
    LargeTenant,
    Listing,
    SuiteConfig,
    WriteRequest,
    get_connector_test_class,
)

pytest_plugins = ["idsync_core.testing.pytest_plugin"]

EXAMPLE = Path(__file__).parents[1] / "idsync_autotask" / "simulator" / "seed_example.json"
BULK = 600  # more than one 500-row page of every listing
BULK_COMPANY = 9000
BULK_CONTRACT = 9100
YEARLY = 4  # contractPeriodType: one units row per service for a one-year term


def large_tenant() -> tuple[dict[str, Any], int]:
    """The example tenant plus ``BULK`` companies, ``BULK`` contracts of one of them, ``BULK``
    services and one contract holding each of them: every listing pages."""
    seed = copy.deepcopy(json.loads(EXAMPLE.read_text()))
    companies = seed["companies"]
    first = max(c["id"] for c in companies) + 1
    companies += [{"id": first + n, "companyName": f"Bulk Customer {n:04}", "companyType": 1,
                   "isActive": True} for n in range(BULK)]
    companies.append({"id": BULK_COMPANY, "companyName": "Bulk Contracts Ltd", "companyType": 1,
                      "isActive": True})
    seed["contracts"] += [
        {"id": BULK_CONTRACT + n, "companyID": BULK_COMPANY, "contractName": f"Bulk {n:04}",
         "contractNumber": f"B-{n:04}", "contractType": 7, "status": 1,
         "contractPeriodType": YEARLY, "startDate": "2026-01-01T00:00:00",
         "endDate": "2026-12-31T00:00:00"} for n in range(BULK)]
    first_service = max(s["id"] for s in seed["services"]) + 1
    seed["services"] += [
        {"id": first_service + n, "name": f"Bulk service {n:04}", "sku": f"BULK-{n:04}",
         "unitPrice": 1, "unitCost": 0.5, "periodType": 1, "billingCodeID": 29682801,
         "isActive": True} for n in range(BULK)]
    first_line = max(s["id"] for s in seed["contractServices"]) + 1
    seed["contractServices"] += [
        {"id": first_line + n, "contractID": BULK_CONTRACT, "serviceID": first_service + n,
         "unitPrice": 1, "unitCost": 0.5, "units": 1} for n in range(BULK)]
    # Company 0 is the MSP itself, never a customer the connector lists.
    return seed, sum(1 for c in companies if c.get("isActive") and c["id"] != 0)


SEED, COMPANIES = large_tenant()
ON = date(2026, 3, 1)

TestAutotaskConformance = get_connector_test_class(SuiteConfig(
    plugin="autotask",
    large_tenant=LargeTenant(SEED, [
        Listing("list_companies", COMPANIES),
        Listing("list_agreements", BULK, {"company_id": str(BULK_COMPANY)}),
        Listing("list_lines", BULK, {"agreement_id": str(BULK_CONTRACT), "as_of": ON}),
        Listing("list_catalog", len(SEED["services"])),
    ]),
    known=[
        # Fabrikam: 25 Business Basic, 3 more from 15 February; 5 Exchange Online.
        Known("list_lines", {"agreement_id": "303", "as_of": ON}, "402",
              {"quantity": 28, "unit_price": "7.20", "unit_cost": "6.00"}),
        Known("list_lines", {"agreement_id": "303", "as_of": date(2026, 1, 1)}, "402",
              {"quantity": 25}),
        Known("list_lines", {"agreement_id": "303", "as_of": ON}, "403", {"quantity": 5}),
        Known("list_agreements", {"company_id": "105"}, "306", {"status": "inactive"}),
        Known("list_agreements", {"company_id": "105"}, "307", {"status": "active"}),
        Known("list_catalog", {}, "201", {"price": "4.80", "cost": "4.00"}),
    ],
    write_request=WriteRequest("POST", r".*/ContractServiceAdjustments"),
    missing={
        "token_renewal": "Autotask authenticates every request with the API user's headers "
                         "(UserName, Secret, ApiIntegrationCode); there is no token to renew",
        "backoff": "a 429 without Retry-After is Autotask's hourly threshold: retrying into a "
                   "locked-out tenant prolongs the lock-out, so the connector stops at once "
                   "(RateLimitedError, nothing lost; see idsync_autotask.dialect)"},
))
