"""Build the benchmark suites in ``instances/`` with their reference values.

Usage, from the repository root (each suite's README repeats its command)::

    python experiments/build_suites.py                 # every suite
    python experiments/build_suites.py hopper-small    # one suite

For each suite: generate its instances (deterministic seeds), solve each with
the reference methods, keep the best checked solution and the best proven
bound, and write ``<suite>/<instance>.json``, ``solutions/<instance>.json``,
``reference.json`` and ``README.md``. Reference runs use 2 workers, seed 0.
Needs the raw traces (see ``optsched/sources.py``).
"""

from __future__ import annotations

import platform
import shutil
import sys
import time
from importlib.metadata import version
from pathlib import Path

from optsched.bench.references import REFERENCE_FILE, REFERENCE_FORMAT
from optsched.core import Sense, Status
from optsched.io import read_instance, write_instance, write_json, write_solution
from optsched.problems.hopper.generate import cerebro_fig6, dense_open_shop, uniform_hopper
from optsched.problems.placement.generate import gavel_placement, trace_placement
from optsched.problems.spase.generate import pollux_tasks, saturn_tasks
from optsched.problems.timeslot.generate import trace_timeslot
from optsched.solve import solve

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "instances" / "examples"
G3 = {"v100": 4, "p100": 4, "k80": 4}

DATA_NOTES = {
    "gavel": "Gavel throughput tables and Philly-derived traces (MIT, Stanford Future Data "
    "Systems; cite Narayanan et al., OSDI'20 and Jeon et al., ATC'19)",
    "philly": "Microsoft Philly trace and machine list (CC BY 4.0; cite Jeon et al., ATC'19)",
    "itp": "Microsoft ITP traces from ElasticFlow (MIT; cite Gu et al., ASPLOS'23)",
    "helios": "SenseTime Helios, latest 15k jobs (CC BY 4.0; cite Hu et al., SC'21)",
    "alibaba": "Alibaba openb GPU trace (no licence stated; research use with attribution; "
    "cite Weng et al., ATC'23)",
    "pollux": "Pollux workloads and placement profiles (Apache-2.0; cite Qiao et al., OSDI'21)",
    "cerebro": "Cerebro's Figure 6 generator and CNN cost table (cite Nakandala et al., VLDB'20)",
    "saturn": "Saturn-style synthetic tasks (runtime model assumed; cite Nagrecha and Kumar, "
    "VLDB'24)",
    "dense": "optsched's dense open shops (every load 1,000, then perturbed; the construction "
    "of Gueret and Prins, 1999, and Brucker et al., 1997, in outline; no external data)",
}

