"""The IDSync connector conformance suite, run on the ConnectWise connector and its simulator."""

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

EXAMPLE = Path(__file__).parents[1] / "idsync_connectwise" / "simulator" / "seed_example.json"


def with_many_companies(extra: int) -> tuple[dict[str, Any], int]:
    """The example tenant plus ``extra`` companies: more than one 1,000-row page."""
    seed = copy.deepcopy(json.loads(EXAMPLE.read_text()))
    companies = seed["companies"]
    first = max(c["id"] for c in companies) + 1
    companies += [{"id": first + n, "identifier": f"Bulk{n}", "name": f"Bulk Customer {n:04}"}
                  for n in range(extra)]
    active = [c for c in companies if not c.get("deletedFlag")]
    return seed, len(active)


SEED, COMPANIES = with_many_companies(1100)

TestConnectWiseConformance = get_connector_test_class(SuiteConfig(
    plugin="connectwise",
    large_tenant=LargeTenant(SEED, [Listing("list_companies", COMPANIES)]),
    write_request=WriteRequest("POST", r".*/finance/agreements/\d+/additions"),
))
