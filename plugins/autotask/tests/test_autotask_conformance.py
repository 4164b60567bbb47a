"""The IDSync connector conformance suite, run on the Autotask connector and its simulator."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from idsync_core.testing import (
    LargeTenant,
    Listing,
    SuiteConfig,
    WriteRequest,
    get_connector_test_class,
)

pytest_plugins = ["idsync_core.testing.pytest_plugin"]

EXAMPLE = Path(__file__).parents[1] / "idsync_autotask" / "simulator" / "seed_example.json"


def with_many_companies(extra: int) -> tuple[dict[str, Any], int]:
    """The example tenant plus ``extra`` active companies: more than one 500-row page."""
    seed = copy.deepcopy(json.loads(EXAMPLE.read_text()))
    companies = seed["companies"]
    first = max(c["id"] for c in companies) + 1
    companies += [{"id": first + n, "companyName": f"Bulk Customer {n:04}", "companyType": 1,
                   "isActive": True} for n in range(extra)]
    # Company 0 is the MSP itself, never a customer the connector lists.
    return seed, sum(1 for c in companies if c.get("isActive") and c["id"] != 0)


SEED, COMPANIES = with_many_companies(1100)

TestAutotaskConformance = get_connector_test_class(SuiteConfig(
    plugin="autotask",
    large_tenant=LargeTenant(SEED, [Listing("list_companies", COMPANIES)]),
    write_request=WriteRequest("POST", r".*/ContractServiceAdjustments"),
))
