"""The harness one conformance test works through: the connector's world and its connections.

A *world* is one running backend: the connector's simulator (or a :class:`ReplaySimulator`)
served on 127.0.0.1, or the files a settings factory wrote. Every test gets fresh worlds and
fresh connections, so tests never see each other's postings, faults or caches; everything is
stopped and closed when the test ends.

The harness builds each connector itself (as ``open_connection`` would, from the validated
settings) so that it can hand it the suite's clock: nothing the connector waits for costs real
time, and the checks can see what it waited and move time past a token's lifetime.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from idsync_core.http.wiring import Wiring
from idsync_core.plugins import (
    Connection,
    PluginInfo,
    ProviderConnection,
    PsaConnection,
    discover_plugins,
    validate_settings,
)
from idsync_core.simulation import (
    LoggedRequest,
    RequestLog,
    ServerThread,
    Simulator,
    SimulatorControls,
)
from idsync_core.testing.answers import Answer, AnswerRecorder
from idsync_core.testing.clock import SuiteClock
from idsync_core.testing.config import SuiteConfig

WRONG_SECRET = "idsync-conformance-wrong-secret"
TIME_KEYWORDS = ("sleep", "clock")


@dataclass
class World:
    """One running backend and the settings table that points a connection at it."""

    settings: dict[str, Any]
    simulator: Simulator | None = None
    server: ServerThread | None = None
    recorder: AnswerRecorder | None = None

    @property
    def controls(self) -> SimulatorControls:
        if self.simulator is None:
            raise RuntimeError("this world has no simulator (the connector runs without HTTP)")
        return self.simulator.controls

    @property
    def log(self) -> RequestLog:
        return self.controls.log

    def answers(self) -> list[Answer]:
        """Every response the simulator sent so far, with its headers (none without one)."""
        return self.recorder.answers() if self.recorder is not None else []

    def settle(self) -> None:
        """Wait until the request log holds every request answered so far.

        The middleware logs a request just *after* sending its answer, so a client can be done
        before the entry exists. A round trip through the same server (to a ``/_sim/`` path,
        which is never logged) lets those pending log writes run first.
        """
        if self.server is not None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{self.server.url}/_sim/idsync-conformance-settle", timeout=5)

    def requests_during(self, action: Callable[[], object]) -> list[LoggedRequest]:
        """Run ``action`` and return the requests the simulator answered meanwhile (none
        without a simulator)."""
        if self.simulator is None:
            action()
            return []
        self.settle()
        before = len(self.log.entries())
        action()
        self.settle()
        return self.log.entries()[before:]

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@contextmanager
def _captured_warnings(logger: str) -> Iterator[list[str]]:
    """Collect the warnings a logger emits (discovery explains a skipped plugin this way)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(logging.WARNING)
    log = logging.getLogger(logger)
    log.addHandler(handler)
    try:
        yield messages
    finally:
        log.removeHandler(handler)


def find_plugin(name: str) -> PluginInfo:
    """The installed connector ``name``, or a test failure that says why it was not loaded.

    The caller restricts discovery to this plugin (``IDSYNC_LOAD_PLUGINS``), so other installed
    connectors cannot interfere.
    """
    with _captured_warnings("idsync_core.plugins") as warnings:
        found = discover_plugins()
    if name not in found:
        why = "; ".join(warnings) or (
            f"no entry point named {name!r} in the group 'idsync': is the distribution "
            "installed (pip install -e .) and the name spelt as in its pyproject.toml?")
        pytest.fail(f"connector {name!r} was not discovered: {why}", pytrace=False)
    return found[name]


def _is_secret(annotation: object) -> bool:
    if annotation is SecretStr:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType or origin is typing.Annotated:
        return any(_is_secret(arg) for arg in typing.get_args(annotation))
    return False


def time_keywords(connector: type) -> frozenset[str]:
    """Which of ``sleep`` and ``clock`` the connector class takes as keyword arguments — both
    when it takes a ``wiring`` (:class:`idsync_core.http.wiring.Wiring`, which carries them)."""
    try:
        parameters = inspect.signature(connector).parameters
    except (TypeError, ValueError):
        return frozenset()
    keyword = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if "wiring" in parameters and parameters["wiring"].kind in keyword:
        return frozenset(TIME_KEYWORDS)
    return frozenset(name for name in TIME_KEYWORDS
                     if name in parameters and parameters[name].kind in keyword)


def takes_wiring(connector: type) -> bool:
    try:
        return "wiring" in inspect.signature(connector).parameters
    except (TypeError, ValueError):
        return False


def secret_settings(info: PluginInfo) -> list[str]:
    """Names of the connector's settings typed ``SecretStr``."""
    return [name for name, f in info.settings_model.model_fields.items()
            if _is_secret(f.annotation)]


