"""Placement at real-cluster size: one round on Philly's whole cluster, full model vs classes.

Rounds of 400 to 3,000 consecutive Philly jobs (the ``placement-philly``
suite's instances) on all 552 servers and 2,490 GPUs, solved by the full
CP-SAT model (``cpsat``: GPU counts per server) and over server classes
(``classes``: GPUs per type, then unfolded onto servers), each with 2 workers
and a 60 s limit (the full model only up to ``--full-max-jobs``, 800: its
variables per pair of jobs outgrow memory beyond). Each solve runs in its own
process, so that its peak memory is its own; wall time is the whole solve
(building, solving, unfolding and the checker).

    python experiments/bench_placement_scale.py [--limit S] [--methods cpsat,classes]

Needs the ``placement-philly`` suite (``python experiments/build_suites.py
placement-philly``). Writes ``paper_figures/exact/placement_philly.md`` (and .csv).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "instances" / "placement-philly"
OUT = ROOT / "paper_figures" / "exact"


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--limit", type=float, default=60.0)
    parser.add_argument("--methods", default="cpsat,classes")
    parser.add_argument(
        "--full-max-jobs", type=int, default=800,
        help="run the full model (cpsat) on rounds of at most this many jobs (beyond, its "
        "per-job-pair variables outgrow memory)",
    )  # fmt: skip
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        one(args.one[0], args.one[1], args.limit)
        return 0
    from optsched.bench.report import save_table
    from optsched.io import read_instance

    rows = []
    for path in sorted(SUITE.glob("*.json")):
        if path.name == "reference.json":
            continue
        inst = read_instance(path)
        demand = sum(j.num_gpus for j in inst.jobs)
        for method in args.methods.split(","):
            if method == "cpsat" and len(inst.jobs) > args.full_max_jobs:
                continue
            cmd = [sys.executable, __file__, "--limit", str(args.limit), "--one", str(path), method]
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
            print(rows[-1], flush=True)
    print(
        save_table(
            OUT,
            "placement_philly",
            pd.DataFrame(rows),
            "One placement round on Philly's whole cluster (552 servers: 321 x 2 P100, "
            f"231 x 8 P40; 2,490 GPUs), consecutive Philly jobs, 2 workers, {args.limit:g} s "
            "limit, seed 0. `cpsat`: the full model (GPU counts per server); `classes`: GPUs "
            "per type, then unfolded onto servers best fit. Wall time is the whole solve "
            "(building, solving, unfolding, checking); peak memory the solve's own process. "
            "`off_shape`: jobs the unfolding could not place at their chosen shape.",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
