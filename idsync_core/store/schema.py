"""The tables IDSync keeps: links, price sources, the adjustment journal, the audit log, locks.

Links are never deleted: unlinking stamps ``removed_at``, so the history of what was billed under
which link survives. Uniqueness ("one link per provider object") holds among *active* rows only,
through partial unique indexes that SQLite and PostgreSQL both support.

Money and quantities are stored as decimal *text* (:class:`DecimalText`): SQLite has no exact
decimal type and would round-trip them through binary floats.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from idsync_core.journal import JournalStatus


class DecimalText(TypeDecorator[Decimal]):
    """A ``Decimal`` stored as its exact string form."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"expected Decimal, got {type(value).__name__}")
        return str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


ACTIVE = text("removed_at IS NULL")


class Base(DeclarativeBase):
    pass


class CompanyLink(Base):
    """Provider customer account ↔ PSA company."""

    __tablename__ = "company_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[str] = mapped_column(String(200))
    account_name: Mapped[str] = mapped_column(String(500), default="")
    psa_company_id: Mapped[str] = mapped_column(String(200))
    psa_company_name: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_company_links_active", "provider", "account_id", unique=True,
              sqlite_where=ACTIVE, postgresql_where=ACTIVE),
    )


class SubscriptionLink(Base):
    """Provider subscription ↔ PSA agreement (contract), under a company link."""

    __tablename__ = "subscription_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_link_id: Mapped[int] = mapped_column(ForeignKey("company_links.id"))
    provider: Mapped[str] = mapped_column(String(100))
    subscription_id: Mapped[str] = mapped_column(String(200))
    subscription_name: Mapped[str] = mapped_column(String(500), default="")
    agreement_id: Mapped[str] = mapped_column(String(200))
    agreement_name: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_subscription_links_active", "provider", "subscription_id", unique=True,
              sqlite_where=ACTIVE, postgresql_where=ACTIVE),
    )


class ResourceLink(Base):
    """Provider resource ↔ PSA catalog product on the linked agreement.

    ``last_quantity`` is the PSA quantity IDSync left the line at (after its last posting or
    check), used only to *report* hand-made changes (drift); postings always re-read the PSA.
    """

    __tablename__ = "resource_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_link_id: Mapped[int] = mapped_column(ForeignKey("subscription_links.id"))
    provider: Mapped[str] = mapped_column(String(100))
    resource_id: Mapped[str] = mapped_column(String(200))
    resource_name: Mapped[str] = mapped_column(String(500), default="")
    agreement_id: Mapped[str] = mapped_column(String(200))
    catalog_item_id: Mapped[str] = mapped_column(String(200))
    catalog_item_name: Mapped[str] = mapped_column(String(500), default="")
    last_quantity: Mapped[Decimal | None] = mapped_column(DecimalText)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_resource_links_active", "provider", "resource_id", unique=True,
              sqlite_where=ACTIVE, postgresql_where=ACTIVE),
        # Two resources billed onto one agreement line would fight over its quantity.
        Index("uq_resource_links_line", "agreement_id", "catalog_item_id", unique=True,
              sqlite_where=ACTIVE, postgresql_where=ACTIVE),
    )


class PriceSourceSetting(Base):
    """Where the price and cost of postings come from, for a company, an agreement or a link."""

    __tablename__ = "price_sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))  # company | agreement | link
    scope_id: Mapped[str] = mapped_column(String(200))
    # catalog | agreement | custom | provider | markup
    kind: Mapped[str] = mapped_column(String(20))
    price: Mapped[Decimal | None] = mapped_column(DecimalText)
    cost: Mapped[Decimal | None] = mapped_column(DecimalText)
    markup_percent: Mapped[Decimal | None] = mapped_column(DecimalText)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("uq_price_sources_scope", "scope", "scope_id", unique=True),)


class JournalEntry(Base):
    """One intended posting, written ``pending`` *before* the PSA is called.

    ``status``: a :class:`JournalStatus`, stored as its value; the database refuses any other
    (``ck_journal_status``, migration 0003).

    ``compensates``: set on a compensating change, the key of the change whose duplicate record
    it undid (a write that landed after it had been posted again).
    """

    __tablename__ = "journal"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    resource_link_id: Mapped[int] = mapped_column(ForeignKey("resource_links.id"))
    origin: Mapped[str] = mapped_column(String(20))  # link | sync | retry
    provider: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[str] = mapped_column(String(200), default="")
    subscription_id: Mapped[str] = mapped_column(String(200), default="")
    resource_id: Mapped[str] = mapped_column(String(200))
    psa_company_id: Mapped[str] = mapped_column(String(200), default="")
    agreement_id: Mapped[str] = mapped_column(String(200))
    catalog_item_id: Mapped[str] = mapped_column(String(200))
    from_quantity: Mapped[Decimal] = mapped_column(DecimalText)
    delta: Mapped[Decimal] = mapped_column(DecimalText)
    target_quantity: Mapped[Decimal] = mapped_column(DecimalText)
    effective_date: Mapped[date] = mapped_column(Date)
    unit_price: Mapped[Decimal | None] = mapped_column(DecimalText)
    unit_cost: Mapped[Decimal | None] = mapped_column(DecimalText)
    status: Mapped[JournalStatus] = mapped_column(
        Enum(JournalStatus, native_enum=False, create_constraint=False, length=20,
             values_callable=lambda statuses: [s.value for s in statuses]), index=True)
    request: Mapped[str] = mapped_column(Text)
    psa_record_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    compensates: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{s.value}'" for s in JournalStatus) + ")",
                        name="ck_journal_status"),
    )


