"""Reads from both sides, each made at most once per run.

A sync touches many links that share subscriptions, agreements and catalog items; the reader
memoizes every listing so each is fetched once (Ingram throttles its detail endpoint, Autotask
counts every call against an hourly budget), and reads what the store knows about the links in
one snapshot rather than per link. After a posting the agreement's lines are
forgotten, because the next plan must see what the PSA says now; and a sync forgets what it is
done with (an agreement's lines once its links are done, a company's agreements once all of its
links are), so what it holds does not grow with the tenant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING, TypeVar, cast

from idsync_core.caching import OnceCache
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import NotFoundError

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.models import (
        Agreement,
        AgreementLine,
        CatalogItem,
        Company,
        ProviderAccount,
        Resource,
        Subscription,
    )
    from idsync_core.store import RunSnapshot

T = TypeVar("T")


class Reader:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._memo: OnceCache[tuple[object, ...], object] = OnceCache(size=None)

    def _once(self, key: tuple[object, ...], load: Callable[[], T]) -> T:
        """Load ``key`` once, even when several threads ask for it at the same time."""
        return cast(T, self._memo.get(key, load))

    # -- the store -------------------------------------------------------------------------------

    @property
    def snapshot(self) -> RunSnapshot:
        """The store's view of every link for this run, read once."""
        return self._once(("snapshot",), self.runtime.store.run_snapshot)

    def forget_snapshot(self) -> None:
        """Read the store again on next use (after links, prices or the journal changed)."""
        self._memo.forget(("snapshot",))

    # -- provider ------------------------------------------------------------------------------

    def accounts(self, provider: str) -> dict[str, ProviderAccount]:
        """Every customer account of the provider, by id (onboarding reads them all)."""
        return self._once(("accounts", provider), lambda: {
            a.id: a for a in self.runtime.provider(provider).list_accounts(None)})

    def subscriptions(self, provider: str, account_id: str) -> dict[str, Subscription]:
        def load() -> dict[str, Subscription]:
            connection = self.runtime.provider(provider)
            return {s.id: s for s in connection.list_subscriptions(account_id)}
        return self._once(("subscriptions", provider, account_id), load)

    def resources(self, provider: str, subscription_id: str) -> dict[str, Resource]:
        def load() -> dict[str, Resource]:
            connection = self.runtime.provider(provider)
            return {r.id: r for r in connection.list_resources(subscription_id)}
        return self._once(("resources", provider, subscription_id), load)

    # -- PSA -----------------------------------------------------------------------------------

    def companies(self) -> dict[str, Company]:
        """Every PSA company, by id."""
        return self._once(("companies",), lambda: {
            c.id: c for c in self.runtime.psa.list_companies(None)})

    def catalog(self) -> list[CatalogItem]:
        """The whole catalog, inactive items included; :meth:`catalog_items` is answered from
        it afterwards."""
        def load() -> list[CatalogItem]:
            items = list(self.runtime.psa.list_catalog())
            for item in items:
                self._memo.put(("catalog", item.id), item)
            return items
        return self._once(("whole catalog",), load)

    def agreements(self, company_id: str) -> dict[str, Agreement]:
        return self._once(("agreements", company_id), lambda: {
            a.id: a for a in self.runtime.psa.list_agreements(company_id)})

    def agreement(self, company_id: str, agreement_id: str) -> Agreement:
        found = self.agreements(company_id).get(agreement_id)
        if found is None:
            raise NotFoundError(f"agreement {agreement_id} is not an agreement of PSA company "
                                f"{company_id}", hint="list them with `idsync agreements "
                                f"{company_id} --include-expired --include-linked`")
        return found

    def lines(self, agreement_id: str, as_of: date) -> dict[str, AgreementLine]:
        """The agreement's lines as of a date, by catalog item id."""
        return self._once(("lines", agreement_id, as_of), lambda: {
            line.catalog_item_id: line
            for line in self.runtime.psa.list_lines(agreement_id, as_of)})

    def forget_lines(self, agreement_id: str) -> None:
        self._memo.forget_where(lambda key: key[:2] == ("lines", agreement_id))

    # -- what a run is done with ---------------------------------------------------------------

    def forget_agreement(self, agreement_id: str,
                         subscriptions: Iterable[tuple[str, str]]) -> None:
        """Drop an agreement's lines and its subscriptions' resources (``(provider, id)``): the
        run is done with its links, and no other link reads them."""
        self.forget_lines(agreement_id)
        for provider, subscription_id in subscriptions:
            self._memo.forget(("resources", provider, subscription_id))

    def forget_company(self, company_id: str, accounts: Iterable[tuple[str, str]]) -> None:
        """Drop a PSA company's agreements and its accounts' subscriptions (``(provider,
        account id)``): the run is done with every link under them."""
        self._memo.forget(("agreements", company_id))
        for provider, account_id in accounts:
            self._memo.forget(("subscriptions", provider, account_id))

    def catalog_items(self, ids: list[str]) -> dict[str, CatalogItem]:
        from idsync_core.models import CatalogItem

        missing = sorted({i for i in ids if ("catalog", i) not in self._memo})
        if missing:
            found = {item.id: item for item in self.runtime.psa.list_catalog(ids=missing)}
            for item_id in missing:
                self._memo.put(("catalog", item_id), found.get(item_id))
        return {i: item for i in ids if isinstance(item := self._memo.peek(("catalog", i)),
                                                   CatalogItem)}

    def catalog_item(self, item_id: str) -> CatalogItem:
        item = self.catalog_items([item_id]).get(item_id)
        if item is None:
            raise NotFoundError(f"catalog item {item_id} does not exist in the PSA",
                                hint="find it with `idsync catalog --search TEXT`")
        return item
