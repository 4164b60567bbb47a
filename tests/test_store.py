"""The store on SQLite and PostgreSQL: migrations, exact money, link rules, journal, locks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, StatementError

from idsync_core.errors import LockBusyError, RefusedError
from idsync_core.journal import JournalStatus
from idsync_core.store import (
    CompanyLink,
    IgnoreRule,
    JournalEntry,
    PriceSourceSetting,
    ProductMapping,
    ResourceLink,
    Store,
    SubscriptionLink,
)
from idsync_core.store.migrate import alembic_config, current_revision, head_revision

POSTGRES = os.environ.get("IDSYNC_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on SQLite and (in CI) PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'deep' / 'dir' / 'idsync.db'}"
        return
    if not POSTGRES:
        pytest.skip("set IDSYNC_TEST_POSTGRES_URL to a PostgreSQL URL (.ci/run does)")
    name = f"idsync_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store(database_url)
    yield s
    s.close()


def company(store: Store, account: str = "A-1") -> CompanyLink:
    link = CompanyLink(provider="ingram", account_id=account, psa_company_id="250")
    store.add_link(link)
    return link


def subscription(store: Store, parent: CompanyLink, sub: str = "S-1") -> SubscriptionLink:
    link = SubscriptionLink(company_link_id=parent.id, provider="ingram", subscription_id=sub,
                            agreement_id="871")
    store.add_link(link)
    return link


def resource(store: Store, parent: SubscriptionLink, res: str = "R-1",
             item: str = "812") -> ResourceLink:
    link = ResourceLink(subscription_link_id=parent.id, provider="ingram", resource_id=res,
                        agreement_id=parent.agreement_id, catalog_item_id=item)
    store.add_link(link)
    return link


def test_schema_is_versioned_and_reopening_is_a_no_op(store: Store) -> None:
    head = head_revision(store.engine)
    assert head is not None and current_revision(store.engine) == head
    Store(store.url).close()  # a second open migrates nothing and keeps the data
    assert current_revision(store.engine) == head


def test_a_store_of_the_first_schema_is_upgraded_in_place_with_its_data(
        database_url: str) -> None:
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    engine = create_engine(database_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(text(
            "INSERT INTO company_links (id, provider, account_id, account_name, "
            "psa_company_id, psa_company_name, created_at) VALUES "
            "(1, 'ingram', 'A-1', 'Contoso', '250', 'Contoso Ltd', '2026-11-01 10:00:00')"))
        connection.execute(text(
            "INSERT INTO subscription_links (id, company_link_id, provider, subscription_id, "
            "subscription_name, agreement_id, agreement_name, created_at) VALUES "
            "(1, 1, 'ingram', 'S-1', 'M365', '871', 'Contoso M365', '2026-11-01 10:00:00')"))
        connection.execute(text(
            "INSERT INTO resource_links (id, subscription_link_id, provider, resource_id, "
            "resource_name, agreement_id, catalog_item_id, catalog_item_name, last_quantity, "
            "created_at) VALUES (1, 1, 'ingram', 'S-1:X', 'Exchange', '871', '812', "
            "'Exchange Online', '8', '2026-11-01 10:00:00')"))
        connection.execute(text(
            "INSERT INTO journal (id, key, resource_link_id, origin, provider, account_id, "
            "subscription_id, resource_id, psa_company_id, agreement_id, catalog_item_id, "
            "from_quantity, delta, target_quantity, effective_date, unit_price, unit_cost, "
            "status, request, attempts, created_at, updated_at) VALUES (1, 'k-0001-old', 1, "
            "'link', 'ingram', 'A-1', 'S-1', 'S-1:X', '250', '871', '812', '0', '8', '8', "
            "'2026-11-01', '4.80', '4.00', 'posted', '{}', 1, '2026-11-01 10:00:00', "
            "'2026-11-01 10:00:00')"))
        for number, status in enumerate(("pending", "failed", "unknown", "superseded"), 2):
            connection.execute(text(
                "INSERT INTO journal (id, key, resource_link_id, origin, provider, resource_id, "
                "account_id, subscription_id, psa_company_id, agreement_id, catalog_item_id, "
                "from_quantity, delta, target_quantity, effective_date, status, request, "
                "attempts, created_at, updated_at) VALUES (:id, :key, 1, 'sync', 'ingram', "
                "'S-1:X', 'A-1', 'S-1', '250', '871', '812', '8', '1', '9', '2026-11-02', "
                ":status, '{}', 1, '2026-11-02 10:00:00', '2026-11-02 10:00:00')"),
                {"id": number, "key": f"k-0001-{status}", "status": status})
    engine.dispose()
    upgraded = Store(database_url)
    try:
        assert current_revision(upgraded.engine) == head_revision(upgraded.engine)
        entry = upgraded.journal_entry("k-0001-old")
        assert entry is not None and entry.status == "posted" and entry.compensates is None
        assert (entry.delta, entry.unit_price) == (Decimal(8), Decimal("4.80"))
        link = upgraded.resource_link("ingram", "S-1:X")
        assert link is not None and link.last_quantity == Decimal(8)
        assert {e.key: e.status for e in upgraded.journal_entries()} == {
            "k-0001-old": JournalStatus.POSTED, "k-0001-pending": JournalStatus.PENDING,
            "k-0001-failed": JournalStatus.FAILED, "k-0001-unknown": JournalStatus.UNKNOWN,
            "k-0001-superseded": JournalStatus.SUPERSEDED}
        with pytest.raises(IntegrityError, match="ck_journal_status"), \
                upgraded.engine.begin() as connection:  # the upgrade added the CHECK
            connection.execute(text("UPDATE journal SET status = 'done' WHERE id = 1"))
    finally:
        upgraded.close()


def test_the_database_refuses_a_journal_status_idsync_does_not_know(store: Store) -> None:
    link = resource(store, subscription(store, company(store)))
    store.journal_begin(JournalEntry(
        key="k1", resource_link_id=link.id, origin="sync", provider="ingram", resource_id="R-1",
        agreement_id="871", catalog_item_id="812", from_quantity=Decimal(0), delta=Decimal(1),
        target_quantity=Decimal(1), effective_date=date(2026, 11, 25), request="{}"))
    for status in JournalStatus:
        store.journal_finish("k1", status)
        entry = store.journal_entry("k1")
        assert entry is not None and entry.status is status
    with pytest.raises(IntegrityError, match="ck_journal_status"), \
            store.engine.begin() as connection:
        connection.execute(text("UPDATE journal SET status = 'Posted' WHERE key = 'k1'"))


def test_one_active_link_per_provider_object_and_unlink_keeps_history(store: Store) -> None:
    first = company(store)
    with pytest.raises(RefusedError, match="already linked"):
        company(store)
    store.remove_link(first)
    assert store.company_link("ingram", "A-1") is None
    again = company(store)  # relinking after an unlink is allowed
    assert again.id != first.id
    removed = store.company_link_by_id(first.id)
    assert removed is not None and removed.removed_at is not None
    actions = [e.action for e in store.audit_entries()]
    assert actions.count("link.company") == 2 and "unlink.company" in actions


def test_two_resources_on_one_agreement_line_are_refused(store: Store) -> None:
    sub = subscription(store, company(store))
    resource(store, sub, "R-1")
    with pytest.raises(RefusedError):
        resource(store, sub, "R-2")  # same agreement 871, same catalog item 812
    resource(store, sub, "R-2", item="813")


def test_money_round_trips_exactly(store: Store) -> None:
    price = Decimal("26.400000000000001")
    store.set_price_source(PriceSourceSetting(scope="company", scope_id="250", kind="custom",
                                              price=price, cost=Decimal("0.1")))
    setting = store.price_source("company", "250")
    assert setting is not None and setting.price == price and setting.cost == Decimal("0.1")
    with pytest.raises(StatementError, match="expected Decimal"):
        store.set_price_source(PriceSourceSetting(scope="company", scope_id="251",
                                                  kind="custom", price=1.1, cost=None))


def test_journal_pending_then_outcome_and_retry_reuses_the_key(store: Store) -> None:
    link = resource(store, subscription(store, company(store)))

    def intent() -> JournalEntry:
        return JournalEntry(key="k1", resource_link_id=link.id, origin="link",
                            provider="ingram", resource_id="R-1", agreement_id="871",
                            catalog_item_id="812", from_quantity=Decimal(0), delta=Decimal(8),
                            target_quantity=Decimal(8), effective_date=date(2026, 11, 25),
                            request="{}")

    store.journal_begin(intent())
    entry = store.journal_entry("k1")
    assert entry is not None and entry.status == "pending" and entry.attempts == 1
    store.journal_finish("k1", "failed", error="PSA said no")
    store.journal_begin(intent())
    entry = store.journal_entry("k1")
    assert entry is not None and (entry.status, entry.attempts) == ("pending", 2)
    store.journal_finish("k1", "posted", psa_record_id="3589")
    assert store.posted_count(link.id) == 1
    assert [e.key for e in store.journal_entries(["posted"])] == ["k1"]


def test_lock_is_exclusive_and_released(store: Store) -> None:
    other = Store(store.url)
    with store.lock("sync"), pytest.raises(LockBusyError, match="holds the 'sync' lock"), \
            other.lock("sync"):
        pass
    other.close()
    with store.lock("sync"):
        pass


def test_a_lock_left_by_a_dead_process_is_taken_over(store: Store) -> None:
    from idsync_core.store import RunLock, utcnow

    with store.transaction() as s:  # a run killed with -9 never released its lock
        s.add(RunLock(name="sync", holder=f"{store.actor}:999999999", acquired_at=utcnow(),
                      expires_at=utcnow().replace(year=2100)))
    with store.lock("sync"):
        pass


def test_active_links_come_by_company_and_agreement_a_batch_at_a_time(store: Store) -> None:
    """What a sync reads its links with: every active one, each company's and within it each
    agreement's together."""
    contoso = company(store)
    fabrikam = CompanyLink(provider="ingram", account_id="A-2", psa_company_id="249")
    store.add_link(fabrikam)
    subs = [subscription(store, contoso, "S-1"), SubscriptionLink(
        company_link_id=contoso.id, provider="ingram", subscription_id="S-2", agreement_id="870"),
        SubscriptionLink(company_link_id=fabrikam.id, provider="ingram", subscription_id="S-3",
                         agreement_id="999")]
    store.add_link(subs[1])
    store.add_link(subs[2])
    made = [resource(store, subs[n % 3], f"R-{n}", item=str(800 + n)) for n in range(7)]
    store.remove_link(made[3])
    by_company = {subs[0].id: "250", subs[1].id: "250", subs[2].id: "249"}
    expected = [link.id for link in sorted(
        (link for link in made if link is not made[3]),
        key=lambda link: (by_company[link.subscription_link_id], link.agreement_id, link.id))]
    assert [made[n].agreement_id for n in (2, 5)] == ["999", "999"]  # Fabrikam's come first
    for batch in (1, 2, 3, 500):  # batch edges inside and between agreements and companies
        assert [link.id for link in store.iter_active_resource_links(batch=batch)] == expected
    assert expected[:2] == [made[2].id, made[5].id]
    assert store.active_resource_link_count() == 6
    assert store.active_catalog_item_ids() == ["800", "801", "802", "804", "805", "806"]


