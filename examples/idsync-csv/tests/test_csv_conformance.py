"""The IDSync conformance suite, run on this connector: the lines every connector writes.

The connector reads files, not HTTP, so the suite builds each test's world with ``settings=``
(a function writing the export and returning the settings table) and skips its HTTP checks.
"""

from __future__ import annotations

from pathlib import Path

from idsync_core.testing import (
    Known,
    LargeTenant,
    Listing,
    SuiteConfig,
    get_connector_test_class,
)

pytest_plugins = ["idsync_core.testing.pytest_plugin"]

EXAMPLE = Path(__file__).parents[1] / "example" / "seats.csv"
HEADER = "account_id,account_name,subscription_id,sku,quantity\n"
ROWS = 1200


def write_export(directory: Path, seed: str) -> dict[str, str]:
    (directory / "seats.csv").write_text(seed, encoding="utf-8")
    return {"plugin": "csv", "path": str(directory / "seats.csv")}


def large_export() -> str:
    """Many accounts, one account with many subscriptions, one subscription with many
    products: every listing is checked whole."""
    return HEADER + "".join(
        [f"A-{n},Customer {n},S-{n},CFQ7TTC0LH16,{n % 40}\n" for n in range(ROWS)]
        + [f"A-MANY,Many Subscriptions,S-MANY-{n},CFQ7TTC0LH16,1\n" for n in range(ROWS)]
        + [f"A-WIDE,Many Products,S-WIDE,SKU-{n:04},1\n" for n in range(ROWS)])


TestCsvConformance = get_connector_test_class(SuiteConfig(
    plugin="csv",
    seed=EXAMPLE.read_text(encoding="utf-8"),
    settings=write_export,
    large_tenant=LargeTenant(large_export(), [
        Listing("list_accounts", ROWS + 2),
        Listing("list_subscriptions", ROWS, {"account_id": "A-MANY"}),
        Listing("list_resources", ROWS, {"subscription_id": "S-WIDE"})]),
    known=[  # rows of example/seats.csv
        Known("list_resources", {"subscription_id": "S-1001"}, "S-1001:CFQ7TTC0LH16",
              {"quantity": 8, "unit_price": "4.80", "unit_cost": "4.00"}),
        Known("list_resources", {"subscription_id": "S-1001"}, "S-1001:CFQ7TTC0LCHC",
              {"quantity": 12}),
        Known("list_resources", {"subscription_id": "S-1002"}, "S-1002:DZH318Z0BQ3Q",
              {"quantity": None, "seat_based": False}),
        Known("list_subscriptions", {"account_id": "A-300"}, "S-3001", {"status": "active"}),
        Known("list_subscriptions", {"account_id": "A-300"}, "S-3002", {"status": "terminated"}),
        Known("list_subscriptions", {"account_id": "A-500"}, "S-5001", {"status": "suspended"}),
    ],
    bad_settings={"path": "/no/such/export.csv"},
))