class Harness:
    """What one conformance test works with. Built by the ``idsync_conformance`` fixture."""

    def __init__(self, config: SuiteConfig, info: PluginInfo, directory: Path) -> None:
        self.config = config
        self.info = info
        self.directory = directory
        self._worlds: list[World] = []
        self._connections: list[Connection] = []
        self._default: World | None = None
        self.clock = SuiteClock()
        self.fake_time = (frozenset(TIME_KEYWORDS) if config.connector is not None
                          else time_keywords(info.connector))
        """What of the suite's time the connector gets: ``sleep``, ``clock`` (both, usually)."""
        self.simulator_factory = config.simulator or getattr(info.connector, "simulator", None)
        if config.settings is None and not callable(self.simulator_factory):
            pytest.fail(
                f"connector {info.name!r} has no `simulator` attribute: give SuiteConfig a "
                "`simulator=` factory (e.g. ReplaySimulator for recorded responses) or a "
                "`settings=` factory for a connector without HTTP", pytrace=False)

    @property
    def kind(self) -> str:
        return self.info.kind

    @property
    def http(self) -> bool:
        """True when the connector talks HTTP to a simulator, so HTTP-level checks apply."""
        return self.config.http

    @property
    def section(self) -> str:
        return "psa" if self.kind == "psa" else f"providers.{self.info.name}"

    # -- worlds ------------------------------------------------------------------------------

    def start(self, seed: Any) -> World:
        """Start a world from ``seed`` (the simulator's seed, or the settings factory's)."""
        if self.config.settings is not None:
            directory = self.directory / f"world-{len(self._worlds)}"
            directory.mkdir(parents=True, exist_ok=True)
            world = World(dict(self.config.settings(directory, seed)))
        else:
            assert callable(self.simulator_factory)
            simulator = self.simulator_factory(seed)
            recorder = AnswerRecorder(simulator.app)
            server = ServerThread(recorder).start()
            world = World({}, simulator, server, recorder)
            self._worlds.append(world)  # stopped at teardown even if the next line fails
            world.settings = dict(simulator.connection_settings(server.url))
            return world
        self._worlds.append(world)
        return world

    @property
    def world(self) -> World:
        """The world built from ``SuiteConfig.seed``, started on first use."""
        if self._default is None:
            self._default = self.start(self.config.seed)
        return self._default

    @property
    def controls(self) -> SimulatorControls:
        return self.world.controls

    # -- connections -------------------------------------------------------------------------

    def connect(self, world: World | None = None,
                overrides: Mapping[str, Any] | None = None) -> Connection:
        """A fresh connection (its own connector instance, so no cache is shared), built on
        the suite's clock where the connector takes it."""
        settings = {**(world or self.world).settings, **(overrides or {})}
        if settings.setdefault("plugin", self.info.name) != self.info.name:
            pytest.fail(f"the settings name plugin {settings['plugin']!r}, not "
                        f"{self.info.name!r}", pytrace=False)
        connector = self._build(validate_settings(self.info, self.section, settings))
        kind = PsaConnection if self.kind == "psa" else ProviderConnection
        connection = kind(self.section.removeprefix("providers."), self.info, connector)
        self._connections.append(connection)
        return connection

    def _build(self, settings: Any) -> object:
        if self.config.connector is not None:
            return self.config.connector(settings, self.clock)
        if takes_wiring(self.info.connector):
            return self.info.connector(settings, wiring=Wiring(sleep=self.clock.sleep,
                                                               clock=self.clock.monotonic))
        given = {"sleep": self.clock.sleep, "clock": self.clock.monotonic}
        return self.info.connector(settings, **{name: given[name] for name in self.fake_time})

    def needs_time(self, *what: str, check: str) -> SuiteClock:
        """The suite's clock, or a failure saying how to let the suite give it to the
        connector: ``check`` cannot be made without real waits otherwise."""
        lacking = [name for name in what if name not in self.fake_time]
        if lacking:
            pytest.fail(
                f"{check} needs to give {self.info.name} the suite's "
                f"{' and '.join(lacking)}, so that no real time passes: accept a `wiring=` "
                "(idsync_core.http.wiring.Wiring) or `sleep=` and `clock=` keyword arguments "
                "in the connector class (passing them on to ApiClient(sleep=...), budgets and "
                "BearerToken(clock=...)), or give "
                "SuiteConfig(connector=lambda settings, clock: YourConnector(settings, "
                "sleep=clock.sleep, clock=clock.monotonic))", pytrace=False)
        return self.clock

    def psa(self, world: World | None = None,
            overrides: Mapping[str, Any] | None = None) -> PsaConnection:
        connection = self.connect(world, overrides)
        assert isinstance(connection, PsaConnection)
        return connection

    def provider(self, world: World | None = None,
                 overrides: Mapping[str, Any] | None = None) -> ProviderConnection:
        connection = self.connect(world, overrides)
        assert isinstance(connection, ProviderConnection)
        return connection

    def secret_values(self, world: World | None = None) -> list[str]:
        """The secret strings in the world's settings: none may appear in any message."""
        settings = (world or self.world).settings
        return [str(settings[name]) for name in secret_settings(self.info)
                if settings.get(name) not in (None, "")]

    def bad_settings(self) -> dict[str, Any] | None:
        """Overrides that make the settings wrong: the author's, or (with a simulator) every
        secret replaced. None when neither applies."""
        if self.config.bad_settings is not None:
            return dict(self.config.bad_settings)
        if not self.http:
            return None
        secrets = [name for name in secret_settings(self.info) if name in self.world.settings]
        return {name: WRONG_SECRET for name in secrets} or None

    def close_now(self, connection: Connection) -> None:
        """Close a connection during the test (checks that idsync_close works)."""
        self._connections.remove(connection)
        connection.close()

    def close(self) -> None:
        for connection in reversed(self._connections):
            try:
                connection.close()
            except Exception:  # a failing close must not hide the test's own outcome
                logging.getLogger(__name__).exception("closing %s failed", connection.name)
        for world in self._worlds:
            world.stop()
