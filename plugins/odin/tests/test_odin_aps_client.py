"""Backend ``aps`` against respx: RQL, Content-Range paging, OAuth 1.0a, mapping rules."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from idsync_core.errors import ConfigurationError, NotFoundError
from idsync_core.http import RetryPolicy
from idsync_core.http.wiring import Wiring
from idsync_core.models import SubscriptionStatus
from idsync_odin.aps import rql
from idsync_odin.aps.auth import parse_authorization, signature_base_string
from idsync_odin.aps.backend import ApsBackend
from idsync_odin.aps.client import content_range
from idsync_odin.settings import OdinSettings

BASE = "https://portal.provider.example"
SECRET = "cs-Sup3r-secret"
ACCOUNT = "0c1f6a52-0000-4000-8000-000000000001"
OTHER = "0c1f6a52-0000-4000-8000-000000000002"
SUB = "5ab0c3d4-0000-4000-8000-000000000009"
ACCOUNTS_URL = f"{BASE}/aps/2/resources?implementing"


def make_backend(**overrides: Any) -> ApsBackend:
    values: dict[str, Any] = {"backend": "aps", "base_url": BASE, "consumer_key": "ck",
                              "consumer_secret": SECRET}
    settings = OdinSettings(**{**values, **overrides})
    return ApsBackend(settings, wiring=Wiring(retry=RetryPolicy(max_attempts=3),
                                              sleep=lambda s: None))


def listing(rows: list[Any], header: str | None) -> httpx.Response:
    return httpx.Response(200, json=rows, headers={"Content-Range": header} if header else {})


def account_row(n: int, name: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"aps": {"id": f"acc-{n}", "type": rql.ACCOUNT_TYPE},
                           "id": 1000 + n, "type": "CUSTOMER"}
    if name is not None:
        row["companyName"] = name
    return row


def sub_row(aps_id: str = SUB, owner: str = ACCOUNT, **fields: Any) -> dict[str, Any]:
    return {"aps": {"id": aps_id, "type": rql.SUBSCRIPTION_TYPE, "status": "aps:ready"},
            "subscriptionId": 1000177, "name": "Office 365", "disabled": False,
            "isTerminated": False, "account": {"aps": {"id": owner}}, **fields}


# -- wire pieces --------------------------------------------------------------------------

def test_rql_values_are_percent_encoded_but_types_stay_readable() -> None:
    assert rql.value("Contoso, Ltd (EU) & co=1;[x]!#'%") == (
        "Contoso%2C%20Ltd%20%28EU%29%20%26%20co%3D1%3B%5Bx%5D%21%23%27%25")
    assert rql.implementing(rql.ACCOUNT_TYPE) == (
        "implementing(http://parallels.com/aps/types/pa/account/1.2)")
    assert rql.query(rql.eq("account.aps.id", "a-1"), rql.select("account"),
                     rql.limit(500, 500)) == "eq(account.aps.id,a-1),select(account),limit(500,500)"


def test_signature_base_string_follows_rfc5849() -> None:
    # The worked example of RFC 5849 section 1.2 / OAuth Core 1.0 appendix A.5.1.
    url = httpx.URL("http://photos.example.net/photos?file=vacation.jpg&size=original")
    oauth = {"oauth_consumer_key": "dpf43f3p2l4k3l03", "oauth_token": "nnch734d00sl2jdk",
             "oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "1191242096",
             "oauth_nonce": "kllo9940pd9333jh", "oauth_version": "1.0"}
    assert signature_base_string("GET", url, oauth) == (
        "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key"
        "%3Ddpf43f3p2l4k3l03%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-"
        "SHA1%26oauth_timestamp%3D1191242096%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version"
        "%3D1.0%26size%3Doriginal")


def test_an_rql_query_is_one_parameter_without_value() -> None:
    url = httpx.URL("HTTPS://Portal.Example:443/aps/2/resources?implementing(http://t/1.2),"
                    "limit(0,2)")
    base = signature_base_string("get", url, {"oauth_nonce": "n"})
    assert base == ("GET&https%3A%2F%2Fportal.example%2Faps%2F2%2Fresources&implementing%2528"
                    "http%253A%252F%252Ft%252F1.2%2529%252Climit%25280%252C2%2529%3D%26"
                    "oauth_nonce%3Dn")
    assert signature_base_string("GET", httpx.URL("https://h:8443/x"), {}) == (
        "GET&https%3A%2F%2Fh%3A8443%2Fx&")


def test_content_range_forms() -> None:
    assert content_range("items 0-499/1200") == (500, 1200)
    assert content_range("items */0") == (0, 0)
    assert content_range("bytes 0-1/2") is None and content_range(None) is None


# -- auth ----------------------------------------------------------------------------------------

def test_requests_are_signed_with_oauth1() -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(url__startswith=ACCOUNTS_URL).mock(
            return_value=listing([account_row(1, "Contoso Ltd")], "items 0-0/1"))
        list(make_backend().accounts(None))
    request = route.calls.last.request
    oauth = parse_authorization(request.headers["Authorization"])
    assert oauth is not None
    assert oauth["oauth_consumer_key"] == "ck"
    assert oauth["oauth_signature_method"] == "HMAC-SHA1"
    assert oauth["oauth_version"] == "1.0" and oauth["oauth_nonce"] and oauth["oauth_signature"]
    assert SECRET not in request.headers["Authorization"]
    assert request.url.query.decode() == (
        "implementing(http://parallels.com/aps/types/pa/account/1.2),eq(type,CUSTOMER),"
        "limit(0,500)")


def test_aps_token_mode_sends_the_header() -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(url__startswith=ACCOUNTS_URL).mock(return_value=listing([], None))
        list(make_backend(consumer_key=None, consumer_secret=None,
                          aps_token="tok-Sup3r").accounts(None))
    assert route.calls.last.request.headers["APS-Token"] == "tok-Sup3r"
    assert "Authorization" not in route.calls.last.request.headers


def test_refused_credentials_are_a_configuration_error() -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(url__startswith=ACCOUNTS_URL).respond(
            401, json={"code": 401, "message": "OAuth: invalid signature"})
        with pytest.raises(ConfigurationError, match="invalid signature") as info:
            list(make_backend().accounts(None))
    assert "consumer_secret" in str(info.value) and SECRET not in str(info.value)


# -- paging --------------------------------------------------------------------------------------

def test_paging_follows_content_range() -> None:
    rows = [account_row(n, f"Customer {n}") for n in range(5)]
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(url__startswith=ACCOUNTS_URL).mock(side_effect=[
            listing(rows[0:2], "items 0-1/5"), listing(rows[2:4], "items 2-3/5"),
            listing(rows[4:5], "items 4-4/5")])
        found = list(make_backend(page_size=2).accounts(None))
    assert [a.name for a in found] == [f"Customer {n}" for n in range(5)]
    assert [c.request.url.query.decode().rsplit(",", 2)[-2:] for c in route.calls] == [
        ["limit(0", "2)"], ["limit(2", "2)"], ["limit(4", "2)"]]


def test_paging_without_content_range() -> None:
    rows = [account_row(n, f"C{n}") for n in range(5)]
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        short = mock.get(url__startswith=ACCOUNTS_URL).mock(side_effect=[
            listing(rows[0:2], None), listing(rows[2:3], None)])
        assert len(list(make_backend(page_size=2).accounts(None))) == 3
        assert short.call_count == 2
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        ignored = mock.get(url__startswith=ACCOUNTS_URL).mock(
            return_value=listing(rows, None))  # the server ignored limit(): all in one answer
        assert len(list(make_backend(page_size=2).accounts(None))) == 5
        assert ignored.call_count == 1


# -- mapping -------------------------------------------------------------------------------------

def test_odd_account_rows_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    rows: list[Any] = [account_row(1, "Contoso Ltd"), account_row(2), {"companyName": "No aps"},
                       42]
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(url__startswith=ACCOUNTS_URL).mock(return_value=listing(rows, "items 0-3/4"))
        with caplog.at_level(logging.WARNING, logger="idsync_odin"):
            found = list(make_backend().accounts("contoso"))
    assert [(a.id, a.name, a.model_extra) for a in found] == [
        ("acc-1", "Contoso Ltd", {"account_number": "1001"})]
    assert "`companyName` is missing" in caplog.text and "`aps` is missing" in caplog.text
    assert "expected an object, got int" in caplog.text


def test_subscriptions_of_an_account(caplog: pytest.LogCaptureFixture) -> None:
    rows = [sub_row(), sub_row("s-2", disabled=True), sub_row("s-3", isTerminated=True,
                                                              disabled=True),
            sub_row("s-4", aps={"id": "s-4", "status": "aps:provisioning"}),
            sub_row("s-5", owner=OTHER)]
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{BASE}/aps/2/resources/{ACCOUNT}").respond(200, json=account_row(1, "C"))
        route = mock.get(url__startswith=f"{BASE}/aps/2/resources?").mock(
            return_value=listing(rows, "items 0-4/5"))
        with caplog.at_level(logging.WARNING, logger="idsync_odin"):
            subs = list(make_backend().subscriptions(ACCOUNT))
    assert route.calls.last.request.url.query.decode() == (
        f"implementing(http://parallels.com/aps/types/pa/subscription/1.0),"
        f"eq(account.aps.id,{ACCOUNT}),select(account),limit(0,500)")
    assert [(s.id, s.status) for s in subs] == [
        (SUB, SubscriptionStatus.ACTIVE), ("s-2", SubscriptionStatus.SUSPENDED),
        ("s-3", SubscriptionStatus.TERMINATED), ("s-4", SubscriptionStatus.PENDING)]
    assert subs[0].model_extra == {"provider_status": "active",
                                   "subscription_number": "1000177"}
    assert f"belongs to account {OTHER}" in caplog.text


def test_unknown_ids_are_not_found() -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{BASE}/aps/2/resources/nope").respond(
            404, json={"code": 404, "message": "Resource nope not found"})
        backend = make_backend()
        with pytest.raises(NotFoundError, match="APS account nope does not exist"):
            backend.subscriptions("nope")
        with pytest.raises(NotFoundError, match="APS subscription nope does not exist"):
            backend.resources("nope")


def resources_of(subscription: dict[str, Any], rows: list[Any]) -> list[Any]:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        mock.get(f"{BASE}/aps/2/resources/{SUB}").respond(200, json=subscription)
        mock.get(f"{BASE}/aps/2/resources/{SUB}/resources").respond(200, json=rows)
        return make_backend().resources(SUB)


RESOURCES: list[Any] = [
    {"id": 1000443, "title": "Exchange Online (Plan 1)", "usage": 6, "limit": 8, "unit": "unit"},
    {"id": 1000444, "title": "Azure plan", "usage": 3, "unit": "unit"},
    {"id": 1000445, "title": "Unlimited by -1", "usage": 3, "limit": -1},
    {"id": 1000446, "title": "Mailbox storage", "usage": 10, "limit": 50, "unit": "gb"},
    {"id": 1000447, "title": "Bad limit", "usage": 1, "limit": "lots", "unit": "unit"},
    {"title": "No id", "limit": 1},
]


def test_limit_is_the_quantity_and_unlimited_is_no_seat_count(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="idsync_odin"):
        found = resources_of(sub_row(), RESOURCES)
    assert [(r.id, r.seat_based, r.quantity) for r in found] == [
        (f"{SUB}:1000443", True, Decimal(8)), (f"{SUB}:1000444", False, None),
        (f"{SUB}:1000445", False, None), (f"{SUB}:1000446", False, None)]
    exo = found[0]
    assert (exo.name, exo.sku, exo.model_extra["usage"], exo.model_extra["unit"]) == (
        "Exchange Online (Plan 1)", "1000443", Decimal(6), "unit")
    assert "`limit` is not a number" in caplog.text and "`id` is missing" in caplog.text


def test_terminated_subscription_reports_zero_but_a_disabled_one_keeps_its_count() -> None:
    terminated = resources_of(sub_row(isTerminated=True, disabled=True), RESOURCES[:2])
    assert [(r.quantity, r.seat_based) for r in terminated] == [(Decimal(0), True),
                                                                (None, False)]
    disabled = resources_of(sub_row(disabled=True), RESOURCES[:1])
    assert [r.quantity for r in disabled] == [Decimal(8)]


def test_check_reports_the_customer_count() -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.get(url__startswith=ACCOUNTS_URL).mock(
            return_value=listing([account_row(1, "A")], "items 0-0/37"))
        line = make_backend().check()
    assert line == "Odin APS bus at portal.provider.example (OAuth ck): 37 customer accounts"
    assert route.calls.last.request.url.query.decode().endswith("limit(0,1)")
