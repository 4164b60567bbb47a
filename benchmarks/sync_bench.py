"""Full-sync benchmark: a large tenant on the simulators, the real CLI, real budgets.

    python benchmarks/sync_bench.py [--psa connectwise|autotask|both] [--sizes 2500 10000]
                                    [--time-scale 2] [--latency-ms 100] [--out FILE]

For each PSA and size it builds the tenant of ``benchmarks/tenant.py`` in the Ingram marketplace
simulator and the PSA simulator (seeded in their documented formats, served on 127.0.0.1 by
``idsync_core.simulation.ServerThread`` in this process), writes the links straight into a fresh
SQLite store (linking is not what is measured; the PSA lines are real records in the PSA
simulator), then runs ``python -m idsync_core sync --yes --json`` twice in a subprocess:

1. the full sync (``change_rate`` of the lines differ and get posted);
2. a second sync of the unchanged tenant (must post nothing).

For each run it reports the API calls made (from the simulators' request logs) against the
theoretical minimum (formulas in ``minimum_*`` below and in RESULTS.md), the wall time against
the bound the APIs' rate and concurrency limits set (``bound_*``), and the sync process's peak
RSS: its kernel high-water mark ``VmHWM`` (/proc/<pid>/status, read every 20 ms until it
exits). ``ru_maxrss`` from ``os.wait4`` is recorded too, but Linux can carry the parent's RSS at
fork into it (this process holds the simulators' large tenants), so it only bounds from above.
The JSON also holds each run's timeline (seconds from its start to the first request, Ingram's
first and last detail request, the last request and the exit): where a run's time went.

**Time scale.** Real budgets make a 10,000-resource sync take many minutes, so the clock may be
scaled by ``--time-scale K``: every latency and every budget window, on the simulators *and* in
the clients, is divided by K (latency 100 ms → 100/K ms; ConnectWise 1,000 requests per 60 s →
per 60/K s; Autotask's threshold timeframe 60 min → 60/K min and its usage-latency tiers
0.5/1 s → 0.5/K, 1/K s; Ingram's detail throttle 20 per 1 s → per 1/K s). Request counts,
concurrency limits and the order of events are unchanged; the bound is computed under the same
scaling, so "wall / bound" compares like with like. CPU time is *not* scaled: at K > 1 the
engine's own per-link cost weighs K times more against the bound than it would in real time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tenant as world

from idsync_core.simulation import ServerThread
from idsync_core.store import CompanyLink, ResourceLink, Store, SubscriptionLink

HERE = Path(__file__).resolve().parent
INGRAM_DETAIL_LIMIT, INGRAM_DETAIL_WINDOW = 20, 1.0
"""Ingram publishes no figure for its detail throttle ("a time window"); 20 requests per second
is the simulator's example seed and an assumption, stated in RESULTS.md."""
CW_LIMIT, CW_WINDOW = 1000, 60.0
AT_LIMIT, AT_MINUTES, AT_THREADS = 10_000, 60, 3
AT_TIERS = {50: 0.5, 75: 1.0}
"""Autotask's added latency per request from these usage percentages on (seconds)."""
NUMBER = re.compile(r"/[0-9]+")
CORE_PATH = ""
"""``--core-path``: a folder holding a modified ``idsync_core`` that the sync process imports
instead of the installed one (to measure a proposed engine change; see RESULTS.md)."""
AT_REFRESH_EVERY = 200
"""The connector reads ThresholdInformation every 200 requests below 50 % usage (every 50
above): counted as overhead, not in the minimum."""


# -- the run ----------------------------------------------------------------------------------

@dataclass
class Calls:
    provider: Counter[str] = field(default_factory=Counter)
    psa: Counter[str] = field(default_factory=Counter)

    def total(self, side: str) -> int:
        return sum(getattr(self, side).values())


@dataclass
class RunResult:
    label: str
    wall_s: float
    cpu_s: float
    simulators_cpu_s: float
    exit_code: int
    outcome: dict[str, Any]
    peak_rss_mb: float
    peak_rss_wait4_mb: float
    provider_calls: dict[str, int]
    psa_calls: dict[str, int]
    provider_total: int
    psa_total: int
    psa_writes: int
    provider_min: int
    psa_min: int
    psa_min_writes: int
    calls_ratio: float
    bound_s: float
    bound_detail: dict[str, float]
    bound_min_calls_s: float
    time_ratio: float
    statuses: dict[str, int]
    timeline: dict[str, float]


