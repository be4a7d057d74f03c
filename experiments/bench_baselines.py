"""Baselines against proven optima (issue: baselines and optimality gaps): the cells
and tables of ``experiments/baselines.toml``. Run them with::

    optsched paper --only baselines       # or: optsched run experiments/baselines.toml

``fig6_cell`` and ``fig6_table`` answer Cerebro's Figure 6 question exactly: the randomized
scheduler's makespan relative to the proven optimum (the paper could only
normalise by the randomized scheduler itself), per grid cell, with a 95%
confidence interval, under three worker orders (``FIG6_RUNS`` runs per cell
and order). Optima come from ``cpsat`` (30 s, 2 workers) and are proven on
every instance. ``families_cell`` runs every baseline of a family on generated
instances against the cpsat optimum. Output: ``paper_figures/baselines/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from optsched.bench import Row, frame, summary_table
from optsched.bench.report import ci95_half_width
from optsched.core import Status
from optsched.problems.hopper.checker import check
from optsched.problems.hopper.generate import cerebro_fig6
from optsched.problems.hopper.heuristics import WORKER_ORDERS, randomized
from optsched.problems.placement.generate import gavel_placement
from optsched.problems.timeslot.generate import gavel_timeslot
from optsched.registry import methods
from optsched.solve import solve

#: Runs per Figure 6 cell and worker order: (instances, randomized seeds per instance).
#: Homogeneous cells are one instance whatever the seed (every time is equal).
FIG6_RUNS = {16: (20, 50), 256: (20, 10)}
#: Seeds of a randomised baseline per instance in ``families``.
RANDOM_SEEDS = 100


def fig6_cell(heterogeneous: bool, configs: int, workers: int, instance: int, seed: int) -> list:
    """One Figure 6 instance: its proven optimum, greedy, and the randomized scheduler
    under every worker order with the cell's seeds. A homogeneous cell is one
    instance whatever the seed, so it takes all the cell's runs on instance 0 (and
    the other instances give no rows)."""
    instances, seeds = FIG6_RUNS[configs]
    if not heterogeneous:
        if instance > 0:
            return []
        seeds = instances * seeds
    cell = f"{'het' if heterogeneous else 'hom'} {configs}x{workers}"
    inst = cerebro_fig6(configs, workers, heterogeneous, instance)
    exact = solve(inst, "cpsat", time_limit=30, workers=2, seed=seed)
    if exact.status is not Status.OPTIMAL:
        raise RuntimeError(f"{inst.name}: cpsat did not prove the optimum ({exact.status.value})")
    greedy = solve(inst, "greedy")
    rows = [_fig6_row(cell, instance, "greedy", "-", 0, greedy.objective, exact)]
    for order in WORKER_ORDERS:
        for rseed in range(seeds):
            value = check(inst, randomized(inst, rseed, order)).objective
            rows.append(_fig6_row(cell, instance, "randomized", order, rseed, value, exact))
    return rows


FIG6_COLUMNS = ["cell", "instance_seed", "method", "order", "seed", "makespan", "optimum", "ratio"]


def fig6_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The runs in grid order (cell, instance, method, order, seed)."""
    return _in_cell_order(df)[FIG6_COLUMNS].reset_index(drop=True)


def _in_cell_order(df: pd.DataFrame) -> pd.DataFrame:
    cells = [f"{h} {n}x{p}" for h in ("hom", "het") for n in (16, 256) for p in (8, 16)]
    orders = ["-", *WORKER_ORDERS]
    return df.assign(
        _c=[cells.index(c) for c in df["cell"]], _o=[orders.index(o) for o in df["order"]]
    ).sort_values(["_c", "instance_seed", "method", "_o", "seed"])


def fig6_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per cell, method and worker order: the mean makespan over the optimum, its 95%
    confidence interval and the worst run (see the experiment's note)."""
    df = _in_cell_order(df)
    out = []
    for (cell, method, order), g in df.groupby(["cell", "method", "order"], sort=False):
        by_inst = g.groupby("instance_seed")["ratio"].mean()
        mean = float(g["ratio"].mean())
        # a random instance of the cell: t over the instances' means; the cell's one
        # instance: over the seeds
        sample = by_inst if len(by_inst) > 1 else g["ratio"]
        ci_over = f"{len(by_inst)} instances" if len(by_inst) > 1 else f"{len(g)} seeds"
        half = ci95_half_width(sample)
        out.append(
            {
                "cell": cell,
                "method": method,
                "worker order": order,
                "runs": len(g),
                "above optimal (%)": _pct(mean - 1),
                "95% CI (%)": f"{_pct(mean - half - 1):.2f} to {_pct(mean + half - 1):.2f}",
                "CI over": ci_over,
                "worst run (%)": _pct(float(g["ratio"].max()) - 1),
            }
        )
    return pd.DataFrame(out)


def _pct(excess: float) -> float:
    """A ratio's excess over 1 in percent, at least 0: no schedule beats the optimum (a
    confidence interval reaching below 0 is clipped there; float noise is 0)."""
    return 0.0 if excess < 1e-12 else 100 * excess


def _fig6_row(
    cell: str, iseed: int, method: str, order: str, rseed: int, value: float, exact: Any
) -> dict[str, Any]:
    return {
        "cell": cell,
        "instance_seed": iseed,
        "method": method,
        "order": order,
        "seed": rseed,
        "makespan": value,
        "optimum": exact.objective,
        "ratio": value / exact.objective,
    }


def family_instances(family: str) -> list[Any]:
    """The generated instances each family's baselines run on."""
    if family == "placement":
        return [gavel_placement(24, {"v100": 12, "p100": 12, "k80": 8}, s) for s in range(3)]
    if family == "timeslot":
        return [
            gavel_timeslot(16, {"v100": 8, "p100": 8, "k80": 8}, 24, s, objective=obj).replace(
                num_slots=72
            )
            for s in range(2)
            for obj in ("makespan", "weighted_completion")
        ]
    if family == "hopper":
        return [cerebro_fig6(16, 8, True, s) for s in range(3)]
    from optsched.io import read_instance

    root = Path(__file__).resolve().parent.parent
    return [read_instance(root / "instances" / "examples" / "saturn_fig4.json")]


def families_cell(family: str, instance: int, seed: int) -> list[dict[str, Any]]:
    """Every baseline of ``family`` (randomised ones with :data:`RANDOM_SEEDS` seeds) on
    one of its instances, against the cpsat optimum (60 s, 2 workers), or its bound
    where the optimum is not proven."""
    insts = family_instances(family)
    if instance >= len(insts):
        return []
    inst = insts[instance]
    exact = solve(inst, "cpsat", time_limit=60, workers=2, seed=seed)
    proven = exact.status is Status.OPTIMAL
    reference = exact.objective if proven else exact.bound
    kind = "cpsat optimum" if proven else f"cpsat bound ({exact.status.value})"
    rows = []
    for m in methods(family):
        if m.kind != "heuristic" or m.name == "task_parallel":
            continue
        for s in range(RANDOM_SEEDS if m.randomised else 1):
            r = solve(inst, m.name, seed=s)
            rows.append(Row.from_result(r, reference=reference, reference_kind=kind).to_dict())
    return rows


def families_rows(df: pd.DataFrame) -> pd.DataFrame:
    from dataclasses import fields

    cols = [f.name for f in fields(Row) if f.name != "extra" and f.name in df.columns]
    return df[cols].reset_index(drop=True)


def families_table(df: pd.DataFrame) -> pd.DataFrame:
    return summary_table(frame(Row.from_dict(r) for r in families_rows(df).to_dict("records")),
                         ["family", "method"], readable=True)  # fmt: skip
