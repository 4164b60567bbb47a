"""The IDSync connector conformance suite, run on the Odin connector's marketplace backend."""

from __future__ import annotations

from idsync_core.testing import LargeTenant, Listing, SuiteConfig, get_connector_test_class

pytest_plugins = ["idsync_core.testing.pytest_plugin"]

CUSTOMERS = 1100  # more than one 500-row page
SEED = {"customers": [
    {"id": str(5000 + n), "name": f"Customer {n:04}",
     "subscriptions": [{"id": str(90000 + n), "name": "Microsoft 365",
                        "products": [{"mpn": "CFQ7TTC0LH16", "name": "Exchange Online (Plan 1)",
                                      "quantity": n % 50}]}]}
    for n in range(CUSTOMERS)]}

TestOdinConformance = get_connector_test_class(SuiteConfig(
    plugin="odin",
    large_tenant=LargeTenant(SEED, [Listing("list_accounts", CUSTOMERS)]),
))