def classify_provider(method: str, path: str) -> str:
    if path.endswith("/token"):
        return "token"
    if re.search(r"/subscriptions/[^/]+$", path):
        return "subscription detail"
    if path.endswith("/subscriptions"):
        return "subscription list"
    if re.search(r"/customers/[^/]+$", path):
        return "customer get"
    if path.endswith("/customers"):
        return "customer list"
    return f"{method} {path}"


def classify_cw(method: str, path: str) -> str:
    if "/login/companyinfo" in path:
        return "codebase lookup"
    if method in ("POST", "PATCH", "PUT", "DELETE"):
        return f"write {method} addition"
    if re.search(r"/finance/agreements/\d+/additions$", path):
        return "additions list"
    if path.endswith("/finance/agreements"):
        return "agreements list"
    if re.search(r"/finance/agreements/\d+$", path):
        return "agreement get"
    if re.search(r"/procurement/catalog/\d+$", path):
        return "catalog get"
    if path.endswith("/procurement/catalog"):
        return "catalog list"
    if re.search(r"/company/companies/\d+$", path):
        return "company get"
    return f"{method} {NUMBER.sub('/N', path)}"


def classify_at(method: str, path: str) -> str:
    lowered = path.lower()
    if "zoneinformation" in lowered:
        return "zone lookup"
    if "thresholdinformation" in lowered:
        return "ThresholdInformation"
    if "entityinformation" in lowered:
        return "entityInformation"
    m = re.search(r"/v1\.0/([a-z]+)(/.*)?$", lowered)
    entity = m.group(1) if m else lowered
    rest = (m.group(2) or "") if m else ""
    if method == "POST" and rest.startswith("/query"):
        return f"query {entity}"
    if method == "GET":
        return f"get {entity}"
    return f"write {method} {entity}{NUMBER.sub('/N', rest)}"


def is_psa_write(psa: str, kind: str) -> bool:
    return kind.startswith("write ")


def at_endpoint(kind: str) -> str:
    return kind.split(" ", 1)[-1].split("/")[0]


# -- minimums ---------------------------------------------------------------------------------

def minimum_provider(t: world.Tenant) -> int:
    """1 token + one listing page per status (5 statuses, 500 rows a page; ``status`` takes one
    value per call) + one detail per linked subscription (the only place quantities are)."""
    subs = len(t.subscriptions())
    per_status = [subs, 0, 0, 0, 0]  # every benchmark subscription is active
    return 1 + sum(max(1, math.ceil(n / 500)) for n in per_status) + subs


def minimum_connectwise(t: world.Tenant, *, first: bool) -> tuple[int, int]:
    """(calls, writes): 1 codebase lookup + the agreements of the linked companies (the fewer
    of one request per company and ceil(all agreements/1000) pages) + per linked agreement
    ceil(additions/1000) addition pages + 1 catalog page for the linked products + per change:
    1 re-read before posting and 1 after (the hook contract requires both) + the writes
    (increase: 1 POST; decrease: 1 PATCH per cancelled addition, +1 POST re-adding a
    surplus)."""
    agreements = len(t.subscriptions())
    calls = 1 + min(len(t.customers), math.ceil(agreements / 1000)) + agreements + 1
    writes = 0
    if first:
        for line in t.changes():
            writes += 1 if line.delta > 0 else world.cw_decrease_writes(line)
        calls += 2 * len(t.changes())
    return calls + writes, writes


def minimum_autotask(t: world.Tenant, *, first: bool) -> tuple[int, int]:
    """(calls, writes): 1 zone lookup + 1 Contracts entityInformation (billing-cycle labels) +
    the contracts of the linked companies (the fewer of one query per company and
    ceil(all recurring contracts/500) pages) + per linked contract 1 ContractServices query and
    1 ContractServiceUnits query (both dates from one read) + 1 Services query (catalog) + per
    change: 1 units read before posting, 1 ContractServiceAdjustments POST, 1 units read
    after. ThresholdInformation readings are overhead, not counted."""
    contracts = len(t.subscriptions())
    calls = 2 + min(len(t.customers), math.ceil(contracts / 500)) + 2 * contracts + 1
    writes = len(t.changes()) if first else 0
    if first:
        calls += 3 * len(t.changes())
    return calls, writes


# -- bounds -----------------------------------------------------------------------------------

