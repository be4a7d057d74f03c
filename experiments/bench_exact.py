"""Benchmarks of the exact models (issue: exact formulations).

Usage, from the repository root::

    python experiments/bench_exact.py fig6       # Cerebro Figure 6 grid, 5 seeds
    python experiments/bench_exact.py scaleup    # 1024 configs x 32 / 64 workers
    python experiments/bench_exact.py placement  # 64 GPUs, 48 jobs, locality + sharing
    python experiments/bench_exact.py timeslot   # 32 GPUs, 24 jobs, 24 slots
    python experiments/bench_exact.py timeslot_locality  # the same with locality on
    python experiments/bench_exact.py all

Protocol: every run uses ``--workers`` (default 2, the machine's cores) and
seed 0; time limits as below. Rows (one per instance and method) go to
``paper_figures/exact/<name>.csv`` with a Markdown summary beside them. Gaps
are :func:`optsched.result.gap` of the checked objective against the proven
bound. Wall-clock times include model building.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from optsched.bench import to_markdown
from optsched.problems.hopper.generate import cerebro_fig6
from optsched.problems.placement.generate import gavel_placement
from optsched.problems.timeslot.generate import gavel_timeslot
from optsched.solve import solve

OUT = Path(__file__).resolve().parent.parent / "paper_figures" / "exact"


def run(instance, method: str, time_limit: float, workers: int, **kw) -> dict:
    t0 = time.perf_counter()
    r = solve(instance, method, time_limit=time_limit, workers=workers, seed=0, **kw)
    label = method + (f"-{kw['solver']}" if "solver" in kw else "")
    row = {
        "instance": instance.name,
        "method": label,
        "status": r.status.value,
        "objective": r.objective,
        "bound": r.bound,
        "gap": r.gap,
        "time": time.perf_counter() - t0,
        "solver_time_limit": time_limit,
        "checker": None if r.check is None else r.check.feasible,
        "solver": r.solver,
    }
    print(
        f"  {row['instance']:<40} {label:<11} {row['status']:<10} obj {row['objective']:<12.6g} "
        f"bound {row['bound']:<12.6g} gap {row['gap']:.2e} {row['time']:.1f}s",
        flush=True,
    )
    return row


def save(name: str, rows: list[dict], group: list[str], note: str) -> pd.DataFrame:
    OUT.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows)
    df.to_csv(OUT / f"{name}.csv", index=False)
    summary = (
        df.groupby(group, sort=False)
        .agg(
            runs=("gap", "size"),
            optimal=("status", lambda s: int((s == "optimal").sum())),
            max_gap=("gap", "max"),
            mean_gap=("gap", "mean"),
            median_time=("time", "median"),
            max_time=("time", "max"),
        )
        .reset_index()
    )
    text = f"# {name}\n\n{note}\n\n" + to_markdown(summary) + "\n"
    (OUT / f"{name}.md").write_text(text)
    print(text)
    return summary


def fig6(workers: int) -> None:
    rows = []
    for het in (False, True):
        for n in (16, 256):
            for p in (8, 16):
                for seed in range(5):
                    inst = cerebro_fig6(n, p, het, seed)
                    cell = f"{'het' if het else 'hom'} {n}x{p}"
                    for method in ("cpsat", "milp"):
                        # Cerebro's MILP on 256 configs has 0.3-1M binaries; PuLP takes
                        # minutes to build it, so one seed shows the picture.
                        if method == "milp" and n == 256 and seed > 0:
                            continue
                        row = run(inst, method, 30.0, workers)
                        rows.append({"cell": cell, "seed": seed, **row})
    save(
        "cerebro_fig6",
        rows,
        ["cell", "method"],
        "Cerebro Figure 6 grid, 5 seeds, 30 s solver limit, "
        f"{workers} workers. MILP on 256-config cells: seed 0 only.",
    )


def scaleup(workers: int) -> None:
    rows = []
    for p in (32, 64):
        for seed in range(2):
            inst = cerebro_fig6(1024, p, True, seed)
            rows.append(
                {"cell": f"het 1024x{p}", "seed": seed, **run(inst, "cpsat", 60.0, workers)}
            )
    save(
        "hopper_scaleup",
        rows,
        ["cell", "method"],
        f"1024 heterogeneous configs, 60 s CP-SAT limit, {workers} workers, 2 seeds.",
    )


def placement(workers: int) -> None:
    rows = []
    for seed in range(5):
        inst = gavel_placement(48, {"v100": 24, "p100": 24, "k80": 16}, seed)
        for method in ("cpsat", "milp"):
            rows.append({"seed": seed, **run(inst, method, 60.0, workers)})
    save(
        "placement_64gpu",
        rows,
        ["method"],
        "64 GPUs (24 V100, 24 P100, 16 K80 in 4-GPU servers), 48 Gavel jobs, locality and "
        f"space sharing on, weighted throughput; 60 s limit, {workers} workers, 5 seeds.",
    )


def timeslot(workers: int) -> None:
    rows = []
    for objective in ("makespan", "weighted_completion", "max_ftf"):
        for seed in range(3):
            inst = gavel_timeslot(
                24, {"v100": 12, "p100": 12, "k80": 8}, 24, seed, objective=objective
            )
            for method in ("cpsat", "milp"):
                rows.append(
                    {"criterion": objective, "seed": seed, **run(inst, method, 60.0, workers)}
                )
    save(
        "timeslot_32gpu",
        rows,
        ["criterion", "method"],
        "32 GPUs (12 V100, 12 P100, 8 K80), 24 Gavel jobs, 24 slots of 360 s; 60 s limit, "
        f"{workers} workers, 3 seeds per objective.",
    )


def timeslot_locality(workers: int) -> None:
    rows = []
    for seed in range(3):
        inst = gavel_timeslot(24, {"v100": 12, "p100": 12, "k80": 8}, 24, seed).replace(
            locality=True
        )
        for method in ("cpsat", "milp"):
            rows.append({"seed": seed, **run(inst, method, 60.0, workers)})
    save(
        "timeslot_locality_32gpu",
        rows,
        ["method"],
        "As timeslot_32gpu (makespan) with locality on: every slot places jobs on servers "
        f"and racks; 60 s limit, {workers} workers, 3 seeds.",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "which", choices=("fig6", "scaleup", "placement", "timeslot", "timeslot_locality", "all")
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    todo = (
        ("fig6", "scaleup", "placement", "timeslot", "timeslot_locality")
        if args.which == "all"
        else (args.which,)
    )
    for name in todo:
        print(f"== {name}", flush=True)
        globals()[name](args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
