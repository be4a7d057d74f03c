"""Write ECOS's packed max-min fairness allocation of Gavel's 16-job input, the
reference the central allocation is tested against (tests/allocation/data/).

Needs cvxpy and ECOS (not dependencies of optsched)::

    pip install cvxpy ecos
    python experiments/ecos_reference.py

It builds Gavel's per-job LP as Gavel's ``MaxMinFairnessPolicyWithPacking``
does (one variable per job and per pair of jobs of one scale, per GPU type;
``x >= 0``, GPUs per type, time per job at most 1; maximise the smallest
normalised throughput) and solves it with ECOS, as Gavel's simulator does.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np

from optsched.allocation.problem import equal_share, gavel_input

OUT = Path(__file__).resolve().parent.parent / "tests" / "allocation" / "data"


def main(n: int = 16, seed: int = 2) -> int:
    import cvxpy as cp

    p = gavel_input(n, seed)
    jobs, types = p.jobs, p.types
    combos = [(i,) for i in range(n)] + [
        (i, j) for i, j in itertools.combinations(range(n), 2) if jobs[i].scale == jobs[j].scale
    ]
    x = cp.Variable((len(combos), len(types)))
    g = equal_share(p)
    thr = []
    for m, job in enumerate(jobs):
        prop = float(np.array([p.single(job.job_type, job.scale, t) for t in types]) @ g)
        terms = []
        for k, c in enumerate(combos):
            if m not in c:
                continue
            for t_i, t in enumerate(types):
                if len(c) == 1:
                    r = p.single(job.job_type, job.scale, t)
                else:
                    other = jobs[c[1] if c[0] == m else c[0]]
                    r = p.pair_throughput(job.job_type, other.job_type, job.scale, t)[0]
                if r:
                    terms.append(r * job.scale / prop / job.weight * x[k, t_i])
        thr.append(cp.sum(cp.hstack(terms)))
    scale = np.array([[jobs[c[0]].scale] * len(types) for c in combos])
    cons = [x >= 0, cp.sum(cp.multiply(scale, x), axis=0) <= np.array([p.gpus[t] for t in types])]
    for m in range(n):
        cons.append(cp.sum(x[[k for k, c in enumerate(combos) if m in c]]) <= 1)
    problem = cp.Problem(cp.Maximize(cp.min(cp.hstack(thr))), cons)
    problem.solve(solver="ECOS")
    out = {
        "input": f"gavel_input({n}, seed={seed})",
        "solver": "ECOS via cvxpy",
        "objective": problem.value,
        "types": list(types),
        "combos": [list(c) for c in combos],
        "x": np.asarray(x.value).tolist(),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"ecos_packed_{n}.json"
    path.write_text(json.dumps(out) + "\n")
    print(path, problem.value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