def test_run_snapshot_reads_every_link_in_a_few_queries(store: Store) -> None:
    link = resource(store, subscription(store, company(store)))
    store.set_price_source(PriceSourceSetting(scope="link", scope_id=str(link.id),
                                              kind="markup", markup_percent=Decimal("12.5")))
    for key, status in (("a", "posted"), ("b", "posted"), ("c", "failed"), ("d", "pending")):
        store.journal_begin(JournalEntry(
            key=key, resource_link_id=link.id, origin="sync", provider="ingram",
            resource_id="R-1", agreement_id="871", catalog_item_id="812",
            from_quantity=Decimal(0), delta=Decimal(1), target_quantity=Decimal(1),
            effective_date=date(2026, 11, 25), request="{}"))
        if status != "pending":
            store.journal_finish(key, status)
    snapshot = store.run_snapshot()
    assert snapshot.subscription_links[link.subscription_link_id].agreement_id == "871"
    setting = snapshot.price_source("link", str(link.id))
    assert setting is not None and setting.markup_percent == Decimal("12.5")
    pending = store.journal_entry("d")
    assert pending is not None
    assert snapshot.posted[link.id] == 2
    assert snapshot.unsettled[link.id].replace(tzinfo=None) == \
        pending.updated_at.replace(tzinfo=None)  # waiting since its attempt
    assert snapshot.failed == {link.id}


