"""What every command shares: the runtime, error reporting and exit codes."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import typer

from idsync_core.cli import logs
from idsync_core.engine.runtime import Runtime
from idsync_core.errors import ExitCode, IdsyncError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    config: Path | None = None
    db: str | None = None
    debug: bool = False
    _runtime: Runtime | None = field(default=None, repr=False)

    def runtime(self) -> Runtime:
        if self._runtime is None:
            # Imported here: pydantic-settings is slow to import and `--help` needs no settings.
            from idsync_core.settings import load_settings

            settings, path = load_settings(self.config)
            self._runtime = Runtime(settings, config_path=path, store_url=self.db)
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()


current_state: ContextVar[CliState | None] = ContextVar("idsync_cli_state", default=None)
"""Set by the app's callback for the command that runs (one per invocation)."""


def runtime() -> Runtime:
    """The runtime of the running command (opened on first use, closed at exit)."""
    state = current_state.get()
    if state is None:
        state = CliState()
        current_state.set(state)
    return state.runtime()


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn IDSync's errors into a message on stderr and the documented exit code."""
    try:
        yield
    except IdsyncError as exc:
        logs.error(exc.message, hint=exc.hint)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        logs.error("interrupted")
        raise typer.Exit(int(ExitCode.CANCELLED)) from None
    except typer.Abort:  # Ctrl-C or the end of input at a prompt: it precedes every change
        logs.error("cancelled, nothing changed")
        raise typer.Exit(int(ExitCode.CANCELLED)) from None
    except Exception as exc:
        if type(exc).__module__.startswith("typer"):  # Exit, Abort, BadParameter: Typer's own
            raise
        # A bug: say so, without dumping locals (they may hold secrets).
        state = current_state.get()
        debug = state is not None and state.debug
        logs.error(f"{type(exc).__name__}: {exc}", label="internal error", traceback=debug,
                   hint=None if debug else "run again with --debug for the traceback, and "
                   "report it")
        raise typer.Exit(int(ExitCode.INTERNAL)) from None


class IdsyncTyper(typer.Typer):
    """A Typer whose every command reports errors through :func:`reported_errors`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("pretty_exceptions_enable", False)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(fn: F) -> F:
            @functools.wraps(fn)
            def wrapped(*a: Any, **kw: Any) -> Any:
                with reported_errors():
                    return fn(*a, **kw)

            register(wrapped)
            return fn

        return decorator


def complete_provider(incomplete: str) -> list[str]:
    """Shell completion of ``--provider``: the provider connections configured."""
    from idsync_core.settings import load_settings

    try:
        settings, _ = load_settings(None)
    except IdsyncError:  # no readable configuration: nothing to offer
        return []
    return [name for name in sorted(settings.providers) if name.startswith(incomplete)]


PROVIDER = typer.Option(None, "--provider", autocompletion=complete_provider,
                        help="Provider connection (default: the only one).")
