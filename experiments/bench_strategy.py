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

    python experiments/bench_strategy.py [--spare-cpu N] [--limit S] \\
        [--out paper_figures/strategy/strategy_gain.md]
"""

from __future__ import annotations

import argparse
import glob
from pathlib import Path
from typing import Any

import numpy as np

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


def instances() -> list[tuple[str, PlacementInstance]]:
    out = []
    for suite in SUITES:
        for path in sorted(glob.glob(f"instances/{suite}/*.json")):
            if not path.endswith("reference.json"):
                inst = read_instance(path)
                if isinstance(inst, PlacementInstance):
                    out.append((suite, inst))
    for n, seed in PHILLY:
        out.append(("philly-derived", from_trace("philly", seed, num_jobs=n, servers=16)))
    for seed in POLLUX_SEEDS:
        out.append(("pollux-testbed", pollux_round(seed)))
    return out


def rows(spare: int, limit: float) -> list[dict[str, Any]]:
    out = []
    for suite, inst in instances():
        best = inst.replace(strategy="best", spare_cpu_servers=spare)
        exact = suite in (*EXACT_SUITES, "philly-derived", "pollux-testbed")
        methods = HEURISTICS + (("cpsat",) if exact else ())
        for method in methods:
            kw = {"time_limit": limit, "workers": 1} if method == "cpsat" else {}
            ring = solve(inst, method, seed=0, **kw)
            if ring.solution is None:
                continue
            same = check(best, best.annotate(ring.solution.assignment))
            if method == "cpsat":  # the ring's placement is a start the joint model may keep
                kw["warm_start"] = ring.solution
            joint = solve(best, method, seed=0, **kw)
            chosen = joint.check.details["strategies"] if joint.check else {}
            out.append(
                {
                    "suite": suite,
                    "instance": inst.name,
                    "method": method,
                    "ring": ring.objective,
                    "same_gpus": same.objective,
                    "joint": joint.objective,
                    "joint_status": joint.status.value,
                    "off_ring": sum(1 for s in chosen.values() if s not in ("ring", "none")),
                }
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spare-cpu", type=int, default=0, help="spare CPU servers for BytePS")
    ap.add_argument("--limit", type=float, default=20.0, help="cpsat time limit per solve, s")
    ap.add_argument("--out", type=Path, help="write the table here (Markdown)")
    args = ap.parse_args()
    table = rows(args.spare_cpu, args.limit)
    lines = [
        f"Strategy choice vs ring everywhere (spare CPU servers: {args.spare_cpu}; "
        f"cpsat: {args.limit:g} s, 1 worker)",
        "",
        "| suite | instance | method | ring | same GPUs | gain | joint | gain | status "
        "| jobs off ring |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in table:
        ring, same, joint = r["ring"], r["same_gpus"], r["joint"]
        lines.append(
            f"| {r['suite']} | {r['instance']} | {r['method']} | {ring:.4f} | {same:.4f} | "
            f"{same / ring - 1:+.2%} | {joint:.4f} | {joint / ring - 1:+.2%} | "
            f"{r['joint_status']} | {r['off_ring']} |"
        )
    for label, keep in (
        ("heuristics", lambda r: r["method"] != "cpsat"),
        ("cpsat", lambda r: r["method"] == "cpsat"),
    ):
        sel = [r for r in table if keep(r)]
        if not sel:
            continue
        same = [r["same_gpus"] / r["ring"] - 1 for r in sel]
        joint = [r["joint"] / r["ring"] - 1 for r in sel]
        lines.append(
            f"\n{label}, {len(sel)} runs: same GPUs {sum(same) / len(sel):+.2%} on average "
            f"(max {max(same):+.2%}); joint {sum(joint) / len(sel):+.2%} (max {max(joint):+.2%})"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
