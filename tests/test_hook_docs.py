"""Every hook is documented: a docstring in the spec and a section in the connector guide."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import pytest

from idsync_core.hookspecs import ALL_SPECS, PROVIDER_HOOKS, PSA_HOOKS

GUIDE = Path(__file__).parents[1] / "docs" / "writing-a-connector.md"
HOOKS = [(name, fn) for spec in ALL_SPECS
         for name, fn in inspect.getmembers(spec, inspect.isfunction)
         if name.startswith("idsync_")]


def signature_text(name: str, fn: Callable[..., object]) -> str:
    params = [p for p in inspect.signature(fn).parameters if p != "self"]
    return f"{name}({', '.join(params)})"


@pytest.mark.parametrize(("name", "fn"), HOOKS, ids=[name for name, _ in HOOKS])
def test_hook_is_documented(name: str, fn: Callable[..., object]) -> None:
    assert fn.__doc__ and len(fn.__doc__.strip()) > 40, f"{name} needs a real docstring"
    assert f"#### `{signature_text(name, fn)}`" in GUIDE.read_text(), (
        f"docs/writing-a-connector.md has no section headed `{signature_text(name, fn)}`")


def test_required_hooks_exist_as_specs() -> None:
    names = {name for name, _ in HOOKS}
    assert set(PSA_HOOKS) <= names and set(PROVIDER_HOOKS) <= names
