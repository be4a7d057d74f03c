"""Placement at real-cluster size: one round on Philly's whole cluster, full model vs classes.

Rounds of 400 to 3,000 consecutive Philly jobs (the ``placement-philly``
suite's instances) on all 552 servers and 2,490 GPUs, solved by the full
CP-SAT model (``cpsat``: GPU counts per server) and over server classes
(``classes``: GPUs per type, then unfolded onto servers), each with 2 workers
and a 60 s limit (the full model only up to ``--full-max-jobs``, 800: its
variables per pair of jobs outgrow memory beyond). Each solve runs in its own
process, so that its peak memory is its own; wall time is the whole solve
(building, solving, unfolding and the checker).

The cells and table of ``experiments/placement_philly.toml``; run them with
``optsched paper --only placement_philly``. Needs the ``placement-philly``
suite (``python experiments/build_suites.py placement-philly``).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "instances" / "placement-philly"


def one(path: str, method: str, limit: float) -> None:
    """Child: solve one instance, print the result and this process's peak memory."""
    from optsched.io import read_instance
    from optsched.result import gap
    from optsched.solve import solve

    inst = read_instance(Path(path))
    t0 = time.perf_counter()
    r = solve(inst, method, time_limit=limit, workers=2, seed=0)
    print(
        json.dumps(
            {
                "status": r.status.value,
                "objective": r.objective,
                "bound": r.bound,
                "gap": gap(r.objective, r.bound, inst.sense),
                "wall_s": time.perf_counter() - t0,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "off_shape": r.parameters.get("unfolded_off_shape"),
            }
        )
    )


#: The full model on rounds of at most this many jobs (beyond, its per-job-pair
#: variables outgrow memory).
FULL_MAX_JOBS = 800


def scale_cell(method: str, limit: float, seed: int) -> list[dict]:
    """Every round of the suite under ``method``, each solve in its own process."""
    from optsched.io import read_instance

    rows = []
    for path in sorted(SUITE.glob("*.json")):
        if path.name == "reference.json":
            continue
        inst = read_instance(path)
        if method == "cpsat" and len(inst.jobs) > FULL_MAX_JOBS:
            continue
        demand = sum(j.num_gpus for j in inst.jobs)
        cmd = [sys.executable, __file__, str(limit), str(path), method]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["killed"])[-1]
            row = {"status": f"failed: {tail}"}
        else:
            row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(
            {"instance": inst.name, "jobs": len(inst.jobs), "GPUs asked": demand,
             "method": method, **row}
        )  # fmt: skip
    return rows


COLUMNS = ["instance", "jobs", "GPUs asked", "method", "status", "objective", "bound", "gap",
           "wall_s", "peak_mb", "off_shape"]  # fmt: skip


def scale_table(df: pd.DataFrame) -> pd.DataFrame:
    df = df.sort_values(["jobs", "method"], ascending=[True, False])
    return df[[c for c in COLUMNS if c in df.columns]].reset_index(drop=True)


if __name__ == "__main__":  # the child of one solve: LIMIT INSTANCE METHOD
    one(sys.argv[2], sys.argv[3], float(sys.argv[1]))
