"""A fake PSA: companies, agreements, a catalog and a ledger of quantity postings.

A line's quantity as of a date is the sum of its postings effective on or before that date,
which is how ConnectWise additions and Autotask adjustments behave. ``fail_next_post`` in the
state scripts one failure: ``reject`` (the PSA refuses), ``lost_answer`` (the posting lands,
the answer is lost).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

from idsync_core.errors import NotFoundError, OutcomeUnknownError, RejectedError
from idsync_core.hookspecs import hookimpl
from idsync_core.models import (
    Adjustment,
    Agreement,
    AgreementLine,
    CatalogItem,
    Company,
    MarkedRecord,
    PostedAdjustment,
    marker_key,
)
from idsync_core.settings import ConnectorSettings
from idsync_fakes import state


class FakePsaSettings(ConnectorSettings):
    state_file: Path


class FakePsa:
    kind = "psa"
    settings_model = FakePsaSettings

    def __init__(self, settings: FakePsaSettings) -> None:
        self.path = settings.state_file

    @hookimpl
    def idsync_check(self) -> str:
        return f"fake PSA at {self.path.name}"

    @hookimpl
    def idsync_close(self) -> None:
        pass

    @hookimpl
    def idsync_list_companies(self, search: str | None) -> Iterator[Company]:
        for row in state.load(self.path)["companies"]:
            if search is None or search.lower() in row["name"].lower():
                yield Company.model_validate(row)

    @hookimpl
    def idsync_list_agreements(self, company_id: str) -> list[Agreement]:
        world = state.load(self.path)
        if not any(c["id"] == company_id for c in world["companies"]):
            raise NotFoundError(f"fake PSA: no company {company_id}")
        return [Agreement.model_validate(a) for a in world["agreements"]
                if a["company_id"] == company_id]

    @hookimpl
    def idsync_list_lines(self, agreement_id: str, as_of: date) -> list[AgreementLine]:
        world = state.load(self.path)
        if not any(a["id"] == agreement_id for a in world["agreements"]):
            raise NotFoundError(f"fake PSA: no agreement {agreement_id}")
        lines: dict[str, AgreementLine] = {}
        for post in world.get("postings", []):
            if post["agreement_id"] != agreement_id:
                continue
            item = post["catalog_item_id"]
            effective = date.fromisoformat(post["effective_date"])
            counted = Decimal(post["delta"]) if effective <= as_of and not post.get(
                "voided") else Decimal(0)
            if item not in lines:
                lines[item] = AgreementLine(
                    id=f"{agreement_id}:{item}", agreement_id=agreement_id,
                    catalog_item_id=item, quantity=counted, as_of=as_of,
                    unit_price=post.get("unit_price"), unit_cost=post.get("unit_cost"))
            else:
                lines[item].quantity += counted
            key = marker_key(post.get("marker") or "")
            if key is not None and not post.get("voided") and Decimal(post["delta"]) > 0:
                lines[item].marked.append(MarkedRecord(
                    key=key, record_id=post["id"], quantity=post["delta"],
                    effective_date=effective))
        return list(lines.values())

    @hookimpl
    def idsync_list_catalog(self, search: str | None, ids: list[str] | None) -> list[CatalogItem]:
        items = [CatalogItem.model_validate(row) for row in state.load(self.path)["catalog"]]
        if ids is not None:
            items = [i for i in items if i.id in ids]
        if search:
            items = [i for i in items
                     if search.lower() in (i.name + " " + i.identifier).lower()]
        return items

    @hookimpl
    def idsync_post_adjustment(self, adjustment: Adjustment) -> PostedAdjustment:
        world = state.load(self.path)
        failure = world.pop("fail_next_post", None)
        if failure == "reject":
            state.save(self.path, world)
            raise RejectedError("fake PSA: the catalog item is not allowed on this agreement")
        postings = world.setdefault("postings", [])
        record_id = str(len(postings) + 1)
        postings.append({
            "id": record_id,
            "agreement_id": adjustment.agreement_id,
            "catalog_item_id": adjustment.catalog_item_id,
            "delta": str(adjustment.delta),
            "effective_date": adjustment.effective_date.isoformat(),
            "unit_price": None if adjustment.unit_price is None else str(adjustment.unit_price),
            "unit_cost": None if adjustment.unit_cost is None else str(adjustment.unit_cost),
            "marker": adjustment.marker,
        })
        state.save(self.path, world)
        if failure == "lost_answer":
            raise OutcomeUnknownError("fake PSA: the connection dropped before the answer")
        after = sum((line.quantity for line in self.idsync_list_lines(
            adjustment.agreement_id, adjustment.effective_date)
            if line.catalog_item_id == adjustment.catalog_item_id), Decimal(0))
        return PostedAdjustment(record_id=record_id, quantity_after=after)

    @hookimpl
    def idsync_undo_duplicate(self, adjustment: Adjustment, record_id: str) -> PostedAdjustment:
        """A voided posting counts for nothing from its own effective date (as a ConnectWise
        addition cancelled on the day it starts)."""
        world = state.load(self.path)
        for post in world.get("postings", []):
            if post["id"] == record_id:
                post["voided"], post["marker"] = True, adjustment.marker
        state.save(self.path, world)
        after = sum((line.quantity for line in self.idsync_list_lines(
            adjustment.agreement_id, adjustment.effective_date)
            if line.catalog_item_id == adjustment.catalog_item_id), Decimal(0))
        return PostedAdjustment(record_id=record_id, quantity_after=after)

    @hookimpl
    def idsync_find_adjustment(self, adjustment: Adjustment) -> PostedAdjustment | None:
        for post in state.load(self.path).get("postings", []):
            if post.get("marker") == adjustment.marker:
                return PostedAdjustment(record_id=post["id"])
        return None
