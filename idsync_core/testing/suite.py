"""The conformance suite: test classes every connector runs, one per kind.

A connector author writes::

    from idsync_core.testing import SuiteConfig, get_connector_test_class

    TestHaloConformance = get_connector_test_class(SuiteConfig(plugin="halopsa", ...))

(what the ``...`` holds: :mod:`idsync_core.testing.config`) and pytest (with the
``idsync_core.testing.pytest_plugin`` plugin loaded, which installing IDSync does) runs
:class:`ConnectorSuite` plus :class:`PsaSuite` or :class:`ProviderSuite`. Each test works
through the ``idsync_conformance`` fixture (a :class:`Harness`: fresh worlds and connections
per test). ``@requires(...)`` names what a test needs; the fixture skips it, with the
reason, when the connector declared that capability missing or the test cannot apply.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from functools import partial
from importlib.metadata import entry_points
from typing import Any, ClassVar, NoReturn, TypeVar

import pytest

from idsync_core.errors import (
    ApiError,
    ConfigurationError,
    IdsyncError,
    NotFoundError,
    OutcomeUnknownError,
)
from idsync_core.hookspecs import ALL_SPECS, PROVIDER_HOOKS, PSA_HOOKS
from idsync_core.journal import JournalStatus
from idsync_core.models import (
    Agreement,
    AgreementLine,
    AgreementStatus,
    CatalogItem,
    Company,
    PostedAdjustment,
    ProviderAccount,
    Resource,
    Subscription,
)
from idsync_core.plugins import (
    ENTRY_POINT_GROUP,
    Connection,
    PluginInfo,
    ProviderConnection,
    PsaConnection,
)
from idsync_core.settings import ConnectorSettings
from idsync_core.simulation import LoggedRequest
from idsync_core.testing.answers import Answer
from idsync_core.testing.checks import (
    LISTING_MODELS,
    adjustment,
    ids,
    no_secret_in,
    quantity,
    valid_rows,
)
from idsync_core.testing.clock import SuiteClock
from idsync_core.testing.config import (
    CAPABILITIES,
    LISTING_HOOKS,
    Listing,
    SuiteConfig,
    TokenRequest,
)
from idsync_core.testing.faults import PathFault, aimed_at, data_request
from idsync_core.testing.harness import Harness, World, secret_settings
from idsync_core.testing.known import check_known
from idsync_core.testing.recovery import engine_settles

F = TypeVar("F", bound=Callable[..., Any])

CHECK_REQUIREMENTS = (*CAPABILITIES, "http")
TRUNCATION_SIZES = frozenset({10, 20, 25, 50, 100, 200, 250, 500, 1000})
BACKOFF_SLACK = 5.0
"""Seconds beyond twice the Retry-After asked that a wait may take (jitter, a budget's pause)."""
MAX_BACKOFF = 60.0
"""The longest wait of its own choosing after a 429 without Retry-After the suite accepts."""
THROTTLED_WITHOUT_RETRY_AFTER = '{"message": "Too many requests (no Retry-After)"}'
TOKEN_AGE = 400 * 86400.0
"""How far the token-lifetime check moves the clock: longer than any token lives."""


def requires(*names: str) -> Callable[[F], F]:
    """Mark a suite test as needing capabilities (see ``CAPABILITIES``) or ``"http"`` (a
    simulator)."""
    unknown = set(names) - set(CHECK_REQUIREMENTS)
    if unknown:
        raise ValueError(f"unknown requirement {sorted(unknown)}")

    def mark(test: F) -> F:
        test._idsync_requires = names  # type: ignore[attr-defined]
        return test

    return mark


def skip_reason(config: SuiteConfig, info: PluginInfo, names: Iterable[str]) -> str | None:
    """Why a test needing ``names`` cannot run on this connector, or None when it can."""
    for name in names:
        if name in config.missing:
            return f"{info.name} declares {name!r} missing: {config.missing[name]}"
        if name == "http" and not config.http:
            return (f"{info.name} is exercised without HTTP (SuiteConfig.settings), so "
                    "HTTP-level checks do not apply")
        if name == "find_adjustment" and "idsync_find_adjustment" not in info.hooks:
            return ("idsync_find_adjustment is optional and not implemented; the engine "
                    "recovers from the quantity re-read (test_engine_recovery_after_a_post)")
    return None


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


class ConnectorSuite:
    """Checks every connector passes, whatever its kind."""

    __idsync_conformance__: ClassVar[bool] = True
    config: ClassVar[SuiteConfig]
    kind: ClassVar[str | None] = None

    # -- what each kind supplies -------------------------------------------------------------

    def first_listing(self, connection: Connection) -> list[Any]:
        """The top-level listing (accounts, companies): the read the HTTP checks disturb."""
        raise NotImplementedError

    def tree(self, harness: Harness, connection: Connection) -> set[tuple[str, str, str]]:
        """(listing, parent id, id) of everything the suite reads, for the stable-ids check."""
        raise NotImplementedError

    def unknown_id_calls(self, connection: Connection,
                         unknown: str) -> list[tuple[str, Callable[[], object]]]:
        raise NotImplementedError

    # -- discovery and settings ----------------------------------------------------------------

    def test_is_discovered_with_its_metadata(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        info = h.info
        assert info.distribution and info.version, (
            f"{info.name} has no distribution metadata: ship it as an installed distribution "
            "with an entry point in the group 'idsync'")
        assert issubclass(info.settings_model, ConnectorSettings), (
            "settings_model must subclass idsync_core.settings.ConnectorSettings "
            "(unknown keys are errors, settings are frozen)")
        required = PSA_HOOKS if info.kind == "psa" else PROVIDER_HOOKS
        assert set(required) <= set(info.hooks), f"missing hooks: {set(required) - set(info.hooks)}"
        specs = {name: fn for spec in ALL_SPECS for name, fn in vars(spec).items()
                 if name.startswith("idsync_")}
        for hook in info.hooks:
            assert hook in specs, f"{hook} is not a hook IDSync defines (a typo?)"
            wanted = set(inspect.signature(specs[hook]).parameters) - {"self"}
            taken = set(inspect.signature(getattr(info.connector, hook)).parameters) - {"self"}
            assert taken <= wanted, (
                f"{hook} takes {sorted(taken - wanted)}, which the hook spec does not pass")
        if h.http:
            assert h.world.settings.get("plugin") == info.name, (
                "the simulator's connection_settings(base_url) must include "
                f"plugin = {info.name!r}")

    def test_check_reports_one_line_without_secrets(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        connection = h.connect()
        line = connection.check()
        assert isinstance(line, str) and line.strip(), "idsync_check must return a line of text"
        assert "\n" not in line.strip(), f"idsync_check must return one line, got {line!r}"
        no_secret_in(line, h.secret_values(), "idsync_check's line")
        h.close_now(connection)

    @requires("auth")
    def test_bad_settings_are_a_configuration_error(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        overrides = h.bad_settings()
        if overrides is None:
            _fail("nothing to make the settings wrong with: the settings have no SecretStr field "
                  "and SuiteConfig.bad_settings is not given. Give bad_settings (e.g. "
                  "{'path': '/no/such/file'}) or declare missing={'auth': 'why'}")
        secret_names = set(secret_settings(h.info))
        secrets = [*h.secret_values(),
                   *(str(v) for k, v in overrides.items() if k in secret_names)]
        checks: list[tuple[str, Callable[[Connection], object]]] = [
            ("idsync_check", lambda c: c.check()),
            ("the first listing", self.first_listing)]
        for name, call in checks:
            error, sent = _attempt(h, partial(_open_and, call, h, overrides))
            if error is None:
                _fail(f"with wrong settings {sorted(overrides)}, {name} succeeded")
            if not isinstance(error, ConfigurationError):
                _fail(f"with wrong settings {sorted(overrides)}, {name} raised "
                      f"{type(error).__name__}: {error}; expected ConfigurationError")
            no_secret_in(str(error), secrets, f"the error of {name}")
            refused = [e for e in sent if e.status in (401, 403)]
            assert len(refused) <= 2, (
                f"{name} sent {len(refused)} requests the API refused: refused credentials "
                "must not be retried (at most one refresh)")

    # -- listings ------------------------------------------------------------------------------

    @requires("paging")
    def test_listings_are_complete_across_pages(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        large = h.config.large_tenant
        listings = LISTING_HOOKS[h.kind]
        if large is None:
            _fail("SuiteConfig.large_tenant is not given: seed a tenant bigger than one page "
                  f"for each listing ({', '.join(listings)}), e.g. LargeTenant(seed, "
                  f"[Listing('{listings[0]}', 600), ...]), or declare missing={{'paging': 'why'}}")
        strays = sorted(large.covered - set(listings))
        if strays:
            _fail(f"LargeTenant names {strays}, which are not {h.kind} listings; use "
                  f"{', '.join(listings)}")
        world = h.start(large.seed)
        for listing in large.listings:
            first = self._large_listing(h, world, listing, large.min_requests)
            second = self._large_listing(h, world, listing, large.min_requests)
            assert set(first) == set(second), (
                f"{listing.describe()} gave different ids on a second read: "
                f"{sorted(set(first) ^ set(second))[:5]}")
        uncovered = [m for m in listings if f"idsync_{m}" in h.info.hooks
                     and m not in large.covered]
        if uncovered:
            _fail(f"the large tenant checks {sorted(large.covered)} across pages but not "
                  f"{', '.join(uncovered)}: a listing that stops after its first page would "
                  f"pass. Give each a Listing (LargeTenant(seed, [..., Listing('{uncovered[0]}', "
                  f"rows, {{...its arguments}})])), or declare it unpaged with the reason "
                  f"(LargeTenant(..., unpaged={{'{uncovered[0]}': 'why it has no pages'}}))")

    def _large_listing(self, h: Harness, world: World, listing: Listing,
                       min_requests: int) -> list[str]:
        connection = h.connect(world)
        call = getattr(connection, listing.method)
        if h.http:
            connection.check()  # tokens and discovery first, so only the listing is counted
        rows: list[Any] = []
        sent = world.requests_during(lambda: rows.extend(call(**listing.args)))
        found = [str(getattr(row, "id", "")) for row in valid_rows(
            rows, LISTING_MODELS[listing.method], listing.describe())]
        if len(found) != listing.expected:
            hint = (" — exactly a common page size: the listing stops after the first page?"
                    if len(found) in TRUNCATION_SIZES else "")
            _fail(f"{listing.describe()} returned {len(found)} rows, the large tenant has "
                  f"{listing.expected}{hint}")
        if h.http and len(sent) < min_requests:
            _fail(f"{listing.describe()} took {len(sent)} request(s): the large tenant does not "
                  "span several pages, so paging was not tested. Seed more rows than a page, "
                  "or set LargeTenant.min_requests=1 for an API without paging")
        return found

    def test_ids_are_stable_between_reads(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        first = self.tree(h, h.connect())
        second = self.tree(h, h.connect())
        assert first, "the example tenant is empty: seed some rows"
        changed = sorted(first ^ second)
        assert not changed, f"two reads gave different ids: {changed[:6]}"

    @requires("not_found")
    def test_unknown_ids_are_not_found(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        unknown = h.config.unknown_id
        for what, call in self.unknown_id_calls(h.connect(), unknown):
            try:
                call()
            except NotFoundError:
                continue
            except Exception as exc:
                _fail(f"{what}({unknown!r}) raised {type(exc).__name__}: {exc}; an unknown id "
                      "must raise NotFoundError (or set SuiteConfig.unknown_id)")
            _fail(f"{what}({unknown!r}) returned normally; an unknown id must raise "
                  "NotFoundError")

    # -- what the rows mean ------------------------------------------------------------------------

    def test_quantities_read_as_seeded(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        check_known(h.connect(), h.kind, list(h.config.known), "quantities")

    @requires("statuses")
    def test_statuses_read_as_seeded(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        check_known(h.connect(), h.kind, list(h.config.known), "statuses")

    @requires("prices")
    def test_prices_and_costs_read_as_seeded(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        check_known(h.connect(), h.kind, list(h.config.known), "prices")

    # -- HTTP faults -----------------------------------------------------------------------------

    def _aim_at_first_listing(self, h: Harness) -> tuple[list[str], LoggedRequest]:
        """Read once to learn which request fetches the top-level rows and what they are."""
        rows: list[Any] = []
        connection = h.connect()
        sent = h.world.requests_during(lambda: rows.extend(self.first_listing(connection)))
        return ids(rows), data_request(sent)

    def _throttled_read(self, h: Harness, target: LoggedRequest, baseline: list[str],
                        clock: SuiteClock, what: str) -> tuple[Answer, list[float]]:
        """Read the first listing through the 429 just scripted for ``target``: the 429 as
        the client received it (headers included) and what the connector slept meanwhile."""
        connection = h.connect()
        rows: list[Any] = []
        answered, slept = len(h.world.answers()), len(clock.slept)
        error, sent = _attempt(h, lambda: rows.extend(self.first_listing(connection)))
        if error is not None:
            _fail(f"after one 429 {what} the listing raised {type(error).__name__}: {error}")
        assert ids(rows) == baseline, f"the listing after a 429 {what} differs from the one before"
        same = [e for e in sent if (e.method, e.path) == (target.method, target.path)]
        throttled = [i for i, e in enumerate(same) if e.status == 429]
        assert throttled, f"the 429 was never sent: no {target.method} {target.path} request"
        first = same[throttled[0]]
        retry = next((e for e in same[throttled[0] + 1:] if e.query == first.query), None)
        assert retry is not None and retry.status < 400, (
            f"after the 429 {what} the request was not repeated successfully")
        answer = next(a for a in h.world.answers()[answered:]
                      if (a.method, a.path, a.status) == (target.method, target.path, 429))
        return answer, clock.slept[slept:]

    @requires("http", "retry_after")
    def test_retry_after_is_honoured(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        clock = h.needs_time("sleep", check="the Retry-After check")
        baseline, target = self._aim_at_first_listing(h)
        wait = h.config.retry_after
        h.controls.faults.add(aimed_at(target, status=429, retry_after=wait))
        answer, sleeps = self._throttled_read(h, target, baseline, clock,
                                              f"asking for Retry-After: {wait}")
        sent = answer.headers.get("retry-after")
        if sent != str(wait):
            _fail(f"the 429 the suite scripted reached the client with Retry-After: {sent}, not "
                  f"{wait}, so whether the connector honours the header cannot be told from its "
                  "own backoff. The simulator's throttle_response(seconds) must put "
                  "`Retry-After: seconds` in its answer; if the API never sends Retry-After, "
                  "declare missing={'retry_after': 'why'} (test_429_without_retry_after_is_"
                  "backed_off still checks its 429s)")
        waited = sum(sleeps)
        if waited < wait:
            _fail(f"after a 429 asking for Retry-After: {wait} the connector waited "
                  f"{waited:g} s before repeating the request (its sleeps: {sleeps}): it must "
                  "wait as long as Retry-After asks (ApiClient does, with the sleep it is "
                  "given)")
        if waited > 2 * wait + BACKOFF_SLACK:
            _fail(f"after a 429 asking for Retry-After: {wait} the connector waited "
                  f"{waited:g} s (its sleeps: {sleeps}), far longer than asked: seconds taken "
                  "for minutes or milliseconds?")

    @requires("http", "backoff")
    def test_429_without_retry_after_is_backed_off(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        clock = h.needs_time("sleep", check="the no-Retry-After backoff check")
        baseline, target = self._aim_at_first_listing(h)
        h.controls.faults.add(aimed_at(target, status=429, body=THROTTLED_WITHOUT_RETRY_AFTER))
        answer, sleeps = self._throttled_read(h, target, baseline, clock, "without Retry-After")
        assert "retry-after" not in answer.headers, (
            f"the suite's 429 carried Retry-After: {answer.headers['retry-after']}")
        waited = sum(sleeps)
        if waited <= 0:
            _fail("after a 429 without Retry-After the connector repeated the request at once "
                  f"(its sleeps: {sleeps}): it must back off first (ApiClient waits "
                  "RetryPolicy.default_retry_after, 5 s, with the sleep it is given)")
        if waited > MAX_BACKOFF:
            _fail(f"after a 429 without Retry-After the connector waited {waited:g} s (its "
                  f"sleeps: {sleeps}): a backoff of its own choosing must stay bounded, at most "
                  f"{MAX_BACKOFF:g} s")

    # -- tokens ----------------------------------------------------------------------------------

    def _token_request(self, h: Harness) -> TokenRequest:
        if h.config.token_request is None:
            _fail("SuiteConfig.token_request is not given: name the request that fetches an "
                  "access token (TokenRequest('POST', r'.*/token')), or, when the API takes the "
                  "same credentials on every request (an API key, Basic auth), declare "
                  "missing={'token_renewal': 'why'}")
        return h.config.token_request

    @requires("http", "token_renewal")
    def test_a_refused_token_is_renewed_once(self, idsync_conformance: Harness) -> None:
        """A token that worked a moment ago is refused (expired or revoked early): one new
        token, the request again, and the listing completes."""
        h = idsync_conformance
        token = self._token_request(h)
        baseline, target = self._aim_at_first_listing(h)
        connection = h.connect()
        error, sent = _attempt(h, lambda: self.first_listing(connection))
        fetched = [e for e in sent if token.matches(e.method, e.path)]
        if error is not None or not fetched:
            shown = ", ".join(f"{e.method} {e.path}" for e in sent)
            _fail(f"the first listing of a new connection ({error or 'no error'}) sent no "
                  f"request matching token_request {token}; it sent [{shown}]")
        if len(fetched) > 1:
            _fail(f"one listing fetched {len(fetched)} tokens: a token is kept for its "
                  "lifetime, not fetched for every request")
        h.controls.faults.add(aimed_at(target, status=401))
        rows: list[Any] = []
        error, sent = _attempt(h, lambda: rows.extend(self.first_listing(connection)))
        if error is not None:
            _fail(f"after a 401 to a request whose token had worked a moment before, the "
                  f"listing raised {type(error).__name__}: {error}. A token the API refuses "
                  "(expired or revoked early) must be renewed once and the request repeated "
                  "(BearerToken.renew_after in ApiClient.on_unauthorized)")
        renewals = [i for i, e in enumerate(sent) if token.matches(e.method, e.path)]
        refused = [i for i, e in enumerate(sent) if e.status == 401]
        if len(renewals) != 1:
            _fail(f"after one 401 the connector fetched {len(renewals)} tokens; expected one")
        if not refused or renewals[0] < refused[0]:
            _fail("the token was fetched before the API refused the old one: the 401 came "
                  "from somewhere else?")
        assert ids(rows) == baseline, "the listing after a renewed token differs"

    @requires("http", "token_renewal")
    def test_a_token_is_replaced_before_it_expires(self, idsync_conformance: Harness) -> None:
        """The suite's clock moves past any token's lifetime: the next request must carry a
        new token, fetched before it is sent, not after the API refuses the old one."""
        h = idsync_conformance
        clock = h.needs_time("clock", check="the token-lifetime check")
        token = self._token_request(h)
        connection = h.connect()
        self.first_listing(connection)
        clock.advance(TOKEN_AGE)
        error, sent = _attempt(h, lambda: self.first_listing(connection))
        fetched = [i for i, e in enumerate(sent) if token.matches(e.method, e.path)]
        refused = [i for i, e in enumerate(sent) if e.status == 401]
        if error is not None:
            _fail(f"after the clock moved {TOKEN_AGE:g} s the listing raised "
                  f"{type(error).__name__}: {error}")
        if len(fetched) != 1 or (refused and refused[0] < fetched[0]):
            _fail(f"after the clock moved {TOKEN_AGE:g} s, past any token's lifetime, the "
                  f"next listing fetched {len(fetched)} token(s)"
                  f"{' after the API refused the old one' if refused else ''}: a token must "
                  "be replaced when its lifetime (expires_in) is over, on the clock the "
                  "connector is given (BearerToken(issue, clock=clock))")

    @requires("http", "retries")
    def test_server_errors_on_reads_are_retried(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        baseline, target = self._aim_at_first_listing(h)
        h.controls.faults.add(aimed_at(target, status=502))
        connection = h.connect()
        rows: list[Any] = []
        sent = h.world.requests_during(lambda: rows.extend(self.first_listing(connection)))
        assert ids(rows) == baseline, "the listing after a 502 differs from the one before"
        statuses = [e.status for e in sent if (e.method, e.path) == (target.method, target.path)]
        assert 502 in statuses and statuses[statuses.index(502) + 1:], (
            f"the read answered 502 was not retried (statuses {statuses})")

    @requires("http", "html_errors")
    def test_html_page_instead_of_json_is_an_api_error(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        _, target = self._aim_at_first_listing(h)
        h.controls.faults.add(aimed_at(target, kind="html", status=200))
        connection = h.connect()
        try:
            self.first_listing(connection)
        except ApiError as exc:
            no_secret_in(str(exc), h.secret_values(), "the error")
            return
        except Exception as exc:
            _fail(f"an HTML page answered with 200 crashed the connector with "
                  f"{type(exc).__name__}: {exc} (expected an ApiError; use ApiClient.json_of)")
        _fail("an HTML page instead of JSON was accepted as an empty or valid answer")

    @requires("http", "html_errors")
    def test_html_error_page_is_retried_like_any_5xx(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        baseline, target = self._aim_at_first_listing(h)
        h.controls.faults.add(aimed_at(target, kind="html", status=503))
        connection = h.connect()
        try:
            rows = self.first_listing(connection)
        except IdsyncError as exc:
            _fail(f"an HTML 503 page was not retried: {type(exc).__name__}: {exc}")
        except Exception as exc:
            _fail(f"an HTML 503 page crashed the connector with {type(exc).__name__}: {exc} "
                  "(does error_message() parse the body as JSON without a fallback?)")
        assert ids(rows) == baseline


class ProviderSuite(ConnectorSuite):
    """Checks of a provider connector (accounts → subscriptions → resources)."""

    kind = "provider"

    def first_listing(self, connection: Connection) -> list[Any]:
        assert isinstance(connection, ProviderConnection)
        return valid_rows(connection.list_accounts(), ProviderAccount, "list_accounts()")

    def _walk(self, h: Harness, connection: ProviderConnection) -> tuple[
            list[ProviderAccount], dict[str, list[Subscription]], dict[str, list[Resource]]]:
        wanted, top = h.config.ids, h.config.max_parents
        accounts = self.first_listing(connection)
        account_ids = [wanted.account_id] if wanted.account_id else ids(accounts[:top])
        subscriptions = {a: valid_rows(connection.list_subscriptions(a), Subscription,
                                       f"list_subscriptions({a!r})") for a in account_ids}
        subscription_ids = [wanted.subscription_id] if wanted.subscription_id else [
            s.id for rows in subscriptions.values() for s in rows][:top]
        resources = {s: valid_rows(connection.list_resources(s), Resource,
                                   f"list_resources({s!r})") for s in subscription_ids}
        return accounts, subscriptions, resources

    def tree(self, harness: Harness, connection: Connection) -> set[tuple[str, str, str]]:
        assert isinstance(connection, ProviderConnection)
        accounts, subscriptions, resources = self._walk(harness, connection)
        found = {("accounts", "", a.id) for a in accounts}
        found |= {("subscriptions", a, s.id) for a, rows in subscriptions.items() for s in rows}
        found |= {("resources", s, r.id) for s, rows in resources.items() for r in rows}
        return found

    def unknown_id_calls(self, connection: Connection,
                         unknown: str) -> list[tuple[str, Callable[[], object]]]:
        assert isinstance(connection, ProviderConnection)
        return [("list_subscriptions", lambda: list(connection.list_subscriptions(unknown))),
                ("list_resources", lambda: list(connection.list_resources(unknown)))]

    def test_accounts_are_valid_models(self, idsync_conformance: Harness) -> None:
        accounts = self.first_listing(idsync_conformance.provider())
        assert accounts, "list_accounts() returned nothing for the example tenant"
        assert all(a.name for a in accounts), "every account needs a name"

    @requires("search")
    def test_search_finds_accounts_by_name(self, idsync_conformance: Harness) -> None:
        connection = idsync_conformance.provider()
        accounts = self.first_listing(connection)
        _search_contract(accounts, lambda s: valid_rows(
            connection.list_accounts(s), ProviderAccount, f"list_accounts({s!r})"),
            "list_accounts")

    def test_subscriptions_belong_to_their_account(self, idsync_conformance: Harness) -> None:
        _, subscriptions, _ = self._walk(idsync_conformance, idsync_conformance.provider())
        assert any(subscriptions.values()), (
            f"no subscription under accounts {list(subscriptions)}: seed one, or set "
            "SampleIds.account_id")
        for account_id, rows in subscriptions.items():
            for s in rows:
                assert s.account_id == account_id, (
                    f"list_subscriptions({account_id!r}) returned {s.id} of {s.account_id!r}")

    def test_resources_belong_to_their_subscription(self, idsync_conformance: Harness) -> None:
        _, _, resources = self._walk(idsync_conformance, idsync_conformance.provider())
        assert any(resources.values()), (
            f"no resource under subscriptions {list(resources)}: seed one, or set "
            "SampleIds.subscription_id")
        for subscription_id, rows in resources.items():
            for r in rows:
                assert r.subscription_id == subscription_id, (
                    f"list_resources({subscription_id!r}) returned {r.id} of "
                    f"{r.subscription_id!r}")
                assert (r.quantity is not None) or not r.seat_based, (
                    f"resource {r.id} is seat-based but has no quantity")


class PsaSuite(ConnectorSuite):
    """Checks of a PSA connector: companies, agreements, lines, catalog and posting."""

    kind = "psa"

    def first_listing(self, connection: Connection) -> list[Any]:
        assert isinstance(connection, PsaConnection)
        return valid_rows(connection.list_companies(), Company, "list_companies()")

    def as_of(self, h: Harness) -> date:
        return h.config.effective_date or date.today()

    def _walk(self, h: Harness, connection: PsaConnection) -> tuple[
            list[Company], dict[str, list[Agreement]], dict[str, list[AgreementLine]]]:
        wanted, top, as_of = h.config.ids, h.config.max_parents, self.as_of(h)
        companies = self.first_listing(connection)
        company_ids = [wanted.company_id] if wanted.company_id else ids(companies[:top])
        agreements = {c: valid_rows(connection.list_agreements(c), Agreement,
                                    f"list_agreements({c!r})") for c in company_ids}
        agreement_ids = [wanted.agreement_id] if wanted.agreement_id else [
            a.id for rows in agreements.values() for a in rows][:top]
        lines = {a: valid_rows(connection.list_lines(a, as_of), AgreementLine,
                               f"list_lines({a!r}, {as_of})") for a in agreement_ids}
        return companies, agreements, lines

    def tree(self, harness: Harness, connection: Connection) -> set[tuple[str, str, str]]:
        assert isinstance(connection, PsaConnection)
        companies, agreements, lines = self._walk(harness, connection)
        found = {("companies", "", c.id) for c in companies}
        found |= {("agreements", c, a.id) for c, rows in agreements.items() for a in rows}
        found |= {("lines", a, line.id) for a, rows in lines.items() for line in rows}
        found |= {("catalog", "", i.id) for i in valid_rows(
            connection.list_catalog(), CatalogItem, "list_catalog()")}
        return found

    def unknown_id_calls(self, connection: Connection,
                         unknown: str) -> list[tuple[str, Callable[[], object]]]:
        assert isinstance(connection, PsaConnection)
        return [("list_agreements", lambda: list(connection.list_agreements(unknown))),
                ("list_lines", lambda: list(connection.list_lines(unknown, date.today())))]

    def posting_target(self, h: Harness, connection: PsaConnection) -> tuple[
            str, CatalogItem, date]:
        """Where the posting checks post: the configured ids, else the first active agreement
        and a catalog item already on it (else the first active catalog item)."""
        wanted, today = h.config.ids, date.today()
        agreement: Agreement | None = None
        if wanted.agreement_id is None or wanted.company_id is not None:
            companies = [wanted.company_id] if wanted.company_id else ids(
                self.first_listing(connection))[:50]
            agreement = _find_agreement(connection, companies, wanted.agreement_id, today)
            if agreement is None:
                what = f"agreement {wanted.agreement_id!r}" if wanted.agreement_id else (
                    "active agreement")
                _fail(f"no {what} under companies {companies[:5]} to post to: seed one, or "
                      "set SampleIds.company_id/agreement_id")
        agreement_id = agreement.id if agreement else str(wanted.agreement_id)
        start = agreement.start_date if agreement and agreement.start_date else today
        effective = h.config.effective_date or max(today, start)
        if wanted.catalog_item_id is not None:
            found = list(connection.list_catalog(ids=[wanted.catalog_item_id]))
            if not found:
                _fail(f"SampleIds.catalog_item_id {wanted.catalog_item_id!r} is not in the "
                      "catalog")
            return agreement_id, found[0], effective
        on_it = sorted({line.catalog_item_id
                        for line in connection.list_lines(agreement_id, effective)})
        items = [i for i in connection.list_catalog(ids=on_it) if i.active] if on_it else []
        items = items or [i for i in connection.list_catalog() if i.active]
        if not items:
            _fail("no active catalog item to post: seed one, or set SampleIds.catalog_item_id")
        return agreement_id, items[0], effective

    def test_companies_are_valid_models(self, idsync_conformance: Harness) -> None:
        companies = self.first_listing(idsync_conformance.psa())
        assert companies, "list_companies() returned nothing for the example tenant"
        assert all(c.name for c in companies), "every company needs a name"

    @requires("search")
    def test_search_finds_companies_by_name(self, idsync_conformance: Harness) -> None:
        connection = idsync_conformance.psa()
        companies = self.first_listing(connection)
        _search_contract(companies, lambda s: valid_rows(
            connection.list_companies(s), Company, f"list_companies({s!r})"), "list_companies")

    def test_agreements_belong_to_their_company(self, idsync_conformance: Harness) -> None:
        _, agreements, _ = self._walk(idsync_conformance, idsync_conformance.psa())
        assert any(agreements.values()), (
            f"no agreement under companies {list(agreements)}: seed one, or set "
            "SampleIds.company_id")
        for company_id, rows in agreements.items():
            for a in rows:
                assert a.company_id == company_id, (
                    f"list_agreements({company_id!r}) returned {a.id} of {a.company_id!r}")

    def test_lines_are_as_of_the_date_asked(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        _, _, lines = self._walk(h, h.psa())
        assert lines, "no agreement to read lines of: seed one, or set SampleIds.agreement_id"
        for agreement_id, rows in lines.items():
            products = [line.catalog_item_id for line in rows]
            assert len(products) == len(set(products)), (
                f"list_lines({agreement_id!r}) has several lines for one product: {products}")
            for line in rows:
                assert line.agreement_id == agreement_id and line.as_of == self.as_of(h), (
                    f"line {line.id} says agreement {line.agreement_id} as of {line.as_of}, "
                    f"asked: {agreement_id} as of {self.as_of(h)}")

    def test_catalog_filters_by_ids_and_search(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        connection = h.psa()
        catalog = valid_rows(connection.list_catalog(), CatalogItem, "list_catalog()")
        assert catalog, "list_catalog() returned nothing for the example tenant"
        item = catalog[-1]
        only = ids(valid_rows(connection.list_catalog(ids=[item.id]), CatalogItem,
                              f"list_catalog(ids=[{item.id!r}])"))
        assert only == [item.id], f"list_catalog(ids=[{item.id!r}]) returned {only}"
        unknown = list(connection.list_catalog(ids=[h.config.unknown_id]))
        assert unknown == [], "an unknown id must simply be absent from list_catalog(ids=...)"
        if "search" not in h.config.missing:
            needle = item.identifier or item.name
            found = ids(connection.list_catalog(search=needle))
            assert item.id in found, f"list_catalog(search={needle!r}) does not find {item.id}"

    def test_post_then_reread_shows_the_target(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        connection = h.psa()
        agreement_id, item, day = self.posting_target(h, connection)
        before = quantity(connection, agreement_id, item.id, day)
        change = adjustment(agreement_id, item, day, before=before, delta=3)
        posted = connection.post_adjustment(change)
        _check_posted(posted, change.target_quantity)
        _check_reread(connection, change, "the same connection")
        _check_reread(h.psa(), change, "a new connection")

    @requires("decrease")
    def test_decrease_then_reread_shows_the_target(self, idsync_conformance: Harness) -> None:
        h = idsync_conformance
        connection = h.psa()
        agreement_id, item, day = self.posting_target(h, connection)
        before = quantity(connection, agreement_id, item.id, day)
        up = adjustment(agreement_id, item, day, before=before, delta=3)
        connection.post_adjustment(up)
        down = adjustment(agreement_id, item, day, before=up.target_quantity, delta=-1)
        _check_posted(connection.post_adjustment(down), down.target_quantity)
        _check_reread(connection, down, "the same connection")

    def test_engine_recovery_after_a_post(self, idsync_conformance: Harness) -> None:
        """The engine lost the outcome of a posting that landed: it must decide "posted" (and
        never send it again); for one that never landed it must decide "failed"."""
        h = idsync_conformance
        connection = h.psa()
        agreement_id, item, day = self.posting_target(h, connection)
        before = quantity(connection, agreement_id, item.id, day)
        landed = adjustment(agreement_id, item, day, before=before, delta=2)
        connection.post_adjustment(landed)
        for where, conn in (("the same connection", connection), ("the next run", h.psa())):
            decision = engine_settles(conn, landed, before)
            assert decision == JournalStatus.POSTED, _recovery_message(conn, landed, decision,
                                                                       where)
        never = adjustment(agreement_id, item, day, before=landed.target_quantity, delta=5)
        decision = engine_settles(connection, never, landed.target_quantity)
        assert decision == JournalStatus.FAILED, (
            f"for a posting that never landed the engine decides '{decision}', not 'failed': "
            "find_adjustment found a marker nobody wrote, or the quantity moved by itself")
        assert quantity(connection, agreement_id, item.id, day) == landed.target_quantity

    @requires("find_adjustment")
    def test_find_adjustment_finds_only_what_was_posted(self,
                                                        idsync_conformance: Harness) -> None:
        h = idsync_conformance
        connection = h.psa()
        agreement_id, item, day = self.posting_target(h, connection)
        before = quantity(connection, agreement_id, item.id, day)
        change = adjustment(agreement_id, item, day, before=before, delta=1)
        posted = connection.post_adjustment(change)
        found = h.psa().find_adjustment(change)
        assert found is not None, (
            f"find_adjustment does not find the posting just made (marker {change.marker}); "
            "if the API cannot search, leave the hook out or declare "
            "missing={'find_adjustment': 'why'}")
        if posted.record_id is not None and found.record_id is not None:
            assert found.record_id == posted.record_id, (
                f"find_adjustment found record {found.record_id}, the post made "
                f"{posted.record_id}")
        other = adjustment(agreement_id, item, day, before=change.target_quantity, delta=1)
        assert connection.find_adjustment(other) is None, (
            "find_adjustment found a posting for a marker that was never written")

    @requires("http", "lost_answer")
    @pytest.mark.parametrize("loss", ["502", "reset"])
    def test_lost_answer_to_a_write_is_not_repeated(self, idsync_conformance: Harness,
                                                     loss: str) -> None:
        h = idsync_conformance
        write = h.config.write_request
        if write is None:
            _fail("SuiteConfig.write_request is not given: name the request that writes a "
                  "posting (WriteRequest('POST', r'.*/additions')) or declare "
                  "missing={'lost_answer': 'why'}")
        connection = h.psa()
        agreement_id, item, day = self.posting_target(h, connection)
        before = quantity(connection, agreement_id, item.id, day)
        change = adjustment(agreement_id, item, day, before=before, delta=2)
        fault = PathFault(kind="reset" if loss == "reset" else "status", status=502,
                          method=write.method, path_pattern=write.path, after_handler=True)
        h.controls.faults.add(fault)
        error, sent = _attempt(h, lambda: connection.post_adjustment(change))
        writes = [e for e in sent if fault.matches(e.method, e.path)]
        shown = ", ".join(f"{e.method} {e.path}" for e in sent)
        if not writes:
            _fail(f"no request matched write_request {write}: the post sent [{shown}]")
        if not isinstance(error, OutcomeUnknownError):
            what = f"raised {error!r}" if error else "returned normally"
            _fail(f"the answer to the write was lost ({loss}) but post_adjustment {what}; it "
                  "must raise OutcomeUnknownError so the engine re-reads (requests: "
                  f"[{shown}]; or write_request matches more than the write)")
        now = quantity(connection, agreement_id, item.id, day)
        assert now == change.target_quantity, (
            f"after one lost answer the PSA shows {now}, expected {change.target_quantity}: "
            f"the write was sent {len(writes)} times")
        decision = engine_settles(connection, change, before)
        assert decision == JournalStatus.POSTED, _recovery_message(
            connection, change, decision, "the same connection")


def _open_and(call: Callable[[Connection], object], h: Harness,
              overrides: dict[str, Any]) -> object:
    return call(h.connect(overrides=overrides))


def _attempt(h: Harness, action: Callable[[], object]) -> tuple[Exception | None,
                                                              list[LoggedRequest]]:
    """Run ``action``: the exception it raised (None if none) and the requests it sent, so a
    failure can be judged with the request log at hand."""
    errors: list[Exception] = []

    def run() -> None:
        try:
            action()
        except Exception as exc:
            errors.append(exc)

    sent = h.world.requests_during(run)
    return (errors[0] if errors else None), sent


def _find_agreement(connection: PsaConnection, company_ids: list[str],
                    agreement_id: str | None, today: date) -> Agreement | None:
    """The agreement with this id, or (None) the first active one, under these companies."""
    for company_id in company_ids:
        for agreement in connection.list_agreements(company_id):
            if agreement_id is not None:
                if agreement.id == agreement_id:
                    return agreement
            elif agreement.status is AgreementStatus.ACTIVE and not agreement.is_expired(today):
                return agreement
    return None


def _search_contract(rows: list[Any], search: Callable[[str], list[Any]], hook: str) -> None:
    """``search`` finds a row by a part of its name (any case) and returns only matches."""
    target = next((r for r in rows if len(r.name.strip()) >= 3), None)
    assert target is not None, f"{hook}: no row with a name of 3+ characters to search for"
    name = target.name.strip()
    needle = name[1:-1] if len(name) > 3 else name
    found = search(needle)
    assert target.id in ids(found), f"{hook}({needle!r}) does not find {target.id} ({name!r})"
    strays = [r.name for r in found if needle.lower() not in r.name.lower()]
    assert not strays, f"{hook}({needle!r}) returned rows whose name does not contain it: {strays}"
    assert search("zq-no-such-name-xk") == [], f"{hook} with a search matching nothing"


def _check_posted(posted: object, target: Decimal) -> None:
    assert isinstance(posted, PostedAdjustment), (
        f"post_adjustment returned {posted!r}, not a PostedAdjustment")
    if posted.quantity_after is not None:
        assert posted.quantity_after == target, (
            f"post_adjustment says the quantity is now {posted.quantity_after}, the target "
            f"is {target}")


def _check_reread(connection: PsaConnection, change: Any, where: str) -> None:
    now = quantity(connection, change.agreement_id, change.catalog_item_id,
                   change.effective_date)
    assert now == change.target_quantity, (
        f"re-read through {where}: the line shows {now} as of {change.effective_date}, "
        f"posted to reach {change.target_quantity}")


def _recovery_message(connection: PsaConnection, change: Any, decision: str, where: str) -> str:
    now = quantity(connection, change.agreement_id, change.catalog_item_id,
                   change.effective_date)
    return (f"the engine would post this change again (it decides '{decision}' through "
            f"{where}): find_adjustment did not find marker {change.marker} and the PSA shows "
            f"{now} as of {change.effective_date}, not the target {change.target_quantity}")


def _kind_of(plugin: str) -> str | None:
    """The connector's kind, read from its entry point without discovering every plugin."""
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=plugin):
        try:
            kind = getattr(ep.load(), "kind", None)
        except Exception:  # reported by the discovery test, with the import error
            return None
        return kind if kind in ("psa", "provider") else None
    return None


def get_connector_test_class(config: SuiteConfig, *,
                             name: str | None = None) -> type[ConnectorSuite]:
    """The conformance test class for one connector: assign it to a ``Test*`` name in a test
    module, e.g. ``TestCsvConformance = get_connector_test_class(SuiteConfig(plugin="csv"))``.

    The base is :class:`PsaSuite` or :class:`ProviderSuite` after the connector's ``kind``; a
    connector that cannot be loaded gets the common checks, whose first failure says why.
    """
    kind = _kind_of(config.plugin)
    base: type[ConnectorSuite] = {"psa": PsaSuite, "provider": ProviderSuite}.get(
        kind or "", ConnectorSuite)
    title = "".join(part.capitalize() for part in config.plugin.replace("_", "-").split("-"))
    return type(name or f"Test{title}Conformance", (base,), {"config": config})
