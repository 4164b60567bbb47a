"""The web console in a real browser — Debian's chromium driven by Playwright — against the
simulators: log in, the seed story, the below-cost dialog, approving one change and the rest in
bulk, retrying a failure, and a viewer who cannot approve. Each test waits for what the page
shows, never for a fixed time.

Screenshots of every page are taken on the way: into the test's folder, or, with
``IDSYNC_SCREENSHOTS=docs/screenshots``, into that folder (how the README's are made).

Without ``/usr/bin/chromium`` (``apt-get install -y chromium``) the tests skip, saying so — but
not in CI (``CI`` set), where ``.ci/run`` installs it and a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from idsync_core.engine.sync import sync_all
from idsync_core.simulation import Fault, ServerThread
from idsync_fakes.console import PASSWORDS, Harness, console_for
from idsync_fakes.simulated import TODAY, SimulatedTenant, simulated_tenant

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]
"""The launch flags of the machine notes: no call home (this machine's network is closed)."""

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install -y chromium)",
                    pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium); the browser "
                "tests need Debian's chromium", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    wanted = os.environ.get("IDSYNC_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Console:
    """The console served on loopback over a simulated tenant, and a browser page on it."""

    def __init__(self, tenant: SimulatedTenant, harness: Harness, url: str, page: Page,
                 shots: Path) -> None:
        self.tenant, self.harness, self.url, self.page, self.shots = (tenant, harness, url,
                                                                      page, shots)

    def go(self, path: str) -> None:
        self.page.goto(self.url + path)

    def log_in(self, role: str) -> None:
        self.go("/")
        expect(self.page).to_have_url(re.compile(r"/login"))
        self.page.get_by_label("User name").fill(role)
        self.page.get_by_label("Password").fill(PASSWORDS[role])
        self.page.get_by_role("button", name="Log in").click()
        expect(self.page.get_by_role("heading", name="Dashboard")).to_be_visible()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=self.shots / f"{name}.png", full_page=True)

    def choose(self, label: str, option: str | re.Pattern[str]) -> None:
        """Pick an option by its text; the page re-renders with the choice (autosubmit)."""
        select = self.page.get_by_label(label, exact=True)
        value = select.locator("option").filter(has_text=option).first.get_attribute("value")
        assert value, f"no {option!r} in {label}"
        with self.page.expect_navigation():
            select.select_option(value)

    def steps_to_exchange_online(self) -> None:
        """Steps 1 to 4 of Creating the Relationship for Contoso Ltd's Exchange Online."""
        self.go("/link")
        self.page.get_by_label("Search customers by name").fill("Contoso")
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Search").click()
        self.choose("Customer", "Contoso Ltd")
        expect(self.page.locator(".chosen").first).to_contain_text("Contoso Ltd")
        self.choose("PSA company", "Contoso Ltd")
        self.choose("Subscription", "Contoso - Microsoft 365")
        self.choose("Contract (agreement)", re.compile(r"Microsoft 365"))
        self.choose("Resource", "Exchange Online (Plan 1)")
        expect(self.page.get_by_label("PSA product")).to_contain_text("Exchange Online")

    def psa_lines(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Each linked resource's PSA quantity (today, next period), read from the PSA."""
        return {link.resource_id: self.tenant.psa_quantities(link)
                for link in self.harness.store.active_resource_links()}


@pytest.fixture
def console(browser: Browser, tmp_path: Path, shots: Path,
            monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Console]:
    monkeypatch.setenv("IDSYNC_TODAY", TODAY)
    psa = getattr(request, "param", "connectwise")
    with simulated_tenant(psa, tmp_path) as tenant, console_for(tenant) as harness, \
            ServerThread(harness.app) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        try:
            yield Console(tenant, harness, server.url, page, shots)
        finally:
            context.close()
        assert errors == [], errors  # no script error, no CSP violation


@pytest.mark.parametrize("console", ["connectwise", "autotask"], indirect=True)
def test_log_in_and_link_contoso_exchange_online_posts_8(console: Console) -> None:
    page = console.page
    console.go("/")
    expect(page).to_have_url(re.compile(r"/login"))
    psa = console.tenant.psa_plugin
    if psa == "connectwise":
        console.shot("login")
    console.log_in("operator")
    console.steps_to_exchange_online()
    if psa == "connectwise":
        console.shot("link")
    page.get_by_role("button", name="Preview (dry run)").click()
    preview = page.locator("section.result")
    expect(preview).to_contain_text("addition of 8 would be posted")
    assert console.harness.store.active_resource_links() == []
    page.get_by_role("button", name="Set Relation").click()
    result = page.locator("section.result")
    expect(result).to_contain_text("Relation set")
    expect(result).to_contain_text("8 × Exchange Online (Plan 1) at ingram, 0 in")
    expect(result).to_contain_text(f"addition of 8 posted, effective {TODAY}, 4.80 / 4.00")
    if psa == "connectwise":
        console.shot("link-result")
    assert console.psa_lines() == {"1000177:CFQ7TTC0LH16": (Decimal(8), Decimal(8))}


def test_the_below_cost_dialog_cancel_changes_nothing_confirm_stores(console: Console) -> None:
    page = console.page
    console.log_in("operator")
    console.steps_to_exchange_online()
    page.get_by_label("Price source").select_option("custom")
    page.get_by_label("Custom price").fill("4.80")
    page.get_by_label("Custom cost").fill("3.00")
    page.get_by_role("button", name="Set Relation").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("custom cost 3.00 is below the PSA cost 4.00")
    assert page.evaluate("document.querySelector('dialog').matches(':modal')")
    console.shot("link-below-cost-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Cancelled: nothing was stored.")).to_be_visible()
    assert console.harness.store.active_resource_links() == []
    assert console.harness.store.active_company_links() == []
    page.get_by_role("button", name="Set Relation").click()
    page.get_by_role("dialog").get_by_role("button", name="Confirm and set relation").click()
    expect(page.locator("section.result")).to_contain_text("Relation set")
    [link] = console.harness.store.active_resource_links()
    setting = console.harness.store.price_source("link", str(link.id))
    assert setting is not None and (setting.price, setting.cost) == (Decimal("4.80"),
                                                                     Decimal("3.00"))


