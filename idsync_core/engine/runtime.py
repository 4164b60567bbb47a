"""The runtime of one IDSync invocation: settings, store and connections, opened on demand.

The CLI builds one :class:`Runtime` per command; the engine takes it as its only context. Nothing
is opened until used, so ``idsync plugins`` works without a configuration and ``idsync links``
without network access.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from idsync_core.durations import format_duration
from idsync_core.errors import ConfigurationError, ExitCode, IdsyncError, NotFoundError

if TYPE_CHECKING:  # annotations only (see idsync_core.engine)
    from idsync_core.plugins import Connection, PluginInfo, ProviderConnection, PsaConnection
    from idsync_core.settings import IdsyncSettings
    from idsync_core.store import Store


def today_from_env() -> date:
    """Today, or ``IDSYNC_TODAY`` (YYYY-MM-DD) so tests and demos can pin the calendar."""
    pinned = os.environ.get("IDSYNC_TODAY")
    if not pinned:
        return date.today()
    try:
        return date.fromisoformat(pinned)
    except ValueError:
        raise ConfigurationError(f"IDSYNC_TODAY={pinned!r} is not a date (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class ConnectionCheck:
    """Whether one configured connection can be reached and its credentials are accepted."""

    section: str
    """Its settings table: ``psa`` or ``providers.NAME``."""
    connector: str
    ok: bool
    detail: str
    exit_code: int


class Runtime:
    def __init__(self, settings: IdsyncSettings, *, config_path: Path | None = None,
                 store_url: str | None = None, today: date | None = None,
                 store: Store | None = None,
                 plugins: dict[str, PluginInfo] | None = None) -> None:
        """``store`` / ``plugins``: already open or discovered ones to share (the web console
        makes one runtime per request over one store); they stay open when this one closes."""
        self.settings = settings
        self.config_path = config_path
        self._store_url = store_url
        self.today = today or today_from_env()
        self._owns_store = store is None
        if store is not None:
            self.__dict__["store"] = store
        if plugins is not None:
            self.__dict__["plugins"] = plugins
        self._providers: dict[str, ProviderConnection] = {}
        self._providers_lock = threading.Lock()  # sync threads must share one connection
        self._psa: PsaConnection | None = None
        self._psa_lock = threading.Lock()  # likewise, whichever thread asks first
        self._dry_runs = 0

    @cached_property
    def plugins(self) -> dict[str, PluginInfo]:
        from idsync_core.plugins import discover_plugins

        return discover_plugins()

    @cached_property
    def unknown_outcome_wait(self) -> timedelta:
        """``[sync] unknown_outcome_wait``, checked against the connections' request timeouts.

        A write the client gave up on can still land while the server holds it; the quarantine
        must outlast any request by far, or a re-post could overtake the held write.
        """
        wait = self.settings.sync.unknown_outcome_wait
        timeouts = self.request_timeouts()
        if timeouts:
            section, longest = max(timeouts.items(), key=lambda item: item[1])
            if wait.total_seconds() < 2 * longest:
                minimum = format_duration(timedelta(seconds=int(2 * longest + 0.999)))
                raise ConfigurationError(
                    f"[sync] unknown_outcome_wait = {format_duration(wait)!r} is shorter than "
                    f"twice the longest request timeout ({longest:g} s, [{section}] timeout)",
                    hint=f"set unknown_outcome_wait to at least {minimum!r} (default 15m)")
        return wait

    def request_timeouts(self) -> dict[str, float]:
        """Seconds per request of each configured connection whose connector has a ``timeout``
        setting (as given, else the connector's default), by settings table."""
        tables = {"psa": self.settings.psa, **{f"providers.{name}": table for name, table
                                                in self.settings.providers.items()}}
        found: dict[str, float] = {}
        for section, raw in tables.items():
            info = self.plugins.get(str(raw.get("plugin")))
            field = info.settings_model.model_fields.get("timeout") if info else None
            if field is None:
                continue
            try:
                found[section] = float(raw.get("timeout", field.default))
            except (TypeError, ValueError):
                continue  # the connector's own validation names the bad value when it opens
        return found

    @cached_property
    def store(self) -> Store:
        # Imported on first use: SQLAlchemy and Alembic take longer to import than the rest of
        # IDSync, and `--help`, `plugins` and `check` never touch the store.
        from idsync_core.settings import default_store_url
        from idsync_core.store import Store

        return Store(self._store_url or self.settings.store.url or default_store_url(),
                     pool_size=self.settings.sync.concurrency + 2)

    def _where(self) -> str:
        if self.config_path is None:
            return ""
        if not self.config_path.exists():
            return f" (there is no configuration file at {self.config_path})"
        return f" in {self.config_path}"

    def require_connections(self) -> None:
        """A PSA and at least one provider are configured, or a ConfigurationError naming what
        is missing: planning or syncing with half the picture would report "nothing to do"."""
        if not self.settings.psa:
            raise ConfigurationError(
                f"no PSA connection is configured{self._where()}",
                hint="add a [psa] table with plugin = \"connectwise\" or \"autotask\" "
                     "(see the README's Configuration section), or point --config / "
                     "IDSYNC_CONFIG at your idsync.toml")
        if not self.settings.providers:
            raise ConfigurationError(
                f"no provider connection is configured{self._where()}",
                hint="add a [providers.NAME] table, e.g. [providers.ingram] plugin = \"odin\"")

    @property
    def psa(self) -> PsaConnection:
        """The PSA connection, opened on first use; one for every thread of a run."""
        from idsync_core.plugins import PsaConnection, open_connection

        if not self.settings.psa:
            raise ConfigurationError(
                f"no PSA connection is configured{self._where()}",
                hint="add a [psa] table with plugin = \"connectwise\" or \"autotask\" "
                     "(see the README's Configuration section)")
        with self._psa_lock:
            if self._psa is None:
                connection = open_connection("psa", self.settings.psa, "psa", self.plugins)
                assert isinstance(connection, PsaConnection)
                connection.dry_run.enabled = self._dry_runs > 0
                self._psa = connection
            return self._psa

    @property
    def provider_names(self) -> list[str]:
        return sorted(self.settings.providers)

    def provider(self, name: str | None = None) -> ProviderConnection:
        """The named provider connection, or the only one when ``name`` is None."""
        from idsync_core.plugins import ProviderConnection, open_connection

        names = self.provider_names
        if not names:
            raise ConfigurationError(
                f"no provider connection is configured{self._where()}",
                hint="add a [providers.NAME] table, e.g. [providers.ingram] plugin = \"odin\"")
        if name is None:
            if len(names) > 1:
                raise ConfigurationError(
                    f"several providers are configured ({', '.join(names)})",
                    hint="choose one with --provider NAME")
            name = names[0]
        if name not in self.settings.providers:
            raise NotFoundError(f"no provider connection named {name!r}",
                                hint=f"configured: {', '.join(names)}")
        with self._providers_lock:
            if name not in self._providers:
                connection = open_connection(f"providers.{name}", self.settings.providers[name],
                                             "provider", self.plugins)
                assert isinstance(connection, ProviderConnection)
                connection.dry_run.enabled = self._dry_runs > 0
                self._providers[name] = connection
            return self._providers[name]

    def _open_connections(self) -> list[Connection]:
        with self._psa_lock:
            psa: list[Connection] = [self._psa] if self._psa is not None else []
        with self._providers_lock:
            return psa + list(self._providers.values())

    @contextmanager
    def dry_run(self) -> Iterator[None]:
        """Every connection refuses writes while this lasts, those open now and those opened
        meanwhile (:class:`~idsync_core.plugins.DryRunGuard`): a dry run or preview that
        reaches a write hook fails loudly instead of posting. Dry runs may nest. The guard is the
        runtime's, so a preview and a real run at the same time want a runtime each."""
        with self._providers_lock:
            self._dry_runs += 1
        for connection in self._open_connections():
            connection.dry_run.enabled = True
        try:
            yield
        finally:
            with self._providers_lock:
                self._dry_runs -= 1
                armed = self._dry_runs > 0
            for connection in self._open_connections():
                connection.dry_run.enabled = armed

    def connection_calls(self) -> dict[str, dict[str, int]]:
        """IDSync's calls into each open connection so far, per hook, by settings table
        (``psa``, ``providers.NAME``): what this run asked of each connector."""
        return {("psa" if connection.kind == "psa" else f"providers.{connection.name}"):
                connection.metrics.counts() for connection in self._open_connections()}

    def close_connections(self) -> None:
        """Close the connections; the next use opens fresh ones.

        Connectors may cache what they read for the life of an instance (Ingram's throttled
        detail endpoint is read once per subscription), so each sync run starts fresh.
        """
        for connection in self._providers.values():
            connection.close()
        self._providers.clear()
        with self._psa_lock:
            psa, self._psa = self._psa, None
        if psa is not None:
            psa.close()

    def check_connections(self) -> list[ConnectionCheck]:
        """Reach and authenticate every configured connection (``idsync check``)."""
        targets: list[tuple[str, dict[str, object]]] = [("psa", dict(self.settings.psa))]
        targets += [(f"providers.{name}", dict(self.settings.providers[name]))
                    for name in self.provider_names]
        found = []
        for section, raw in targets:
            connector = str(raw.get("plugin") or "no connector")
            try:
                connection = self.psa if section == "psa" else self.provider(
                    section.removeprefix("providers."))
                found.append(ConnectionCheck(section, connector, True, connection.check(),
                                             int(ExitCode.OK)))
            except IdsyncError as exc:
                found.append(ConnectionCheck(section, connector, False, exc.message,
                                             int(exc.exit_code)))
        return found

    def close(self) -> None:
        self.close_connections()
        if "store" in self.__dict__ and self._owns_store:
            self.store.close()
