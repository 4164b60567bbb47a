"""Turning what an operator typed into engine values, and asking for confirmations."""

from __future__ import annotations

import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TypeVar

import typer

from idsync_core.cli import logs
from idsync_core.engine.pricing import PriceChoice, PriceSourceKind
from idsync_core.errors import ConfirmationRequired, RefusedError

T = TypeVar("T")


def decimal_option(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise typer.BadParameter(f"{value!r} is not a number", param_hint=name) from None
    if not number.is_finite():
        raise typer.BadParameter(f"{value!r} is not a finite number", param_hint=name)
    return number


def price_choice(kind: PriceSourceKind | None, price: str | None, cost: str | None,
                 markup: str | None) -> PriceChoice | None:
    if kind is None:
        if price is not None or cost is not None:
            kind = PriceSourceKind.CUSTOM
        elif markup is not None:
            kind = PriceSourceKind.MARKUP
        else:
            return None
    needed = {PriceSourceKind.CUSTOM: (("--price", price), ("--cost", cost)),
              PriceSourceKind.MARKUP: (("--markup", markup),)}.get(kind, ())
    missing = [option for option, value in needed if value is None]
    if missing:  # a usage error (exit 2), like any missing option
        raise typer.BadParameter(f"the {kind.value} price source needs "
                                 f"{' and '.join(missing)}", param_hint="--price-source")
    return PriceChoice(kind, decimal_option(price, "--price"),
                               decimal_option(cost, "--cost"),
                               decimal_option(markup, "--markup"))


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
