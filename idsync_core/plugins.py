"""Connector discovery and the typed facade the engine calls them through.

Discovery: every entry point in the group ``idsync`` names a connector class. A connector that
fails to import is reported as a warning and skipped (one broken third-party package must not
take the tool down); two connectors with one name are a configuration error, since IDSync could
not tell which one the operator meant. ``IDSYNC_LOAD_PLUGINS=a,b`` loads only those (empty:
none), as datasette and llm do.

Connections: each configured connection (the PSA, each named provider) gets a plugin manager of
its own holding that connector's instance and the cross-cutting wrappers, so a hook call reaches
exactly one connector. Engine code goes through :class:`PsaConnection` / :class:`ProviderConnection`
(typed methods, as tox's ``Plugin`` facade), never through ``pm.hook`` directly. The facade is
also where every connector gets the same behaviour for free: each opened connection and each
listing with its row count are logged (``--verbose``), and an id the API has no record of
(:class:`MissingRecordError`) is reported as what it is — "agreement 99999 does not exist at
ConnectWise" — rather than as the request path that found nothing.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Literal, TypeVar

import pluggy
from pydantic import BaseModel, ValidationError

from idsync_core.errors import (
    ConfigurationError,
    DryRunWriteRefused,
    IdsyncError,
    MissingRecordError,
    NotFoundError,
    PluginError,
)
from idsync_core.hookspecs import (
    ALL_SPECS,
    PROJECT_NAME,
    PROVIDER_HOOKS,
    PSA_HOOKS,
    hookimpl,
)
from idsync_core.models import (
    Adjustment,
    Agreement,
    AgreementLine,
    CatalogItem,
    Company,
    PostedAdjustment,
    ProviderAccount,
    Resource,
    Subscription,
)

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "idsync"
Kind = Literal["psa", "provider"]
T = TypeVar("T")


@dataclass(frozen=True)
class PluginInfo:
    """A discovered connector: what ``idsync plugins`` shows."""

    name: str
    kind: Kind
    connector: type
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]

    @property
    def title(self) -> str:
        """How messages name the product (a connector's optional ``title``, e.g.
        "ConnectWise"; else its entry-point name)."""
        return str(getattr(self.connector, "title", None) or self.name)

    @property
    def settings_model(self) -> type[BaseModel]:
        model: type[BaseModel] = self.connector.settings_model  # type: ignore[attr-defined]
        return model


def implemented_hooks(connector: type) -> tuple[str, ...]:
    """Names of the ``idsync_*`` hooks a connector class implements."""
    return tuple(
        sorted(
            name
            for name in dir(connector)
            if name.startswith("idsync_")
            and getattr(getattr(connector, name), f"{PROJECT_NAME}_impl", None) is not None
        )
    )


def _selected_names() -> set[str] | None:
    raw = os.environ.get("IDSYNC_LOAD_PLUGINS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _describe(ep: EntryPoint) -> str:
    dist = ep.dist.name if ep.dist else "an unknown distribution"
    return f"{ep.name!r} ({ep.value} from {dist})"


def _inspect(ep: EntryPoint) -> PluginInfo | None:
    """Load one entry point; log and return None when it is broken."""
    try:
        connector = ep.load()
    except Exception as exc:  # a broken third-party plugin must not crash IDSync
        log.warning("skipping plugin %s: it failed to import: %s: %s",
                    _describe(ep), type(exc).__name__, exc)
        return None
    kind = getattr(connector, "kind", None)
    settings_model = getattr(connector, "settings_model", None)
    if kind not in ("psa", "provider") or not (
        isinstance(settings_model, type) and issubclass(settings_model, BaseModel)
    ):
        log.warning("skipping plugin %s: a connector class needs `kind = 'psa' | 'provider'` "
                    "and a pydantic `settings_model`", _describe(ep))
        return None
    hooks = implemented_hooks(connector)
    missing = [h for h in (PSA_HOOKS if kind == "psa" else PROVIDER_HOOKS) if h not in hooks]
    if missing:
        log.warning("skipping plugin %s: a %s connector must implement %s",
                    _describe(ep), kind, ", ".join(missing))
        return None
    return PluginInfo(
        name=ep.name,
        kind=kind,
        connector=connector,
        distribution=ep.dist.name if ep.dist else None,
        version=ep.dist.version if ep.dist else None,
        hooks=hooks,
    )


def discover_plugins() -> dict[str, PluginInfo]:
    """Every loadable connector installed, by name.

    Raises ``PluginError`` when two installed connectors share a name.
    """
    selected = _selected_names()
    found: dict[str, PluginInfo] = {}
    origins: dict[str, str] = {}
    seen_values: set[tuple[str, str]] = set()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if selected is not None and ep.name not in selected:
            continue
        if (ep.name, ep.value) in seen_values:  # one distribution visible twice on sys.path
            continue
        seen_values.add((ep.name, ep.value))
        if ep.name in origins:
            raise PluginError(
                f"two plugins are named {ep.name!r}: {origins[ep.name]} and {_describe(ep)}",
                hint="uninstall one of them, or choose with IDSYNC_LOAD_PLUGINS",
            )
        origins[ep.name] = _describe(ep)
        info = _inspect(ep)
        if info is not None:
            found[ep.name] = info
    return found


def validate_settings(info: PluginInfo, section: str, raw: Mapping[str, Any]) -> BaseModel:
    """Validate a connection's settings with its connector's model.

    The message names each bad key as ``[section] key`` and never echoes the value given, so a
    mistyped secret does not end up on the screen.
    """
    values = {k: v for k, v in raw.items() if k != "plugin"}
    try:
        return info.settings_model.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_input=False, include_url=False):
            key = ".".join(str(part) for part in err["loc"]) or "(table)"
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = f"unknown setting for the {info.name} plugin"
            problems.append(f"[{section}] {key}: {msg}")
        raise ConfigurationError(
            f"invalid settings for the {info.name} connection:\n  " + "\n  ".join(problems),
            hint=f"fix them in idsync.toml or the IDSYNC_{section.upper().replace('.', '__')}__* "
                 "environment variables",
        ) from None


class CallMetrics:
    """Counts IDSync's calls into one connection's connector, hook by hook.

    Every hook is counted (pluggy's hook-call monitoring), from whichever thread calls it; a
    sync reports the counts per connection (``sync --json``, ``--verbose``). They count calls of
    the connector contract, not HTTP requests: a connector may answer many calls from one
    listing it read, or page through several requests for one call.
    """

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def watch(self, pm: pluggy.PluginManager) -> None:
        pm.add_hookcall_monitoring(self._before, self._after)

    def _before(self, hook_name: str, hook_impls: object, kwargs: object) -> None:
        with self._lock:
            self.calls[hook_name] += 1

    def _after(self, outcome: object, hook_name: str, hook_impls: object,
               kwargs: object) -> None:
        """Nothing: a call is counted as it starts, so one that fails counts too."""

    def counts(self) -> dict[str, int]:
        """Calls per hook so far, by hook name."""
        with self._lock:
            return dict(sorted(self.calls.items()))


@dataclass
class DryRunGuard:
    """Refuses every write while a dry run is in progress: a last line of defence.

    :meth:`Runtime.dry_run <idsync_core.engine.runtime.Runtime.dry_run>` arms it on every
    connection for as long as a dry run lasts (``plan``, ``sync --dry-run``, ``link --dry-run``,
    the console's previews). It guards the write hooks: a write a connector makes on its own
    from inside a read hook never reaches them.
    """

    enabled: bool = False

    def _refuse_when_enabled(self, what: str) -> Generator[None, Any, Any]:
        if self.enabled:
            raise DryRunWriteRefused(f"dry run: refusing to {what}",
                                     hint="a dry run must never write: this is a bug of "
                                          "IDSync or of a connector; please report it")
        return (yield)

    @hookimpl(wrapper=True, tryfirst=True)
    def idsync_post_adjustment(self) -> Generator[None, Any, Any]:
        return (yield from self._refuse_when_enabled("post an adjustment"))

    @hookimpl(wrapper=True, tryfirst=True)
    def idsync_undo_duplicate(self) -> Generator[None, Any, Any]:
        return (yield from self._refuse_when_enabled("undo a duplicate posting"))


class Connection:
    """One configured connection: a connector instance in a plugin manager of its own."""

    kind: Kind

    def __init__(self, name: str, info: PluginInfo, connector: object) -> None:
        self.name = name
        self.info = info
        self.title: str = getattr(info.connector, "title", None) or info.connector.__name__
        """The connector's name for people ("ConnectWise"): its ``title``, else its class."""
        self.metrics = CallMetrics()
        self.dry_run = DryRunGuard()
        self._pm = pluggy.PluginManager(PROJECT_NAME)
        for spec in ALL_SPECS:
            self._pm.add_hookspecs(spec)
        self._pm.register(connector, name=info.name)
        self._pm.register(self.dry_run, name="idsync.dry-run-guard")
        self._pm.check_pending()
        self.metrics.watch(self._pm)
        self._hook = self._pm.hook

    @property
    def where(self) -> str:
        """How messages name this connection's side: the product for the PSA, the operator's
        name of the connection for a provider (there may be several)."""
        return self.info.title if self.kind == "psa" else self.name

    def check(self) -> str:
        return str(self._hook.idsync_check())

    def _listing(self, what: str, call: Callable[[], Iterable[T] | None], *,
                 parent: str | None = None, hint: str | None = None) -> Iterator[T]:
        """Call a listing hook now; yield its rows as they stream and log their count.

        ``parent`` names the object whose children are listed ("company 250"): an id the API
        has no record of is then reported as that object not existing, with ``hint``.
        """
        try:
            rows = iter(call() or ())
        except MissingRecordError as exc:
            raise self._missing(parent, hint, exc) from None
        return self._counted(what, rows, parent, hint)

    def _counted(self, what: str, rows: Iterator[T], parent: str | None,
                 hint: str | None) -> Iterator[T]:
        count = 0
        try:
            for row in rows:
                count += 1
                yield row
        except MissingRecordError as exc:
            raise self._missing(parent, hint, exc) from None
        log.info("%s: %d %s", self.where, count, what)

    def _missing(self, parent: str | None, hint: str | None,
                 exc: MissingRecordError) -> NotFoundError:
        if parent is None:
            return exc
        log.debug("%s: %s", self.where, exc.message)
        return NotFoundError(f"{parent} does not exist at {self.where}", hint=exc.hint or hint)

    def close(self) -> None:
        self._hook.idsync_close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PsaConnection(Connection):
    kind: Kind = "psa"

    def list_companies(self, search: str | None = None) -> Iterator[Company]:
        return self._listing("companies" + (f" matching {search!r}" if search else ""),
                             lambda: self._hook.idsync_list_companies(search=search))

    def list_agreements(self, company_id: str) -> Iterator[Agreement]:
        return self._listing(f"agreements of company {company_id}",
                             lambda: self._hook.idsync_list_agreements(company_id=company_id),
                             parent=f"company {company_id}",
                             hint="`idsync companies psa` lists the companies")

    def list_lines(self, agreement_id: str, as_of: date) -> Iterator[AgreementLine]:
        return self._listing(f"lines on agreement {agreement_id} as of {as_of}",
                             lambda: self._hook.idsync_list_lines(agreement_id=agreement_id,
                                                                  as_of=as_of),
                             parent=f"agreement {agreement_id}",
                             hint="`idsync agreements PSA_COMPANY_ID` lists a company's "
                                  "agreements")

    def list_catalog(
        self, search: str | None = None, ids: list[str] | None = None
    ) -> Iterator[CatalogItem]:
        what = "catalog items" + (f" matching {search!r}" if search else "") + (
            f" of {len(ids)} ids asked for" if ids is not None else "")
        return self._listing(what, lambda: self._hook.idsync_list_catalog(search=search,
                                                                          ids=ids))

    def post_adjustment(self, adjustment: Adjustment) -> PostedAdjustment:
        result = self._hook.idsync_post_adjustment(adjustment=adjustment)
        if not isinstance(result, PostedAdjustment):
            raise IdsyncError(f"the {self.info.name} connector returned no PostedAdjustment")
        return result

    def find_adjustment(self, adjustment: Adjustment) -> PostedAdjustment | None:
        result = self._hook.idsync_find_adjustment(adjustment=adjustment)
        return result if isinstance(result, PostedAdjustment) else None

    @property
    def can_find_adjustments(self) -> bool:
        return "idsync_find_adjustment" in self.info.hooks

    def undo_duplicate(self, adjustment: Adjustment, record_id: str) -> PostedAdjustment:
        result = self._hook.idsync_undo_duplicate(adjustment=adjustment, record_id=record_id)
        if not isinstance(result, PostedAdjustment):
            raise IdsyncError(f"the {self.info.name} connector cannot undo a duplicate posting")
        return result

    @property
    def can_undo_duplicates(self) -> bool:
        return "idsync_undo_duplicate" in self.info.hooks


class ProviderConnection(Connection):
    kind: Kind = "provider"

    def list_accounts(self, search: str | None = None) -> Iterator[ProviderAccount]:
        return self._listing("accounts" + (f" matching {search!r}" if search else ""),
                             lambda: self._hook.idsync_list_accounts(search=search))

    def list_subscriptions(self, account_id: str) -> Iterator[Subscription]:
        return self._listing(f"subscriptions of account {account_id}",
                             lambda: self._hook.idsync_list_subscriptions(account_id=account_id),
                             parent=f"account {account_id}",
                             hint="`idsync companies provider` lists the accounts")

    def list_resources(self, subscription_id: str) -> Iterator[Resource]:
        return self._listing(f"resources of subscription {subscription_id}",
                             lambda: self._hook.idsync_list_resources(
                                 subscription_id=subscription_id),
                             parent=f"subscription {subscription_id}",
                             hint="`idsync subscriptions ACCOUNT_ID` lists an account's "
                                  "subscriptions")


def open_connection(
    section: str, raw: Mapping[str, Any], kind: Kind, plugins: Mapping[str, PluginInfo]
) -> PsaConnection | ProviderConnection:
    """Build the connection configured in one settings table (``[psa]`` or ``[providers.X]``)."""
    plugin_name = raw.get("plugin")
    if not plugin_name:
        raise ConfigurationError(f"[{section}] has no `plugin = \"...\"` setting",
                                 hint="name the connector, e.g. plugin = \"connectwise\"")
    info = plugins.get(str(plugin_name))
    if info is None:
        installed = ", ".join(sorted(plugins)) or "none"
        raise ConfigurationError(
            f"[{section}] plugin = {plugin_name!r} is not installed (installed: {installed})",
            hint="install the connector's package, or check IDSYNC_LOAD_PLUGINS",
        )
    if info.kind != kind:
        raise ConfigurationError(
            f"[{section}] plugin {info.name!r} is a {info.kind} connector, not a {kind} one"
        )
    settings = validate_settings(info, section, raw)
    connector = info.connector(settings)
    cls = PsaConnection if kind == "psa" else ProviderConnection
    log.info("[%s] connection opened: the %s connector %s", section, info.name,
             info.version or "(version unknown)")
    return cls(section.removeprefix("providers."), info, connector)