def move_provider(console: Console, changes: dict[str, int]) -> None:
    for resource_id, quantity in changes.items():
        subscription, sku = resource_id.split(":")
        console.tenant.set_provider_quantity(subscription, sku, quantity)


def movable(console: Console) -> dict[str, Decimal]:
    """Linked resources whose seats can move at the provider (not on a terminated
    subscription), with their PSA quantity today."""
    keys = console.tenant.resource_keys()
    ids = {link.id: link.resource_id for link in console.harness.store.active_resource_links()}
    lines = console.psa_lines()
    return {ids[link]: lines[ids[link]][0] for link, key in keys.items() if key is not None}


def test_approve_one_row_then_bulk_approve_the_rest(console: Console) -> None:
    page = console.page
    console.tenant.link_everything()
    wanted = {rid: int(today) + 3 for rid, today in movable(console).items()}
    assert len(wanted) >= 2
    move_provider(console, wanted)
    console.log_in("operator")
    console.go("/review")
    rows = page.locator("table.queue tbody tr[data-key]")
    expect(rows).to_have_count(len(wanted))
    console.shot("review")
    first = rows.first
    key = first.get_attribute("data-key")
    first.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash.ok").first).to_contain_text("posted")
    expect(page.locator(f'tr[data-key="{key}"]')).to_have_count(0)
    expect(rows).to_have_count(len(wanted) - 1)
    page.get_by_label("select all").check()
    for box in page.locator('input[name="item"]').all():
        expect(box).to_be_checked()
    page.get_by_role("button", name="Approve selected").click()
    expect(page.get_by_text("Nothing waits for review")).to_be_visible()
    lines = console.psa_lines()
    assert {rid: lines[rid][0] for rid in wanted} == {rid: Decimal(q) for rid, q in
                                                       wanted.items()}
    posted = [e for e in console.harness.store.journal_entries() if e.origin == "approve"]
    assert len(posted) == len(wanted) and {e.status.value for e in posted} == {"posted"}


def test_retry_a_failed_posting_from_the_log(console: Console) -> None:
    page = console.page
    console.tenant.link_everything()
    resource_id, today = next(iter(movable(console).items()))
    move_provider(console, {resource_id: int(today) + 1})
    writes = "/additions" if console.tenant.psa_plugin == "connectwise" else "Adjustments"
    console.tenant.psa_sim.controls.faults.add(Fault(
        status=400, method="POST", path_contains=writes, times=1,
        body='{"code": "InvalidObject", "message": "the PSA refused it (scripted)"}'))
    summary = sync_all(console.harness.runtime())
    assert summary.counts()["failed"] == 1
    console.log_in("operator")
    console.go("/")
    expect(page.locator(".card").filter(has_text="Open failures")).to_contain_text("1")
    console.shot("dashboard")
    console.go("/log?status=not-through")
    expect(page.locator("table.log")).to_contain_text("failed")
    console.shot("log")
    page.get_by_role("button", name="Retry", exact=True).click()
    expect(page.locator(".flash.ok")).to_contain_text("Retried: posted 1")
    assert console.psa_lines()[resource_id][0] == today + 1
    assert console.harness.store.journal_entries(["failed"]) == []  # type: ignore[list-item]


def test_a_viewer_cannot_approve(console: Console) -> None:
    page = console.page
    console.tenant.link_everything()
    resource_id, today = next(iter(movable(console).items()))
    move_provider(console, {resource_id: int(today) + 2})
    console.log_in("viewer")
    console.go("/review")
    row = page.locator("table.queue tbody tr[data-key]")
    expect(row).to_have_count(1)
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.locator('input[name="item"]')).to_have_count(0)
    key = row.get_attribute("data-key")
    link = console.harness.store.active_resource_links()
    link_id = next(x.id for x in link if x.resource_id == resource_id)
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    forged: Any = page.request.post(console.url + "/review/approve", form={
        "csrf_token": token or "", "one": f"{link_id}:{key}"})
    assert forged.status == 403 and "your role (viewer) may not do this" in forged.text()
    assert console.psa_lines()[resource_id][0] == today


def test_onboarding_links_the_accepted_suggestions_then_the_other_pages(
        console: Console) -> None:
    """The suggestions linked in bulk from the page; the screenshots of links and users."""
    page = console.page
    console.log_in("admin")
    console.go("/onboarding")
    expect(page.get_by_role("heading", name="Onboarding", exact=True)).to_be_visible()
    accepted = page.locator('input[type="checkbox"][name$="-accepted"]:checked')
    expect(accepted.first).to_be_visible()
    console.shot("onboarding")
    page.get_by_role("button", name="Preview (dry run)").click()
    expect(page.locator("section.result")).to_contain_text("nothing stored, nothing posted")
    assert console.harness.store.active_company_links() == []
    page.get_by_role("button", name="Link accepted rows").click()
    result = page.locator("section.result")
    expect(result).to_contain_text("Linked")
    assert console.harness.store.active_resource_links()
    assert not [o for o in result.locator("tr.bad").all()]
    for path, heading in (("/links", "Links"), ("/users", "Users")):
        console.go(path)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        console.shot(path.strip("/"))
