"""Money as people read it: at least two decimals (4.8 → 4.80, 4 → 4.00), never rounded away.

Amounts stay exact ``Decimal`` everywhere (JSON carries their exact decimal text); only what is
printed for people is padded to cents, so 4.805 still shows as 4.805 rather than a rounded 4.81.
"""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def for_people(amount: Decimal | None) -> str:
    if amount is None:
        return "—"
    exponent = amount.as_tuple().exponent
    shown = amount.quantize(CENT) if isinstance(exponent, int) and exponent > -2 else amount
    return format(shown, "f")
