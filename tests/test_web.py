"""The web console over HTTP, against the simulators: every route refuses a visitor without a
session and a state change without its CSRF token, each role is held to its limits, bad input
is answered next to its field, and no page says a secret of the configuration.

The console runs in-process (Starlette's test client); the simulators on loopback.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from idsync_core.settings import WebSettings
from idsync_core.web import throttle
from idsync_fakes.console import PASSWORDS, Harness, console_for, log_in, token_in
from idsync_fakes.simulated import TODAY, SimulatedTenant, simulated_tenant

pytestmark = pytest.mark.e2e

CONTOSO, EXCHANGE_SUB = "1000275", "1000177"
PAGES = ["/", "/link", "/review", "/links", "/log", "/log.csv", "/onboarding", "/users"]
POSTS = {  # route → the least role that may use it
    "/link": "operator", "/review/approve": "operator", "/review/dismiss": "operator",
    "/links/unlink": "operator", "/log/retry": "operator", "/onboarding": "operator",
    "/links/price-source": "admin", "/links/price-source/clear": "admin",
    "/users/add": "admin", "/users/remove": "admin", "/users/password": "admin",
    "/users/role": "admin",
}
RANK = {"viewer": 0, "operator": 1, "admin": 2}


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatedTenant]:
    monkeypatch.setenv("IDSYNC_TODAY", TODAY)
    with simulated_tenant("connectwise", tmp_path) as simulated:
        yield simulated


@pytest.fixture
def harness(tenant: SimulatedTenant) -> Iterator[Harness]:
    with console_for(tenant) as found:
        yield found


def client_of(harness: Harness) -> TestClient:
    return TestClient(harness.app, base_url="http://127.0.0.1")


@pytest.fixture
def client(harness: Harness) -> TestClient:
    return client_of(harness)


def secrets_of(tenant: SimulatedTenant) -> list[str]:
    """Every secret value of the tenant's configuration."""
    text = tenant.config.read_text()
    found = re.findall(r'^(?:private_key|password|subscription_key|secret|client_secret)'
                       r'\s*=\s*"([^"]+)"', text, flags=re.M)
    assert found, text
    return found


def visible_text(page: str) -> str:
    """The page's words as a person reads them: no tags, one space between words."""
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))
    return re.sub(r" ([,.;:])", r"\1", text)


def errors_of(page: str) -> dict[str, str]:
    """The message shown next to each field (by the field's name)."""
    return {name: html.unescape(text) for name, text in
            re.findall(r'class="field-error" id="([a-z0-9_]+)-error">([^<]*)<', page)}


def link_form(token: str, **changes: str) -> dict[str, str]:
    """Contoso's Exchange Online onto its Microsoft 365 agreement, by the form's fields."""
    return {"csrf_token": token, "provider": "ingram", "account": CONTOSO,
            "subscription": EXCHANGE_SUB, **changes}


def chosen(client: TestClient, **query: str) -> dict[str, str]:
    """Walk the steps by query as a browser would, and read the ids the page offers."""
    page = client.get("/link", params={"provider": "ingram", "account": CONTOSO,
                                       "subscription": EXCHANGE_SUB, **query}).text
    def option(select: str, text: str) -> str:
        block = re.search(rf'<select id="{select}".*?</select>', page, flags=re.S)
        assert block, f"no {select} on the page"
        found = re.search(rf'<option value="([^"]+)"[^>]*>[^<]*{text}', block.group(0))
        assert found, f"no {text!r} among the {select} options"
        return found.group(1)
    values = {"company": option("company", "Contoso")}
    page = client.get("/link", params={"provider": "ingram", "account": CONTOSO,
                                       "subscription": EXCHANGE_SUB, **values, **query}).text
    values["agreement"] = option("agreement", "365")
    values["resource"] = option("resource", "Exchange Online")
    return values


# -- sessions, CSRF, roles ---------------------------------------------------------------------

@pytest.mark.parametrize("path", PAGES)
def test_a_visitor_without_a_session_is_sent_to_login_and_sees_no_data(
        client: TestClient, path: str) -> None:
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")
    assert "Contoso" not in answer.text and "csrf_token" not in answer.text


