"""The ConnectWise Manage PSA connector: IDSync's hooks on top of :mod:`.client`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from idsync_connectwise import conditions as cw
from idsync_connectwise import mapping
from idsync_connectwise.client import ConnectWiseClient, Row
from idsync_connectwise.posting import Poster
from idsync_connectwise.settings import ConnectWiseSettings
from idsync_core.caching import OnceCache, ParentIndex
from idsync_core.errors import ApiError, ConfigurationError, NotFoundError
from idsync_core.hookspecs import hookimpl
from idsync_core.http.wiring import REAL, Wiring
from idsync_core.models import (
    Adjustment,
    Agreement,
    AgreementLine,
    CatalogItem,
    Company,
    PostedAdjustment,
)
from idsync_core.numbers import integer_id

if TYPE_CHECKING:
    from idsync_connectwise.simulator import ConnectWiseSimulator

COMPANY_FIELDS = "id,identifier,name,customFields"
AGREEMENT_FIELDS = ("id,name,company,agreementStatus,cancelledFlag,startDate,endDate,"
                    "noEndingDateFlag,billingCycle,oneTimeFlag,currency")
CATALOG_FIELDS = ("id,identifier,description,customerDescription,price,cost,inactiveFlag,"
                  "manufacturerPartNumber,vendorSku")

log = logging.getLogger(__name__)


def _matches(search: str, *texts: object) -> bool:
    """The exact, case-insensitive substring test that ConnectWise's LIKE only approximates."""
    needle = search.lower()
    return any(needle in str(text or "").lower() for text in texts)


