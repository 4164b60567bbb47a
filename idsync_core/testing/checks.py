"""Small assertions the suite's tests share: valid models, unique ids, quantities, postings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from uuid import uuid4

import pytest
from pydantic import BaseModel, ValidationError

from idsync_core.models import (
    Adjustment,
    Agreement,
    AgreementLine,
    CatalogItem,
    Company,
    ProviderAccount,
    Resource,
    Subscription,
)
from idsync_core.plugins import PsaConnection

LISTING_MODELS: dict[str, type[BaseModel]] = {
    "list_accounts": ProviderAccount, "list_subscriptions": Subscription,
    "list_resources": Resource, "list_companies": Company, "list_agreements": Agreement,
    "list_lines": AgreementLine, "list_catalog": CatalogItem}
"""The model each listing's rows must be."""


class _HasId(Protocol):
    id: str


M = TypeVar("M", bound=BaseModel)


def valid_rows(result: Iterable[Any] | None, model: type[M], call: str) -> list[M]:
    """Every row of a listing, each checked to be a valid ``model`` whose ids are unique.

    A row is valid when validating its own dump gives back equal values of the same types: a
    row built with ``model_construct`` from raw JSON (a float price, an int id) fails here.
    """
    if result is None:
        pytest.fail(f"{call} returned None instead of an iterable", pytrace=False)
    rows = list(result)
    for position, row in enumerate(rows):
        if not isinstance(row, model):
            pytest.fail(f"{call} returned a {type(row).__name__} at position {position}, not a "
                        f"{model.__name__} from idsync_core.models", pytrace=False)
        try:
            again = model.model_validate(row.model_dump())
        except ValidationError as exc:
            pytest.fail(f"{call} returned an invalid {model.__name__}: {exc}", pytrace=False)
        for name in type(row).model_fields:
            got, want = getattr(row, name), getattr(again, name)
            if type(got) is not type(want) or got != want:
                pytest.fail(f"{call}: {model.__name__}.{name} is {got!r} "
                            f"({type(got).__name__}); a valid model holds {want!r} "
                            f"({type(want).__name__})", pytrace=False)
    repeated = [i for i, n in Counter(getattr(r, "id", None) for r in rows).items() if n > 1]
    if repeated:
        pytest.fail(f"{call} returned the same id more than once ({repeated[:5]}): pages that "
                    "overlap, or an order that is not stable between pages?", pytrace=False)
    return rows


def ids(rows: Iterable[_HasId]) -> list[str]:
    return [row.id for row in rows]


def quantity(connection: PsaConnection, agreement_id: str, catalog_item_id: str,
             as_of: date) -> Decimal:
    """What the PSA bills for this product on the agreement as of the date (0: no line)."""
    lines = [line for line in connection.list_lines(agreement_id, as_of)
             if line.catalog_item_id == catalog_item_id]
    if len(lines) > 1:
        pytest.fail(f"list_lines({agreement_id!r}) returned {len(lines)} lines for catalog item "
                    f"{catalog_item_id!r}: one line per product is the contract", pytrace=False)
    return lines[0].quantity if lines else Decimal(0)


def adjustment(agreement_id: str, item: CatalogItem, effective_date: date, *,
               before: Decimal, delta: int) -> Adjustment:
    """A test posting of ``delta`` units, under a key no run has used."""
    return Adjustment(
        agreement_id=agreement_id, catalog_item_id=item.id, delta=Decimal(delta),
        target_quantity=before + delta, effective_date=effective_date,
        unit_price=item.price, unit_cost=item.cost,
        idempotency_key=f"conformance-{uuid4().hex[:20]}",
        description="IDSync conformance suite",
    )


def no_secret_in(text: str, secrets: Iterable[str], where: str) -> None:
    for secret in secrets:
        if secret and secret in text:
            pytest.fail(f"{where} contains a secret setting's value: {text!r}", pytrace=False)