# -- onboarding: product mappings and ignore rules --------------------------------------------

def test_a_store_of_the_first_schema_is_upgraded_in_place(tmp_path: Path) -> None:
    from alembic import command

    from idsync_core.store.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    config = alembic_config(old)
    with old.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with old.begin() as connection:
        connection.execute(text("INSERT INTO company_links (provider, account_id, account_name, "
                                "psa_company_id, psa_company_name, created_at) VALUES "
                                "('ingram', 'A-1', '', '250', '', '2026-01-01')"))
    old.dispose()
    store = Store(url)
    assert current_revision(store.engine) == head_revision(store.engine)
    assert [c.account_id for c in store.active_company_links()] == ["A-1"]
    assert store.product_mappings() == [] and store.ignore_rules() == []
    store.close()


def test_one_mapping_per_sku_and_term_replaced_and_removed_with_audit(store: Store) -> None:
    store.set_product_mapping(ProductMapping(provider="ingram", sku="CFQ7TTC0LH16", term="",
                                             catalog_item_id="812"))
    store.set_product_mapping(ProductMapping(provider="ingram", sku="CFQ7TTC0LH16", term="1y",
                                             catalog_item_id="815", price_kind="custom",
                                             price=Decimal("4.10"), cost=Decimal("3.70")))
    store.set_product_mapping(ProductMapping(provider="ingram", sku="CFQ7TTC0LH16", term="",
                                             catalog_item_id="813"))  # replaces the first
    rows = {(m.sku, m.term): m for m in store.product_mappings("ingram")}
    assert {k: m.catalog_item_id for k, m in rows.items()} == {
        ("CFQ7TTC0LH16", ""): "813", ("CFQ7TTC0LH16", "1y"): "815"}
    assert rows[("CFQ7TTC0LH16", "1y")].price == Decimal("4.10")
    assert store.remove_product_mapping("ingram", "CFQ7TTC0LH16", "1y")
    assert not store.remove_product_mapping("ingram", "CFQ7TTC0LH16", "1y")
    assert store.product_mappings("other") == []
    actions = [e.action for e in store.audit_entries()]
    assert actions.count("mapping.set") == 3 and actions.count("mapping.remove") == 1


