"""Allocation benchmarks (issue: optimisation in the loop): the cells and tables of
``experiments/allocate.toml``. Run them with::

    optsched paper --only allocate        # or: optsched run experiments/allocate.toml

``packed_scale`` runs ``optsched allocate --gavel-input N`` (Gavel's own input
generator, seed 2) in a fresh process per size, so that ``peak_rss_mb`` is that
allocation's, beside Gavel's times and objectives on this machine
(``$OPTSCHED_DATA/gavel/generated/README.md``). ``gavel_stream`` replays one of
Gavel's job streams under ``--semantics gavel`` for an LP policy
(``max_min_fairness``, ``_perf``, ``_packed``) or a packing baseline
(``fifo_packed``, ``gandiva``), beside Gavel's result and wall time.
Output: ``paper_figures/allocate/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pandas as pd

from optsched import sources
from optsched.allocation import allocate, gavel_input
from optsched.model import gavel
from optsched.simulate import read_gavel_trace, simulate

#: Gavel's packed max-min fairness on this machine (its README): seconds, GB, objective.
GAVEL_PACKED = {256: (2.39, None, 1.1060718), 512: (15.7, None, 1.1078288),
                1024: (138.0, 10.6, 1.1050263)}  # fmt: skip
#: Gavel's simulator on its streams (its README): policy -> stream -> (JCT h, makespan h, s).
GAVEL_RUNS = {
    "max_min_fairness": {"300-job trace": (3.54, 26.26, 2.95), "continuous, jobs 0-299":
                         (19.73, 313.7, 22.9), "continuous, jobs 0-999": (21.12, 610.6, 54.8)},
    "max_min_fairness_perf": {"300-job trace": (2.65, 23.90, 2.75), "continuous, jobs 0-299":
                              (14.35, 232.3, 14.7), "continuous, jobs 0-999": (14.68, 487.7, 35.0)},
    "max_min_fairness_packed": {"300-job trace": (2.82, 25.68, 11.4), "continuous, jobs 0-299":
                                (15.14, 232.5, 136.0), "continuous, jobs 0-999":
                                (15.08, 487.2, 285.0)},
    # Gavel's packing policies that are not LPs: Gavel run unmodified on this machine
    # (same streams, 36:36:36, seed 0; its JCT and total duration in s over 3600)
    "fifo_packed": {"300-job trace": (8772.982 / 3600, 86040.445 / 3600, 7.5),
                    "continuous, jobs 0-299": (47447.696 / 3600, 831590.787 / 3600, 56.1),
                    "continuous, jobs 0-999": (50540.721 / 3600, 1747420.793 / 3600, 120.7)},
    "gandiva": {"300-job trace": (9962.793 / 3600, 86040.683 / 3600, 8.4),
                "continuous, jobs 0-299": (54974.086 / 3600, 872269.908 / 3600, 77.7),
                "continuous, jobs 0-999": (56444.661 / 3600, 1801779.027 / 3600, 170.1)},
}  # fmt: skip


def packed_scale(jobs: int, seed: int) -> dict[str, Any]:
    """One packed max-min fairness allocation of Gavel's input of ``jobs`` jobs (input
    seed 2), in a fresh process; beside Gavel's numbers where its README has them."""
    out = subprocess.run(
        [sys.executable, "-m", "optsched", "allocate", "--policy",
         "max_min_fairness_packed", "--gavel-input", str(jobs), "--seed", "2", "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    got = json.loads(out.stdout)
    g_s, g_gb, g_obj = GAVEL_PACKED.get(jobs, (None, None, None))
    return {
        "jobs": jobs,
        "objective": got["objective"],
        "Gavel objective": g_obj,
        "abs diff": abs(got["objective"] - g_obj) if g_obj else None,
        "wall (s)": got["wall_s"],
        "peak memory (MB)": got["peak_rss_mb"],
        "Gavel wall (s)": g_s,
        "Gavel memory (GB)": g_gb,
        "speed-up (x)": g_s / got["wall_s"] if g_s else None,
    }


def pop_loss(policy: str, jobs: int, seed: int) -> list[dict[str, Any]]:
    """POP with k = 2, 4, 8 parts against the exact allocation of Gavel's input."""
    p = gavel_input(jobs, 2)
    exact = allocate(p, policy)
    rows = []
    for k in (2, 4, 8):
        part = allocate(p, policy, pop=k, seed=seed)
        rows.append(
            {
                "policy": policy,
                "jobs": jobs,
                "k": k,
                "exact": exact.objective,
                "POP": part.objective,
                "loss (%)": 100 * (1 - part.objective / exact.objective),
                "exact wall (s)": exact.wall_s,
                "POP wall (s)": part.wall_s,
            }
        )
    return rows


def streams() -> dict[str, Any]:
    """Gavel's streams of ``$OPTSCHED_DATA/gavel/generated/``: the 300-job trace, and
    the continuous stream (replayed from its second line) with two measured windows."""
    folder = sources.data_dir() / "gavel" / "generated"
    cont = read_gavel_trace(
        folder / "contsingle_lam1200_e1000_seed0_max_min_fairness.trace", skip=1
    )
    return {
        "300-job trace": read_gavel_trace(folder / "gen_n300_lam240_seed0.trace"),
        "continuous, jobs 0-299": cont.with_measure(0, 300),
        "continuous, jobs 0-999": cont.with_measure(0, 1000),
    }


def gavel_stream(policy: str, stream: str, seed: int) -> dict[str, Any]:
    """One of Gavel's streams under ``policy`` and Gavel's semantics, 36:36:36, beside
    Gavel's own run of it on this machine."""
    cluster = gavel({"v100": 36, "p100": 36, "k80": 36})
    w = streams()[stream]
    res = simulate(w, cluster, policy, semantics="gavel", seed=seed)
    return {"policy": policy, **beside_gavel(res, stream, GAVEL_RUNS[policy][stream])}


def beside_gavel(res: Any, stream: str, gavel_run: tuple[float, float, float]) -> dict[str, Any]:
    """A run's average JCT, makespan and wall time beside Gavel's (h, h, s) on one of
    its streams, with the differences and the speed-up."""
    jct, makespan, wall = gavel_run
    s = res.summary
    return {
        "stream": stream,
        "Gavel avg JCT (h)": jct,
        "optsched avg JCT (h)": s["avg_jct_s"] / 3600,
        "JCT diff (%)": 100 * (s["avg_jct_s"] / 3600 / jct - 1),
        "Gavel makespan (h)": makespan,
        "optsched makespan (h)": s["makespan_s"] / 3600,
        "makespan diff (%)": 100 * (s["makespan_s"] / 3600 / makespan - 1),
        "Gavel wall (s)": wall,
        "optsched wall (s)": res.wall_s,
        "speed-up (x)": wall / res.wall_s,
    }


def by_stream(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in the order of the policies and streams of :data:`GAVEL_RUNS`."""
    order = {(p, s): k for k, (p, s) in enumerate(
        (p, s) for p, runs in GAVEL_RUNS.items() for s in runs)}  # fmt: skip
    df = df.assign(_o=[order.get((p, s), 0) for p, s in zip(df["policy"], df["stream"])])
    return df.sort_values("_o")[COLUMNS["stream"]].reset_index(drop=True)


def by_size(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("jobs")[COLUMNS["scale"]].reset_index(drop=True)


def pop_table(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["policy", "jobs", "k"])[COLUMNS["pop"]].reset_index(drop=True)


COLUMNS = {
    "stream": ["policy", "stream", "Gavel avg JCT (h)", "optsched avg JCT (h)", "JCT diff (%)",
               "Gavel makespan (h)", "optsched makespan (h)", "makespan diff (%)",
               "Gavel wall (s)", "optsched wall (s)", "speed-up (x)"],
    "scale": ["jobs", "objective", "Gavel objective", "abs diff", "wall (s)",
              "peak memory (MB)", "Gavel wall (s)", "Gavel memory (GB)", "speed-up (x)"],
    "pop": ["policy", "jobs", "k", "exact", "POP", "loss (%)", "exact wall (s)", "POP wall (s)"],
}  # fmt: skip
