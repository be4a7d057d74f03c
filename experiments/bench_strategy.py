"""How much weighted throughput choosing the synchronisation strategy gains over
ring all-reduce everywhere, on the placement suites, Philly-derived rounds and
rounds of Pollux's models on its testbed preset.

Per instance and method, three objectives (each the checker's):

* ``ring``: the method under ring all-reduce everywhere;
* ``same GPUs``: that placement re-scored with each job's fastest strategy (the
  gain of the choice alone);
* ``joint``: the method rerun with ``strategy="best"``, choosing GPUs and
  strategies together (``cpsat``: exactly, within its time limit, warm-started
  from its ring placement).

The cells and tables of ``experiments/strategy.toml``; run them with::

    optsched paper --only strategy        # or: optsched run experiments/strategy.toml
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optsched.io import read_instance
from optsched.model import pollux
from optsched.problems import check
from optsched.problems.placement import Job, PlacementInstance
from optsched.problems.placement.generate import from_trace
from optsched.solve import solve
from optsched.throughput.testbeds import pollux_job_types

HEURISTICS = ("first_fit", "scattered", "gavel", "greedy")
SUITES = ("placement-small", "placement-medium", "placement-large")
#: exact runs: the suites up to medium, and Philly-derived rounds of these sizes
EXACT_SUITES = ("placement-small", "placement-medium")
PHILLY = ((24, 0), (48, 1), (96, 2))  # (jobs, seed) on Philly's machine list, 16 servers/size
POLLUX_SEEDS = (0, 1, 2)


def pollux_round(seed: int, num_jobs: int = 16) -> PlacementInstance:
    """A round on Pollux's testbed preset (16 nodes of 4 T4): Pollux's models at a
    measured local batch, 2 to 16 GPUs each (more than the 64 GPUs in all)."""
    rng = np.random.default_rng(seed)
    types = pollux_job_types()
    jobs, used = [], {}
    for i in range(num_jobs):
        jt = types[int(rng.integers(len(types)))]
        used[jt.name] = jt
        size = int(rng.choice([2, 4, 6, 8, 12, 16]))
        jobs.append(Job(f"j{i}", jt.name, size))
    return PlacementInstance(
        f"pollux-place-{num_jobs}j-s{seed}",
        pollux(16),
        tuple(jobs),
        job_types=tuple(used.values()),
        origin={"source": "pollux models on the Pollux testbed preset", "seed": seed},
    )


def instances(suite: str) -> list[PlacementInstance]:
    """A suite's placement instances, or the Philly-derived or Pollux rounds."""
    if suite == "philly-derived":
        return [from_trace("philly", seed, num_jobs=n, servers=16) for n, seed in PHILLY]
    if suite == "pollux-testbed":
        return [pollux_round(seed) for seed in POLLUX_SEEDS]
    root = Path(__file__).resolve().parent.parent
    out = []
    for path in sorted(glob.glob(str(root / "instances" / suite / "*.json"))):
        if not path.endswith("reference.json"):
            inst = read_instance(path)
            if isinstance(inst, PlacementInstance):
                out.append(inst)
    return out


def strategy_cell(suite: str, spare: int, limit: float, seed: int) -> list[dict[str, Any]]:
    """Every method on every instance of ``suite``: ring, ring's placement re-scored
    with the best strategies, and the joint choice (see the module)."""
    out = []
    for inst in instances(suite):
        best = inst.replace(strategy="best", spare_cpu_servers=spare)
        exact = suite in (*EXACT_SUITES, "philly-derived", "pollux-testbed")
        methods = HEURISTICS + (("cpsat",) if exact else ())
        for method in methods:
            kw: dict[str, Any] = {"time_limit": limit, "workers": 1} if method == "cpsat" else {}
            ring = solve(inst, method, seed=seed, **kw)
            if ring.solution is None:
                continue
            same = check(best, best.annotate(ring.solution.assignment))
            if method == "cpsat":  # the ring's placement is a start the joint model may keep
                kw["warm_start"] = ring.solution
            joint = solve(best, method, seed=seed, **kw)
            chosen = joint.check.details["strategies"] if joint.check else {}
            out.append(
                {
                    "suite": suite,
                    "instance": inst.name,
                    "method": method,
                    "ring": ring.objective,
                    "same GPUs": same.objective,
                    "gain, same GPUs (%)": 100 * (same.objective / ring.objective - 1),
                    "joint": joint.objective,
                    "gain, joint (%)": 100 * (joint.objective / ring.objective - 1),
                    "status": joint.status.value,
                    "jobs off ring": sum(1 for s in chosen.values() if s not in ("ring", "none")),
                }
            )
    return out


COLUMNS = ["suite", "instance", "method", "ring", "same GPUs", "gain, same GPUs (%)", "joint",
           "gain, joint (%)", "status", "jobs off ring"]  # fmt: skip
ORDER = [*SUITES, "philly-derived", "pollux-testbed"]


def gains(df: pd.DataFrame) -> pd.DataFrame:
    """Every run, in suite order."""
    df = df.assign(_s=[ORDER.index(s) for s in df["suite"]])
    return df.sort_values(["_s", "instance"], kind="stable")[COLUMNS].reset_index(drop=True)


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and max gains of the heuristics and of cpsat, over their runs."""
    rows = []
    for label, part in (("heuristics", df[df["method"] != "cpsat"]),
                        ("cpsat", df[df["method"] == "cpsat"])):  # fmt: skip
        if len(part):
            rows.append(
                {
                    "methods": label,
                    "runs": len(part),
                    "same GPUs, mean gain (%)": part["gain, same GPUs (%)"].mean(),
                    "same GPUs, max gain (%)": part["gain, same GPUs (%)"].max(),
                    "joint, mean gain (%)": part["gain, joint (%)"].mean(),
                    "joint, max gain (%)": part["gain, joint (%)"].max(),
                }
            )
    return pd.DataFrame(rows)