class AuditEntry(Base):
    """Every change IDSync made or was asked to make: links, price sources, mappings, ignore
    rules, postings and compensations.

    ``actor``: who ran IDSync (user@host). ``origin``: what made the change — ``cli`` (a person
    at the command line), ``sync`` / ``retry`` / ``apply`` / ``link`` (a posting of that run,
    the journal's origin), ``web:USER`` (the web console); empty on entries older than
    migration 0005.
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(500))
    details: Mapped[str] = mapped_column(Text)


class Run(Base):
    """One finished ``sync``, ``retry``, ``apply`` or ``link --accept``: what ``idsync status``
    reports and a monitoring check reads.

    ``outcome``: ``clean`` (every link equal or posted), ``failures`` (some links failed or wait
    for an earlier posting's outcome), ``stopped`` (an API could not be reached, or a stop
    request came before every link was done) or ``error`` (the run could not start: refused
    credentials, a bad setting). ``error`` holds the message of the last two.
    """

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    command: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    posted: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    waiting: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class RunLock(Base):
    """A lock row: whoever inserted it runs; others wait or refuse."""

    __tablename__ = "run_locks"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# -- onboarding: product mappings and ignore rules -------------------------------------------


class ProductMapping(Base):
    """One decision per SKU: the provider's SKU bills as this PSA catalog item for every customer.

    ``term`` is the commitment term the mapping is for (``1m``, ``1y``; see
    :mod:`idsync_core.engine.onboarding.terms`), or empty for any term; a mapping for the
    subscription's own term wins over the any-term one, so an annual and a monthly Exchange
    Online can bill as two PSA products. The optional price source is the default that linking
    a resource through this mapping sets on the link.
    """

    __tablename__ = "product_mappings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(200))
    term: Mapped[str] = mapped_column(String(20), default="")
    catalog_item_id: Mapped[str] = mapped_column(String(200))
    catalog_item_name: Mapped[str] = mapped_column(String(500), default="")
    price_kind: Mapped[str | None] = mapped_column(String(20))
    price: Mapped[Decimal | None] = mapped_column(DecimalText)
    cost: Mapped[Decimal | None] = mapped_column(DecimalText)
    markup_percent: Mapped[Decimal | None] = mapped_column(DecimalText)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("uq_product_mappings_sku", "provider", "sku", "term", unique=True),)


class IgnoreRule(Base):
    """A provider object left out of suggestions and of the "revenue found" report, with why.

    kind: account | subscription | resource | sku (every resource with that SKU).
    """

    __tablename__ = "ignore_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("uq_ignore_rules_object", "provider", "kind", "object_id",
                            unique=True),)


# -- the web console's users and the review queue --------------------------------------------


class User(Base):
    """A person who may use the web console, with a role (viewer, operator, admin).

    ``password_hash`` is an Argon2id hash (argon2-cffi's encoded form, salt and parameters
    inside); the password itself is never stored, logged or shown.
    """

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("role IN ('viewer', 'operator', 'admin')",
                                      name="ck_users_role"),)


class ReviewDismissal(Base):
    """A planned change a person dismissed from the review queue.

    Keyed by the change's idempotency key, which is made of its numbers (link, effective date,
    quantity before and after, postings landed): the dismissal hides exactly that change, and a
    change with other numbers — the provider moved again — is a new key and shows again. A
    dismissed change is never posted by an unattended sync either. The figures are kept for the
    record (what was dismissed, by whom).
    """

    __tablename__ = "review_dismissals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    resource_link_id: Mapped[int] = mapped_column(ForeignKey("resource_links.id"))
    resource_id: Mapped[str] = mapped_column(String(200))
    from_quantity: Mapped[Decimal] = mapped_column(DecimalText)
    delta: Mapped[Decimal] = mapped_column(DecimalText)
    effective_date: Mapped[date] = mapped_column(Date)
    dismissed_by: Mapped[str] = mapped_column(String(200))
    dismissed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
