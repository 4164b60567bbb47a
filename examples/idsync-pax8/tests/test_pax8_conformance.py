"""The IDSync conformance suite, run on this connector and its simulator.

What the suite is told, and why:

* a large tenant: more companies than a 200-row page, and one company with more subscriptions
  than a page; ``list_resources`` reads one subscription, which has nothing to page;
* known rows of the example seed: two quantities, statuses that map differently (Active,
  Cancelled, PendingManual, Trial), a price that is not its cost, and a row priced in euros
  that must not pass its price on to a PSA billing in dollars;
* the token request, for the renewal and lifetime checks;
* ``retry_after`` declared missing: Pax8 sends no Retry-After (its simulator neither), which
  ``test_429_without_retry_after_is_backed_off`` covers.
"""

from __future__ import annotations

import copy
from typing import Any

from idsync_core.testing import (
    Known,
    LargeTenant,
    Listing,
    SuiteConfig,
    TokenRequest,
    get_connector_test_class,
)
from idsync_pax8.simulator import example_seed

pytest_plugins = ["idsync_core.testing.pytest_plugin"]

BULK = 450  # more than two 200-row pages
MANY = "00000000-0000-4000-8000-00000000abcd"
CONTOSO = "3f1d2c4e-5a6b-4c7d-8e9f-0a1b2c3d4e01"
FABRIKAM = "3f1d2c4e-5a6b-4c7d-8e9f-0a1b2c3d4e02"
NORTHWIND = "3f1d2c4e-5a6b-4c7d-8e9f-0a1b2c3d4e03"


def sub(n: int) -> str:
    return f"a0c4e6f8-1000-4b2d-8c3e-{n:012d}"


def large_tenant() -> dict[str, Any]:
    seed = copy.deepcopy(example_seed())
    seed["companies"] += [{"id": f"00000000-0000-4000-8000-{n:012d}", "name": f"Bulk {n:04}",
                           "status": "Active"} for n in range(BULK)]
    seed["companies"].append({"id": MANY, "name": "Many Subscriptions Ltd", "status": "Active"})
    seed["subscriptions"] += [
        {"id": f"00000000-1111-4000-8000-{n:012d}", "companyId": MANY,
         "productId": "7e2b9c1a-0001-4d2e-9f3a-1b2c3d4e5f01",
         "productName": "Exchange Online (Plan 1)", "quantity": 1, "status": "Active",
         "price": 4.8, "partnerCost": 4.0, "currencyCode": "USD", "billingTerm": "Monthly"}
        for n in range(BULK)]
    return seed


SEED = large_tenant()

TestPax8Conformance = get_connector_test_class(SuiteConfig(
    plugin="pax8",
    large_tenant=LargeTenant(SEED, [
        Listing("list_accounts", len(SEED["companies"])),
        Listing("list_subscriptions", BULK, {"account_id": MANY})],
        unpaged={"list_resources": "a Pax8 subscription is one product: GET "
                                   "/subscriptions/{id} returns its one line"}),
    known=[
        Known("list_resources", {"subscription_id": sub(1)}, sub(1),
              {"quantity": 8, "unit_price": "4.80", "unit_cost": "4.00"}),
        Known("list_resources", {"subscription_id": sub(2)}, sub(2),
              {"quantity": 12, "unit_price": "26.40", "unit_cost": "22.00"}),
        Known("list_resources", {"subscription_id": sub(7)}, sub(7),  # priced in EUR
              {"quantity": 6, "unit_price": None, "unit_cost": None}),
        Known("list_subscriptions", {"account_id": CONTOSO}, sub(1), {"status": "active"}),
        Known("list_subscriptions", {"account_id": FABRIKAM}, sub(3), {"status": "terminated"}),
        Known("list_subscriptions", {"account_id": FABRIKAM}, sub(4), {"status": "pending"}),
        Known("list_subscriptions", {"account_id": NORTHWIND}, sub(6),
              {"status": "terminated"}),
    ],
    token_request=TokenRequest("POST", "/v1/token"),
    missing={"retry_after": "Pax8 documents no Retry-After on its 429s and its simulator sends "
                            "none; test_429_without_retry_after_is_backed_off checks them"},
))
