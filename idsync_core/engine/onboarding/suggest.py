"""Suggestions for everything not linked yet: customer → company, subscription → agreement,
resource → catalog item, each with its score and reason; only confident ones accepted.

* **customer → PSA company**: an id already recorded on either side (the provider account's
  ``externalId`` naming the company's id or identifier; the PSA custom field / UDF named in
  ``[onboarding] account_id_fields`` holding the account id), else the name (:mod:`.names`).
  Two accounts confidently claiming one company, or a company already linked to another account,
  are left for review: one of them is wrong and IDSync cannot tell which.
* **subscription → agreement**, under a customer that is linked or accepted: with exactly one
  active (recurring, where the PSA tells) agreement, every active or pending subscription goes
  to it; with several, by name; never an expired or cancelled one. Terminated subscriptions are
  not suggested; suspended ones are listed for review.
* **resource → catalog item**, under a subscription that is linked or accepted: the product
  mapping, else the SKU, else the name. A line that another resource already bills (or is
  accepted to bill) is left for review: two resources on one line would overwrite each other.

Ignored accounts, subscriptions, resources and SKUs are listed as ignored, with their reason,
and nothing under them is suggested. Reads go concurrently (``[sync] concurrency``) within each
connector's budget.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from idsync_core.engine import linking
from idsync_core.engine.onboarding.ignores import IgnoreKind, IgnoreSet
from idsync_core.engine.onboarding.mappings import (
    Catalog,
    MappingSuggestion,
    MappingTable,
    price_of,
    suggest_mappings,
)
from idsync_core.engine.onboarding.names import NameIndex
from idsync_core.engine.pricing import PriceChoice
from idsync_core.engine.reader import Reader
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import ConfigurationError, IdsyncError

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.models import Agreement, Company, ProviderAccount, Resource, Subscription

T = TypeVar("T")


class Level(enum.StrEnum):
    COMPANY = "company"
    SUBSCRIPTION = "subscription"
    RESOURCE = "resource"


class Status(enum.StrEnum):
    ACCEPTED = "accepted"
    REVIEW = "review"
    UNMATCHED = "unmatched"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    score: float


@dataclass
class Suggestion:
    """One row of the suggestion file: a provider object and the PSA object it would link to.

    ``parent_id`` is the account of a subscription and the subscription of a resource.
    ``price`` (resources) is the price source linking would set, from the product mapping.
    """

    level: Level
    provider: str
    id: str
    name: str
    parent_id: str = ""
    target_id: str | None = None
    target_name: str = ""
    score: float | None = None
    reason: str = ""
    accepted: bool = False
    status: Status = Status.UNMATCHED
    candidates: list[Candidate] = field(default_factory=list)
    price: PriceChoice | None = None

    def review(self, why: str) -> None:
        """Leave it for a person, saying why (a confident match that cannot be accepted)."""
        self.accepted = False
        self.status = Status.REVIEW
        self.reason = f"{self.reason}; {why}" if self.reason else why


@dataclass
class Suggestions:
    provider: str
    rows: list[Suggestion]
    unreadable: list[str] = field(default_factory=list)
    """Reads that failed (an API error): their rows are missing; run again."""

    def counts(self) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {}
        for row in self.rows:
            per_level = table.setdefault(row.level.value, {s.value: 0 for s in Status})
            per_level[row.status.value] += 1
        return table


def concurrently(runtime: Runtime, calls: Sequence[Callable[[], T]]) -> list[T | IdsyncError]:
    """Run the reads in ``[sync] concurrency`` threads; an API failure is returned in place of
    its result (the others go on), refused credentials stop everything."""
    def guarded(call: Callable[[], T]) -> T | IdsyncError:
        try:
            return call()
        except ConfigurationError:
            raise
        except IdsyncError as exc:
            return exc

    if len(calls) < 2:
        return [guarded(call) for call in calls]
    with ThreadPoolExecutor(max_workers=runtime.settings.sync.concurrency,
                            thread_name_prefix="idsync-read") as pool:
        return list(pool.map(guarded, calls))


class CompanyMatcher:
    """Customer → PSA company: a recorded id first, then the name."""

    def __init__(self, companies: Iterable[Company], account_field: str | None) -> None:
        self.companies = list(companies)
        self.account_field = account_field
        self.names = NameIndex(self.companies, lambda c: c.name, what="PSA company")
        self.by_recorded_id: dict[str, list[Company]] = {}
        self.by_field: dict[str, list[Company]] = {}
        for company in self.companies:
            for key in {company.id.casefold(), (company.identifier or "").casefold()} - {""}:
                self.by_recorded_id.setdefault(key, []).append(company)
            value = company.custom_fields.get(account_field) if account_field else None
            if value:
                self.by_field.setdefault(value, []).append(company)

    def suggest(self, row: Suggestion, account: ProviderAccount) -> None:
        recorded: dict[str, Company] = {}
        reasons = []
        if self.account_field and (hits := self.by_field.get(account.id)):
            recorded.update((c.id, c) for c in hits)
            reasons.append(f"PSA field {self.account_field!r} holds the account id")
        if account.external_id and (hits := self.by_recorded_id.get(
                account.external_id.casefold())):
            recorded.update((c.id, c) for c in hits)
            reasons.append("same externalId")
        if len(recorded) == 1:
            [company] = recorded.values()
            fill(row, company.id, company.name, 1.0, " and ".join(reasons), True,
                 [Candidate(company.id, company.name, 1.0)])
            return
        if recorded:
            fill(row, None, "", 1.0, f"the recorded ids name {len(recorded)} PSA companies",
                 False, [Candidate(c.id, c.name, 1.0) for c in recorded.values()])
            return
        match = self.names.match(account.name)
        fill(row, match.best.id if match.best else None, match.best.name if match.best else "",
             match.score, match.reason, match.confident,
             [Candidate(c.item.id, c.item.name, c.score) for c in match.candidates])


def fill(row: Suggestion, target_id: str | None, target_name: str, score: float | None,
         reason: str, confident: bool, candidates: list[Candidate]) -> None:
    row.target_id, row.target_name, row.score, row.reason = target_id, target_name, score, reason
    row.candidates = candidates
    row.accepted = confident and target_id is not None
    row.status = Status.ACCEPTED if row.accepted else (
        Status.REVIEW if candidates or target_id else Status.UNMATCHED)


def ignored_row(level: Level, provider: str, object_id: str, name: str, parent_id: str,
                why: str) -> Suggestion:
    return Suggestion(level, provider, object_id, name, parent_id, reason=why,
                      status=Status.IGNORED)


def eligible_agreements(agreements: Iterable[Agreement], runtime: Runtime) -> list[Agreement]:
    """Active agreements of the recurring kind (where the PSA tells kinds apart)."""
    return [a for a in agreements if not a.is_expired(runtime.today) and a.recurring is not False]


def suggest_agreement(row: Suggestion, subscription: Subscription,
                      agreements: list[Agreement], company_name: str) -> None:
    candidates = [Candidate(a.id, a.name, 0.0) for a in agreements]
    if not agreements:
        fill(row, None, "", None, f"PSA company {company_name} has no active agreement", False,
             [])
    elif len(agreements) == 1:
        only = agreements[0]
        fill(row, only.id, only.name, 1.0, "the company's only active agreement", True,
             [Candidate(only.id, only.name, 1.0)])
    else:
        match = NameIndex(agreements, lambda a: a.name, what="agreement").match(subscription.name)
        fill(row, match.best.id if match.best else None, match.best.name if match.best else "",
             match.score, match.reason + f" (among {len(agreements)} active agreements)",
             match.confident,
             [Candidate(c.item.id, c.item.name, c.score) for c in match.candidates] or candidates)
    if subscription.status == "suspended":  # SubscriptionStatus.SUSPENDED (a StrEnum)
        row.review("suspended at the provider")


class Suggester:
    """One suggestion run over one provider connection (see the module docstring)."""

    def __init__(self, runtime: Runtime, provider: str | None, reader: Reader | None) -> None:
        self.runtime = runtime
        self.provider = linking.provider_name(runtime, provider)
        self.reader = reader or Reader(runtime)
        store = runtime.store
        self.ignores = IgnoreSet.load(store)
        self.mappings = MappingTable.of(store.product_mappings(self.provider))
        self.company_links = {link.account_id: link for link in store.active_company_links()
                              if link.provider == self.provider}
        self.sub_links = {link.subscription_id: link for link in store.active_subscription_links()
                          if link.provider == self.provider}
        self.lines_taken: dict[tuple[str, str], str] = {}
        self.linked_resources: set[str] = set()
        for link in store.active_resource_links():
            self.lines_taken[(link.agreement_id, link.catalog_item_id)] = link.resource_id
            if link.provider == self.provider:
                self.linked_resources.add(link.resource_id)
        self.result = Suggestions(self.provider, [])

    def run(self) -> Suggestions:
        lists: list[Callable[[], object]] = [partial(self.reader.accounts, self.provider),
                                             self.reader.companies, self.reader.catalog]
        first = concurrently(self.runtime, lists)
        for read in first:
            if isinstance(read, IdsyncError):
                raise read  # without both sides' lists there is nothing to suggest from
        accounts = list(self.reader.accounts(self.provider).values())
        companies = self.reader.companies()
        self.catalog = Catalog(self.reader.catalog())
        field_name = self.runtime.settings.onboarding.account_id_fields.get(self.provider)
        matcher = CompanyMatcher(companies.values(), field_name)

        company_rows: dict[str, Suggestion] = {}
        ignored: dict[str, Suggestion] = {}
        for account in accounts:
            if account.id in self.company_links:
                continue
            why = self.ignores.why(self.provider, IgnoreKind.ACCOUNT, account.id)
            if why:
                ignored[account.id] = ignored_row(Level.COMPANY, self.provider, account.id,
                                                  account.name, "", why)
                continue
            row = Suggestion(Level.COMPANY, self.provider, account.id, account.name)
            matcher.suggest(row, account)
            company_rows[account.id] = row
        self.one_company_one_account(company_rows)

        company_of: dict[str, tuple[str, str]] = {
            a: (link.psa_company_id, link.psa_company_name)
            for a, link in self.company_links.items()}
        company_of.update((a, (row.target_id, row.target_name)) for a, row in company_rows.items()
                          if row.accepted and row.target_id)
        under = [a for a in accounts if a.id in company_of]
        listed = concurrently(self.runtime, [partial(self.subscriptions_of, a.id)
                                             for a in under])
        company_ids = sorted({company_of[a.id][0] for a in under})
        # The agreements and the lines of every subscription that may be suggested, in one
        # concurrent pass. The provider's throttled detail reads set the pace, so they start at
        # once: only the first company's agreements go before them (a connector that lists
        # every company's agreements at once does it there, in one worker, while the others
        # read details); the rest come after, from what that listing left.
        candidates = [s for subs in listed if not isinstance(subs, IdsyncError) for s in subs
                      if not s.terminated
                      and not self.ignores.why(self.provider, IgnoreKind.SUBSCRIPTION, s.id)]
        details: list[Callable[[], list[Any]]] = [partial(self.resources_of, s.id)
                                                  for s in candidates]
        listings: list[Callable[[], list[Any]]] = [partial(self.agreements_of, c)
                                                   for c in company_ids]
        head, tail = listings[:1], listings[1:]
        read = concurrently(self.runtime, head + details + tail)
        after_details = len(head) + len(details)
        agreements = dict(zip(company_ids, read[:len(head)] + read[after_details:],
                              strict=True))
        resources = dict(zip([s.id for s in candidates], read[len(head):after_details],
                             strict=True))

        per_account: dict[str, list[tuple[Subscription, Suggestion | None, str | None]]] = {}
        for account, subs in zip(under, listed, strict=True):
            company_id, company_name = company_of[account.id]
            found = agreements[company_id]
            if isinstance(subs, IdsyncError) or isinstance(found, IdsyncError):
                problem = subs if isinstance(subs, IdsyncError) else found
                self.result.unreadable.append(f"account {account.id} ({account.name}): {problem}")
                continue
            eligible = eligible_agreements(found, self.runtime)
            entries = per_account.setdefault(account.id, [])
            for sub in subs:
                if sub.terminated:
                    continue
                why = self.ignores.why(self.provider, IgnoreKind.SUBSCRIPTION, sub.id)
                if why:
                    entries.append((sub, ignored_row(Level.SUBSCRIPTION, self.provider, sub.id,
                                                     sub.name, account.id, why), None))
                    continue
                link = self.sub_links.get(sub.id)
                if link is not None:
                    entries.append((sub, None, link.agreement_id))
                    continue
                row = Suggestion(Level.SUBSCRIPTION, self.provider, sub.id, sub.name, account.id)
                suggest_agreement(row, sub, eligible, company_name)
                entries.append((sub, row, row.target_id if row.accepted else None))

        for account in accounts:
            if account.id in ignored:
                self.result.rows.append(ignored[account.id])
                continue
            if account.id in company_rows:
                self.result.rows.append(company_rows[account.id])
            for sub, sub_row, agreement_id in per_account.get(account.id, []):
                if sub_row is not None:
                    self.result.rows.append(sub_row)
                if agreement_id is None:
                    continue
                found_resources = resources.get(sub.id)
                if isinstance(found_resources, IdsyncError):
                    self.result.unreadable.append(f"subscription {sub.id} ({sub.name}): "
                                                  f"{found_resources}")
                elif found_resources is not None:
                    self.resource_rows(account.id, sub, agreement_id, found_resources)
        return self.result

    def subscriptions_of(self, account_id: str) -> list[Subscription]:
        return list(self.reader.subscriptions(self.provider, account_id).values())

    def agreements_of(self, company_id: str) -> list[Agreement]:
        return list(self.reader.agreements(company_id).values())

    def resources_of(self, subscription_id: str) -> list[Resource]:
        return list(self.reader.resources(self.provider, subscription_id).values())

    def one_company_one_account(self, rows: dict[str, Suggestion]) -> None:
        """A company claimed by two accounts, or linked to another already: for review."""
        claims: dict[str, list[str]] = {}
        for account_id, row in rows.items():
            if row.accepted and row.target_id:
                claims.setdefault(row.target_id, []).append(account_id)
        linked_to = {link.psa_company_id: link.account_id for link in self.company_links.values()}
        for company_id, accounts in claims.items():
            for account_id in accounts:
                others = [a for a in accounts if a != account_id]
                if others:
                    rows[account_id].review(f"account {', '.join(others)} matches PSA company "
                                            f"{company_id} too")
                elif company_id in linked_to:
                    rows[account_id].review(f"PSA company {company_id} is already linked to "
                                            f"account {linked_to[company_id]}")

    def resource_rows(self, account_id: str, sub: Subscription, agreement_id: str,
                      resources: list[Resource]) -> None:
        for resource in resources:
            if not resource.seat_based or resource.id in self.linked_resources:
                continue
            why = self.ignores.why_resource(self.provider, account_id, sub.id, resource)
            if why:
                self.result.rows.append(ignored_row(Level.RESOURCE, self.provider, resource.id,
                                                    resource.name, sub.id, why))
                continue
            row = Suggestion(Level.RESOURCE, self.provider, resource.id, resource.name, sub.id)
            self.suggest_item(row, resource, sub)
            if row.target_id is not None:
                taken = self.lines_taken.get((agreement_id, row.target_id))
                if taken is not None and taken != resource.id:
                    row.review(f"catalog item {row.target_id} on agreement {agreement_id} "
                               f"already bills resource {taken}")
                elif row.accepted:
                    self.lines_taken[(agreement_id, row.target_id)] = resource.id
            self.result.rows.append(row)

    def suggest_item(self, row: Suggestion, resource: Resource, sub: Subscription) -> None:
        mapping = self.mappings.find(resource.sku, sub.commitment_term) if resource.sku else None
        if mapping is not None:
            item = self.catalog.by_id.get(mapping.catalog_item_id)
            term = f" ({mapping.term})" if mapping.term else ""
            if item is None or not item.active:
                fill(row, mapping.catalog_item_id, mapping.catalog_item_name, None,
                     f"the product mapping{term} names catalog item {mapping.catalog_item_id}, "
                     "which is " + ("inactive" if item else "not in the catalog"), False, [])
                return
            fill(row, item.id, item.name, 1.0, f"product mapping of SKU {mapping.sku}{term}",
                 True, [Candidate(item.id, item.name, 1.0)])
            row.price = price_of(mapping)
            return
        match = self.catalog.match(resource.sku, resource.name)
        fill(row, match.item.id if match.item else None, match.item.name if match.item else "",
             match.score, match.reason, match.confident,
             [Candidate(item.id, item.name, score) for item, score in match.candidates])


def suggest(runtime: Runtime, provider: str | None = None, *,
            reader: Reader | None = None) -> Suggestions:
    """Suggestions for everything of ``provider`` not linked yet (see the module docstring)."""
    return Suggester(runtime, provider, reader).run()


def map_suggestions(runtime: Runtime, provider: str | None = None, *,
                    reader: Reader | None = None) -> list[MappingSuggestion]:
    """For each SKU seen at the provider that no mapping covers: the catalog item it most
    likely bills as (same SKU, else the name). Reads every subscription's lines."""
    name = linking.provider_name(runtime, provider)
    reader = reader or Reader(runtime)
    ignores = IgnoreSet.load(runtime.store)
    accounts = [a for a in reader.accounts(name).values()
                if not ignores.why(name, IgnoreKind.ACCOUNT, a.id)]
    listed = concurrently(runtime, [partial(reader.subscriptions, name, a.id) for a in accounts])
    subs = [s for found in listed if not isinstance(found, IdsyncError)
            for s in found.values() if not s.terminated]
    lines = concurrently(runtime, [partial(reader.resources, name, s.id) for s in subs])
    seen = [(resource, sub.commitment_term)
            for sub, found in zip(subs, lines, strict=True) if not isinstance(found, IdsyncError)
            for resource in found.values()
            if not ignores.why_resource(name, sub.account_id, sub.id, resource)]
    return suggest_mappings(Catalog(reader.catalog()),
                            MappingTable.of(runtime.store.product_mappings(name)), seen)
