"""The pytest plugin of the connector conformance suite.

Installing IDSync registers it (entry point ``pytest11``, named after this module, so that
``pytest_plugins = ["idsync_core.testing.pytest_plugin"]`` or
``-p idsync_core.testing.pytest_plugin`` in a project that has it installed loads it once, not
twice). It gives:

* the ``idsync_conformance`` fixture: a fresh :class:`~idsync_core.testing.harness.Harness`
  per test, built from the test class's ``config``; it skips a test, with the reason, when the
  connector declared a capability the test needs missing or the test cannot apply;
* the ``idsync_conformance`` marker on every suite test, so ``-m idsync_conformance`` runs
  only the suite and ``-m "not idsync_conformance"`` everything else.

This module imports nothing heavy at start-up: every pytest run of a project with IDSync
installed loads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from idsync_core.testing.harness import Harness

MARKER = "idsync_conformance"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}: a check of the IDSync connector conformance suite")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        cls = getattr(item, "cls", None)
        if cls is not None and getattr(cls, "__idsync_conformance__", False):
            item.add_marker(MARKER)


@pytest.fixture
def idsync_conformance(request: pytest.FixtureRequest, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The connector under test, its worlds and connections (see ``idsync_core.testing``)."""
    from idsync_core.testing.config import SuiteConfig
    from idsync_core.testing.harness import Harness, find_plugin
    from idsync_core.testing.suite import skip_reason

    cls = request.cls
    config = getattr(cls, "config", None)
    if not isinstance(config, SuiteConfig):
        pytest.fail("a conformance test class needs `config = SuiteConfig(plugin=...)`; build it "
                    "with idsync_core.testing.get_connector_test_class", pytrace=False)
    monkeypatch.setenv("IDSYNC_LOAD_PLUGINS", config.plugin)  # other connectors stay out
    info = find_plugin(config.plugin)
    expected = getattr(cls, "kind", None)
    if expected is not None and info.kind != expected:
        pytest.fail(f"{info.name} is a {info.kind} connector but the class runs the {expected} "
                    "suite; use get_connector_test_class", pytrace=False)
    reason = skip_reason(config, info, getattr(request.function, "_idsync_requires", ()))
    if reason is not None:
        pytest.skip(reason)
    harness = Harness(config, info, tmp_path)
    try:
        yield harness
    finally:
        harness.close()
