"""Hard open shops for the hopper models: tiny Cerebro cells and dense open shops.

* ``tiny``: heterogeneous Cerebro cells from 3 x 3 to 5 x 5 whose optimum lies above
  the load bound, with one CP-SAT worker: proven counts and the longest time, before
  (no order literals, times rounded at about 1e6 units) and after (order literals,
  exact rational scale).
  "Before" switches the two features off in this process; nothing else differs.
* ``dense``: dense open shops (every load 1,000; times perturbed by 0, 10, 20 %),
  n = 3 to 10, with CP-SAT on 2 workers and HiGHS's MILP beside it up to n = 6.

    python experiments/bench_hopper_hard.py tiny|dense|all [--limit S] [--seeds N]

Writes ``paper_figures/exact/hopper_tiny.md`` and ``hopper_dense.md`` (and .csv).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from optsched.bench.report import save_table
from optsched.problems.hopper import cpsat as hopper_cpsat
from optsched.problems.hopper.generate import cerebro_fig6, dense_open_shop
from optsched.problems.hopper.instance import lower_bound
from optsched.result import gap
from optsched.solve import solve
from optsched.solvers import cpsat

OUT = Path("paper_figures/exact")


@contextlib.contextmanager
def before() -> Iterator[None]:
    """The model as it was: no order literals, no rational scale."""
    pairs, common = hopper_cpsat.MAX_PAIRS, cpsat._common_denominator
    hopper_cpsat.MAX_PAIRS = -1
    cpsat._common_denominator = lambda vals, most: None  # type: ignore[assignment]
    try:
        yield
    finally:
        hopper_cpsat.MAX_PAIRS, cpsat._common_denominator = pairs, common


def save(name: str, df: pd.DataFrame, note: str) -> None:
    print(save_table(OUT, name, df, note))


CELLS = ((3, 3), (4, 3), (4, 4), (5, 4), (5, 5))


def hard_tiny(per_cell: int = 10) -> list:
    """Per cell, the first ``per_cell`` heterogeneous seeds whose optimum lies above the
    load bound (the instances where the bound has to move)."""
    out = []
    for n, p in CELLS:
        found = 0
        for seed in range(10_000):
            inst = cerebro_fig6(n, p, True, seed)
            r = solve(inst, "cpsat", workers=1, seed=0, time_limit=10)
            if r.status.value == "optimal" and r.objective > lower_bound(inst) * (1 + 1e-6):
                out.append(inst)
                found += 1
                if found == per_cell:
                    break
    return out


def tiny(limit: float) -> None:
    instances = hard_tiny()
    rows = []
    for label, ctx in (("before", before), ("after", contextlib.nullcontext)):
        with ctx():
            for inst in instances:
                r = solve(inst, "cpsat", workers=1, seed=0, time_limit=limit)
                rows.append(
                    {
                        "model": label,
                        "optimal": r.status.value == "optimal",
                        "time": r.runtime,
                    }  # fmt: skip
                )
    df = pd.DataFrame(rows)
    table = (
        df.groupby("model", sort=False)
        .agg(
            instances=("optimal", "size"),
            proven=("optimal", "sum"),
            median_s=("time", "median"),
            max_s=("time", "max"),
        )  # fmt: skip
        .reset_index()
    )
    save(
        "hopper_tiny",
        table,
        "Heterogeneous Cerebro cells 3x3, 4x3, 4x4, 5x4 and 5x5: per cell up to the first 10 "
        f"seeds below 10,000 whose optimum lies above the load bound ({len(instances)} "
        "instances); CP-SAT, 1 worker, "
        f"seed 0, {limit:g} s limit. before: no order literals, times rounded down at "
        "about 1e6 units; after: order literals and exact rational scaling.",
    )


def dense(limit: float, seeds: int) -> None:
    rows = []
    for n in range(3, 11):
        for q in (0.0, 0.1, 0.2):
            for seed in range(seeds if n <= 6 else 1):
                inst = dense_open_shop(n, q, seed)
                for method, kw in (("cpsat", {}), ("milp", {"solver": "highs"})):
                    if method == "milp" and n > 6:
                        continue
                    r = solve(inst, method, workers=2, seed=0, time_limit=limit, **kw)
                    rows.append(
                        {
                            "instance": inst.name,
                            "n": n,
                            "perturbation %": round(100 * q),
                            "method": method,
                            "status": r.status.value,
                            "makespan": r.objective,
                            "bound": r.bound,
                            "load bound": lower_bound(inst),
                            "gap %": 100 * gap(r.objective, r.bound, inst.sense),
                            "time (s)": round(r.runtime, 3),
                        }
                    )
                    print(rows[-1], flush=True)
    save(
        "hopper_dense",
        pd.DataFrame(rows),
        f"Dense open shops (every load 1,000, times perturbed by 0/10/20 %), {seeds} seeds "
        f"up to n = 6 and seed 0 above; CP-SAT (order literals, exact scale) and HiGHS's "
        f"MILP up to n = 6, 2 workers, {limit:g} s.",
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("tiny", "dense", "all"))
    ap.add_argument("--limit", type=float, default=60.0, help="seconds per solve")
    ap.add_argument("--seeds", type=int, default=3, help="dense seeds up to n = 6")
    args = ap.parse_args()
    if args.what in ("tiny", "all"):
        tiny(min(args.limit, 10.0))
    if args.what in ("dense", "all"):
        dense(args.limit, args.seeds)


if __name__ == "__main__":
    main()
