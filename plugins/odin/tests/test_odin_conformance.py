"""The IDSync connector conformance suite, run on the Odin connector's marketplace backend."""

from __future__ import annotations

from idsync_core.testing import (
    Known,
    LargeTenant,
    Listing,
    SuiteConfig,
    TokenRequest,
    get_connector_test_class,
)

pytest_plugins = ["idsync_core.testing.pytest_plugin"]

CUSTOMERS = 1100  # more than one 500-row page of customers …
SUBSCRIPTIONS = 600  # … and of one customer's subscriptions
SEED = {"customers": [
    {"id": str(5000 + n), "name": f"Customer {n:04}",
     "subscriptions": [{"id": str(90000 + n), "name": "Microsoft 365",
                        "products": [{"mpn": "CFQ7TTC0LH16", "name": "Exchange Online (Plan 1)",
                                      "quantity": n % 50}]}]}
    for n in range(CUSTOMERS)]}
SEED["customers"].append({"id": "4999", "name": "Many Subscriptions Ltd", "subscriptions": [
    {"id": str(80000 + n), "name": f"Microsoft 365 #{n}",
     "products": [{"mpn": "CFQ7TTC0LH16", "name": "Exchange Online (Plan 1)", "quantity": 1}]}
    for n in range(SUBSCRIPTIONS)]})

TestOdinConformance = get_connector_test_class(SuiteConfig(
    plugin="odin",
    large_tenant=LargeTenant(
        SEED,
        [Listing("list_accounts", CUSTOMERS + 1),
         Listing("list_subscriptions", SUBSCRIPTIONS, {"account_id": "4999"})],
        unpaged={"list_resources": "one GET /subscriptions/{id} returns every product line of "
                                   "the subscription"}),
    # The example seed (plugins/odin/idsync_odin/simulator/seed_example.json).
    known=[
        Known("list_resources", {"subscription_id": "1000177"}, "1000177:CFQ7TTC0LH16",
              {"quantity": 8, "unit_price": "4.80", "unit_cost": "4.00"}),
        Known("list_resources", {"subscription_id": "1000181"}, "1000181:CFQ7TTC0LCHC",
              {"quantity": 15, "unit_price": "26.40", "unit_cost": "22.00"}),
        Known("list_resources", {"subscription_id": "1000178"}, "1000178:DZH318Z0BQ3Q",
              {"quantity": None, "seat_based": False}),
        Known("list_subscriptions", {"account_id": "1000276"}, "1000181", {"status": "active"}),
        Known("list_subscriptions", {"account_id": "1000276"}, "1000182",
              {"status": "terminated"}),
        Known("list_subscriptions", {"account_id": "1000277"}, "1000186", {"status": "pending"}),
        Known("list_subscriptions", {"account_id": "1000278"}, "1000190",
              {"status": "suspended"}),
    ],
    token_request=TokenRequest("POST", r".*/marketplace/[^/]+/token"),
))
