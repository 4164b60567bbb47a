"""Notifications through the CLI on the fake connectors: one message per run, to a webhook on
loopback, and a delivery that fails never changes the run's exit code."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from idsync_fakes.webhook import Webhook, webhook
from idsync_fakes.world import World


@pytest.fixture
def hook() -> Iterator[Webhook]:
    with webhook() as found:
        yield found


def notify_to(monkeypatch: pytest.MonkeyPatch, *urls: str, on: list[str] | None = None) -> None:
    monkeypatch.setenv("IDSYNC_NOTIFY__URLS", json.dumps(list(urls)))
    if on is not None:
        monkeypatch.setenv("IDSYNC_NOTIFY__ON", json.dumps(on))


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_failing_run_sends_one_message_naming_what_failed_and_why(
        idsync: Any, linked: World, hook: Webhook, monkeypatch: pytest.MonkeyPatch) -> None:
    assert idsync("link", "resource", "S-1:CFQ7TTC0LCHC", "813").exit_code == 0
    notify_to(monkeypatch, hook.url())
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "10")
    linked.set_provider_quantity("S-1:CFQ7TTC0LCHC", "4")
    linked.edit_psa(fail_next_post="reject")
    assert idsync("sync", "--yes").exit_code == 7
    [message] = hook.received  # one per run, not one per link
    assert message["type"] == "failure"
    assert "1 failed" in message["title"]
    body = message["message"]
    assert "posted 1, unchanged 0, failed 1, waiting 0, skipped 0" in body
    assert "Contoso Ltd (account A-100, PSA company 250)" in body  # the customer
    assert "(resource S-1:CFQ7TTC0LH16)" in body or "(resource S-1:CFQ7TTC0LCHC)" in body
    assert "fake PSA: the catalog item is not allowed on this agreement" in body  # the PSA said
    assert "idsync retry" in body


def test_a_clean_run_sends_nothing_by_default_and_a_summary_when_asked(
        idsync: Any, linked: World, hook: Webhook, monkeypatch: pytest.MonkeyPatch) -> None:
    notify_to(monkeypatch, hook.url())
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "9")
    assert idsync("sync", "--yes").exit_code == 0
    assert hook.received == []  # on = ["failure", "unknown"] by default
    notify_to(monkeypatch, hook.url(), on=["summary"])
    assert idsync("sync", "--yes").exit_code == 0
    [message] = hook.received
    assert message["type"] == "success" and "posted 0, unchanged 1" in message["message"]


def test_drift_and_revenue_found_are_reported_when_asked(
        idsync: Any, linked: World, hook: Webhook, monkeypatch: pytest.MonkeyPatch) -> None:
    notify_to(monkeypatch, hook.url(), on=["drift", "revenue_found"])
    postings = linked.psa()["postings"] + [{  # a seat added by hand in the PSA
        "id": "99", "agreement_id": "871", "catalog_item_id": "812", "delta": "1",
        "effective_date": "2026-11-20", "unit_price": "4.80", "unit_cost": "4.00"}]
    linked.edit_psa(postings=postings)
    assert idsync("sync", "--yes").exit_code == 0
    [message] = hook.received
    assert message["type"] == "warning"
    body = message["message"]
    assert "Changed in the PSA by hand (drift) (1):" in body
    assert "IDSync left the line at 8, the PSA showed 9" in body
    assert "Revenue found: not linked, not billed (1):" in body
    assert "S-1:CFQ7TTC0LCHC" in body  # Business Premium is on the subscription, not linked


def test_a_run_that_cannot_run_is_notified(
        idsync: Any, linked: World, hook: Webhook, monkeypatch: pytest.MonkeyPatch) -> None:
    notify_to(monkeypatch, hook.url())
    monkeypatch.setenv("IDSYNC_PSA__STATE_FILEE", "typo")  # the PSA connection cannot open
    result = idsync("sync", "--yes")
    assert result.exit_code == 3
    [message] = hook.received
    assert message["type"] == "failure" and "could not run" in message["title"]
    assert "[psa] state_filee: unknown setting" in message["message"]
    assert idsync("status").exit_code == 3  # it never ran: no run completed


def test_an_undeliverable_notification_changes_no_exit_code_and_hides_its_secret(
        idsync: Any, linked: World, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s3cr3t-webhook-password"
    notify_to(monkeypatch, f"json://idsync:{secret}@127.0.0.1:{closed_port()}/notify",
              on=["summary"])
    assert idsync("sync", "--yes").exit_code == 0  # clean, and still clean
    linked.set_provider_quantity("S-1:CFQ7TTC0LH16", "10")
    linked.edit_psa(fail_next_post="reject")
    failing = idsync("sync", "--yes")
    assert failing.exit_code == 7  # what the run says, not what the delivery did
    assert "was not delivered" in failing.stderr and "the run goes on" in failing.stderr
    assert secret not in failing.stderr + failing.stdout
    assert "json://idsync:****@127.0.0.1" in failing.stderr  # the URL, as apprise masks it


def test_a_url_apprise_cannot_read_is_reported_without_its_text(
        idsync: Any, linked: World, monkeypatch: pytest.MonkeyPatch) -> None:
    notify_to(monkeypatch, "nosuchservice://token-abcdef@somewhere", on=["summary"])
    result = idsync("sync", "--yes")
    assert result.exit_code == 0
    assert "[notify] urls #1 (nosuchservice://…) is not a URL apprise can send to" in \
        result.stderr
    assert "token-abcdef" not in result.stderr


def test_notify_test_sends_one_message_and_fails_when_it_cannot(
        idsync: Any, world: World, hook: Webhook, monkeypatch: pytest.MonkeyPatch) -> None:
    assert idsync("notify", "test").exit_code == 3  # nothing configured
    notify_to(monkeypatch, hook.url())
    sent = idsync("notify", "test")
    assert sent.exit_code == 0 and "sent: json://idsync:****@127.0.0.1" in sent.stdout
    [message] = hook.received
    assert message["title"] == "IDSync test notification"
    notify_to(monkeypatch, hook.url(), f"json://127.0.0.1:{closed_port()}/x")
    partly = idsync("notify", "test")
    assert partly.exit_code == 6 and "1 of 2 notification(s) could not be delivered" in \
        partly.stderr
    assert len(hook.received) == 2


def test_a_dry_run_is_neither_recorded_nor_notified(
        idsync: Any, linked: World, hook: Webhook, monkeypatch: pytest.MonkeyPatch) -> None:
    notify_to(monkeypatch, hook.url(), on=["summary"])
    assert idsync("sync", "--dry-run").exit_code == 0
    assert hook.received == []
    assert idsync("status").exit_code == 3  # no run completed


def test_link_accept_is_a_run_too(idsync: Any, world: World, hook: Webhook,
                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    notify_to(monkeypatch, hook.url(), on=["summary"])
    suggestions = tmp_path / "onboarding.csv"
    assert idsync("suggest", "--out", str(suggestions)).exit_code == 0
    assert idsync("link", "--accept", str(suggestions), "--yes").exit_code in (0, 7)
    [message] = hook.received
    assert message["title"].startswith("IDSync link on ")
    assert idsync("status", "--json").json()["last_run"]["command"] == "link"


def test_every_secret_of_the_configuration_is_masked_in_a_message() -> None:
    from idsync_core.engine import notify
    from idsync_core.engine.runtime import Runtime
    from idsync_core.settings import IdsyncSettings

    settings = IdsyncSettings(
        psa={"plugin": "connectwise", "site": "https://api-na.myconnectwise.net",
             "company_id": "acme", "public_key": "pub", "private_key": "pk-very-secret",
             "client_id": "1b2c3d4e-0000-0000-0000-000000000000"},
        providers={"ingram": {"plugin": "odin", "base_url": "https://api.cloud.im/marketplace/us",
                              "marketplace": "us", "username": "api-user",
                              "password": "ingram-password"}})
    secrets = notify.connector_secrets(Runtime(settings))
    assert secrets == {"pk-very-secret", "ingram-password"}  # not the public key, not the user
    said = "the PSA said: key pk-very-secret refused (user api-user)"
    assert notify.redact(said, secrets) == "the PSA said: key *** refused (user api-user)"
    assert notify.url_secrets("json://idsync:hook-pass@127.0.0.1:8080/notify",
                              "json://idsync:****@127.0.0.1:8080/notify?method=POST") == {
        "hook-pass"}
    assert "tok-abcdef" in notify.url_secrets("nosuch://tok-abcdef@host", None)