class ConnectWise:
    """ConnectWise Manage (ConnectWise PSA): companies, agreements, additions, catalog."""

    kind = "psa"
    title = "ConnectWise"
    settings_model = ConnectWiseSettings

    @staticmethod
    def simulator(seed: dict[str, Any] | None = None) -> ConnectWiseSimulator:
        """A simulator of the ConnectWise Manage API for ``seed`` (docs/writing-a-connector.md §6).

        Imported when called: only `idsync simulator serve`, the demo and tests need it, and it
        pulls in Starlette, which every other command would pay for at start-up.
        """
        from idsync_connectwise.simulator import create_simulator

        return create_simulator(seed)

    def __init__(self, settings: ConnectWiseSettings, *, wiring: Wiring = REAL) -> None:
        """``wiring`` is for tests (the conformance suite's clock, a transport): what the
        client talks through and waits with."""
        self.settings = settings
        self.client = ConnectWiseClient(settings, wiring=wiring)
        self.additions: OnceCache[int, list[mapping.Addition]] = OnceCache()
        self._catalog: dict[int, Row] = {}
        self._catalog_lock = threading.Lock()
        self._agreements: ParentIndex[Agreement] = ParentIndex(self._every_agreement)
        self.poster = Poster(self.client, settings, additions=self.additions,
                             catalog=self.catalog_row)

    @hookimpl
    def idsync_check(self) -> str:
        try:
            info = self.client.get("system/info")
        except NotFoundError as exc:
            # On ConnectWise cloud, wrong credentials or a wrong codebase can answer 404.
            raise ConfigurationError(
                f"ConnectWise answered 404 to an authenticated call: {exc.message}",
                hint="check [psa] site, codebase, company_id, public_key and private_key") from None
        host = urlsplit(self.settings.site).netloc
        version = str(info.get("version") or "(version unknown)").removeprefix("v")
        return (f"ConnectWise {version} at {host} (codebase {self.client.codebase.rstrip('/')}) "
                f"as {self.settings.company_id}")

    @hookimpl
    def idsync_close(self) -> None:
        self.client.close()

    @hookimpl
    def idsync_list_companies(self, search: str | None) -> Iterator[Company]:
        """Companies not deleted, alphabetically (a list an operator picks from)."""
        condition = cw.all_of(cw.eq("deletedFlag", False),
                              cw.contains("name", search) if search else None)
        for row in self.client.iter_ordered("company/companies", "name asc",
                                            conditions=condition, fields=COMPANY_FIELDS):
            if search is None or _matches(search, row.get("name")):
                yield mapping.company(row)

    @hookimpl
    def idsync_list_agreements(self, company_id: str) -> Iterator[Agreement]:
        """The company's agreements. From the second company asked for on, every agreement is
        listed once (1,000 a page) and the companies are answered from that
        (:class:`idsync_core.caching.ParentIndex`)."""
        number = integer_id(company_id, "company", "ConnectWise")
        indexed = self._agreements.lookup(str(number))
        if indexed is not None:
            if not indexed:  # tell "no agreements" from "no such company"
                self.client.get(f"company/companies/{number}", fields="id")
            yield from indexed
            return
        found = False
        for row in self.client.iter_all("finance/agreements",
                                        conditions=cw.eq("company/id", number),
                                        fields=AGREEMENT_FIELDS):
            found = True
            yield mapping.agreement(row)
        if not found:  # tell "no agreements" from "no such company"
            self.client.get(f"company/companies/{number}", fields="id")

    def _every_agreement(self) -> Iterator[tuple[str, Agreement]]:
        for row in self.client.iter_all("finance/agreements", fields=AGREEMENT_FIELDS):
            try:
                agreement = mapping.agreement(row)
            except ApiError as exc:  # a row no company owns cannot be anyone's agreement
                log.warning("skipping a ConnectWise agreement: %s", exc.message)
                continue
            yield agreement.company_id, agreement

    @hookimpl
    def idsync_list_lines(self, agreement_id: str, as_of: date) -> list[AgreementLine]:
        """Lines as of a date, from the agreement's additions: read once per run for every
        date asked, and again only after IDSync itself wrote to the agreement
        (:class:`idsync_core.caching.OnceCache`)."""
        number = integer_id(agreement_id, "agreement", "ConnectWise")
        additions = self.additions.get(number, lambda: self._read_additions(number))
        return mapping.lines(agreement_id, additions, as_of, self.settings.marker_field.value)

    def _read_additions(self, number: int) -> list[mapping.Addition]:
        additions = [mapping.Addition.of(row) for row in
                     self.client.iter_all(f"finance/agreements/{number}/additions")]
        if not additions:  # tell "no additions" from "no such agreement"
            self.client.get(f"finance/agreements/{number}", fields="id")
        return additions

    def catalog_row(self, number: int) -> Row:
        """A catalog item's row, as listed for the engine earlier in the run or read now."""
        with self._catalog_lock:
            row = self._catalog.get(number)
        if row is None:
            row = self.client.get(f"procurement/catalog/{number}")
            with self._catalog_lock:
                self._catalog[number] = row
        return row

    @hookimpl
    def idsync_list_catalog(self, search: str | None,
                            ids: list[str] | None) -> Iterator[CatalogItem]:
        condition = cw.any_of(cw.contains("identifier", search),
                              cw.contains("description", search)) if search else None
        if ids is None:
            rows = self.client.iter_all("procurement/catalog", conditions=condition,
                                        fields=CATALOG_FIELDS)
        else:
            numbers = [int(i) for i in ids if i.isdigit()]  # other ids cannot exist here
            rows = self.client.iter_in("procurement/catalog", "id", numbers, also=condition,
                                       fields=CATALOG_FIELDS) if numbers else iter(())
        for row in rows:
            if ids is not None and isinstance(row.get("id"), int):
                with self._catalog_lock:  # the poster's defaults for a new addition
                    self._catalog[row["id"]] = row
            if search is None or _matches(search, row.get("identifier"), row.get("description")):
                yield mapping.catalog_item(row)

    @hookimpl
    def idsync_post_adjustment(self, adjustment: Adjustment) -> PostedAdjustment:
        return self.poster.post(adjustment)

    @hookimpl
    def idsync_find_adjustment(self, adjustment: Adjustment) -> PostedAdjustment | None:
        return self.poster.find(adjustment)

    @hookimpl
    def idsync_undo_duplicate(self, adjustment: Adjustment, record_id: str) -> PostedAdjustment:
        return self.poster.undo(adjustment, record_id)
