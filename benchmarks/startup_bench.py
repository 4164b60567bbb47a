"""Start-up benchmark: how long a command that only looks takes, against Python's own floor.

    python benchmarks/startup_bench.py [--pairs 40] [--command --help] [--command plugins]
                                       [--out FILE]

The reference is ``python -c "import typer, rich.console, httpx, pydantic"``: the libraries any
command needs, imported and nothing done. Each command (default: ``idsync --help`` and ``idsync
plugins``) is run against it in pairs, the two runs of a pair back to back and their order
alternating from pair to pair, so a machine that slows down or speeds up weighs on both alike.
The figure is the median over the pairs of (command's wall time ÷ reference's wall time); the
target is ``idsync --help`` ≤ 1.5 ×. Every run is a fresh process from this interpreter's
environment (the ``idsync`` console script next to it), with no ``IDSYNC_*`` variable and an
empty user configuration directory; three unmeasured runs of each warm the caches first.

What those commands import is held by ``tests/test_startup.py`` (the module list, not the time).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sync_bench import machine

REFERENCE = [sys.executable, "-c", "import typer, rich.console, httpx, pydantic"]
TARGET = 1.5
"""``idsync --help`` may take at most this many times the reference."""


def idsync_script() -> str:
    script = Path(sys.executable).with_name("idsync")
    if not script.exists():
        sys.exit(f"no idsync console script next to {sys.executable}; install IDSync first")
    return str(script)


def wall(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - started


def measure(command: list[str], pairs: int, env: dict[str, str]) -> dict[str, Any]:
    for _ in range(3):
        wall(REFERENCE, env)
        wall(command, env)
    reference: list[float] = []
    measured: list[float] = []
    for i in range(pairs):
        if i % 2:
            measured.append(wall(command, env))
            reference.append(wall(REFERENCE, env))
        else:
            reference.append(wall(REFERENCE, env))
            measured.append(wall(command, env))
    ratios = [m / r for m, r in zip(measured, reference, strict=True)]
    quartiles = statistics.quantiles(ratios, n=4)
    return {"command": " ".join(["idsync", *command[1:]]), "pairs": pairs,
            "median_ms": round(statistics.median(measured) * 1000, 1),
            "reference_median_ms": round(statistics.median(reference) * 1000, 1),
            "median_ratio": round(statistics.median(ratios), 3),
            "ratio_quartiles": [round(quartiles[0], 3), round(quartiles[2], 3)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--command", action="append", dest="commands",
                        help="idsync arguments, one string per command (default: --help, "
                             "plugins); repeat for more")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    script = idsync_script()
    with tempfile.TemporaryDirectory(prefix="idsync-startup-") as empty:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IDSYNC_")}
        env["XDG_CONFIG_HOME"] = empty
        results = [measure([script, *command.split()], args.pairs, env)
                   for command in args.commands or ["--help", "plugins"]]
    print(f"{'command':<20} {'median ms':>10} {'reference ms':>13} {'median ratio':>13} "
          f"{'quartiles':>14}")
    for r in results:
        low, high = r["ratio_quartiles"]
        print(f"{r['command']:<20} {r['median_ms']:>10} {r['reference_median_ms']:>13} "
              f"{r['median_ratio']:>13} {f'{low}-{high}':>14}")
    help_ratio = next((r["median_ratio"] for r in results if r["command"] == "idsync --help"),
                      None)
    if help_ratio is not None:
        verdict = "met" if help_ratio <= TARGET else "NOT met"
        print(f"target idsync --help ≤ {TARGET} × reference: {verdict} ({help_ratio} ×)")
    if args.out:
        args.out.write_text(json.dumps({"machine": machine(), "reference": " ".join(
            ["python", *REFERENCE[1:]]), "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
