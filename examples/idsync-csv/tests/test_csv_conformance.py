"""The IDSync conformance suite, run on this connector: the ten lines every connector writes.

The connector reads files, not HTTP, so the suite builds each test's world with ``settings=``
(a function writing the export and returning the settings table) and skips its HTTP checks.
"""

from __future__ import annotations

from pathlib import Path

from idsync_core.testing import LargeTenant, Listing, SuiteConfig, get_connector_test_class

pytest_plugins = ["idsync_core.testing.pytest_plugin"]

EXAMPLE = Path(__file__).parents[1] / "example" / "seats.csv"
HEADER = "account_id,account_name,subscription_id,sku,quantity\n"


def write_export(directory: Path, seed: str) -> dict[str, str]:
    (directory / "seats.csv").write_text(seed, encoding="utf-8")
    return {"plugin": "csv", "path": str(directory / "seats.csv")}


def many_accounts(count: int) -> str:
    return HEADER + "".join(f"A-{n},Customer {n},S-{n},CFQ7TTC0LH16,{n % 40}\n"
                            for n in range(count))


TestCsvConformance = get_connector_test_class(SuiteConfig(
    plugin="csv",
    seed=EXAMPLE.read_text(encoding="utf-8"),
    settings=write_export,
    large_tenant=LargeTenant(many_accounts(1200), [Listing("list_accounts", 1200)]),
    bad_settings={"path": "/no/such/export.csv"},
))
