"""The ``csv`` provider connector: seat counts from a CSV export, for vendors without an API.

The export is read once per connection (one IDSync run), on first use: a run sees one
consistent export even if the file is replaced meanwhile, and the next run reads it afresh.
Bad rows are logged as warnings when the export is read and summed up by ``idsync check``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from idsync_core.errors import NotFoundError
from idsync_core.hookspecs import hookimpl
from idsync_core.models import ProviderAccount, Resource, Subscription
from idsync_csv.parsing import Export, read_export
from idsync_csv.settings import CsvSettings

log = logging.getLogger(__name__)


class CsvExport:
    kind = "provider"
    settings_model = CsvSettings

    def __init__(self, settings: CsvSettings) -> None:
        self.settings = settings
        self._export: Export | None = None

    @property
    def export(self) -> Export:
        if self._export is None:
            self._export = read_export(self.settings)
            for problem in self._export.problems:
                log.warning("%s", problem)
        return self._export

    @hookimpl
    def idsync_check(self) -> str:
        export = self.export
        resources = sum(len(rows) for rows in export.resources.values())
        line = (f"CSV export {self.settings.path}: {len(export.files)} file(s), "
                f"{len(export.accounts)} accounts, {len(export.subscriptions)} subscriptions, "
                f"{resources} resources")
        skipped = export.skipped
        if skipped:
            line += f"; {len(skipped)} bad row(s) skipped, the first: {skipped[0]}"
        warned = len(export.problems) - len(skipped)
        if warned:
            line += f"; {warned} warning(s)"
        return line

    @hookimpl
    def idsync_close(self) -> None:
        self._export = None

    @hookimpl
    def idsync_list_accounts(self, search: str | None) -> Iterator[ProviderAccount]:
        for account in self.export.accounts.values():
            if search is None or search.lower() in account.name.lower():
                yield account

    @hookimpl
    def idsync_list_subscriptions(self, account_id: str) -> list[Subscription]:
        if account_id not in self.export.accounts:
            raise NotFoundError(f"no account {account_id!r} in the CSV export "
                                f"{self.settings.path}")
        return [s for s in self.export.subscriptions.values() if s.account_id == account_id]

    @hookimpl
    def idsync_list_resources(self, subscription_id: str) -> list[Resource]:
        if subscription_id not in self.export.subscriptions:
            raise NotFoundError(f"no subscription {subscription_id!r} in the CSV export "
                                f"{self.settings.path}")
        return list(self.export.resources.get(subscription_id, []))
