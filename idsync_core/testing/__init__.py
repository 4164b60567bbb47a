"""The connector conformance suite, shipped as a pytest plugin (see docs/writing-a-connector.md).

A connector's whole conformance test::

    from idsync_core.testing import Known, LargeTenant, Listing, SuiteConfig
    from idsync_core.testing import get_connector_test_class

    TestHaloConformance = get_connector_test_class(SuiteConfig(
        plugin="halopsa",
        large_tenant=LargeTenant(big_seed, [Listing("list_companies", 1203), ...]),
        known=[Known("list_catalog", {}, "501", {"price": "4.80", "cost": "4.00"}), ...]))

Checks that need something the configuration does not give fail and say what to add (see
:mod:`idsync_core.testing.config`).

The pytest plugin (``idsync_core.testing.pytest_plugin``) provides the ``idsync_conformance``
fixture the suite runs on; it is registered when IDSync is installed. Every pytest run of a
project with IDSync installed imports this package (the plugin lives in it), so the names below
are imported on first use, not up front.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from idsync_core.testing.clock import SuiteClock
    from idsync_core.testing.config import (
        CAPABILITIES,
        Known,
        LargeTenant,
        Listing,
        SampleIds,
        SuiteConfig,
        TokenRequest,
        WriteRequest,
    )
    from idsync_core.testing.faults import PathFault
    from idsync_core.testing.harness import Harness, World
    from idsync_core.testing.replay import ReplaySimulator, load_recording
    from idsync_core.testing.suite import (
        ConnectorSuite,
        ProviderSuite,
        PsaSuite,
        get_connector_test_class,
    )

_HOME = {
    "CAPABILITIES": "config", "Known": "config", "LargeTenant": "config", "Listing": "config",
    "SampleIds": "config", "SuiteConfig": "config", "TokenRequest": "config",
    "WriteRequest": "config", "SuiteClock": "clock",
    "PathFault": "faults", "Harness": "harness", "World": "harness",
    "ReplaySimulator": "replay", "load_recording": "replay",
    "ConnectorSuite": "suite", "ProviderSuite": "suite", "PsaSuite": "suite",
    "get_connector_test_class": "suite",
}

__all__ = [
    "CAPABILITIES",
    "ConnectorSuite",
    "Harness",
    "Known",
    "LargeTenant",
    "Listing",
    "PathFault",
    "ProviderSuite",
    "PsaSuite",
    "ReplaySimulator",
    "SampleIds",
    "SuiteClock",
    "SuiteConfig",
    "TokenRequest",
    "World",
    "WriteRequest",
    "get_connector_test_class",
    "load_recording",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
