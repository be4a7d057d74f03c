"""Benchmarks of the exact models (issue: exact formulations).

Usage, from the repository root::

    python experiments/bench_exact.py fig6       # Cerebro Figure 6 grid, 5 seeds
    python experiments/bench_exact.py spase4     # Saturn-style 4 tasks on 8 GPUs, 5 seeds
    python experiments/bench_exact.py scaleup    # 1024 configs x 32 / 64 workers
    python experiments/bench_exact.py placement  # 64 GPUs, 48 jobs, locality + sharing
    python experiments/bench_exact.py timeslot   # 32 GPUs, 24 jobs, 24 slots
    python experiments/bench_exact.py timeslot_locality  # the same with locality on
    python experiments/bench_exact.py all

Protocol: every run uses ``--workers`` (default 2, the machine's cores) and
seed 0; time limits as below. Rows (one per instance and method) go to
``paper_figures/exact/<name>.csv`` (one :class:`optsched.bench.Row` each) with a
Markdown summary beside them. The MILP runs under each MILP back-end (CBC and
HiGHS through PuLP, SCIP through OR-Tools MathOpt) where the issue asks for the
comparison (fig6, spase4). Gaps are :func:`optsched.result.gap` of the checked
objective against the run's proven bound. Wall-clock times include model
building.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from optsched.bench import Row, frame, summary_table, to_markdown
from optsched.problems.hopper.generate import cerebro_fig6
from optsched.problems.placement.generate import gavel_placement
from optsched.problems.spase.generate import saturn_tasks
from optsched.problems.timeslot.generate import gavel_timeslot
from optsched.solve import solve

OUT = Path(__file__).resolve().parent.parent / "paper_figures" / "exact"


#: The exact methods compared: CP-SAT, and the MILP under each MILP back-end.
EXACT = (
    ("cpsat", {}),
    ("milp", {"solver": "cbc"}),
    ("milp", {"solver": "highs"}),
    ("milp", {"solver": "scip"}),
)


def backend(method: str, kw: dict) -> str:
    if method in ("cpsat", "classes"):
        return "CP-SAT" if method == "cpsat" else "CP-SAT classes"
    return f"MILP ({kw['solver']})"


def run(instance, method: str, time_limit: float, workers: int, **kw) -> Row:
    r = solve(instance, method, time_limit=time_limit, workers=workers, seed=0, **kw)
    label = backend(method, kw)
    row = Row.from_result(r, backend=label)
    print(
        f"  {row.instance:<40} {label:<13} {row.status:<11} obj {row.objective:<12.6g} "
        f"bound {row.bound:<12.6g} gap {row.gap:.2e} {row.time:.1f}s",
        flush=True,
    )
    return row


def save(name: str, rows: list[Row], group: list[str], note: str) -> pd.DataFrame:
    OUT.mkdir(parents=True, exist_ok=True)
    df = frame(rows)
    df.to_csv(OUT / f"{name}.csv", index=False)
    return summarize(name, df, group, note)


def summarize(name: str, df: pd.DataFrame, group: list[str], note: str) -> pd.DataFrame:
    """The Markdown table beside a CSV: back-ends compared on the runs all of them solved."""
    summary = summary_table(df, group, compare="backend", readable=True)
    summary["median time (s)"] = [
        df.loc[(df[group] == pd.Series(dict(zip(group, key)))).all(axis=1), "time"].median()
        for key in summary[group].itertuples(index=False)
    ]
    text = f"# {name}\n\n{note}\n\n" + to_markdown(summary, floatfmt=".3g") + "\n"
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
                    for method, kw in EXACT:
                        # Cerebro's MILP on 256 configs has 0.3-0.6M binaries; building
                        # it takes minutes, so one seed shows the picture.
                        if method == "milp" and n == 256 and seed > 0:
                            continue
                        row = run(inst, method, 30.0, workers, **kw)
                        row.extra.update(cell=cell, seed=seed)
                        rows.append(row)
    save(
        "cerebro_fig6",
        rows,
        ["cell", "backend"],
        "Cerebro Figure 6 grid, 5 seeds, 30 s solver limit, "
        f"{workers} workers; the MILP under CBC, HiGHS (PuLP) and SCIP (MathOpt). "
        "MILP on 256-config cells: seed 0 only. Gaps against each run's own proven bound, "
        "on the runs every back-end of a cell solved.",
    )


def spase4(workers: int) -> None:
    rows = []
    for seed in range(5):
        # 4 Saturn-style tasks on one 8-GPU server: 31 configurations in all
        inst = saturn_tasks(4, 1, 8, seed)
        for method, kw in EXACT:
            row = run(inst, method, 60.0, workers, **kw)
            row.extra.update(seed=seed)
            rows.append(row)
    save(
        "spase_4task",
        rows,
        ["backend"],
        "Saturn's SPASE MILP against CP-SAT: 4 Saturn-style tasks, one server of 8 A100 "
        f"(31 configurations), 5 seeds, 60 s solver limit, {workers} workers.",
    )


def scaleup(workers: int) -> None:
    rows = []
    for p in (32, 64):
        for seed in range(2):
            inst = cerebro_fig6(1024, p, True, seed)
            row = run(inst, "cpsat", 60.0, workers)
            row.extra.update(cell=f"het 1024x{p}", seed=seed)
            rows.append(row)
    save(
        "hopper_scaleup",
        rows,
        ["cell", "backend"],
        f"1024 heterogeneous configs, 60 s CP-SAT limit, {workers} workers, 2 seeds.",
    )


def placement(workers: int) -> None:
    rows = []
    for mode in ("fitted", "forbid"):
        for seed in range(5):
            inst = gavel_placement(48, {"v100": 24, "p100": 24, "k80": 16}, seed)
            inst = inst.replace(unmeasured_interference=mode)
            for method in ("cpsat", "milp", "classes"):
                kw = {"solver": "cbc"} if method == "milp" else {}
                row = run(inst, method, 60.0, workers, **kw)
                row.extra.update(seed=seed, interference=mode)
                rows.append(row)
    save(
        "placement_64gpu",
        rows,
        ["interference", "backend"],
        "64 GPUs (24 V100, 24 P100, 16 K80 in 4-GPU servers), 48 Gavel jobs, locality and "
        f"space sharing on, weighted throughput; 60 s limit, {workers} workers, 5 seeds. "
        "`interference`: how co-located pairs Gavel did not measure are modelled (`fitted`, "
        "the default, lets multi-GPU pairs share; `forbid` allows measured pairs only).",
    )


def timeslot(workers: int) -> None:
    rows = []
    for objective in ("makespan", "weighted_completion", "max_ftf"):
        for seed in range(3):
            inst = gavel_timeslot(
                24, {"v100": 12, "p100": 12, "k80": 8}, 24, seed, objective=objective
            )
            for method in ("cpsat", "milp"):
                kw = {"solver": "cbc"} if method == "milp" else {}
                row = run(inst, method, 60.0, workers, **kw)
                row.extra.update(criterion=objective, seed=seed)
                rows.append(row)
    save(
        "timeslot_32gpu",
        rows,
        ["criterion", "backend"],
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
            kw = {"solver": "cbc"} if method == "milp" else {}
            row = run(inst, method, 60.0, workers, **kw)
            row.extra.update(seed=seed)
            rows.append(row)
    save(
        "timeslot_locality_32gpu",
        rows,
        ["backend"],
        "As timeslot_32gpu (makespan) with locality on: every slot places jobs on servers "
        f"and racks; 60 s limit, {workers} workers, 3 seeds.",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "which",
        choices=("fig6", "spase4", "scaleup", "placement", "timeslot", "timeslot_locality", "all"),
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    todo = (
        ("fig6", "spase4", "scaleup", "placement", "timeslot", "timeslot_locality")
        if args.which == "all"
        else (args.which,)
    )
    for name in todo:
        print(f"== {name}", flush=True)
        globals()[name](args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
