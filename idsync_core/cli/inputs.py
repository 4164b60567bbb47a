"""Turning what an operator typed into engine values, and asking for confirmations."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import typer

from idsync_core.cli import logs
from idsync_core.engine.pricing import PriceChoice, PriceInputError, PriceSourceKind, parse_choice
from idsync_core.errors import ConfirmationRequired, RefusedError

T = TypeVar("T")


def price_choice(kind: PriceSourceKind | None, price: str | None, cost: str | None,
                 markup: str | None) -> PriceChoice | None:
    """The price source the options give (:func:`pricing.parse_choice`); a missing or bad
    value is a usage error (exit 2) naming its option."""
    try:
        return parse_choice(kind.value if kind else None, price, cost, markup)
    except PriceInputError as exc:
        if exc.missing:  # a usage error (exit 2), like any missing option
            raise typer.BadParameter(f"the {exc.kind} price source needs "
                                     + " and ".join(f"--{m}" for m in exc.missing),
                                     param_hint="--price-source") from None
        raise typer.BadParameter(exc.message, param_hint="--" + exc.field.replace("_", "-")) \
            from None


def confirm_or_refuse(call: Callable[[bool], T], yes: bool) -> T:
    """Run ``call(confirmed)``; on a needed confirmation ask on a terminal, else refuse."""
    try:
        return call(yes)
    except ConfirmationRequired as exc:
        if yes or not sys.stdin.isatty():
            raise
        logs.warning(exc.message, label="confirm")
        if not typer.confirm("Continue?", default=False, err=True):
            raise RefusedError("not confirmed; nothing was changed") from None
        return call(True)
