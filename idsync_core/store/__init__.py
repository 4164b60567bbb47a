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
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import (
    Engine,
    create_engine,
    delete,
    event,
    func,
    insert,
    make_url,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from idsync_core.errors import ConfigurationError, LockBusyError
from idsync_core.journal import NOT_THROUGH, OPEN, JournalStatus
from idsync_core.store import migrate
from idsync_core.store.schema import (
    AuditEntry,
    Base,
    CompanyLink,
    IgnoreRule,
    JournalEntry,
    PriceSourceSetting,
    ProductMapping,
    ResourceLink,
    ReviewDismissal,
    Run,
    RunLock,
    SubscriptionLink,
    User,
)

__all__ = [
    "AuditEntry",
    "CompanyLink",
    "CompanyParent",
    "IgnoreRule",
    "JournalEntry",
    "PriceSourceSetting",
    "ProductMapping",
    "ResourceLink",
    "ReviewDismissal",
    "Run",
    "RunLock",
    "RunSnapshot",
    "Store",
    "SubscriptionLink",
    "SubscriptionParent",
    "User",
]

def utcnow() -> datetime:
    return datetime.now(UTC)


audit_origin: ContextVar[str] = ContextVar("idsync_audit_origin", default="cli")
"""What the changes made in this context are audited as coming from: ``cli`` unless a caller
says otherwise (the web console sets ``web:USER`` around each request, with
:func:`acting_as`; a run's worker threads inherit it). Postings are audited with their journal
entry's origin (``sync``, ``retry``, ``apply``, ``link``) unless a console user made them
(:func:`posting_origin`)."""


def posting_origin(entry_origin: str) -> str:
    """The audit origin of a posting: the console's user who caused it, else its run."""
    acting = audit_origin.get()
    return acting if acting.startswith("web:") else entry_origin


@contextmanager
def acting_as(origin: str) -> Iterator[None]:
    """Audit the changes made inside the block as coming from ``origin``."""
    token = audit_origin.set(origin)
    try:
        yield
    finally:
        audit_origin.reset(token)


def as_aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; IDSync writes them all in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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


def describe_url(url: str) -> str:
    """The store as messages name it: a SQLite file's path, else the URL without password."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///") or "(in memory)"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable URL)"


STORE_HINT = "set [store] url or --db to another place, or fix this one"


def _make_folder(url: str) -> None:
    """A SQLite file's folder is created on first use; a path that cannot hold one is the
    operator's to fix (exit 3), not a bug."""
    if not url.startswith("sqlite:///") or url.startswith("sqlite:///:memory:"):
        return
    folder = Path(url.removeprefix("sqlite:///")).expanduser().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigurationError(f"the store {describe_url(url)} cannot be created: {folder} "
                                 "is a file, not a folder", hint=STORE_HINT) from None
    except OSError as exc:
        raise ConfigurationError(f"the store {describe_url(url)} cannot be created: its folder "
                                 f"{folder}: {exc.strerror}", hint=STORE_HINT) from None


def _make_engine(url: str, pool_size: int) -> Engine:
    _make_folder(url)
    try:
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
    subscription_name: str
    agreement_name: str


class CompanyParent(NamedTuple):
    """The fields of an active company link that planning its resource links (and the reports
    and notifications made of their plans) read."""

    id: int
    provider: str
    account_id: str
    psa_company_id: str
    account_name: str
    psa_company_name: str


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
        except migrate.NewerSchemaError as exc:
            self.engine.dispose()
            raise ConfigurationError(
                f"the store {describe_url(url)} has schema revision {exc.revision}, written by "
                f"a newer IDSync (this one knows up to {exc.head}); nothing was changed",
                hint="run the IDSync that wrote it (upgrade this installation), or point "
                     "[store] url / --db at another store") from None
        except OperationalError as exc:
            self.engine.dispose()
            raise ConfigurationError(
                f"cannot open the store {describe_url(url)}: {exc.orig}",
                hint="check [store] url / --db: that the database is reachable, or that "
                     "the file's folder exists and IDSync may write there") from None
        except DatabaseError as exc:  # SQLite: "file is not a database" (damaged, or another)
            self.engine.dispose()
            raise ConfigurationError(
                f"the store {describe_url(url)} is not an IDSync database, or it is damaged: "
                f"{exc.orig}",
                hint="restore it from a backup, or set [store] url / --db to another "
                     "file") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.actor = _actor()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def who(self) -> str:
        """Who does what is done now, for people: the console's user (the audit origin
        ``web:NAME``) where there is one, else the process's OS user."""
        origin = audit_origin.get()
        return origin if origin.startswith("web:") else self.actor

    def audit(self, session: Session, action: str, subject: str, *, origin: str | None = None,
              **details: Any) -> None:
        """One audit entry; ``origin``: what made the change (default :data:`audit_origin`)."""
        session.add(AuditEntry(at=utcnow(), actor=self.actor, action=action, subject=subject,
                               origin=origin or audit_origin.get(),
                               details=json.dumps(details, default=str, sort_keys=True)))

    def record(self, action: str, subject: str, **details: Any) -> None:
        """An audit entry of its own: an action that changes no table (a run, an approval)."""
        with self.transaction() as s:
            self.audit(s, action, subject, **details)

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
        with self._linking() as s:
            self._insert_link(s, link, **audit)

    def add_chain(self, company: tuple[CompanyLink, dict[str, Any]] | None,
                  subscription: tuple[SubscriptionLink, dict[str, Any]] | None,
                  resource: tuple[ResourceLink, dict[str, Any]],
                  price: PriceSourceSetting | None = None) -> None:
        """Insert the links one resource still needs (each with its audit details) and its
        price source in one transaction: all of them, or — when any is refused — none. Each
        new link becomes the parent of the next."""
        with self._linking() as s:
            if company is not None:
                self._insert_link(s, company[0], **company[1])
                if subscription is not None:
                    subscription[0].company_link_id = company[0].id
            if subscription is not None:
                self._insert_link(s, subscription[0], **subscription[1])
                resource[0].subscription_link_id = subscription[0].id
            self._insert_link(s, resource[0], **resource[1])
            if price is not None:
                price.scope_id = str(resource[0].id)
                self._replace_price_source(s, price)

    @contextmanager
    def _linking(self) -> Iterator[Session]:
        try:
            with self.transaction() as s:
                yield s
        except IntegrityError:
            from idsync_core.errors import RefusedError

            raise RefusedError("that object is already linked",
                               hint="see `idsync links`; unlink it first") from None

    def _insert_link(self, s: Session, link: CompanyLink | SubscriptionLink | ResourceLink,
                     **audit: Any) -> None:
        link.created_at = utcnow()
        s.add(link)
        s.flush()
        self.audit(s, f"link.{link.__tablename__.removesuffix('_links')}",
                   f"{link.__tablename__}#{link.id}", **audit)

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
                SubscriptionLink.subscription_name, SubscriptionLink.agreement_name,
            ).where(SubscriptionLink.removed_at.is_(None)))
            companies = s.execute(select(
                CompanyLink.id, CompanyLink.provider, CompanyLink.account_id,
                CompanyLink.psa_company_id, CompanyLink.account_name,
                CompanyLink.psa_company_name,
            ).where(CompanyLink.removed_at.is_(None)))
            prices = s.scalars(select(PriceSourceSetting))
            statuses = s.execute(select(JournalEntry.resource_link_id, JournalEntry.status,
                                        JournalEntry.updated_at)).all()
            unsettled: dict[int, datetime] = {}
            for link, status, since in statuses:
                if status in OPEN:
                    since = since if since.tzinfo else since.replace(tzinfo=UTC)
                    unsettled[link] = min(since, unsettled.get(link, since))
            return RunSnapshot(
                subscription_links={row.id: SubscriptionParent(*row) for row in subs},
                company_links={row.id: CompanyParent(*row) for row in companies},
                price_sources={(p.scope, p.scope_id): p for p in prices},
                posted=Counter(link for link, status, _ in statuses
                               if status == JournalStatus.POSTED),
                unsettled=unsettled,
                failed=frozenset(link for link, status, _ in statuses
                                 if status == JournalStatus.FAILED))

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
            self._replace_price_source(s, setting)

    def _replace_price_source(self, s: Session, setting: PriceSourceSetting) -> None:
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

    def journal_entries(self, statuses: Sequence[JournalStatus] | None = None,
                        limit: int | None = None, *, company: str | None = None,
                        since: date | None = None,
                        until: date | None = None) -> Sequence[JournalEntry]:
        """Newest first. ``company``: a PSA company id or a provider account id; ``since`` /
        ``until``: the days (UTC, inclusive) the entries were first written."""
        with self.transaction() as s:
            query = select(JournalEntry).order_by(JournalEntry.id.desc())
            if statuses:
                query = query.where(JournalEntry.status.in_(statuses))
            if company:
                query = query.where((JournalEntry.psa_company_id == company)
                                    | (JournalEntry.account_id == company))
            if since is not None:
                query = query.where(JournalEntry.created_at >= datetime.combine(
                    since, time(), tzinfo=UTC))
            if until is not None:
                query = query.where(JournalEntry.created_at < datetime.combine(
                    until + timedelta(days=1), time(), tzinfo=UTC))
            if limit:
                query = query.limit(limit)
            return s.scalars(query).all()

    def last_postings(self) -> dict[int, JournalEntry]:
        """Each resource link's most recent posting that landed, by link id."""
        with self.transaction() as s:
            entries = s.scalars(select(JournalEntry).where(
                JournalEntry.status == JournalStatus.POSTED).order_by(JournalEntry.updated_at,
                                                                      JournalEntry.id))
            return {entry.resource_link_id: entry for entry in entries}

    def posted_count(self, resource_link_id: int) -> int:
        """How many postings of this link have landed (part of each new idempotency key)."""
        with self.transaction() as s:
            return len(s.scalars(select(JournalEntry.id).where(
                JournalEntry.resource_link_id == resource_link_id,
                JournalEntry.status == JournalStatus.POSTED)).all())

    def journal_begin(self, entry: JournalEntry) -> JournalEntry:
        """Record the intent (``pending``) durably *before* the PSA is called.

        An entry with the same key that is not posted is reused (attempts counted), so retries
        of one intended change share one key.
        """
        now = utcnow()
        with self.transaction() as s:
            existing = s.scalar(select(JournalEntry).where(JournalEntry.key == entry.key))
            if existing is not None:
                existing.status = JournalStatus.PENDING
                existing.attempts += 1
                existing.error = None
                existing.updated_at = now
                self.audit(s, "adjustment.retry", f"journal:{entry.key}",
                           origin=posting_origin(entry.origin),
                           attempt=existing.attempts, resource=existing.resource_id)
                return existing
            entry.status, entry.attempts = JournalStatus.PENDING, 1
            entry.created_at = entry.updated_at = now
            s.add(entry)
            self.audit(s, "adjustment.pending", f"journal:{entry.key}",
                       origin=posting_origin(entry.origin),
                       delta=entry.delta, target=entry.target_quantity,
                       effective_date=entry.effective_date, resource=entry.resource_id,
                       agreement=entry.agreement_id, catalog_item=entry.catalog_item_id,
                       compensates=entry.compensates)
            return entry

    def journal_finish(self, key: str, status: JournalStatus, *, psa_record_id: str | None = None,
                       error: str | None = None) -> None:
        with self.transaction() as s:
            s.execute(update(JournalEntry).where(JournalEntry.key == key).values(
                status=status, psa_record_id=psa_record_id, error=error, updated_at=utcnow()))
            origin = s.scalar(select(JournalEntry.origin).where(JournalEntry.key == key))
            self.audit(s, f"adjustment.{status}", f"journal:{key}",
                       origin=posting_origin(origin) if origin else None,
                       psa_record_id=psa_record_id, error=error)

    def supersede_failed(self, resource_link_id: int, note: str, *, origin: str | None = None,
                         except_key: str | None = None) -> int:
        """Close the link's failed entries once its line is equal again (they stay in the log)."""
        with self.transaction() as s:
            query = update(JournalEntry).where(
                JournalEntry.resource_link_id == resource_link_id,
                JournalEntry.status == JournalStatus.FAILED)
            if except_key is not None:
                query = query.where(JournalEntry.key != except_key)
            reason = func.coalesce(JournalEntry.error + "; ", "") + note
            done = s.execute(query.values(status=JournalStatus.SUPERSEDED, updated_at=utcnow(),
                                          error=reason))
            count = int(done.rowcount)  # type: ignore[attr-defined]
            if count:
                self.audit(s, "adjustment.superseded", f"resource_links#{resource_link_id}",
                           origin=posting_origin(origin) if origin else None, entries=count,
                           note=note)
            return count

    def links_with_failures(self) -> Sequence[ResourceLink]:
        with self.transaction() as s:
            failed = select(JournalEntry.resource_link_id).where(
                JournalEntry.status.in_(NOT_THROUGH))
            return s.scalars(select(ResourceLink).where(
                ResourceLink.id.in_(failed), ResourceLink.removed_at.is_(None))
                .order_by(ResourceLink.id)).all()

    # -- the audit log -------------------------------------------------------------------------

    def audit_entries(self, since: datetime | None = None,
                      limit: int | None = None) -> Sequence[AuditEntry]:
        """The audit log, oldest first; ``since``: only entries at or after it; ``limit``: only
        the newest that many."""
        with self.transaction() as s:
            query = select(AuditEntry).order_by(AuditEntry.id.desc())
            if since is not None:
                query = query.where(AuditEntry.at >= since)
            if limit is not None:
                query = query.limit(limit)
            return list(reversed(s.scalars(query).all()))

    # -- runs ----------------------------------------------------------------------------------

    def record_run(self, run: Run) -> None:
        with self.transaction() as s:
            s.add(run)

    def recent_runs(self, limit: int = 10) -> Sequence[Run]:
        """The runs that finished last, newest first."""
        with self.transaction() as s:
            return s.scalars(select(Run).order_by(Run.finished_at.desc(), Run.id.desc())
                             .limit(limit)).all()

    def last_run(self, *, completed: bool = False) -> Run | None:
        """The run that finished last; ``completed``: the last one that ran (not one that could
        not start)."""
        with self.transaction() as s:
            query = select(Run).order_by(Run.finished_at.desc(), Run.id.desc()).limit(1)
            if completed:
                query = query.where(Run.outcome != "error")
            return s.scalar(query)

    def journal_counts(self) -> Counter[JournalStatus]:
        """How many journal entries stand at each status."""
        with self.transaction() as s:
            return Counter({JournalStatus(status): count for status, count in s.execute(
                select(JournalEntry.status, func.count()).group_by(JournalEntry.status))})

    def locks(self) -> Sequence[RunLock]:
        """The run locks held now (a lock past its expiry is listed too: it is taken over by
        the next run)."""
        with self.transaction() as s:
            return s.scalars(select(RunLock).order_by(RunLock.name)).all()

    # -- run locks -------------------------------------------------------------------------------

    def lock_holder(self, name: str) -> RunLock | None:
        """Who holds the named lock now (None: nobody, or a holder whose lock expired)."""
        with self.transaction() as s:
            current = s.get(RunLock, name)
        if current is None or as_aware(current.expires_at) < utcnow():
            return None
        return current

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

    # -- onboarding: product mappings, ignore rules, a scratch copy for dry runs -------------

    def product_mappings(self, provider: str | None = None) -> Sequence[ProductMapping]:
        with self.transaction() as s:
            query = select(ProductMapping).order_by(ProductMapping.provider, ProductMapping.sku,
                                                    ProductMapping.term)
            if provider is not None:
                query = query.where(ProductMapping.provider == provider)
            return s.scalars(query).all()

    def set_product_mapping(self, mapping: ProductMapping) -> None:
        """Insert the mapping, replacing the one for the same provider, SKU and term."""
        with self.transaction() as s:
            s.execute(delete(ProductMapping).where(
                ProductMapping.provider == mapping.provider, ProductMapping.sku == mapping.sku,
                ProductMapping.term == mapping.term))
            mapping.updated_at = utcnow()
            s.add(mapping)
            self.audit(s, "mapping.set", f"sku:{mapping.provider}:{mapping.sku}",
                       term=mapping.term, catalog_item=mapping.catalog_item_id,
                       catalog_item_name=mapping.catalog_item_name, price_kind=mapping.price_kind,
                       price=mapping.price, cost=mapping.cost,
                       markup_percent=mapping.markup_percent)

    def remove_product_mapping(self, provider: str, sku: str, term: str) -> bool:
        with self.transaction() as s:
            removed = s.execute(delete(ProductMapping).where(
                ProductMapping.provider == provider, ProductMapping.sku == sku,
                ProductMapping.term == term))
            count = int(removed.rowcount)  # type: ignore[attr-defined]
            if count:
                self.audit(s, "mapping.remove", f"sku:{provider}:{sku}", term=term)
            return bool(count)

    def ignore_rules(self, provider: str | None = None) -> Sequence[IgnoreRule]:
        with self.transaction() as s:
            query = select(IgnoreRule).order_by(IgnoreRule.provider, IgnoreRule.kind,
                                                IgnoreRule.object_id)
            if provider is not None:
                query = query.where(IgnoreRule.provider == provider)
            return s.scalars(query).all()

    def add_ignore_rule(self, rule: IgnoreRule) -> None:
        """Insert the rule, replacing an earlier one for the same object (a new reason)."""
        with self.transaction() as s:
            s.execute(delete(IgnoreRule).where(
                IgnoreRule.provider == rule.provider, IgnoreRule.kind == rule.kind,
                IgnoreRule.object_id == rule.object_id))
            rule.created_at = utcnow()
            s.add(rule)
            self.audit(s, "ignore.add", f"{rule.kind}:{rule.provider}:{rule.object_id}",
                       reason=rule.reason)

    def remove_ignore_rule(self, provider: str, kind: str, object_id: str) -> bool:
        with self.transaction() as s:
            removed = s.execute(delete(IgnoreRule).where(
                IgnoreRule.provider == provider, IgnoreRule.kind == kind,
                IgnoreRule.object_id == object_id))
            count = int(removed.rowcount)  # type: ignore[attr-defined]
            if count:
                self.audit(s, "ignore.remove", f"{kind}:{provider}:{object_id}")
            return bool(count)

    def scratch_copy(self, url: str) -> Store:
        """A new store at ``url`` holding this one's links, price sources, journal, mappings
        and ignore rules (not the audit log, not the locks).

        A dry run of a bulk link runs the real linking functions on it, so every rule is
        applied exactly as it would be, and nothing in this store changes.
        """
        other = Store(url)
        copied = (CompanyLink, SubscriptionLink, ResourceLink, PriceSourceSetting, JournalEntry,
                  ProductMapping, IgnoreRule)
        with self.engine.connect() as source, other.engine.begin() as target:
            for model in copied:
                table = Base.metadata.tables[model.__tablename__]
                rows = [dict(row._mapping) for row in source.execute(select(table))]
                if rows:
                    target.execute(insert(table), rows)
        return other

    # -- the web console's users -------------------------------------------------------------

    def user(self, name: str) -> User | None:
        with self.transaction() as s:
            return s.scalar(select(User).where(User.name == name))

    def users(self) -> Sequence[User]:
        with self.transaction() as s:
            return s.scalars(select(User).order_by(User.name)).all()

    def add_user(self, user: User) -> None:
        """Insert a user (audited, without the hash); a second user of one name is refused."""
        user.created_at = user.updated_at = utcnow()
        try:
            with self.transaction() as s:
                s.add(user)
                self.audit(s, "user.add", f"user:{user.name}", role=user.role)
        except IntegrityError:
            if self.user(user.name) is None:
                raise  # not the name: another constraint (the role) refused it
            from idsync_core.errors import RefusedError

            raise RefusedError(f"a user named {user.name!r} exists already",
                               hint="choose another name, or `idsync user passwd` to change "
                                    "its password") from None

    def update_user(self, name: str, *, role: str | None = None,
                    password_hash: str | None = None) -> bool:
        """Change a user's role or password hash (audited, without the hash)."""
        values: dict[str, Any] = {"updated_at": utcnow()}
        if role is not None:
            values["role"] = role
        if password_hash is not None:
            values["password_hash"] = password_hash
        with self.transaction() as s:
            done = s.execute(update(User).where(User.name == name).values(**values))
            count = int(done.rowcount)  # type: ignore[attr-defined]
            if count and (role is not None or password_hash is not None):
                self.audit(s, "user.role" if role is not None else "user.password",
                           f"user:{name}", **({"role": role} if role is not None else {}))
            return bool(count)

    def remove_user(self, name: str) -> bool:
        with self.transaction() as s:
            removed = s.execute(delete(User).where(User.name == name))
            count = int(removed.rowcount)  # type: ignore[attr-defined]
            if count:
                self.audit(s, "user.remove", f"user:{name}")
            return bool(count)

    # -- the review queue: dismissed changes -------------------------------------------------

    def dismiss(self, dismissal: ReviewDismissal) -> bool:
        """Record a dismissal (audited); False when that change was dismissed already."""
        dismissal.dismissed_by = self.who()
        dismissal.dismissed_at = utcnow()
        try:
            with self.transaction() as s:
                s.add(dismissal)
                s.flush()
                self.audit(s, "review.dismiss", f"journal:{dismissal.key}",
                           resource=dismissal.resource_id, delta=dismissal.delta,
                           from_quantity=dismissal.from_quantity,
                           effective_date=dismissal.effective_date)
        except IntegrityError:
            return False
        return True

    def dismissed_keys(self) -> set[str]:
        with self.transaction() as s:
            return set(s.scalars(select(ReviewDismissal.key)).all())

    def dismissals(self, limit: int = 100) -> Sequence[ReviewDismissal]:
        with self.transaction() as s:
            return s.scalars(select(ReviewDismissal).order_by(ReviewDismissal.id.desc())
                             .limit(limit)).all()
