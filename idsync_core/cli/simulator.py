"""``idsync simulator ...``: serve a connector's API simulator on 127.0.0.1.

Anyone can then point IDSync, or any other client of that API, at it. The seed file format of
each simulator is documented in its connector's README.
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from idsync_core.cli.context import IdsyncTyper
from idsync_core.cli.output import err, out, table
from idsync_core.errors import ConfigurationError, NotFoundError

if TYPE_CHECKING:
    from idsync_core.simulation import Simulator

simulator_app = IdsyncTyper(help="Serve the built-in API simulators on 127.0.0.1.")


def simulator_factories() -> dict[str, Any]:
    """Connector name → its ``simulator`` factory, for connectors that ship one."""
    from idsync_core.plugins import discover_plugins  # not for `--help`: it loads pydantic

    found = {name: getattr(info.connector, "simulator", None)
             for name, info in discover_plugins().items()}
    return {name: factory for name, factory in found.items() if callable(factory)}


def complete_simulator(incomplete: str) -> list[str]:
    """Shell completion of a simulator's name: the connectors that ship one."""
    return [name for name in sorted(simulator_factories()) if name.startswith(incomplete)]


def load_seed(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        seed = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigurationError(f"cannot read the seed file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"the seed file {path} is not valid JSON: {exc}") from None
    if not isinstance(seed, dict):
        raise ConfigurationError(f"the seed file {path} must hold a JSON object")
    return seed


def toml_snippet(section: str, settings: dict[str, Any]) -> str:
    lines = [f"[{section}]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    return "\n".join(lines)


@simulator_app.command("list")
def list_simulators(as_json: bool = typer.Option(False, "--json")) -> None:
    """Connectors that ship a simulator."""
    from idsync_core.plugins import discover_plugins

    rows = [{"id": name, "name": name, "kind": discover_plugins()[name].kind}
            for name in sorted(simulator_factories())]
    table(rows, ["name", "kind"], as_json=as_json, title="Simulators",
          empty="no installed connector ships a simulator")


@simulator_app.command("serve")
def serve(
    name: str = typer.Argument(..., autocompletion=complete_simulator,
                               help="Connector name, e.g. connectwise, autotask, odin."),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Port (0: any free one)."),
    seed: Path | None = typer.Option(None, "--seed", help="Seed JSON file (see the "
                                     "connector's README); default: its example tenant."),
    latency_ms: int = typer.Option(0, "--latency-ms", min=0, help="Added to every answer."),
    fault_rate: float = typer.Option(0.0, "--fault-rate", min=0.0, max=1.0,
                                     help="Share of requests answered 429/500/503 at random."),
    rate_limit: int = typer.Option(0, "--rate-limit", min=0, help="Requests per minute "
                                   "before 429 (0: the simulator's default)."),
) -> None:
    """Serve one simulator until Ctrl-C, printing its URL and a matching idsync.toml table."""
    # Imported here: the web framework and server are for this command only, and every other
    # command (and `--help`) starts faster without them.
    from idsync_core.plugins import discover_plugins
    from idsync_core.simulation import ServerThread

    factories = simulator_factories()
    if name not in factories:
        raise NotFoundError(f"no simulator named {name!r}",
                            hint=f"available: {', '.join(sorted(factories)) or 'none'}")
    simulator: Simulator = factories[name](load_seed(seed))
    simulator.controls.latency_ms = latency_ms
    simulator.controls.faults.fault_rate = fault_rate
    if rate_limit:
        simulator.controls.rate_limit = rate_limit
        simulator.controls.rate_window = 60.0
    server = ServerThread(simulator.app, port=port).start()
    section = "psa" if discover_plugins()[name].kind == "psa" else f"providers.{name}"
    out.print(f"{name} simulator listening on {server.url}")
    out.print("Point IDSync at it with:\n")
    out.print(toml_snippet(section, simulator.connection_settings(server.url)))
    out.print(f"\nRequest log: {server.url}/_sim/requests · Ctrl-C stops it.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        err.print("stopped")