def test_ignore_rules_keep_their_reason_and_are_audited(store: Store) -> None:
    store.add_ignore_rule(IgnoreRule(provider="ingram", kind="account", object_id="A-9",
                                     reason="internal tenant"))
    store.add_ignore_rule(IgnoreRule(provider="ingram", kind="account", object_id="A-9",
                                     reason="our own tenant"))
    store.add_ignore_rule(IgnoreRule(provider="ingram", kind="sku", object_id="TRIAL-1"))
    assert [(r.kind, r.object_id, r.reason) for r in store.ignore_rules()] == [
        ("account", "A-9", "our own tenant"), ("sku", "TRIAL-1", "")]
    assert store.remove_ignore_rule("ingram", "sku", "TRIAL-1")
    assert not store.remove_ignore_rule("ingram", "sku", "TRIAL-1")
    actions = [e.action for e in store.audit_entries()]
    assert actions.count("ignore.add") == 3 and "ignore.remove" in actions


def test_a_scratch_copy_holds_the_links_and_leaves_the_store_alone(store: Store,
                                                                    tmp_path: Path) -> None:
    link = resource(store, subscription(store, company(store)))
    store.set_product_mapping(ProductMapping(provider="ingram", sku="X", term="",
                                             catalog_item_id="812", price=Decimal("1.10")))
    copy = store.scratch_copy(f"sqlite:///{tmp_path / 'scratch.db'}")
    assert [r.resource_id for r in copy.active_resource_links()] == [link.resource_id]
    assert copy.product_mappings()[0].price == Decimal("1.10")
    copy.add_link(CompanyLink(provider="ingram", account_id="A-2", psa_company_id="251"))
    copy.close()
    assert [c.account_id for c in store.active_company_links()] == ["A-1"]


# -- runs and the audit trail -------------------------------------------------------------------

