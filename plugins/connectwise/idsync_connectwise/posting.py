"""Posting a quantity change to a ConnectWise agreement, and finding one posted earlier.

Every posting first re-reads the product's additions on the agreement, then:

1. if an addition already carries the adjustment's marker, the change landed before (a retry or
   a re-run after a lost answer): nothing is posted;
2. if the quantity as of the effective date is not ``target - delta``, the PSA changed since the
   plan was made: nothing is posted (``RejectedError``), the next run re-plans;
3. the change is written with the configured strategy, the marker riding on the **last** write,
   so a marker found later proves the whole change is in;
4. the additions are read again and the quantity as of the effective date is returned.

Strategy ``delta`` (default), like Ingram Micro's own ConnectWise integration:

* an **increase** is a new addition of ``delta`` units from the effective date, at the
  adjustment's price and cost, ``billCustomer`` Billable, carrying the marker. Existing
  additions are untouched, so history and proration stay ConnectWise's own;
* a **decrease** cancels additions instead of posting negative quantities: the newest additions
  active on the effective date get ``cancelledDate`` = that date until enough units are
  cancelled, and, if the last one held more than needed, a new addition re-adds the surplus
  from the same date at *that* addition's price, cost and billing option (so the units kept keep
  their price). The invoice then shows only what is billed: no credit lines, no negative units.
  The cancellations come first and the marker-bearing write last; an interruption in between
  leaves the line *below* its target (never above, so the customer is never over-billed), and
  the engine, finding no marker and an unexpected quantity, re-plans from what is there.

Strategy ``update``: the quantity of the product's newest addition active on the effective date
is replaced (JSON-Patch ``replace``, marker in the same patch) and the answer is checked, since
ConnectWise may answer 200 to a patch it did not apply. The new quantity holds for that
addition's whole life, not just from the effective date. Without an active addition an increase
is posted as a new addition; a decrease larger than that one addition is refused (use
``delta``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from idsync_connectwise import conditions as cw
from idsync_connectwise.client import ConnectWiseClient, Row
from idsync_connectwise.mapping import (
    Addition,
    cw_date,
    decimal,
    format_date,
    quantity_on,
    with_marker,
)
from idsync_connectwise.settings import ConnectWiseSettings, PostingStrategy
from idsync_core.caching import OnceCache
from idsync_core.errors import ApiError, RejectedError
from idsync_core.models import Adjustment, PostedAdjustment
from idsync_core.numbers import integer_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Posting:
    """One adjustment being written, with its ConnectWise numbers parsed once: IDSync holds
    every id as a string, ConnectWise numbers its records."""

    adjustment: Adjustment
    agreement: int
    product: int

    @classmethod
    def of(cls, adjustment: Adjustment) -> Posting:
        """:class:`NotFoundError` for an id that is not a number (no such record there)."""
        return cls(adjustment,
                   integer_id(adjustment.agreement_id, "agreement", "ConnectWise"),
                   integer_id(adjustment.catalog_item_id, "catalog item", "ConnectWise"))

    @property
    def additions_path(self) -> str:
        return f"finance/agreements/{self.agreement}/additions"


class Poster:
    """Writes adjustments to one ConnectWise tenant (see the module docstring)."""

    def __init__(self, client: ConnectWiseClient, settings: ConnectWiseSettings, *,
                 additions: OnceCache[int, list[Addition]] | None = None,
                 catalog: Callable[[int], Row] | None = None) -> None:
        self.client = client
        self.strategy = settings.posting_strategy
        self.marker_field = settings.marker_field.value
        self.additions: OnceCache[int, list[Addition]] = additions or OnceCache()
        self.catalog = catalog or (lambda number: self.client.get(f"procurement/catalog/{number}"))

    # -- reading -------------------------------------------------------------------------------

    def product_additions(self, posting: Posting, *, also: str | None = None) -> list[Addition]:
        """The product's additions on the agreement (that also match ``also``, if given)."""
        condition = cw.all_of(cw.eq("product/id", posting.product), also)
        rows = self.client.iter_all(posting.additions_path, conditions=condition)
        return [Addition.of(row) for row in rows]

    def agreement_additions(self, posting: Posting) -> list[Addition]:
        """Every addition of the agreement, read now; the connector's lines are answered from
        this read until IDSync writes to the agreement again (see idsync_core.caching)."""
        additions = [Addition.of(row) for row in self.client.iter_all(posting.additions_path)]
        self.additions.put(posting.agreement, additions)
        return additions

    def product_additions_now(self, posting: Posting) -> list[Addition]:
        """The product's additions, from a read of the whole agreement made now."""
        product = str(posting.product)
        return [a for a in self.agreement_additions(posting) if a.product_id == product]

    def marked(self, adjustment: Adjustment, additions: list[Addition]) -> list[Addition]:
        """The additions carrying the adjustment's marker, oldest first."""
        return [a for a in additions if adjustment.marker in a.text(self.marker_field)]

    def find(self, adjustment: Adjustment) -> PostedAdjustment | None:
        """The addition carrying this adjustment's marker, with the quantity now, or None.

        ConnectWise is asked for ``idsync:KEY`` without the brackets, which LIKE would read as
        a character class; the exact marker is checked again here.
        """
        posting = Posting.of(adjustment)
        search = cw.contains(self.marker_field, adjustment.marker.strip("[]"))
        marked = self.marked(adjustment, self.product_additions(posting, also=search))
        if not marked:
            return None
        after = quantity_on(self.product_additions(posting), adjustment.effective_date)
        return PostedAdjustment(record_id=str(marked[-1].id), quantity_after=after)

    # -- posting -------------------------------------------------------------------------------

    def post(self, adjustment: Adjustment) -> PostedAdjustment:
        """Re-read the agreement, write, re-read it again (two reads of the whole agreement,
        which also refresh what the connector answers lines from)."""
        posting = Posting.of(adjustment)
        self.additions.forget(posting.agreement)  # no plan reads the agreement from before
        additions = self.product_additions_now(posting)
        day = adjustment.effective_date
        marked = self.marked(adjustment, additions)
        if marked:
            log.info("ConnectWise: %s is already on addition %s; not posting it again",
                     adjustment.marker, marked[-1].id)
            return PostedAdjustment(record_id=str(marked[-1].id),
                                    quantity_after=quantity_on(additions, day))
        now = quantity_on(additions, day)
        expected = adjustment.target_quantity - adjustment.delta
        if now != expected:
            raise RejectedError(
                f"ConnectWise agreement {adjustment.agreement_id} shows {now} of catalog item "
                f"{adjustment.catalog_item_id} as of {day}, not the {expected} this change was "
                "planned from; nothing was posted",
                hint="someone changed the agreement meanwhile; the next run re-plans from it")
        if self.strategy is PostingStrategy.UPDATE:
            record = self._update(posting, additions)
        elif adjustment.delta > 0:
            record = self._add(posting, adjustment.delta, self._catalog_defaults(posting))
        else:
            record = self._cancel(posting, additions)
        after = quantity_on(self.product_additions_now(posting), day)
        return PostedAdjustment(record_id=str(record), quantity_after=after)

    def undo(self, adjustment: Adjustment, record_id: str) -> PostedAdjustment:
        """Make a duplicate addition bill nothing: cancel it from its own effective date, its
        marker replaced by the compensation's (``adjustment.marker``). Idempotent: an addition
        that already carries that marker is left alone."""
        posting = Posting.of(adjustment)
        self.additions.forget(posting.agreement)
        additions = self.product_additions_now(posting)
        record = next((a for a in additions if str(a.id) == record_id), None)
        if record is None:
            raise RejectedError(
                f"addition {record_id} of catalog item {adjustment.catalog_item_id} is not on "
                f"ConnectWise agreement {adjustment.agreement_id}; nothing was changed",
                hint="someone changed the agreement meanwhile; the next run re-plans from it")
        if adjustment.marker not in record.text(self.marker_field):
            day = record.effective or adjustment.effective_date
            self._patch(posting, record, {
                "cancelledDate": format_date(day),
                self.marker_field: with_marker(record.text(self.marker_field),
                                               adjustment.marker)})
            additions = self.product_additions_now(posting)
        return PostedAdjustment(record_id=record_id,
                                quantity_after=quantity_on(additions, adjustment.effective_date))

    def _catalog_defaults(self, posting: Posting) -> dict[str, Any]:
        """Price, cost and text of a brand-new addition: the adjustment's, else the catalog's."""
        product = self.catalog(posting.product)
        text = str(product.get("description") or product.get("identifier") or "")
        if self.marker_field == "invoiceDescription":
            text = str(product.get("customerDescription") or text)
        return {"unitPrice": posting.adjustment.unit_price,
                "unitCost": posting.adjustment.unit_cost,
                "billCustomer": "Billable", self.marker_field: text}

    def _add(self, posting: Posting, quantity: Decimal, like: dict[str, Any]) -> int:
        """POST one addition of ``quantity`` from the effective date, carrying the marker."""
        marker = posting.adjustment.marker
        self.additions.forget(posting.agreement)
        body: dict[str, Any] = {
            "product": {"id": posting.product},
            "quantity": quantity,
            "effectiveDate": format_date(posting.adjustment.effective_date),
            "billCustomer": like["billCustomer"],
            self.marker_field: with_marker(str(like.get(self.marker_field) or ""), marker),
        }
        for key in ("unitPrice", "unitCost"):
            if like.get(key) is not None:
                body[key] = like[key]
        created = self.client.create(posting.additions_path, body)
        self._verify(created, "the new addition", {
            "quantity": lambda v: decimal(v) == quantity,
            self.marker_field: lambda v: marker in str(v or ""),
        })
        return int(created["id"])

    def _cancel(self, posting: Posting, additions: list[Addition]) -> int:
        """A decrease under ``delta``: cancel the newest active additions, re-add any surplus."""
        adjustment = posting.adjustment
        day = adjustment.effective_date
        needed = -adjustment.delta
        newest_first = sorted((a for a in additions if a.active_on(day) and a.quantity > 0),
                              key=lambda a: (a.effective or date.min, a.order), reverse=True)
        chosen: list[Addition] = []
        for addition in newest_first:
            if sum(a.quantity for a in chosen) >= needed:
                break
            chosen.append(addition)
        surplus = sum((a.quantity for a in chosen), Decimal(0)) - needed
        if surplus < 0:
            raise RejectedError(
                f"cannot remove {needed} units of catalog item {adjustment.catalog_item_id}: "
                f"the additions active on {day} hold only {needed + surplus}")
        last = chosen[-1]
        for addition in chosen[:-1]:
            self._patch(posting, addition, {"cancelledDate": format_date(day)})
        if surplus == 0:
            self._patch(posting, last, {
                "cancelledDate": format_date(day),
                self.marker_field: with_marker(last.text(self.marker_field), adjustment.marker)})
            return last.id
        self._patch(posting, last, {"cancelledDate": format_date(day)})
        return self._add(posting, surplus, {
            "unitPrice": decimal(last.row.get("unitPrice")),
            "unitCost": decimal(last.row.get("unitCost")),
            "billCustomer": last.row.get("billCustomer") or "Billable",
            self.marker_field: last.text(self.marker_field),
        })

    def _update(self, posting: Posting, additions: list[Addition]) -> int:
        """Strategy ``update``: replace the quantity of the newest addition active on the day."""
        adjustment = posting.adjustment
        day = adjustment.effective_date
        active = sorted((a for a in additions if a.active_on(day)),
                        key=lambda a: (a.effective or date.min, a.order))
        if not active:
            if adjustment.delta < 0:
                raise RejectedError(f"no addition of catalog item {adjustment.catalog_item_id} "
                                    f"is active on {day}; there is nothing to decrease")
            return self._add(posting, adjustment.delta, self._catalog_defaults(posting))
        newest = active[-1]
        quantity = newest.quantity + adjustment.delta
        if quantity < 0:
            raise RejectedError(
                f"addition {newest.id} holds {newest.quantity} units, fewer than the "
                f"{-adjustment.delta} to remove; the units are spread over {len(active)} "
                "additions",
                hint='set posting_strategy = "delta" in [psa] to post this decrease')
        self._patch(posting, newest, {
            "quantity": quantity,
            self.marker_field: with_marker(newest.text(self.marker_field), adjustment.marker)})
        return newest.id

    def _patch(self, posting: Posting, addition: Addition, values: dict[str, Any]) -> None:
        """Replace ``values`` on an addition and check the answer shows every one of them."""
        self.additions.forget(posting.agreement)
        operations = [{"op": "replace", "path": field, "value": value}
                      for field, value in values.items()]
        updated = self.client.patch(f"{posting.additions_path}/{addition.id}", operations)
        self._verify(updated, f"addition {addition.id}",
                     {field: _same_as(value) for field, value in values.items()})

    @staticmethod
    def _verify(entity: Row, what: str, checks: dict[str, Callable[[Any], bool]]) -> None:
        wrong = [field for field, check in checks.items() if not check(entity.get(field))]
        if "id" not in entity or wrong:
            raise ApiError(
                f"ConnectWise accepted the write but {what} does not show "
                f"{', '.join(wrong) or 'an id'} as sent",
                hint="check the agreement in ConnectWise; IDSync re-reads it on the next run")


def _same_as(sent: object) -> Callable[[Any], bool]:
    """How to compare a value sent with the value ConnectWise returns for it."""
    if isinstance(sent, Decimal):
        return lambda got: decimal(got) == sent
    if isinstance(sent, str) and sent.endswith("T00:00:00Z"):
        return lambda got: cw_date(got) == cw_date(sent)
    return lambda got: got == sent