# suite -> (description, reference time limit, reference methods, builders)
SUITES = {
    "hopper-small": (
        "Cerebro Figure 5 and small Figure 6 / uniform open shops.",
        60,
        ("cpsat", "milp"),
        lambda: [
            read_instance(EX / "cerebro_fig5.json"),
            *[cerebro_fig6(16, 8, True, s) for s in range(4)],
            *[uniform_hopper(6, 4, s) for s in range(2)],
        ],
        ("cerebro",),
    ),
    "hopper-medium": (
        "Cerebro Figure 6 cells, heterogeneous; uniform 20 x 10.",
        60,
        ("cpsat",),
        lambda: [
            *[cerebro_fig6(256, 16, True, s) for s in range(2)],
            *[cerebro_fig6(16, 16, True, s) for s in range(2)],
            uniform_hopper(20, 10, 0),
        ],
        ("cerebro",),
    ),
    "hopper-large": (
        "Scale-up: 1024 heterogeneous configs on 32 and 64 workers.",
        120,
        ("cpsat",),
        lambda: [cerebro_fig6(1024, 64, True, 0), cerebro_fig6(1024, 32, True, 1)],
        ("cerebro",),
    ),
    "hopper-hard": (
        "Dense open shops: every load 1,000, times perturbed by 0, 10 and 20 %; 6 x 6 to 10 x 10.",
        60,
        ("cpsat",),
        lambda: [dense_open_shop(n, q, 0) for n in (6, 7, 8, 10) for q in (0.0, 0.1, 0.2)],
        ("dense",),
    ),
    "spase-small": (
        "Saturn Figure 4; Pollux-profiled and Saturn-style tasks on 2 servers.",
        60,
        ("cpsat", "milp"),
        lambda: [
            read_instance(EX / "saturn_fig4.json"),
            *[pollux_tasks(6, 2, s) for s in range(2)],
            *[saturn_tasks(5, 2, 4, s) for s in range(2)],
        ],
        ("pollux", "saturn"),
    ),
    "spase-medium": (
        "Saturn's simulated setting (12 models, 4 x 8 GPUs); 16 Pollux jobs.",
        120,
        ("cpsat",),
        lambda: [*[saturn_tasks(12, 4, 8, s) for s in range(2)], pollux_tasks(16, 4, 0)],
        ("pollux", "saturn"),
    ),
    "spase-large": (
        "40 Saturn-style tasks on 8 x 8 GPUs; 48 Pollux jobs on 8 nodes.",
        180,
        ("cpsat",),
        lambda: [saturn_tasks(40, 8, 8, 0), pollux_tasks(48, 8, 0)],
        ("pollux", "saturn"),
    ),
    "placement-small": (
        "One round on 12-40 GPUs from Gavel, Philly and Alibaba jobs.",
        60,
        ("cpsat", "milp"),
        lambda: [
            read_instance(EX / "placement_small.json"),
            gavel_placement(10, {"v100": 8, "k80": 4}, 0),
            trace_placement("philly", 12, 0, counts={"servers": 4}),
            trace_placement("alibaba", 12, 0, counts={"nodes": 8}),
            trace_placement("gavel", 12, 1, counts=G3),
        ],
        ("gavel", "philly", "alibaba"),
    ),
    "placement-medium": (
        "48 jobs on 64-160 GPUs: Gavel, Philly, Helios, ITP, Alibaba.",
        120,
        ("cpsat", "classes"),
        lambda: [
            gavel_placement(48, {"v100": 24, "p100": 24, "k80": 16}, 0),
            trace_placement("philly", 48, 0, counts={"servers": 16}),
            trace_placement("helios", 48, 0),
            trace_placement("itp", 48, 0),
            trace_placement("alibaba", 48, 0, counts={"nodes": 24}),
        ],
        ("gavel", "philly", "helios", "itp", "alibaba"),
    ),
    "placement-large": (
        "200 jobs on Philly (320 GPUs) and Alibaba (100 nodes).",
        180,
        ("cpsat", "classes"),
        lambda: [
            trace_placement("philly", 200, 0, counts={"servers": 32}),
            trace_placement("alibaba", 200, 0, counts={"nodes": 100}),
        ],
        ("philly", "alibaba"),
    ),
    "placement-philly": (
        "Rounds on Philly's whole cluster (552 servers, 2,490 GPUs): 400 to 3,000 consecutive "
        "jobs (the last two ask more GPUs than it has), solved over server classes.",
        60,
        ("classes",),
        lambda: [
            trace_placement("philly", n, seed, counts={"servers": 321})
            for n, seed in ((400, 2), (600, 5), (800, 2), (1500, 2), (3000, 5))
        ],
        ("philly",),
    ),
    "timeslot-small": (
        "8 jobs, 16 slots, 12 GPUs; windows of ITP, Helios, Gavel traces.",
        60,
        ("cpsat", "milp"),
        lambda: [
            read_instance(EX / "timeslot_small.json"),
            trace_timeslot("itp", 8, 16, 0, counts=G3),
            trace_timeslot("helios", 8, 16, 0, counts=G3, objective="weighted_completion"),
            trace_timeslot("gavel", 8, 16, 0, counts=G3, objective="max_ftf"),
            trace_timeslot("philly", 8, 16, 1, counts=G3, restart_overhead=30.0),
        ],
        ("gavel", "itp", "helios", "philly"),
    ),
    "timeslot-medium": (
        "24 jobs, 24 slots, 32 GPUs; Philly, ITP, Helios, Gavel windows.",
        120,
        ("cpsat",),
        lambda: [
            trace_timeslot("philly", 24, 24, 0),
            trace_timeslot("itp", 24, 24, 0, objective="weighted_completion"),
            trace_timeslot("helios", 24, 24, 0, objective="max_ftf"),
            trace_timeslot(
                "gavel", 24, 24, 0, objective="weighted_completion", restart_overhead=30.0
            ),
        ],
        ("gavel", "philly", "itp", "helios"),
    ),
    "timeslot-large": (
        "60 jobs, 48 slots, 108 GPUs (36:36:36).",
        180,
        ("cpsat",),
        lambda: [
            trace_timeslot("philly", 60, 48, 0, counts={"v100": 36, "p100": 36, "k80": 36}),
            trace_timeslot(
                "itp",
                60,
                48,
                0,
                counts={"v100": 36, "p100": 36, "k80": 36},
                objective="weighted_completion",
            ),
        ],
        ("philly", "itp"),
    ),
}