def window_bound(n: int, limit: int, window: float) -> float:
    """Least time for n requests when any window holds at most ``limit`` of them."""
    return 0.0 if n <= limit else ((n - 1) // limit) * window


def bound_seconds(psa: str, calls: Calls, at_log: list[str] | None, *, scale: float,
                  latency: float) -> dict[str, float]:
    detail = calls.provider.get("subscription detail", 0)
    parts = {"ingram detail throttle": window_bound(detail, INGRAM_DETAIL_LIMIT,
                                                   INGRAM_DETAIL_WINDOW / scale) + latency}
    if psa == "connectwise":
        parts["connectwise 1000/min"] = window_bound(calls.total("psa"), CW_LIMIT,
                                                     CW_WINDOW / scale) + latency
    else:
        # 3 in flight per endpoint: an endpoint needs at least (its requests' latencies,
        # Autotask's usage tiers included) / 3. The hourly budget itself is not binding below
        # 10,000 requests (the connector stops at 90 % of it).
        per_endpoint: Counter[str] = Counter()
        for used, kind in enumerate(at_log or []):
            percent = 100.0 * used / AT_LIMIT
            added = max((s for p, s in AT_TIERS.items() if percent >= p), default=0.0)
            per_endpoint[at_endpoint(kind)] += latency + added / scale
        slowest = max(per_endpoint.items(), key=lambda kv: kv[1], default=("-", 0.0))
        parts[f"autotask 3/endpoint ({slowest[0]})"] = slowest[1] / AT_THREADS
    return parts


# -- processes --------------------------------------------------------------------------------

SYNC_ARGS = ("sync", "--yes", "--json")


def run_sync(config: Path, out: Path, args: tuple[str, ...] = SYNC_ARGS,
             ) -> tuple[float, int, dict[str, Any], float, float, float]:
    """Run the CLI (``idsync sync --yes --json`` unless told otherwise); return wall seconds,
    exit code, its JSON, peak RSS (wait4), peak RSS (polled) and the CPU seconds (user +
    system) it used."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDSYNC_")}
    env.update(IDSYNC_CONFIG=str(config), IDSYNC_TODAY=world.TODAY.isoformat())
    if CORE_PATH:  # a scratch copy of idsync_core to measure a change of the engine
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [CORE_PATH,
                                                          env.get("PYTHONPATH", "")]))
    polled = [0]
    started = time.perf_counter()
    with out.open("wb") as stdout, (out.with_suffix(".err")).open("wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "idsync_core", *args],
                                stdout=stdout, stderr=stderr, env=env, cwd=config.parent)
        done = threading.Event()

        def poll() -> None:
            status = Path(f"/proc/{proc.pid}/status")
            while not done.is_set():
                try:
                    m = re.search(r"VmHWM:\s+(\d+) kB", status.read_text())
                    if m:
                        polled[0] = max(polled[0], int(m.group(1)))
                except OSError:
                    return
                done.wait(0.02)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        proc.returncode = os.waitstatus_to_exitcode(status)
    try:
        outcome = json.loads(out.read_text())
    except ValueError:
        outcome = {"error": out.with_suffix(".err").read_text()[-2000:]}
    return (wall, proc.returncode, outcome, usage.ru_maxrss / 1024, polled[0] / 1024,
            usage.ru_utime + usage.ru_stime)


# -- simulators and the store -----------------------------------------------------------------

class Bench:
    def __init__(self, psa: str, size: int, *, scale: float, latency_ms: float,
                 concurrency: int, change_rate: float, folder: Path,
                 cw_rpm: int, ingram_rate: int) -> None:
        from idsync_autotask.simulator import create_simulator as autotask_simulator
        from idsync_connectwise.simulator import create_simulator as cw_simulator
        from idsync_odin.simulator import create_marketplace_simulator

        self.psa, self.size, self.scale = psa, size, scale
        self.latency = latency_ms / 1000 / scale
        self.folder = folder
        self.tenant = world.build(size, change_rate=change_rate)
        t0 = time.perf_counter()
        self.odin = create_marketplace_simulator(self.provider_seed())
        self.odin.world.detail_throttle.window = INGRAM_DETAIL_WINDOW / scale
        self.odin.controls.latency_ms = round(latency_ms / scale)
        if psa == "connectwise":
            self.psa_sim: Any = cw_simulator(self.psa_seed())
            self.psa_sim.controls.rate_window = CW_WINDOW / scale
        else:
            self.psa_sim = autotask_simulator(self.psa_seed())
            threshold = self.psa_sim.api.threshold
            if (60 / scale) != int(60 / scale):
                raise SystemExit("--time-scale must divide 60 for Autotask (its timeframe is "
                                 "whole minutes)")
            threshold.minutes = int(AT_MINUTES / scale)
            threshold.latency_ms = {p: round(s * 1000 / scale) for p, s in AT_TIERS.items()}
        self.psa_sim.controls.latency_ms = round(latency_ms / scale)
        self.seed_seconds = time.perf_counter() - t0
        self.servers = [ServerThread(self.odin.app).start(), ServerThread(self.psa_sim.app).start()]
        self.config = folder / "idsync.toml"
        psa_table = self.psa_sim.connection_settings(self.servers[1].url)
        provider_table = self.odin.connection_settings(self.servers[0].url)
        if psa == "connectwise":
            psa_table.update(requests_per_minute=cw_rpm, budget_window_seconds=CW_WINDOW / scale)
        else:
            psa_table.update(time_scale=scale)
        if ingram_rate:  # else the connector's default: no pacing, its 429s pace it
            provider_table.update(detail_rate_limit=ingram_rate,
                                  detail_rate_window=INGRAM_DETAIL_WINDOW / scale)
        tables = {"psa": psa_table, "providers.ingram": provider_table,
                  "store": {"url": f"sqlite:///{folder / 'idsync.db'}"},
                  "sync": {"concurrency": concurrency}}
        self.config.write_text("\n".join(
            f"[{name}]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in table.items()) + "\n"
            for name, table in tables.items()))
        t0 = time.perf_counter()
        self.link()
        self.link_seconds = time.perf_counter() - t0

    def provider_seed(self) -> dict[str, Any]:
        return world.odin_seed(self.tenant)

    def psa_seed(self) -> dict[str, Any]:
        return (world.connectwise_seed(self.tenant) if self.psa == "connectwise"
                else world.autotask_seed(self.tenant))

    def link(self) -> None:
        """Company, subscription and resource links straight into the store (no API calls)."""
        store = Store(f"sqlite:///{self.folder / 'idsync.db'}")
        now = datetime.now(UTC)
        cw = self.psa == "connectwise"
        try:
            with store.transaction() as s:
                for c in self.tenant.customers:
                    company_id = world.cw_company_id(c) if cw else world.at_company_id(c)
                    clink = CompanyLink(provider=world.PROVIDER, account_id=c.id,
                                        account_name=c.name, psa_company_id=str(company_id),
                                        psa_company_name=c.name, created_at=now)
                    s.add(clink)
                    s.flush()
                    for sub in c.subscriptions:
                        agreement = str(world.cw_agreement_id(sub) if cw
                                        else world.at_contract_id(sub))
                        slink = SubscriptionLink(company_link_id=clink.id,
                                                 provider=world.PROVIDER,
                                                 subscription_id=sub.id,
                                                 subscription_name=sub.name,
                                                 agreement_id=agreement, agreement_name=sub.name,
                                                 created_at=now)
                        s.add(slink)
                        s.flush()
                        for line in sub.lines:
                            item = str(world.cw_catalog_id(line) if cw
                                       else world.at_service_id(line))
                            s.add(ResourceLink(
                                subscription_link_id=slink.id, provider=world.PROVIDER,
                                resource_id=line.resource_id,
                                resource_name=self.tenant.catalog[line.product][1],
                                agreement_id=agreement, catalog_item_id=item,
                                catalog_item_name=self.tenant.catalog[line.product][1],
                                last_quantity=Decimal(line.psa_qty), created_at=now))
        finally:
            store.close()

    def clear_logs(self) -> None:
        """Between syncs: the budgets' windows start afresh, as between two scheduled runs."""
        if self.psa == "autotask":
            self.psa_sim.api.threshold.reset()  # a fresh timeframe: as if an hour had passed
        else:  # ConnectWise's minute (scaled) passes for real: a back-to-back run would meet
            time.sleep(CW_WINDOW / self.scale)  # the previous run's requests in its window
        time.sleep(INGRAM_DETAIL_WINDOW / self.scale)
        self.odin.controls.log.clear()
        self.psa_sim.controls.log.clear()

    def calls(self) -> tuple[Calls, list[str]]:
        calls = Calls()
        for e in self.odin.controls.log.entries():
            kind = classify_provider(e.method, e.path)
            # A detail request answered 429 is sent again: it is counted as a call, but the
            # throttle's bound is that of the details it had to answer.
            calls.provider[kind + (" (429)" if e.status == 429 else "")] += 1
        classify: Callable[[str, str], str] = (classify_cw if self.psa == "connectwise"
                                               else classify_at)
        ordered = []
        for e in sorted(self.psa_sim.controls.log.entries(), key=lambda e: e.at):
            kind = classify(e.method, e.path)
            calls.psa[kind] += 1
            ordered.append(kind)
        return calls, ordered

    def timeline(self, started: float, wall: float) -> dict[str, float]:
        """Seconds from the sync's start to its first and last requests (Ingram's detail
        requests apart: they set the bound of most runs) and to its exit."""
        provider = sorted(e.at for e in self.odin.controls.log.entries())
        details = sorted(e.at for e in self.odin.controls.log.entries()
                         if classify_provider(e.method, e.path) == "subscription detail")
        psa = sorted(e.at for e in self.psa_sim.controls.log.entries())
        marks = {"first request": min(provider[:1] + psa[:1], default=started),
                 "first detail": details[0] if details else started,
                 "last detail": details[-1] if details else started,
                 "last request": max(provider[-1:] + psa[-1:], default=started)}
        return {**{k: round(v - started, 2) for k, v in marks.items()}, "exit": round(wall, 2)}

    def statuses(self) -> dict[str, int]:
        counted: Counter[str] = Counter()
        for log in (self.odin.controls.log, self.psa_sim.controls.log):
            for e in log.entries():
                counted[str(e.status)] += 1
        return dict(counted)

    def run(self, label: str, *, first: bool) -> RunResult:
        self.clear_logs()
        sim_cpu = time.process_time()  # this process serves the simulators
        started = time.time()
        wall, code, outcome, rss, polled, cpu = run_sync(self.config,
                                                         self.folder / f"{label}.json")
        sim_cpu = time.process_time() - sim_cpu
        calls, ordered = self.calls()
        if self.psa == "connectwise":
            psa_min, psa_min_writes = minimum_connectwise(self.tenant, first=first)
        else:
            psa_min, psa_min_writes = minimum_autotask(self.tenant, first=first)
        provider_min = minimum_provider(self.tenant)
        at_log = ordered if self.psa == "autotask" else None
        parts = bound_seconds(self.psa, calls, at_log, scale=self.scale, latency=self.latency)
        bound = max(parts.values())
        total = calls.total("provider") + calls.total("psa")
        summary = {k: outcome.get(k) for k in ("posted", "unchanged", "failed", "skipped",
                                               "settled_from_earlier_runs", "stopped", "error")
                   if k in outcome}
        return RunResult(
            label=label, wall_s=round(wall, 2), cpu_s=round(cpu, 2),
            simulators_cpu_s=round(sim_cpu, 2), exit_code=code,
            outcome=summary,
            peak_rss_mb=round(polled, 1), peak_rss_wait4_mb=round(rss, 1),
            provider_calls=dict(calls.provider), psa_calls=dict(calls.psa),
            provider_total=calls.total("provider"), psa_total=calls.total("psa"),
            psa_writes=sum(n for k, n in calls.psa.items() if is_psa_write(self.psa, k)),
            provider_min=provider_min, psa_min=psa_min, psa_min_writes=psa_min_writes,
            calls_ratio=round(total / (provider_min + psa_min), 3),
            bound_s=round(bound, 2), bound_detail={k: round(v, 2) for k, v in parts.items()},
            bound_min_calls_s=round(self.min_bound(first), 2),
            time_ratio=round(wall / bound, 3) if bound else math.inf,
            statuses=self.statuses(), timeline=self.timeline(started, wall))

    def min_bound(self, first: bool) -> float:
        """The same bound for the minimum call counts (what a perfect connector would face)."""
        subs = len(self.tenant.subscriptions())
        provider = window_bound(subs, INGRAM_DETAIL_LIMIT, INGRAM_DETAIL_WINDOW / self.scale)
        if self.psa == "connectwise":
            n = minimum_connectwise(self.tenant, first=first)[0]
            return max(provider, window_bound(n, CW_LIMIT, CW_WINDOW / self.scale)) + self.latency
        n = minimum_autotask(self.tenant, first=first)[0]
        # the busiest endpoint of a perfect run: ContractServiceUnits (1 per contract + 2 per
        # change); usage tiers applied in order as above
        units = subs + (2 * len(self.tenant.changes()) if first else 0)
        share = units / n
        busy = sum(self.latency + max((s for p, s in AT_TIERS.items()
                                       if 100.0 * i / AT_LIMIT >= p), default=0.0) / self.scale
                   for i in range(n)) * share
        return max(provider + self.latency, busy / AT_THREADS)

    def close(self) -> None:
        for server in self.servers:
            server.stop()


# -- report -----------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        m = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    mem = ""
    try:
        m = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        mem = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB" if m else ""
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = ""
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "commit": commit,
            "python": platform.python_version(), "platform": platform.platform(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


def table(rows: list[dict[str, Any]]) -> str:
    head = ["psa", "resources", "run", "calls (prov+psa)", "minimum", "×min", "writes",
            "wall s", "CPU s (sync/sims)", "bound s", "×bound", "peak RSS MB", "result"]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        lines.append(" | ".join(str(x) for x in [
            r["psa"], r["resources"], r["run"],
            f"{r['provider_total']}+{r['psa_total']}", f"{r['provider_min']}+{r['psa_min']}",
            r["calls_ratio"], f"{r['psa_writes']} (min {r['psa_min_writes']})",
            r["wall_s"], f"{r['cpu_s']}/{r['simulators_cpu_s']}", r["bound_s"], r["time_ratio"],
            r["peak_rss_mb"],
            ", ".join(f"{k} {v}" for k, v in r["outcome"].items() if v)]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--psa", choices=["connectwise", "autotask", "both"], default="both")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2500, 10000],
                        help="resources per tenant (multiples of 10)")
    parser.add_argument("--time-scale", type=float, default=2.0,
                        help="divide every latency and budget window by this (see above)")
    parser.add_argument("--latency-ms", type=float, default=100.0,
                        help="simulated network + server latency per request (real time)")
    parser.add_argument("--concurrency", type=int, default=8, help="[sync] concurrency")
    parser.add_argument("--change-rate", type=float, default=0.10)
    parser.add_argument("--cw-rpm", type=int, default=900,
                        help="the ConnectWise connector's requests_per_minute (its default)")
    parser.add_argument("--ingram-rate", type=int, default=18,
                        help="the odin connector's detail_rate_limit per second (the simulator "
                        "throttles at 20; the client keeps 10 %% under it, as ConnectWise's "
                        "900 of 1,000)")
    parser.add_argument("--core-path", default="",
                        help="run the sync with the idsync_core package found in this folder")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON file (default benchmarks/results/sync-<time>.json)")
    args = parser.parse_args()
    global CORE_PATH
    CORE_PATH = args.core_path
    psas = ["connectwise", "autotask"] if args.psa == "both" else [args.psa]
    rows: list[dict[str, Any]] = []
    for psa in psas:
        for size in args.sizes:
            with tempfile.TemporaryDirectory(prefix="idsync-bench-") as folder:
                print(f"[{psa} {size}] seeding the simulators and the store…", file=sys.stderr)
                bench = Bench(psa, size, scale=args.time_scale, latency_ms=args.latency_ms,
                              concurrency=args.concurrency, change_rate=args.change_rate,
                              folder=Path(folder), cw_rpm=args.cw_rpm,
                              ingram_rate=args.ingram_rate)
                try:
                    for label, first in (("first", True), ("second", False)):
                        print(f"[{psa} {size}] {label} sync…", file=sys.stderr)
                        result = bench.run(label, first=first)
                        row = {"psa": psa, "resources": size, "run": label,
                               "customers": len(bench.tenant.customers),
                               "subscriptions": len(bench.tenant.subscriptions()),
                               "changes": len(bench.tenant.changes()), **asdict(result)}
                        rows.append(row)
                        print(table([row]).splitlines()[-1], file=sys.stderr)
                finally:
                    bench.close()
    report = {"machine": machine(), "settings": {
        "time_scale": args.time_scale, "latency_ms_real": args.latency_ms,
        "latency_ms_simulated": args.latency_ms / args.time_scale,
        "concurrency": args.concurrency, "change_rate": args.change_rate,
        "cw_requests_per_minute": args.cw_rpm, "core_path": args.core_path or None,
        "ingram_client_detail_rate_per_s": args.ingram_rate,
        "proto": {k: v for k, v in os.environ.items() if k.startswith("PROTO_")},
        "ingram_detail_throttle": f"{INGRAM_DETAIL_LIMIT} per {INGRAM_DETAIL_WINDOW} s (assumed)",
        "today": world.TODAY.isoformat()}, "runs": rows}
    out = args.out or HERE / "results" / f"sync-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(table(rows))
    print(f"\nJSON: {out}")


if __name__ == "__main__":
    main()