@pytest.mark.parametrize("path", sorted(POSTS))
def test_a_state_change_without_a_session_is_refused(client: TestClient, path: str) -> None:
    answer = client.post(path, data={"csrf_token": "x"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"


def test_static_files_and_the_login_page_need_no_session(client: TestClient) -> None:
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/login").status_code == 200


@pytest.mark.parametrize("path", sorted(POSTS))
def test_every_state_change_needs_the_sessions_csrf_token(harness: Harness,
                                                          path: str) -> None:
    client = client_of(harness)
    log_in(client, "admin")
    for data in ({}, {"csrf_token": "forged"}):
        answer = client.post(path, data={**data, "name": "viewer", "level": "company",
                                         "id": CONTOSO, "confirmed": "yes"},
                             follow_redirects=False)
        assert answer.status_code == 403, path
        assert "security token" in answer.text
    assert harness.store.user("viewer") is not None  # /users/remove did nothing
    assert [e.action for e in harness.store.audit_entries()
            if not e.action.startswith("web.")] == [
        "user.add", "user.add", "user.add"]  # only the harness's users: nothing changed


def test_the_login_form_needs_its_own_token(client: TestClient) -> None:
    answer = client.post("/login", data={"username": "admin",
                                         "password": PASSWORDS["admin"]},
                         follow_redirects=False)
    assert answer.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303  # not logged in


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_each_role_is_held_to_its_limits(harness: Harness, role: str) -> None:
    client = client_of(harness)
    token = log_in(client, role)
    for path in PAGES:
        answer = client.get(path)
        allowed = path != "/users" or role == "admin"
        assert answer.status_code == (200 if allowed else 403), (role, path)
    for path, least in POSTS.items():
        answer = client.post(path, data={"csrf_token": token}, follow_redirects=False)
        if RANK[role] < RANK[least]:
            assert answer.status_code == 403, (role, path)
            assert f"your role ({role}) may not do this" in answer.text
        else:
            assert answer.status_code != 403, (role, path)


def one_change_waiting(harness: Harness, tenant: SimulatedTenant, role: str,
                       seats: int) -> tuple[TestClient, str, str]:
    """Everything linked, Contoso's Exchange Online moved to ``seats`` at the provider, and a
    client logged in as ``role``: (client, CSRF token, the review page)."""
    tenant.link_everything()
    tenant.set_provider_quantity(EXCHANGE_SUB, "CFQ7TTC0LH16", seats)
    client = client_of(harness)
    token = log_in(client, role)
    return client, token, client.get("/review").text


def test_a_viewer_sees_the_queue_but_no_approve_button_and_cannot_approve(
        harness: Harness, tenant: SimulatedTenant) -> None:
    client, token, page = one_change_waiting(harness, tenant, "viewer", 10)
    [item] = re.findall(r'data-key="([0-9a-f]+)"', page)
    assert "Approve" not in page
    link_id = harness.store.active_resource_links()[0].id
    answer = client.post("/review/approve", data={"csrf_token": token,
                                                  "one": f"{link_id}:{item}"})
    assert answer.status_code == 403
    assert "Exchange Online" in client.get("/review").text  # still waiting


def test_the_session_cookie_is_httponly_and_strict_and_logout_ends_it(
        client: TestClient) -> None:
    form = client.get("/login")
    answer = client.post("/login", data={"username": "viewer",
                                         "password": PASSWORDS["viewer"],
                                         "csrf_token": token_in(form.text)},
                         follow_redirects=False)
    cookie = answer.headers["set-cookie"]
    assert "idsync_session=" in cookie and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain HTTP on loopback
    stolen = client.cookies.get("idsync_session")
    token = token_in(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token},
                       follow_redirects=False).headers["location"] == "/login"
    again = client_of_cookie(client, stolen)
    assert again.get("/", follow_redirects=False).status_code == 303  # over on the server too


def client_of_cookie(client: TestClient, cookie: str | None) -> TestClient:
    other = TestClient(client.app, base_url="http://127.0.0.1")
    if cookie:
        other.cookies.set("idsync_session", cookie)
    return other


@pytest.mark.parametrize("how", ["tls", "proxy"])
def test_the_cookie_is_secure_under_tls_or_behind_a_tls_proxy(tenant: SimulatedTenant,
                                                                how: str) -> None:
    changes = {"web": WebSettings(behind_proxy=True)} if how == "proxy" else None
    with console_for(tenant, tls=how == "tls", settings_changes=changes) as harness:
        client = client_of(harness)
        form = client.get("/login")
        assert "secure" in form.headers["set-cookie"].lower()
        answer = client.post("/login", data={"username": "viewer",
                                             "password": PASSWORDS["viewer"],
                                             "csrf_token": token_in(form.text)},
                             follow_redirects=False)
        assert "secure" in answer.headers["set-cookie"].lower()
        if how == "tls":
            assert "max-age" in answer.headers["strict-transport-security"]


def test_a_session_ends_after_the_idle_timeout(harness: Harness) -> None:
    client = client_of(harness)
    log_in(client, "viewer")
    idle = harness.console.settings.web.session_idle.total_seconds()
    harness.clock.advance(idle - 1)
    assert client.get("/", follow_redirects=False).status_code == 200  # used: timer restarts
    harness.clock.advance(idle - 1)
    assert client.get("/", follow_redirects=False).status_code == 200
    harness.clock.advance(idle + 1)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_removed_user_is_logged_out_at_the_next_request(harness: Harness) -> None:
    viewer = client_of(harness)
    log_in(viewer, "viewer")
    admin = client_of(harness)
    token = log_in(admin, "admin")
    assert admin.post("/users/remove", data={"csrf_token": token, "name": "viewer"}).status_code \
        == 200
    assert viewer.get("/", follow_redirects=False).status_code == 303


def attempt(client: TestClient, name: str, password: str) -> Any:
    form = client.get("/login")
    return client.post("/login", data={"username": name, "password": password,
                                       "csrf_token": token_in(form.text)},
                       follow_redirects=False)


def test_failed_logins_are_slowed_then_locked_per_user(harness: Harness) -> None:
    client = client_of(harness)
    for _ in range(throttle.FREE):
        assert attempt(client, "admin", "wrong").status_code == 401
    slowed = attempt(client, "admin", PASSWORDS["admin"])  # right, but too soon
    assert slowed.status_code == 429 and "wait 1 s" in slowed.text
    harness.clock.advance(1)
    assert attempt(client, "admin", "wrong").status_code == 401
    assert "wait 2 s" in attempt(client, "admin", "wrong").text  # 2 s, then 4 s …
    harness.clock.advance(2)
    assert attempt(client, "admin", "wrong").status_code == 401
    assert "wait 4 s" in attempt(client, "admin", "wrong").text
    for _ in range(throttle.LOCK_AFTER - throttle.FREE - 2):
        harness.clock.advance(throttle.MAX_DELAY)
        attempt(client, "admin", "wrong")
    harness.clock.advance(throttle.MAX_DELAY)
    locked = attempt(client, "admin", PASSWORDS["admin"])
    assert locked.status_code == 429 and "locked after too many failed logins" in locked.text
    other = client_of(harness)  # another user from the same address is slowed too
    assert attempt(other, "viewer", PASSWORDS["viewer"]).status_code == 429
    harness.clock.advance(throttle.LOCK_SECONDS + 1)
    assert attempt(client, "admin", PASSWORDS["admin"]).status_code == 303
    audit = [e.action for e in harness.store.audit_entries(limit=50)]
    assert audit.count("web.login-failed") == throttle.LOCK_AFTER and "web.login" in audit


def test_many_names_from_one_address_are_slowed_too(harness: Harness) -> None:
    client = client_of(harness)
    for n in range(throttle.FREE):
        assert attempt(client, f"guess{n}", "wrong").status_code == 401
    assert attempt(client, "someone-else", "wrong").status_code == 429


def test_a_wrong_name_and_a_wrong_password_read_the_same(client: TestClient) -> None:
    nobody = attempt(client, "nobody", "whatever it is")
    wrong = attempt(client, "admin", "whatever it is")
    assert nobody.status_code == wrong.status_code == 401
    assert "wrong user name or password" in nobody.text and "wrong user name or password" in \
        wrong.text


def test_login_goes_back_to_the_page_asked_for_but_never_elsewhere(client: TestClient) -> None:
    assert client.get("/review", follow_redirects=False).headers["location"] == \
        "/login?next=/review"
    form = client.get("/login?next=//evil.example/")
    answer = client.post("/login", data={"username": "viewer",
                                         "password": PASSWORDS["viewer"], "next": "//evil.example/",
                                         "csrf_token": token_in(form.text)},
                         follow_redirects=False)
    assert answer.headers["location"] == "/"


def test_other_host_names_are_refused(client: TestClient) -> None:
    """A loopback console answers loopback names only (no DNS rebinding)."""
    assert client.get("/login", headers={"host": "evil.example"}).status_code == 400


# -- headers and secrets -----------------------------------------------------------------------

def test_every_answer_carries_the_security_headers_and_no_page_has_inline_script(
        harness: Harness, tenant: SimulatedTenant) -> None:
    tenant.link_everything()
    client = client_of(harness)
    answers = [client.get("/login"), client.get("/static/app.js")]
    log_in(client, "admin")
    answers += [client.get(path) for path in PAGES]
    for answer in answers:
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-content-type-options"] == "nosniff"
        if answer.headers["content-type"].startswith("text/html"):
            assert answer.headers["cache-control"] == "no-store"
            assert not re.search(r"<script(?![^>]*\bsrc=)", answer.text), answer.url
            assert not re.search(r"\son[a-z]+=|\sstyle=", answer.text), answer.url


def test_no_page_error_or_log_line_says_a_secret(harness: Harness, tenant: SimulatedTenant,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tenant.link_everything()
    client = client_of(harness)
    token = log_in(client, "admin")
    seen = [client.get(path).text for path in PAGES]
    seen += [client.get("/link", params={"account": "no-such"}).text,
             client.post("/link", data={"csrf_token": token, "action": "link"}).text,
             client.post("/links/price-source", data={"csrf_token": token, "scope": "company",
                                                      "target": "99999", "kind": "catalog"}).text,
             client.get("/log?since=yesterday").text]
    tenant.psa_sim.controls.log.clear()
    everything = "\n".join(seen) + caplog.text
    for secret in secrets_of(tenant):
        assert secret not in everything


# -- the pages ---------------------------------------------------------------------------------

def test_the_dashboard_shows_health_runs_failures_and_the_lock_holder(
        harness: Harness, tenant: SimulatedTenant) -> None:
    tenant.link_everything()
    client = client_of(harness)
    log_in(client, "viewer")
    page = client.get("/").text
    assert "connectwise" in page and "No run is active." in page
    rt = harness.runtime()
    from idsync_core.engine.runs import recorded
    from idsync_core.engine.sync import sync_all
    recorded(rt, "sync", lambda: sync_all(rt))  # as `idsync sync` runs it
    with rt.store.lock("sync"):
        page = client.get("/").text
    assert "A run is active" in page and rt.store.actor in page
    assert re.search(r"<td>sync</td>", page)


@pytest.mark.parametrize("psa", ["connectwise", "autotask"])
def test_the_seed_story_over_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  psa: str) -> None:
    """Link Contoso Ltd's Exchange Online: the one-time reconciliation posts +8."""
    monkeypatch.setenv("IDSYNC_TODAY", TODAY)
    with simulated_tenant(psa, tmp_path) as tenant, console_for(tenant) as harness:
        client = client_of(harness)
        token = log_in(client, "operator")
        found = chosen(client)
        page = client.get("/link", params={"provider": "ingram", "account": CONTOSO,
                                           "subscription": EXCHANGE_SUB, **found}).text
        products = re.search(r'<select id="item".*?</select>', page, flags=re.S)
        assert products  # the likely product preselected
        item = re.search(r'<option value="([^"]+)" selected>Exchange Online \(Plan 1\)',
                         products.group(0))
        assert item
        preview = client.post("/link", data=link_form(token, **found, item=item.group(1),
                                                      action="preview"))
        assert preview.status_code == 200 and "would be posted" in preview.text
        assert harness.store.active_resource_links() == []
        done = client.post("/link", data=link_form(token, **found, item=item.group(1),
                                                   action="link"))
        assert done.status_code == 200, done.text
        text = visible_text(done.text)
        assert "8 × Exchange Online (Plan 1) at ingram, 0 in" in text
        assert re.search(rf"addition of 8 posted, effective {TODAY}, 4\.80 / 4\.00", text)
        assert [e.origin for e in harness.store.audit_entries(limit=30)
                if e.action == "link.resource"] == ["web:operator"]


def test_a_custom_cost_below_the_psa_cost_needs_the_dialog_before_anything_is_stored(
        harness: Harness, client: TestClient) -> None:
    token = log_in(client, "operator")
    found = chosen(client)
    below = link_form(token, **found, action="link", kind="custom", price="4.80", cost="3.00")
    asked = client.post("/link", data=below)
    assert asked.status_code == 200
    assert "<dialog" in asked.text and "custom cost 3.00 is below the PSA cost 4.00" in asked.text
    assert harness.store.active_resource_links() == []
    cancelled = client.post("/link", data={**below, "action": "cancel"})
    assert "Cancelled: nothing was stored." in cancelled.text
    assert harness.store.active_resource_links() == []
    confirmed = client.post("/link", data={**below, "action": "confirm"})
    assert "Relation set" in confirmed.text
    [link] = harness.store.active_resource_links()
    setting = harness.store.price_source("link", str(link.id))
    assert setting is not None and str(setting.cost) == "3.00"


def test_setting_a_relation_while_a_sync_runs_links_and_says_the_line_waits(
        harness: Harness, client: TestClient) -> None:
    token = log_in(client, "operator")
    found = chosen(client)
    with harness.runtime().store.lock("sync"):
        answer = client.post("/link", data=link_form(token, **found, action="link"))
    assert answer.status_code == 409
    assert "Linked, but not reconciled yet: a sync is running" in visible_text(answer.text)
    assert len(harness.store.active_resource_links()) == 1
    assert harness.store.journal_entries() == []


def test_form_errors_are_shown_next_to_their_fields(harness: Harness,
                                                    client: TestClient) -> None:
    token = log_in(client, "operator")
    found = chosen(client)
    missing = client.post("/link", data=link_form(token, action="link"))
    assert missing.status_code == 400
    assert errors_of(missing.text) == {"company": "choose the PSA company",
                                       "agreement": "choose the agreement",
                                       "resource": "choose the resource"}
    bad = client.post("/link", data=link_form(token, **found, action="link", kind="custom",
                                              price="abc", cost=""))
    assert bad.status_code == 400
    assert errors_of(bad.text) == {"price": "'abc' is not a number"}
    markup = client.post("/link", data=link_form(token, **found, action="link",
                                                 kind="markup"))
    assert errors_of(markup.text) == {"markup": "the markup price source needs markup"}
    dates = client.get("/log?since=2026-13-01")
    assert dates.status_code == 400
    assert errors_of(dates.text) == {"since": "'2026-13-01' is not a date (YYYY-MM-DD)"}
    assert harness.store.active_resource_links() == []


def test_unknown_ids_and_refusals_show_the_engines_message(harness: Harness,
                                                          client: TestClient) -> None:
    token = log_in(client, "admin")
    unknown = client.get("/link", params={"provider": "ingram", "account": "999"})
    assert "account 999 does not exist at ingram" in unknown.text
    expired = chosen(client, show_expired="1")
    page = client.get("/link", params={"provider": "ingram", "account": CONTOSO,
                                       "subscription": EXCHANGE_SUB, "show_expired": "1",
                                       "company": expired["company"]}).text
    old = re.findall(r'<option value="([^"]+)"[^>]*>[^<]*(?:20\d\d|[Ee]xpired|[Oo]ld)', page)
    refusal = client.post("/link", data=link_form(token, company=expired["company"],
                                                  agreement="999999",
                                                  resource=expired["resource"],
                                                  item="1", action="link"))
    assert refusal.status_code == 409
    assert "agreement 999999 does not belong to PSA company" in refusal.text
    assert "Traceback" not in refusal.text and old is not None
    unlink = client.post("/links/unlink", data={"csrf_token": token, "level": "resource",
                                                "id": "nope", "provider": "ingram",
                                                "confirmed": "yes"})
    assert "no active resource link for nope at ingram" in unlink.text
    price = client.post("/links/price-source", data={"csrf_token": token, "scope": "company",
                                                     "target": "99999", "kind": "catalog"})
    assert price.status_code == 409
    assert errors_of(price.text)["target"].startswith("PSA company 99999 does not exist")
    assert harness.store.price_sources() == []


def test_review_approves_one_change_once_and_says_when_a_sync_is_running(
        harness: Harness, tenant: SimulatedTenant) -> None:
    client, token, page = one_change_waiting(harness, tenant, "operator", 11)
    rows = dict(re.findall(r'name="one" value="(\d+:([0-9a-f]+))"', page))
    assert rows
    item = next(iter(rows))
    rt = harness.runtime()
    with rt.store.lock("sync"):
        busy = client.post("/review/approve", data={"csrf_token": token, "one": item})
    assert "a sync is running; try again in a minute" in busy.text
    assert item.split(":")[1] in client.get("/review").text  # still waiting
    posted = client.post("/review/approve", data={"csrf_token": token, "one": item})
    assert "posted" in posted.text
    again = client.post("/review/approve", data={"csrf_token": token, "one": item})
    assert "posted already" in again.text
    journal = [e for e in harness.store.journal_entries() if e.key == item.split(":")[1]]
    assert [e.status.value for e in journal] == ["posted"]
    bad = client.post("/review/approve", data={"csrf_token": token, "item": "garbage"})
    assert "not one; nothing was done" in bad.text


def test_a_dismissed_change_leaves_the_queue(harness: Harness, tenant: SimulatedTenant) -> None:
    client, token, page = one_change_waiting(harness, tenant, "operator", 11)
    item = re.findall(r'name="item" value="(\d+:[0-9a-f]+)"', page)[0]
    page = client.post("/review/dismiss", data={"csrf_token": token, "item": item}).text
    assert "dismissed" in page and item not in page and "1 hidden now" in page
    assert [e.origin for e in harness.store.audit_entries()
            if e.action == "review.dismiss"] == ["web:operator"]


def test_the_log_filters_retries_and_downloads_csv(harness: Harness,
                                                   tenant: SimulatedTenant) -> None:
    tenant.link_everything()
    client = client_of(harness)
    token = log_in(client, "operator")
    everything = client.get("/log").text
    assert "posted" in everything
    other = client.get("/log", params={"company": "no-such-company"}).text
    assert "no entry matches" in other
    assert "failed" not in client.get("/log?status=failed").text.split("<tbody>")[1]
    csv = client.get("/log.csv", params={"status": "posted"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    header, *lines = csv.text.splitlines()
    assert header.startswith("updated_at,status,origin") and lines
    assert all(",posted," in line for line in lines)
    retried = client.post("/log/retry", data={"csrf_token": token})
    assert "The failure log is empty" in retried.text


def test_onboarding_previews_and_links_the_accepted_rows(harness: Harness) -> None:
    client = client_of(harness)
    token = log_in(client, "operator")
    page = client.get("/onboarding").text
    count = int(re.search(r'name="rows" value="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert count > 0
    form: dict[str, list[str]] = {"csrf_token": [token], "rows": [str(count)]}
    fields = r'<input (?:type="hidden" )?name="(r\d+-[a-z_]+)" value="([^"]*)"'
    for name, value in re.findall(fields, page):
        form.setdefault(name, []).append(value)
    for name in re.findall(r'name="(r\d+-accepted)" value="yes"[^>]*checked', page):
        form[name].append("yes")
    preview = client.post("/onboarding", data={**form, "action": ["preview"]})
    assert preview.status_code == 200 and "would link" in preview.text
    assert harness.store.active_company_links() == []
    linked = client.post("/onboarding", data={**form, "action": ["link"]})
    assert "Linked" in linked.text and harness.store.active_company_links()
    broken = {**form, "r0-accepted": ["no", "yes"], "r0-target_id": [""], "action": ["link"]}
    refused = client.post("/onboarding", data=broken)
    assert refused.status_code == 400 and "is accepted but has no target_id" in refused.text


def test_users_are_managed_by_admins_with_errors_next_to_their_fields(
        harness: Harness, client: TestClient) -> None:
    token = log_in(client, "admin")
    bad = client.post("/users/add", data={"csrf_token": token, "name": "two words",
                                          "role": "owner", "password": "short",
                                          "password2": "other"})
    assert bad.status_code == 400
    for field, said in (("name", "is not a user name"), ("role", "is not a role"),
                        ("password", "at least 10 characters"),
                        ("password2", "the two passwords differ")):
        assert said in errors_of(bad.text)[field], field
    good = client.post("/users/add", data={"csrf_token": token, "name": "zoe",
                                           "role": "operator", "password": "a good passphrase",
                                           "password2": "a good passphrase"})
    assert "Added user zoe (operator)." in good.text
    assert "a good passphrase" not in good.text
    assert harness.store.user("zoe") is not None
    changed = client.post("/users/role", data={"csrf_token": token, "name": "zoe",
                                               "role": "viewer"})
    assert "zoe is now viewer." in changed.text
