"""Onboarding benchmark: suggest and link --accept a whole tenant, on the simulators.

    python benchmarks/onboarding_bench.py [--psa connectwise|autotask|both] [--sizes 10000]
                                          [--time-scale 2] [--latency-ms 100] [--out FILE]

The tenant is the sync benchmark's (``benchmarks/tenant.py``: ``N / 10`` customers, two
subscriptions each, five lines per subscription, 10 % of lines differing), served the same way
(``benchmarks/sync_bench.py``'s :class:`Bench`: the same simulators, budgets, time scale and
bounds), but *nothing is linked* and the names are messy the way real ones are:

* PSA companies get realistic names (two words from the lists below and a legal form); the
  provider's names are the same companies written otherwise: case, legal suffix (Ltd ↔ Limited,
  Inc. ↔ Incorporated…), punctuation and spacing, ``&`` ↔ "and";
* 5 % have a typo (one letter dropped, doubled, replaced or swapped in a word of 5+ letters);
* 2 % are decoys: a company named as another one plus a word ("Contoso Traders Group Ltd"
  beside "Contoso Traders Ltd"), both at the PSA: each must go to its own;
* 3 % have no PSA company at all (their names share words with companies that exist, as
  most names here do);
* a quarter of the catalog keeps the distributor's SKU in the manufacturer part number, not in
  the identifier (ConnectWise ``manufacturerPartNumber``, Autotask
  ``manufacturerServiceProviderProductNumber``).

Runs, as subprocesses of the real CLI: ``idsync suggest --out FILE``, scored against the
tenant's ground truth (precision of accepted rows: not one wrong; recall: accepted ÷ matchable),
then ``idsync link --accept FILE --yes --json``. Each is timed against the bound its API calls
face under the published limits (``sync_bench.bound_seconds``), with the peak RSS of the link.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sync_bench as bench
import tenant as world

FIRST = ("Contoso", "Fabrikam", "Northwind", "Tailspin", "Litware", "Proseware", "Woodgrove",
         "Adatum", "Alpine", "Blue Yonder", "Coho", "Fourth Coffee", "Humongous", "Lucerne",
         "Margie's", "Nod", "Relecloud", "Southridge", "Trey", "Wingtip", "Wide World",
         "Graphic", "Bellows", "Datum", "Consolidated", "Lamna", "Munson's", "Boulder",
         "Cascade", "Redwood", "Harbor", "Summit", "Granite", "Meridian", "Beacon", "Falcon",
         "Juniper", "Maple", "Orchid", "Pioneer", "Quartz", "Sterling", "Tundra", "Vertex",
         "Willow", "Zephyr", "Aurora", "Crescent", "Evergreen", "Horizon")
SECOND = ("Traders", "Logistics", "Pharmaceuticals", "Dental", "Legal", "Accounting",
          "Engineering", "Bakery", "Motors", "Architects", "Builders", "Consulting", "Foods",
          "Insurance", "Medical", "Outfitters", "Partners", "Realty", "Studios", "Surveyors",
          "Textiles", "Transport", "Veterinary", "Winery", "Analytics", "Brewing", "Clinic",
          "Dynamics", "Electric", "Freight", "Holdings", "Imports", "Joinery", "Kitchens",
          "Labs", "Marine", "Nurseries", "Optics", "Plumbing", "Roofing")
FORMS = (("Ltd", ["Ltd.", "Limited", "LTD", "ltd"]), ("Inc", ["Inc.", "Incorporated", "INC"]),
         ("LLC", ["L.L.C.", "llc", "LLC."]), ("GmbH", ["GMBH", "G.m.b.H."]),
         ("Pty Ltd", ["Pty. Limited", "PTY LTD"]), ("PLC", ["P.L.C.", "plc"]))
DECOY_WORDS = ("Group", "Holdings", "International", "Pharmaceuticals", "Services")
TYPO_RATE, DECOY_RATE, ORPHAN_RATE = 0.05, 0.02, 0.03
PART_NUMBER_RATE = 0.25


@dataclass
class Score:
    level: str
    suggested: int
    accepted: int
    accepted_right: int
    accepted_wrong: int
    matchable: int

    @property
    def precision(self) -> float:
        return round(self.accepted_right / self.accepted, 4) if self.accepted else 1.0

    @property
    def recall(self) -> float:
        return round(self.accepted_right / self.matchable, 4) if self.matchable else 1.0


class Names:
    """The tenant's PSA names, the provider's messy versions, and which customers have none."""

    def __init__(self, customers: list[world.Customer], seed: int = 11) -> None:
        rng = random.Random(seed)
        n = len(customers)
        orphans = set(rng.sample(range(n), round(n * ORPHAN_RATE)))
        rest = [i for i in range(n) if i not in orphans]
        decoys = set(rng.sample(rest, round(n * DECOY_RATE)))
        typos = set(rng.sample([i for i in rest if i not in decoys], round(n * TYPO_RATE)))
        pairs = [(a, b) for a in FIRST for b in SECOND]
        rng.shuffle(pairs)
        self.psa: dict[int, str] = {}
        self.provider: dict[int, str] = {}
        self.orphans, self.decoys, self.typos = orphans, decoys, typos
        plain: list[tuple[str, str]] = []
        for i in range(n):
            form, variants = FORMS[rng.randrange(len(FORMS))]
            extra = ""
            if i in decoys and plain:  # another company's words and more: "Contoso Traders
                first, second = rng.choice(plain)  # Group Ltd" beside "Contoso Traders Ltd"
                extra = rng.choice(DECOY_WORDS)
            else:
                first, second = pairs.pop()
                plain.append((first, second))
            self.psa[i] = " ".join(filter(None, (first, second, extra, form)))
            self.provider[i] = self.messy(rng, [first, second, *extra.split()], form,
                                          variants, i in typos)

    @staticmethod
    def messy(rng: random.Random, words: list[str], form: str, variants: list[str],
              typo: bool) -> str:
        words = list(words)
        if typo:
            at = max(range(len(words)), key=lambda k: len(words[k]))
            words[at] = Names.typo(rng, words[at])
        text = " ".join(words)
        if rng.random() < 0.3:
            text = text.upper()
        elif rng.random() < 0.3:
            text = text.lower()
        text = text.replace(" and ", " & ") if rng.random() < 0.5 else text
        suffix = rng.choice([*variants, form])
        joint = rng.choice([" ", ", ", "  ", " - "])
        return f"{text}{joint}{suffix}".strip()

    @staticmethod
    def typo(rng: random.Random, word: str) -> str:
        at = rng.randrange(1, len(word) - 1)
        kind = rng.randrange(4)
        if kind == 0:
            return word[:at] + word[at + 1:]  # dropped
        if kind == 1:
            return word[:at] + word[at] + word[at:]  # doubled
        if kind == 2:
            return word[:at] + word[at + 1] + word[at] + word[at + 2:]  # swapped
        return word[:at] + ("e" if word[at] != "e" else "a") + word[at + 1:]  # replaced


class OnboardingBench(bench.Bench):
    """The sync benchmark's simulators and budgets, an empty store, messy names."""

    @cached_property
    def names(self) -> Names:
        return Names(self.tenant.customers)

    def renamed(self, names: dict[int, str], keep: set[int] | None = None) -> world.Tenant:
        customers = [world.Customer(c.index, c.id, names[c.index], c.subscriptions)
                     for c in self.tenant.customers if keep is None or c.index in keep]
        return world.Tenant(self.tenant.resources, customers, self.tenant.catalog)

    def provider_seed(self) -> dict[str, Any]:
        return world.odin_seed(self.renamed(self.names.provider))

    def psa_seed(self) -> dict[str, Any]:
        keep = {c.index for c in self.tenant.customers if c.index not in self.names.orphans}
        psa_tenant = self.renamed(self.names.psa, keep)
        rng = random.Random(5)
        moved = set(rng.sample(range(world.PRODUCTS), round(world.PRODUCTS * PART_NUMBER_RATE)))
        if self.psa == "connectwise":
            seed = world.connectwise_seed(psa_tenant)
            items, code, part = seed["catalog"], "identifier", "manufacturerPartNumber"
        else:
            seed = world.autotask_seed(psa_tenant)
            items, code, part = (seed["services"], "sku",
                                 "manufacturerServiceProviderProductNumber")
        for p, item in enumerate(items):
            if p in moved:  # the MSP's own code in front, the distributor's SKU behind
                item[part], item[code] = item[code], f"MSP-{p:03d}"
        return seed

    def link(self) -> None:
        """Nothing is linked: that is what is measured."""

    def truth(self) -> dict[str, dict[str, str]]:
        """Provider id → the PSA id it must link to, per level (matchable ones only)."""
        cw = self.psa == "connectwise"
        expected: dict[str, dict[str, str]] = {"company": {}, "subscription": {},
                                               "resource": {}}
        for c in self.tenant.customers:
            if c.index in self.names.orphans:
                continue
            expected["company"][c.id] = str(world.cw_company_id(c) if cw
                                            else world.at_company_id(c))
            for s in c.subscriptions:
                expected["subscription"][s.id] = str(world.cw_agreement_id(s) if cw
                                                     else world.at_contract_id(s))
                for line in s.lines:
                    expected["resource"][line.resource_id] = str(
                        world.cw_catalog_id(line) if cw else world.at_service_id(line))
        return expected

    def score(self, rows: list[dict[str, Any]]) -> list[Score]:
        truth = self.truth()
        scores = []
        for level, expected in truth.items():
            mine = [r for r in rows if r["level"] == level]
            accepted = [r for r in mine if r["accepted"]]
            right = sum(expected.get(r["id"]) == r["target_id"] for r in accepted)
            scores.append(Score(level, len(mine), len(accepted), right, len(accepted) - right,
                                len(expected)))
        return scores

    def measure(self, label: str, args: tuple[str, ...]) -> dict[str, Any]:
        self.clear_logs()
        sim_cpu = time.process_time()  # this process serves the simulators
        started = time.time()
        wall, code, outcome, rss, polled, cpu = bench.run_sync(
            self.config, self.folder / f"{label}.json", args)
        sim_cpu = time.process_time() - sim_cpu
        if code not in (0, 7):  # 7: some rows failed, reported in its JSON
            errors = (self.folder / f"{label}.err").read_text()[-3000:]
            raise SystemExit(f"idsync {label} exited {code}:\n{errors}")
        calls, ordered = self.calls()
        parts = bench.bound_seconds(self.psa, calls, ordered if self.psa == "autotask"
                                    else None, scale=self.scale, latency=self.latency)
        bound = max(parts.values())
        writes = sum(n for k, n in calls.psa.items() if bench.is_psa_write(self.psa, k))
        return {"run": label, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                "simulators_cpu_s": round(sim_cpu, 2), "statuses": self.statuses(),
                "timeline": self.timeline(started, wall),
                "exit_code": code, "peak_rss_mb": round(polled, 1),
                "peak_rss_wait4_mb": round(rss, 1), "provider_calls": dict(calls.provider),
                "psa_calls": dict(calls.psa), "provider_total": calls.total("provider"),
                "psa_total": calls.total("psa"), "psa_writes": writes,
                "bound_s": round(bound, 2), "bound_detail": {k: round(v, 2)
                                                             for k, v in parts.items()},
                "time_ratio": round(wall / bound, 3) if bound else None,
                "outcome": {k: outcome.get(k) for k in ("counts", "failed", "error")
                            if k in outcome}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--psa", choices=["connectwise", "autotask", "both"], default="both")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000])
    parser.add_argument("--time-scale", type=float, default=2.0)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cw-rpm", type=int, default=900)
    parser.add_argument("--ingram-rate", type=int, default=18)
    parser.add_argument("--suggest-only", action="store_true",
                        help="measure suggest and score it, without linking")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    psas = ["connectwise", "autotask"] if args.psa == "both" else [args.psa]
    runs: list[dict[str, Any]] = []
    for psa in psas:
        for size in args.sizes:
            with tempfile.TemporaryDirectory(prefix="idsync-onboarding-") as folder:
                print(f"[{psa} {size}] seeding…", file=sys.stderr)
                b = OnboardingBench(psa, size, scale=args.time_scale,
                                    latency_ms=args.latency_ms, concurrency=args.concurrency,
                                    change_rate=0.10, folder=Path(folder), cw_rpm=args.cw_rpm,
                                    ingram_rate=args.ingram_rate)
                try:
                    suggestions = Path(folder) / "suggestions.json"
                    print(f"[{psa} {size}] suggest…", file=sys.stderr)
                    suggested = b.measure("suggest", ("suggest", "--out", str(suggestions)))
                    document = json.loads(suggestions.read_text())
                    rows = document["rows"]
                    suggested["unreadable"] = document["unreadable"]
                    scores = [asdict(s) | {"precision": s.precision, "recall": s.recall}
                              for s in b.score(rows)]
                    linked = None
                    if not args.suggest_only:
                        print(f"[{psa} {size}] link --accept…", file=sys.stderr)
                        linked = b.measure("link --accept", ("link", "--accept",
                                                             str(suggestions), "--yes", "--json"))
                    run = {"psa": psa, "resources": size,
                           "customers": len(b.tenant.customers),
                           "subscriptions": len(b.tenant.subscriptions()),
                           "changes": len(b.tenant.changes()), "scores": scores,
                           "suggest": suggested, "link": linked}
                    runs.append(run)
                    print(json.dumps({k: run[k] for k in ("psa", "resources", "scores")}),
                          file=sys.stderr)
                    for part in filter(None, (suggested, linked)):
                        print(f"  {part['run']}: wall {part['wall_s']} s, bound "
                              f"{part['bound_s']} s, ×{part['time_ratio']}, RSS "
                              f"{part['peak_rss_mb']} MB, exit {part['exit_code']}, calls "
                              f"{part['provider_total']}+{part['psa_total']}", file=sys.stderr)
                finally:
                    b.close()
    report = {"machine": bench.machine(), "settings": vars(args) | {"out": None},
              "runs": runs}
    out = args.out or bench.HERE / "results" / f"onboarding-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"JSON: {out}")


if __name__ == "__main__":
    main()
