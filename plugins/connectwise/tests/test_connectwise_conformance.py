"""The IDSync connector conformance suite, run on the ConnectWise connector and its simulator."""

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

EXAMPLE = Path(__file__).parents[1] / "idsync_connectwise" / "simulator" / "seed_example.json"
BULK = 1100  # more than one 1,000-row page of every listing
BULK_COMPANY = 90000
BULK_AGREEMENT = 91000


def large_tenant() -> tuple[dict[str, Any], int]:
    """The example tenant plus ``BULK`` companies, ``BULK`` agreements of one of them, ``BULK``
    catalog items and one agreement holding an addition of each: every listing pages."""
    seed = copy.deepcopy(json.loads(EXAMPLE.read_text()))
    first = max(c["id"] for c in seed["companies"]) + 1
    seed["companies"] += [{"id": first + n, "identifier": f"Bulk{n}",
                           "name": f"Bulk Customer {n:04}"} for n in range(BULK)]
    seed["companies"].append({"id": BULK_COMPANY, "identifier": "BulkAgreements",
                              "name": "Bulk Agreements Ltd"})
    seed["agreements"] += [
        {"id": BULK_AGREEMENT + n, "name": f"Bulk agreement {n:04}",
         "company": {"id": BULK_COMPANY}, "agreementStatus": "Active", "cancelledFlag": False,
         "startDate": "2026-01-01T00:00:00Z", "billingCycle": {"id": 1, "name": "Monthly"}}
        for n in range(BULK)]
    first_item = max(i["id"] for i in seed["catalog"]) + 1
    seed["catalog"] += [{"id": first_item + n, "identifier": f"BULK-{n:04}",
                         "description": f"Bulk product {n:04}", "price": 1, "cost": 0.5,
                         "inactiveFlag": False} for n in range(BULK)]
    first_addition = max(a["id"] for a in seed["additions"]) + 1
    seed["additions"] += [
        {"id": first_addition + n, "agreementId": BULK_AGREEMENT, "product": {"id": first_item + n},
         "quantity": 1, "billCustomer": "Billable", "effectiveDate": "2026-01-01T00:00:00Z",
         "unitPrice": 1, "unitCost": 0.5}
        for n in range(BULK)]
    companies = sum(1 for c in seed["companies"] if not c.get("deletedFlag"))
    return seed, companies


SEED, COMPANIES = large_tenant()
ON = date(2026, 3, 1)

TestConnectWiseConformance = get_connector_test_class(SuiteConfig(
    plugin="connectwise",
    large_tenant=LargeTenant(SEED, [
        Listing("list_companies", COMPANIES),
        Listing("list_agreements", BULK, {"company_id": str(BULK_COMPANY)}),
        Listing("list_lines", BULK, {"agreement_id": str(BULK_AGREEMENT), "as_of": ON}),
        Listing("list_catalog", len(SEED["catalog"])),
    ]),
    known=[
        # Fabrikam: 12 + 3 Business Premium seats on 1 March (2 more were cancelled in October),
        # 14 in August; 5 Business Basic.
        Known("list_lines", {"agreement_id": "873", "as_of": ON}, "3590",
              {"quantity": 15, "unit_price": "26.40", "unit_cost": "22.00"}),
        Known("list_lines", {"agreement_id": "873", "as_of": date(2025, 8, 1)}, "3590",
              {"quantity": 14}),
        Known("list_lines", {"agreement_id": "873", "as_of": ON}, "3593", {"quantity": 5}),
        Known("list_agreements", {"company_id": "19300"}, "875", {"status": "expired"}),
        Known("list_agreements", {"company_id": "19300"}, "876", {"status": "active"}),
        Known("list_agreements", {"company_id": "19301"}, "878", {"status": "cancelled"}),
        Known("list_catalog", {}, "1201", {"price": "4.80", "cost": "4.00"}),
    ],
    write_request=WriteRequest("POST", r".*/finance/agreements/\d+/additions"),
    missing={"token_renewal": "ConnectWise authenticates every request with the API member's "
                              "keys (Basic auth); there is no token to renew"},
))
