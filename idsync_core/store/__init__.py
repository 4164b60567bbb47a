"""The store: links, price sources, the adjustment journal, the audit log and run locks.

Any SQLAlchemy URL works (SQLite by default, PostgreSQL for teams). Every change is written
together with its audit entry in one transaction, so the audit log never misses a change nor
records one that did not happen.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import (
    Engine,
    create_engine,
    delete,
    event,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from idsync_core.errors import ConfigurationError, LockBusyError
from idsync_core.store import migrate
from idsync_core.store.schema import (
    AuditEntry,
    CompanyLink,
    JournalEntry,
    PriceSourceSetting,
    ResourceLink,
    RunLock,
    SubscriptionLink,
)

__all__ = [
    "AuditEntry",
    "CompanyLink",
    "CompanyParent",
    "JournalEntry",
    "PriceSourceSetting",
    "ResourceLink",
    "RunSnapshot",
    "Store",
    "SubscriptionLink",
    "SubscriptionParent",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _holder_is_dead(holder: str, actor: str) -> bool:
    """True when a lock holder is a process of this machine that no longer runs (killed)."""
    owner, _, pid = holder.rpartition(":")
    if owner.split("@")[-1] != actor.split("@")[-1] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _make_engine(url: str, pool_size: int) -> Engine:
    try:
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True,
                                                                           exist_ok=True)
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                                   pool_size=pool_size)

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA journal_mode=WAL")
                # 512 KiB of pages per pooled connection, not SQLite's 2 MiB: a sync holds one
                # per worker, each would fill its cache as the store grows, and the operating
                # system caches the file anyway.
                cursor.execute("PRAGMA cache_size=-512")
                cursor.close()

            return engine
        return create_engine(url, pool_pre_ping=True, pool_size=pool_size)
    except (ArgumentError, ImportError) as exc:
        raise ConfigurationError(f"cannot use the store URL: {exc}",
                                 hint="set [store] url or --db to a SQLAlchemy URL") from None


class SubscriptionParent(NamedTuple):
    """The fields of an active subscription link that planning its resource links reads.

    A run snapshot holds one for every subscription link of the tenant, for the whole run: a
    tuple costs a tenth of a mapped object, so what the run holds stays small.
    """

    id: int
    company_link_id: int
    provider: str
    subscription_id: str
    agreement_id: str


class CompanyParent(NamedTuple):
    """The fields of an active company link that planning its resource links reads."""

    id: int
    provider: str
    account_id: str
    psa_company_id: str


@dataclass(frozen=True)
class RunSnapshot:
    """What a sync run needs from the store about every link, read in a few queries up front
    instead of several round trips per link (taken after earlier runs' postings are settled)."""

    subscription_links: dict[int, SubscriptionParent]
    company_links: dict[int, CompanyParent]
    price_sources: dict[tuple[str, str], PriceSourceSetting]
    posted: Counter[int]
    unsettled: dict[int, datetime]
    """Links with a posting whose outcome is not known yet, and since when (its last attempt)."""
    failed: frozenset[int]

    def price_source(self, scope: str, scope_id: str) -> PriceSourceSetting | None:
        return self.price_sources.get((scope, scope_id))

    def parents(self, link: ResourceLink) -> tuple[SubscriptionParent, CompanyParent] | None:
        """The link's active subscription and company links (None: either is not active)."""
        sub_link = self.subscription_links.get(link.subscription_link_id)
        company_link = self.company_links.get(sub_link.company_link_id) if sub_link else None
        return (sub_link, company_link) if sub_link and company_link else None


class Store:
    """Typed access to IDSync's tables; open with ``Store(url)`` (migrates on open)."""

    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        """``pool_size``: connections kept open; a sync wants one per worker thread."""
        self.url = url
        self.engine = _make_engine(url, pool_size)
        try:
            migrate.upgrade(self.engine)
        except OperationalError as exc:
            raise ConfigurationError(
                f"cannot open the store: {exc.orig}",
                hint="check [store] url / --db and that the database is reachable") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.actor = _actor()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def audit(self, session: Session, action: str, subject: str, **details: Any) -> None:
        session.add(AuditEntry(at=utcnow(), actor=self.actor, action=action, subject=subject,
                               details=json.dumps(details, default=str, sort_keys=True)))

    def close(self) -> None:
        self.engine.dispose()

    # -- links -------------------------------------------------------------------------------

    def company_link(self, provider: str, account_id: str) -> CompanyLink | None:
        with self.transaction() as s:
            return s.scalar(select(CompanyLink).where(
                CompanyLink.provider == provider, CompanyLink.account_id == account_id,
                CompanyLink.removed_at.is_(None)))

    def subscription_link(self, provider: str, subscription_id: str) -> SubscriptionLink | None:
        with self.transaction() as s:
            return s.scalar(select(SubscriptionLink).where(
                SubscriptionLink.provider == provider,
                SubscriptionLink.subscription_id == subscription_id,
                SubscriptionLink.removed_at.is_(None)))

    def resource_link(self, provider: str, resource_id: str) -> ResourceLink | None:
        with self.transaction() as s:
            return s.scalar(select(ResourceLink).where(
                ResourceLink.provider == provider, ResourceLink.resource_id == resource_id,
                ResourceLink.removed_at.is_(None)))

    def resource_link_by_id(self, link_id: int) -> ResourceLink | None:
        with self.transaction() as s:
            return s.get(ResourceLink, link_id)

    def subscription_link_by_id(self, link_id: int) -> SubscriptionLink | None:
        with self.transaction() as s:
            return s.get(SubscriptionLink, link_id)

    def company_link_by_id(self, link_id: int) -> CompanyLink | None:
        with self.transaction() as s:
            return s.get(CompanyLink, link_id)

    def resource_link_on_line(self, agreement_id: str, catalog_item_id: str) -> ResourceLink | None:
        with self.transaction() as s:
            return s.scalar(select(ResourceLink).where(
                ResourceLink.agreement_id == agreement_id,
                ResourceLink.catalog_item_id == catalog_item_id,
                ResourceLink.removed_at.is_(None)))

    def active_company_links(self) -> Sequence[CompanyLink]:
        with self.transaction() as s:
            return s.scalars(select(CompanyLink).where(CompanyLink.removed_at.is_(None))
                             .order_by(CompanyLink.id)).all()

    def active_subscription_links(self) -> Sequence[SubscriptionLink]:
        with self.transaction() as s:
            return s.scalars(select(SubscriptionLink).where(SubscriptionLink.removed_at.is_(None))
                             .order_by(SubscriptionLink.id)).all()

    def active_resource_links(self) -> Sequence[ResourceLink]:
        with self.transaction() as s:
            return s.scalars(select(ResourceLink).where(ResourceLink.removed_at.is_(None))
                             .order_by(ResourceLink.id)).all()

    def active_resource_link_count(self) -> int:
        with self.transaction() as s:
            return int(s.scalar(select(func.count()).select_from(ResourceLink)
                                .where(ResourceLink.removed_at.is_(None))) or 0)

    def active_catalog_item_ids(self) -> list[str]:
        """The catalog items the active resource links bill as (each once)."""
        with self.transaction() as s:
            return list(s.scalars(select(ResourceLink.catalog_item_id).distinct()
                                  .where(ResourceLink.removed_at.is_(None))
                                  .order_by(ResourceLink.catalog_item_id)))

    def iter_active_resource_links(self, batch: int = 500) -> Iterator[ResourceLink]:
        """Every active resource link by PSA company, agreement and id, ``batch`` at a time.

        A sync holds only the links it is working on, not every link of the tenant, and meets
        each company's links together (what it read for a company it can forget as soon as
        they are done). Each batch is a short transaction of its own (keyset paging), so a long
        run keeps no read transaction open; a link added meanwhile may or may not be included,
        as with a run that started a moment later.
        """
        order = (CompanyLink.psa_company_id, ResourceLink.agreement_id, ResourceLink.id)
        query = (select(ResourceLink, CompanyLink.psa_company_id)
                 .join(SubscriptionLink, SubscriptionLink.id == ResourceLink.subscription_link_id)
                 .join(CompanyLink, CompanyLink.id == SubscriptionLink.company_link_id)
                 .where(ResourceLink.removed_at.is_(None)).order_by(*order).limit(batch))
        after: tuple[str, str, int] | None = None
        while True:
            with self.transaction() as s:
                page = query if after is None else query.where(tuple_(*order) > tuple_(*after))
                rows = s.execute(page).all()
            yield from (link for link, _ in rows)
            if len(rows) < batch:
                return
            last, company = rows[-1]
            after = (company, last.agreement_id, last.id)

    def add_link(self, link: CompanyLink | SubscriptionLink | ResourceLink, **audit: Any) -> None:
        """Insert a link with its audit entry; a second active link for one object is refused
        by the database itself (partial unique indexes), whatever races happen above."""
        link.created_at = utcnow()
        try:
            with self.transaction() as s:
                s.add(link)
                s.flush()
                self.audit(s, f"link.{link.__tablename__.removesuffix('_links')}",
                           f"{link.__tablename__}#{link.id}", **audit)
        except IntegrityError:
            from idsync_core.errors import RefusedError

            raise RefusedError("that object is already linked",
                               hint="see `idsync links`; unlink it first") from None

    def remove_link(self, link: CompanyLink | SubscriptionLink | ResourceLink,
                    **audit: Any) -> None:
        with self.transaction() as s:
            s.execute(update(type(link)).where(type(link).id == link.id)
                      .values(removed_at=utcnow()))
            self.audit(s, f"unlink.{link.__tablename__.removesuffix('_links')}",
                       f"{link.__tablename__}#{link.id}", **audit)

    def set_last_quantity(self, link_id: int, quantity: Any) -> None:
        with self.transaction() as s:
            s.execute(update(ResourceLink).where(ResourceLink.id == link_id)
                      .values(last_quantity=quantity))

    def run_snapshot(self) -> RunSnapshot:
        with self.transaction() as s:
            subs = s.execute(select(
                SubscriptionLink.id, SubscriptionLink.company_link_id, SubscriptionLink.provider,
                SubscriptionLink.subscription_id, SubscriptionLink.agreement_id,
            ).where(SubscriptionLink.removed_at.is_(None)))
            companies = s.execute(select(
                CompanyLink.id, CompanyLink.provider, CompanyLink.account_id,
                CompanyLink.psa_company_id,
            ).where(CompanyLink.removed_at.is_(None)))
            prices = s.scalars(select(PriceSourceSetting))
            statuses = s.execute(select(JournalEntry.resource_link_id, JournalEntry.status,
                                        JournalEntry.updated_at)).all()
            unsettled: dict[int, datetime] = {}
            for link, status, since in statuses:
                if status in ("pending", "unknown"):
                    since = since if since.tzinfo else since.replace(tzinfo=UTC)
                    unsettled[link] = min(since, unsettled.get(link, since))
            return RunSnapshot(
                subscription_links={row.id: SubscriptionParent(*row) for row in subs},
                company_links={row.id: CompanyParent(*row) for row in companies},
                price_sources={(p.scope, p.scope_id): p for p in prices},
                posted=Counter(link for link, status, _ in statuses if status == "posted"),
                unsettled=unsettled,
                failed=frozenset(link for link, status, _ in statuses if status == "failed"))

    # -- price sources -----------------------------------------------------------------------

    def price_source(self, scope: str, scope_id: str) -> PriceSourceSetting | None:
        with self.transaction() as s:
            return s.scalar(select(PriceSourceSetting).where(
                PriceSourceSetting.scope == scope, PriceSourceSetting.scope_id == scope_id))

    def price_sources(self) -> Sequence[PriceSourceSetting]:
        with self.transaction() as s:
            return s.scalars(select(PriceSourceSetting).order_by(PriceSourceSetting.id)).all()

    def set_price_source(self, setting: PriceSourceSetting) -> None:
        with self.transaction() as s:
            s.execute(delete(PriceSourceSetting).where(
                PriceSourceSetting.scope == setting.scope,
                PriceSourceSetting.scope_id == setting.scope_id))
            setting.updated_at = utcnow()
            s.add(setting)
            self.audit(s, "price-source.set", f"{setting.scope}:{setting.scope_id}",
                       kind=setting.kind, price=setting.price, cost=setting.cost,
                       markup_percent=setting.markup_percent)

    def clear_price_source(self, scope: str, scope_id: str) -> bool:
        with self.transaction() as s:
            removed = s.execute(delete(PriceSourceSetting).where(
                PriceSourceSetting.scope == scope, PriceSourceSetting.scope_id == scope_id))
            if removed.rowcount:  # type: ignore[attr-defined]
                self.audit(s, "price-source.clear", f"{scope}:{scope_id}")
            return bool(removed.rowcount)  # type: ignore[attr-defined]

    # -- the journal ---------------------------------------------------------------------------

    def journal_entry(self, key: str) -> JournalEntry | None:
        with self.transaction() as s:
            return s.scalar(select(JournalEntry).where(JournalEntry.key == key))

    def journal_entries(self, statuses: Sequence[str] | None = None,
                        limit: int | None = None) -> Sequence[JournalEntry]:
        with self.transaction() as s:
            query = select(JournalEntry).order_by(JournalEntry.id.desc())
            if statuses:
                query = query.where(JournalEntry.status.in_(statuses))
            if limit:
                query = query.limit(limit)
            return s.scalars(query).all()

    def open_entries(self, resource_link_id: int) -> int:
        """Postings of the link whose outcome is not settled (pending or unknown)."""
        with self.transaction() as s:
            return len(s.scalars(select(JournalEntry.id).where(
                JournalEntry.resource_link_id == resource_link_id,
                JournalEntry.status.in_(("pending", "unknown")))).all())

    def posted_count(self, resource_link_id: int) -> int:
        """How many postings of this link have landed (part of each new idempotency key)."""
        with self.transaction() as s:
            return len(s.scalars(select(JournalEntry.id).where(
                JournalEntry.resource_link_id == resource_link_id,
                JournalEntry.status == "posted")).all())

    def journal_begin(self, entry: JournalEntry) -> JournalEntry:
        """Record the intent (``pending``) durably *before* the PSA is called.

        An entry with the same key that is not posted is reused (attempts counted), so retries
        of one intended change share one key.
        """
        now = utcnow()
        with self.transaction() as s:
            existing = s.scalar(select(JournalEntry).where(JournalEntry.key == entry.key))
            if existing is not None:
                existing.status = "pending"
                existing.attempts += 1
                existing.error = None
                existing.updated_at = now
                self.audit(s, "adjustment.retry", f"journal:{entry.key}",
                           attempt=existing.attempts)
                return existing
            entry.status, entry.attempts = "pending", 1
            entry.created_at = entry.updated_at = now
            s.add(entry)
            self.audit(s, "adjustment.pending", f"journal:{entry.key}", delta=entry.delta,
                       target=entry.target_quantity, effective_date=entry.effective_date,
                       agreement=entry.agreement_id, catalog_item=entry.catalog_item_id)
            return entry

    def journal_finish(self, key: str, status: str, *, psa_record_id: str | None = None,
                       error: str | None = None) -> None:
        with self.transaction() as s:
            s.execute(update(JournalEntry).where(JournalEntry.key == key).values(
                status=status, psa_record_id=psa_record_id, error=error, updated_at=utcnow()))
            self.audit(s, f"adjustment.{status}", f"journal:{key}", psa_record_id=psa_record_id,
                       error=error)

    def supersede_failed(self, resource_link_id: int, note: str, *,
                         except_key: str | None = None) -> int:
        """Close the link's failed entries once its line is equal again (they stay in the log)."""
        with self.transaction() as s:
            query = update(JournalEntry).where(
                JournalEntry.resource_link_id == resource_link_id,
                JournalEntry.status == "failed")
            if except_key is not None:
                query = query.where(JournalEntry.key != except_key)
            reason = func.coalesce(JournalEntry.error + "; ", "") + note
            done = s.execute(query.values(status="superseded", updated_at=utcnow(),
                                          error=reason))
            count = int(done.rowcount)  # type: ignore[attr-defined]
            if count:
                self.audit(s, "adjustment.superseded", f"resource_links#{resource_link_id}",
                           entries=count, note=note)
            return count

    def links_with_failures(self) -> Sequence[ResourceLink]:
        with self.transaction() as s:
            failed = select(JournalEntry.resource_link_id).where(
                JournalEntry.status.in_(("failed", "unknown", "pending")))
            return s.scalars(select(ResourceLink).where(
                ResourceLink.id.in_(failed), ResourceLink.removed_at.is_(None))
                .order_by(ResourceLink.id)).all()

    # -- the audit log -------------------------------------------------------------------------

    def audit_entries(self, limit: int = 100) -> Sequence[AuditEntry]:
        with self.transaction() as s:
            return s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)).all()

    # -- run locks -------------------------------------------------------------------------------

    @contextmanager
    def lock(self, name: str, *, ttl: timedelta = timedelta(minutes=30)) -> Iterator[None]:
        """Hold the named lock for the duration, or raise :class:`LockBusyError`.

        A lock older than ``ttl`` (its holder died without releasing it) is taken over.
        """
        holder = f"{self.actor}:{os.getpid()}"
        for attempt in (1, 2):
            now = utcnow()
            try:
                with self.transaction() as s:
                    s.execute(delete(RunLock).where(RunLock.name == name,
                                                    RunLock.expires_at < now))
                    s.add(RunLock(name=name, holder=holder, acquired_at=now,
                                  expires_at=now + ttl))
                break
            except IntegrityError:
                with self.transaction() as s:
                    current = s.get(RunLock, name)
                if attempt == 1 and current is not None and _holder_is_dead(current.holder,
                                                                            self.actor):
                    with self.transaction() as s:
                        s.execute(delete(RunLock).where(RunLock.name == name,
                                                        RunLock.holder == current.holder))
                    continue
                who = f" ({current.holder}, since {current.acquired_at:%Y-%m-%d %H:%M} UTC)" \
                    if current else ""
                raise LockBusyError(
                    f"another IDSync run holds the {name!r} lock{who}",
                    hint="wait for it to finish; a lock left by a run on another machine "
                         f"expires after {int(ttl.total_seconds() // 60)} minutes") from None
        try:
            yield
        finally:
            with self.transaction() as s:
                s.execute(delete(RunLock).where(RunLock.name == name, RunLock.holder == holder))
