"""Baselines against proven optima (issue: baselines and optimality gaps).

Usage, from the repository root::

    python experiments/bench_baselines.py fig6       # Cerebro Figure 6, exactly
    python experiments/bench_baselines.py families   # every baseline on generated instances

``fig6`` answers Cerebro's Figure 6 question exactly: the randomized
scheduler's makespan relative to the proven optimum (the paper could only
normalise by the randomized scheduler itself), per grid cell, with a 95%
confidence interval, under three worker orders (``FIG6_RUNS`` runs per cell
and order). Optima come from ``cpsat`` (30 s, 2 workers) and are proven on
every instance. Output: ``paper_figures/baselines/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from optsched.bench import Row, frame, summary_table, to_markdown
from optsched.bench.report import ci95_half_width
from optsched.core import Status
from optsched.problems.hopper.checker import check
from optsched.problems.hopper.generate import cerebro_fig6
from optsched.problems.hopper.heuristics import WORKER_ORDERS, randomized
from optsched.problems.placement.generate import gavel_placement
from optsched.problems.timeslot.generate import gavel_timeslot
from optsched.registry import methods
from optsched.solve import solve

OUT = Path(__file__).resolve().parent.parent / "paper_figures" / "baselines"


#: Runs per Figure 6 cell and worker order: (instances, randomized seeds per instance).
#: Homogeneous cells are one instance whatever the seed (every time is equal).
FIG6_RUNS = {16: (20, 50), 256: (20, 10)}
#: Seeds of a randomised baseline per instance in ``families``.
RANDOM_SEEDS = 100


def fig6() -> None:
    rows = []
    for het in (False, True):
        for n in (16, 256):
            for p in (8, 16):
                cell = f"{'het' if het else 'hom'} {n}x{p}"
                instances, seeds = FIG6_RUNS[n]
                if not het:  # one distinct instance: all the runs on it
                    instances, seeds = 1, instances * seeds
                for iseed in range(instances):
                    inst = cerebro_fig6(n, p, het, iseed)
                    exact = solve(inst, "cpsat", time_limit=30, workers=2)
                    assert exact.status is Status.OPTIMAL, (inst.name, exact.status)
                    greedy = solve(inst, "greedy")
                    rows.append(_fig6_row(cell, iseed, "greedy", "-", 0, greedy.objective, exact))
                    for order in WORKER_ORDERS:
                        for rseed in range(seeds):
                            sol = randomized(inst, rseed, order)
                            value = check(inst, sol).objective
                            rows.append(
                                _fig6_row(cell, iseed, "randomized", order, rseed, value, exact)
                            )
                print(cell, flush=True)
    df = pd.DataFrame(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    df.to_csv(OUT / "cerebro_fig6_randomized.csv", index=False)
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
    note = (
        "Makespan over the proven optimum (cpsat, 30 s, 2 workers; proven on every instance), "
        "per Figure 6 cell. Homogeneous cells are one instance whatever the seed, so all their "
        "runs are seeds on it and the 95% confidence interval is over seeds; heterogeneous cells "
        f"take {FIG6_RUNS[16][0]} instances with {FIG6_RUNS[16][1]} (16 configs) or "
        f"{FIG6_RUNS[256][1]} (256 configs) seeds each, and the interval is Student's t over "
        "the instances' means "
        "(clipped at 0: no schedule beats the optimum). "
        "Worker order: how the randomized scheduler visits idle workers at each decision "
        "(`index`: by index, the `randomized` method's protocol; `random`: a fresh random order "
        "at every decision; `shuffled_once`: one random order per run)."
    )
    text = f"# Cerebro Figure 6, exactly\n\n{note}\n\n{to_markdown(pd.DataFrame(out))}\n"
    (OUT / "cerebro_fig6_randomized.md").write_text(text)
    print(text)


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


def families() -> None:
    suites = {
        "placement": [gavel_placement(24, {"v100": 12, "p100": 12, "k80": 8}, s) for s in range(3)],
        "timeslot": [
            gavel_timeslot(16, {"v100": 8, "p100": 8, "k80": 8}, 24, s, objective=obj).replace(
                num_slots=72
            )
            for s in range(2)
            for obj in ("makespan", "weighted_completion")
        ],
        "hopper": [cerebro_fig6(16, 8, True, s) for s in range(3)],
    }
    from optsched.io import read_instance

    root = Path(__file__).resolve().parent.parent
    suites["spase"] = [read_instance(root / "instances" / "examples" / "saturn_fig4.json")]
    rows = []
    for family, insts in suites.items():
        for inst in insts:
            exact = solve(inst, "cpsat", time_limit=60, workers=2)
            # against the optimum where it is proven, else against the bound
            proven = exact.status is Status.OPTIMAL
            reference = exact.objective if proven else exact.bound
            kind = "cpsat optimum" if proven else f"cpsat bound ({exact.status.value})"
            for m in methods(family):
                if m.kind != "heuristic" or m.name == "task_parallel":
                    continue
                for seed in range(RANDOM_SEEDS if m.randomised else 1):
                    r = solve(inst, m.name, seed=seed)
                    rows.append(Row.from_result(r, reference=reference, reference_kind=kind))
    df = frame(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    df.to_csv(OUT / "families.csv", index=False)
    summary = summary_table(df, ["family", "method"], readable=True)
    text = (
        "# Baselines against exact optima\n\nGap of each baseline to the cpsat optimum "
        "(60 s, 2 workers), or to its bound where the optimum is not proven (the `reference "
        "kind` of `families.csv` says which), compared on the instances every baseline of "
        f"the family solved. Randomised methods run seeds 0-{RANDOM_SEEDS - 1} on every "
        "instance; their `mean gap, all runs` is over every seed on the instances listed, "
        "with a 95% confidence interval over the runs (the common-instance columns are seed "
        "0's, the only seed every method shares).\n\n" + to_markdown(summary) + "\n"
    )
    (OUT / "families.md").write_text(text)
    print(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=("fig6", "families", "all"))
    args = parser.parse_args(argv)
    for name in ("fig6", "families") if args.which == "all" else (args.which,):
        globals()[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