def test_runs_are_kept_and_the_last_completed_one_found(store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    from idsync_core.store import Run

    start = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    for minutes, outcome in ((0, "clean"), (60, "failures"), (120, "error")):
        store.record_run(Run(command="sync", actor="ops@host", origin="cli",
                             started_at=start + timedelta(minutes=minutes),
                             finished_at=start + timedelta(minutes=minutes + 1),
                             outcome=outcome, posted=1, unchanged=2, failed=0, waiting=0,
                             skipped=0, error="credentials refused" if outcome == "error"
                             else None))
    last = store.last_run()
    assert last is not None and (last.outcome, last.error) == ("error", "credentials refused")
    completed = store.last_run(completed=True)
    assert completed is not None and completed.outcome == "failures"


def test_the_audit_trail_reads_oldest_first_with_its_origin(store: Store) -> None:
    from datetime import timedelta

    from idsync_core.store import acting_as, utcnow

    company(store, "A-1")
    with acting_as("web:alice"):
        company(store, "A-2")
    store.add_ignore_rule(IgnoreRule(provider="ingram", kind="sku", object_id="X",
                                     reason="by hand"))
    entries = store.audit_entries()
    assert [(e.action, e.origin) for e in entries] == [
        ("link.company", "cli"), ("link.company", "web:alice"), ("ignore.add", "cli")]
    assert store.audit_entries(since=utcnow() + timedelta(minutes=1)) == []
    assert [e.action for e in store.audit_entries(limit=1)] == ["ignore.add"]


def test_journal_counts_by_status(store: Store) -> None:
    link = resource(store, subscription(store, company(store)))
    for key, status in (("k-0000001", JournalStatus.FAILED), ("k-0000002", JournalStatus.FAILED),
                        ("k-0000003", JournalStatus.UNKNOWN)):
        store.journal_begin(JournalEntry(
            key=key, resource_link_id=link.id, origin="sync", provider="ingram",
            resource_id=link.resource_id, agreement_id="871", catalog_item_id="812",
            from_quantity=Decimal(0), delta=Decimal(1), target_quantity=Decimal(1),
            effective_date=date(2026, 11, 25), request="{}"))
        store.journal_finish(key, status)
    counts = store.journal_counts()
    assert (counts[JournalStatus.FAILED], counts[JournalStatus.UNKNOWN],
            counts[JournalStatus.POSTED]) == (2, 1, 0)
    origins = {e.origin for e in store.audit_entries() if e.action.startswith("adjustment.")}
    assert origins == {"sync"}  # a posting is audited with its run's origin


def test_users_and_dismissals_are_kept_and_audited_under_the_acting_person(
        store: Store) -> None:
    from idsync_core.store import ReviewDismissal, User, acting_as

    store.add_user(User(name="ann", role="operator", password_hash="$argon2id$x"))
    with pytest.raises(RefusedError, match="exists already"):
        store.add_user(User(name="ann", role="viewer", password_hash="$argon2id$y"))
    with pytest.raises(IntegrityError):  # the database itself refuses an unknown role
        store.add_user(User(name="bob", role="owner", password_hash="h"))
    assert store.update_user("ann", role="admin") and not store.update_user("zed", role="admin")
    link = resource(store, subscription(store, company(store)))
    with acting_as("web:ann"):
        first = store.dismiss(ReviewDismissal(key="k1", resource_link_id=link.id,
                                              resource_id="R-1", from_quantity=Decimal(3),
                                              delta=Decimal(-2), effective_date=date(2026, 12, 1)))
        again = store.dismiss(ReviewDismissal(key="k1", resource_link_id=link.id,
                                              resource_id="R-1", from_quantity=Decimal(3),
                                              delta=Decimal(-2), effective_date=date(2026, 12, 1)))
    assert (first, again) == (True, False) and store.dismissed_keys() == {"k1"}
    [dismissal] = store.dismissals()
    assert dismissal.dismissed_by == "web:ann" and dismissal.delta == Decimal(-2)
    assert store.remove_user("ann") and store.users() == []
    origins = {e.action: e.origin for e in store.audit_entries()}
    assert origins["review.dismiss"] == "web:ann" and origins["user.add"] == "cli"
    assert "$argon2id$" not in " ".join(e.details for e in store.audit_entries())


def test_the_lock_holder_and_the_log_filters(store: Store) -> None:
    assert store.lock_holder("sync") is None
    with store.lock("sync"):
        holder = store.lock_holder("sync")
        assert holder is not None and holder.holder.startswith(store.actor)
    assert store.lock_holder("sync") is None
    link = resource(store, subscription(store, company(store)))
    for key, company_id in (("a", "250"), ("b", "251")):
        store.journal_begin(JournalEntry(
            key=key, resource_link_id=link.id, origin="sync", provider="ingram",
            account_id=f"A-{company_id}", resource_id="R-1", psa_company_id=company_id,
            agreement_id="871", catalog_item_id="812", from_quantity=Decimal(0),
            delta=Decimal(1), target_quantity=Decimal(1), effective_date=date(2026, 11, 25),
            request="{}"))
    store.journal_finish("a", JournalStatus.POSTED)
    assert [e.key for e in store.journal_entries(company="250")] == ["a"]
    assert [e.key for e in store.journal_entries(company="A-251")] == ["b"]
    assert [e.key for e in store.journal_entries([JournalStatus.PENDING])] == ["b"]
    today = date.today()
    assert len(store.journal_entries(since=today, until=today)) == 2
    assert store.journal_entries(until=date(2000, 1, 1)) == []