def build(name: str) -> None:
    description, limit, methods, make, data = SUITES[name]
    folder = ROOT / "instances" / name
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "solutions").mkdir(parents=True)
    entries = {}
    for inst in make():
        write_instance(folder / f"{inst.name}.json", inst)
        best = None
        bound = None
        t0 = time.perf_counter()
        for m in methods:
            r = solve(inst, m, time_limit=limit, workers=2, seed=0)
            print(
                f"  {inst.name:<40} {m:<6} {r.status.value:<10} {r.objective:.6g} "
                f"bound {r.bound:.6g} {r.runtime:.1f}s",
                flush=True,
            )
            if r.status.has_solution and (
                best is None
                or (
                    r.objective < best.objective
                    if inst.sense is Sense.MIN
                    else r.objective > best.objective
                )
            ):
                best = r
            if bound is None or (r.bound > bound if inst.sense is Sense.MIN else r.bound < bound):
                bound = r.bound
        assert best is not None, inst.name
        write_solution(folder / "solutions" / f"{inst.name}.json", best.solution, instance=inst)
        proven = abs(best.objective - bound) <= 1e-6 * max(1.0, abs(bound))
        entries[inst.name] = {
            "objective": best.objective,
            "bound": bound,
            "status": Status.OPTIMAL.value if proven else Status.FEASIBLE.value,
            "method": best.method,
            "solver": best.solver,
            "time": round(time.perf_counter() - t0, 2),
            "solution": f"solutions/{inst.name}.json",
        }
    write_json(
        folder / REFERENCE_FILE,
        {
            "format": REFERENCE_FORMAT,
            "version": 1,
            "suite": name,
            "protocol": {
                "methods": list(methods),
                "time_limit": limit,
                "workers": 2,
                "seed": 0,
                "machine": f"{platform.machine()}, 2 cores",
                "ortools": version("ortools"),
                "pulp": version("pulp"),
            },
            "entries": entries,
        },
    )
    proven = sum(e["status"] == "optimal" for e in entries.values())
    lines = [
        f"# {name}",
        "",
        description,
        "",
        f"{len(entries)} instances, {proven} proven optimal. Regenerate with:",
        "",
        "```bash",
        f"python experiments/build_suites.py {name}",
        "```",
        "",
        f"References: best of {', '.join(methods)} at {limit} s, 2 workers, seed 0; "
        "`reference.json` gives objective, bound, status, method, solver and time; "
        "`solutions/` holds the solutions behind them, re-checked by `optsched bench`.",
        "",
        "| instance | objective | bound | status |",
        "| --- | ---: | ---: | --- |",
    ]
    for k, e in entries.items():
        lines.append(f"| {k} | {e['objective']:.6g} | {e['bound']:.6g} | {e['status']} |")
    lines += ["", "Data: " + "; ".join(DATA_NOTES[d] for d in data) + "."]
    (folder / "README.md").write_text("\n".join(lines) + "\n")
    print(f"{name}: {len(entries)} instances, {proven} proven optimal", flush=True)


def main(argv: list[str]) -> int:
    names = argv or list(SUITES)
    for n in names:
        if n not in SUITES:
            print(f"unknown suite {n!r}; known: {', '.join(SUITES)}", file=sys.stderr)
            return 2
    for n in names:
        print(f"== {n}", flush=True)
        build(n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
