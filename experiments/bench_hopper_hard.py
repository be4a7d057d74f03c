"""Hard open shops for the hopper models: tiny Cerebro cells and dense open shops.

* ``tiny``: heterogeneous Cerebro cells from 3 x 3 to 5 x 5 whose optimum lies above
  the load bound, with one CP-SAT worker: proven counts and the longest time, before
  (no order literals, times rounded at about 1e6 units) and after (order literals,
  exact rational scale).
  "Before" switches the two features off in this process; nothing else differs.
* ``dense``: dense open shops (every load 1,000; times perturbed by 0, 10, 20 %),
  n = 3 to 10, with CP-SAT on 2 workers and HiGHS's MILP beside it up to n = 6.

The cells and tables of ``experiments/hopper_hard.toml``; run them with
``optsched paper --only hopper_hard`` (``paper_figures/exact/hopper_tiny.md``,
``hopper_dense.md``, and their .csv).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pandas as pd

from optsched.problems.hopper import cpsat as hopper_cpsat
from optsched.problems.hopper.generate import cerebro_fig6, dense_open_shop
from optsched.problems.hopper.instance import lower_bound
from optsched.result import gap
from optsched.solve import solve
from optsched.solvers import cpsat


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


def tiny_cell(limit: float, seed: int) -> list[dict]:
    """The hard tiny instances under the model before and after (see the module)."""
    instances = hard_tiny()
    rows = []
    for label, ctx in (("before", before), ("after", contextlib.nullcontext)):
        with ctx():
            for inst in instances:
                r = solve(inst, "cpsat", workers=1, seed=seed, time_limit=limit)
                rows.append(
                    {"model": label, "instance": inst.name, "optimal": r.status.value == "optimal",
                     "time": r.runtime}
                )  # fmt: skip
    return rows


def tiny_table(df: pd.DataFrame) -> pd.DataFrame:
    return (
        df.groupby("model", sort=False)
        .agg(
            instances=("optimal", "size"),
            proven=("optimal", "sum"),
            median_s=("time", "median"),
            max_s=("time", "max"),
        )  # fmt: skip
        .reset_index()
    )


def dense_cell(n: int, perturbation: float, instance: int, limit: float, seed: int) -> list:
    """A dense open shop (seeds 0-2 up to n = 6, seed 0 above) under CP-SAT and, up to
    n = 6, HiGHS's MILP; 2 workers."""
    if n > 6 and instance > 0:
        return []
    inst = dense_open_shop(n, perturbation, instance)
    rows = []
    for method, kw in (("cpsat", {}), ("milp", {"solver": "highs"})):
        if method == "milp" and n > 6:
            continue
        r = solve(inst, method, workers=2, seed=seed, time_limit=limit, **kw)
        rows.append(
            {
                "instance": inst.name,
                "n": n,
                "perturbation %": round(100 * perturbation),
                "method": method,
                "status": r.status.value,
                "makespan": r.objective,
                "bound": r.bound,
                "load bound": lower_bound(inst),
                "gap %": 100 * gap(r.objective, r.bound, inst.sense),
                "time (s)": round(r.runtime, 3),
            }
        )
    return rows


DENSE = ["instance", "n", "perturbation %", "method", "status", "makespan", "bound",
         "load bound", "gap %", "time (s)"]  # fmt: skip


def dense_table(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["n", "perturbation %", "instance", "method"])[DENSE].reset_index(
        drop=True
    )
