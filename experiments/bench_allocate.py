"""Allocation benchmarks (issue: optimisation in the loop).

Usage, from the repository root::

    python experiments/bench_allocate.py scale    # packed max-min fairness, 64 to 2,048 jobs
    python experiments/bench_allocate.py pop      # POP's loss against the exact optimum
    python experiments/bench_allocate.py gavel    # Gavel's LP policies under --semantics gavel
    python experiments/bench_allocate.py all

``scale`` runs ``optsched allocate --gavel-input N`` (Gavel's own input
generator, seed 2) in a fresh process per size, so that ``peak_rss_mb`` is that
allocation's, beside Gavel's times and objectives on this machine
(``$OPTSCHED_DATA/gavel/generated/README.md``). ``gavel`` replays Gavel's job
streams under ``--semantics gavel`` for the LP policies (``max_min_fairness``,
``_perf``, ``_packed``) and the packing baselines (``fifo_packed``, ``gandiva``),
beside Gavel's results and wall times (``--policy`` picks some).
Output: ``paper_figures/allocate/``.
"""

from __future__ import annotations

import os

# One BLAS thread: the packed policy's linear algebra is small, and idle OpenBLAS
# threads spin between calls, taking the second core from the simulation around them
# (on this 2-core machine packed on the 300-job trace took 4.6 s with two, 3.0 s with
# one). Set before numpy loads; a value the caller set wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from optsched import sources  # noqa: E402
from optsched.allocation import allocate, gavel_input  # noqa: E402
from optsched.bench import save_table  # noqa: E402
from optsched.model import gavel  # noqa: E402
from optsched.simulate import read_gavel_trace, simulate  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "paper_figures" / "allocate"

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


#: The tables of paper_figures/allocate/, by the policies they hold.
GROUPS = {
    ("max_min_fairness", "max_min_fairness_perf", "max_min_fairness_packed"): "gavel_lp_policies",
    ("fifo_packed", "gandiva"): "gavel_lp_fifo_packed_gandiva",
}


def scale() -> None:
    rows = []
    for n in (64, 128, 256, 512, 1024, 2048):
        out = subprocess.run(
            [sys.executable, "-m", "optsched", "allocate", "--policy",
             "max_min_fairness_packed", "--gavel-input", str(n), "--seed", "2", "--json"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        got = json.loads(out.stdout)
        g_s, g_gb, g_obj = GAVEL_PACKED.get(n, (None, None, None))
        rows.append(
            {
                "jobs": n,
                "objective": got["objective"],
                "Gavel objective": g_obj,
                "abs diff": abs(got["objective"] - g_obj) if g_obj else None,
                "wall (s)": got["wall_s"],
                "peak memory (MB)": got["peak_rss_mb"],
                "Gavel wall (s)": g_s,
                "Gavel memory (GB)": g_gb,
                "speed-up (x)": g_s / got["wall_s"] if g_s else None,
            }
        )
        print(rows[-1], flush=True)
    save(
        "packed_scale",
        pd.DataFrame(rows),
        "Packed max-min fairness (space sharing over pairs), Gavel's sweep_policy_runtimes.py "
        "input, seed 2, n/4 GPUs each of V100, P100 and K80. optsched solves the exact class "
        "aggregation with GLOP; wall time includes building the LP and checking the answer, "
        "peak memory is the whole process's. Gavel: cvxpy with HiGHS interior point.",
    )


def pop() -> None:
    rows = []
    for policy in ("max_min_fairness_perf", "max_sum_throughput"):
        for n in (256, 1024, 2048):
            p = gavel_input(n, 2)
            exact = allocate(p, policy)
            for k in (2, 4, 8):
                part = allocate(p, policy, pop=k, seed=0)
                rows.append(
                    {
                        "policy": policy,
                        "jobs": n,
                        "k": k,
                        "exact": exact.objective,
                        "POP": part.objective,
                        "loss (%)": 100 * (1 - part.objective / exact.objective),
                        "exact wall (s)": exact.wall_s,
                        "POP wall (s)": part.wall_s,
                    }
                )
                print(rows[-1], flush=True)
    save(
        "pop_loss",
        pd.DataFrame(rows),
        "POP (jobs split at random into k parts with 1/k of the GPUs each, as POP's "
        "PartitionedProblem) against the exact allocation; objective recomputed over all jobs.",
    )


def gavel_streams(policies: list[str]) -> None:
    folder = sources.data_dir() / "gavel" / "generated"
    cluster = gavel({"v100": 36, "p100": 36, "k80": 36})
    cont = read_gavel_trace(
        folder / "contsingle_lam1200_e1000_seed0_max_min_fairness.trace", skip=1
    )
    streams = {
        "300-job trace": read_gavel_trace(folder / "gen_n300_lam240_seed0.trace"),
        "continuous, jobs 0-299": cont.with_measure(0, 300),
        "continuous, jobs 0-999": cont.with_measure(0, 1000),
    }
    rows = []
    only = [p for p in GAVEL_RUNS if p in policies]
    for policy, runs in ((p, GAVEL_RUNS[p]) for p in only):
        for name, w in streams.items():
            jct, makespan, wall = runs[name]
            res = simulate(w, cluster, policy, semantics="gavel", seed=0)
            s = res.summary
            rows.append(
                {
                    "policy": policy,
                    "stream": name,
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
            )
            print(rows[-1], flush=True)
    save(
        GROUPS.get(tuple(only), "gavel_lp_" + "_".join(only)),
        pd.DataFrame(rows),
        "Gavel's LP policies under `--semantics gavel`, 36 V100 + 36 P100 + 36 K80, seed 0, "
        "beside Gavel's own runs on this machine (its wall time is the whole process; for the "
        "300-job trace, the middle of the range its README gives).",
    )


def save(name: str, df: pd.DataFrame, note: str) -> None:
    print(save_table(OUT, name, df, note, ".6g"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("which", choices=("scale", "pop", "gavel", "all"))
    parser.add_argument("--policy", action="append", help="gavel: only these policies")
    args = parser.parse_args(argv)
    if args.which in ("scale", "all"):
        scale()
    if args.which in ("pop", "all"):
        pop()
    if args.which in ("gavel", "all"):
        for group in [args.policy] if args.policy else [list(g) for g in GROUPS]:
            gavel_streams(group)
    return 0


if __name__ == "__main__":
    sys.exit(main())
