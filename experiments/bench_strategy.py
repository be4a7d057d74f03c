"""How much weighted throughput choosing the synchronisation strategy gains over
ring all-reduce everywhere, on the placement suites.

For every placement instance of the suites, two numbers per heuristic:

* **same GPUs**: the heuristic's ring-rule placement re-scored with each job
  synchronising by its fastest strategy (the gain of the choice alone);
* **joint**: the heuristic run again under ``strategy="best"``, its scores by
  the checker.

Exact models are left out: their rates see a job's spread level, not its split
over servers, and decline ``strategy="best"``.

    python experiments/bench_strategy.py [--spare-cpu N] \
        [--out paper_figures/strategy/strategy_gain.md]
"""

from __future__ import annotations

import argparse
import glob
from pathlib import Path

from optsched.io import read_instance
from optsched.problems import check
from optsched.problems.placement import PlacementInstance
from optsched.solve import solve

HEURISTICS = ("first_fit", "scattered", "gavel", "greedy")
SUITES = ("placement-small", "placement-medium", "placement-large")


def rows(spare: int) -> list[dict[str, object]]:
    out = []
    for suite in SUITES:
        for path in sorted(glob.glob(f"instances/{suite}/*.json")):
            if path.endswith("reference.json"):
                continue
            inst = read_instance(path)
            if not isinstance(inst, PlacementInstance):
                continue
            best = inst.replace(strategy="best", spare_cpu_servers=spare)
            for h in HEURISTICS:
                ring = solve(inst, h, seed=0)
                if ring.solution is None:
                    continue
                same = check(best, best.annotate(ring.solution.assignment))
                joint = solve(best, h, seed=0)
                chosen = joint.check.details["strategies"] if joint.check else {}
                out.append(
                    {
                        "suite": suite,
                        "instance": inst.name,
                        "heuristic": h,
                        "ring": ring.objective,
                        "same_gpus": same.objective,
                        "joint": joint.objective,
                        "non_ring": sum(1 for s in chosen.values() if s not in ("ring", "none")),
                    }
                )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spare-cpu", type=int, default=0, help="spare CPU servers for BytePS")
    ap.add_argument("--out", type=Path, help="write the table here (Markdown)")
    args = ap.parse_args()
    table = rows(args.spare_cpu)
    lines = [
        f"Strategy choice vs ring everywhere (spare CPU servers: {args.spare_cpu})",
        "",
        "| suite | instance | heuristic | ring | same GPUs | gain | joint | gain | jobs off ring |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in table:
        ring, same, joint = (float(r[k]) for k in ("ring", "same_gpus", "joint"))  # type: ignore[arg-type]
        lines.append(
            f"| {r['suite']} | {r['instance']} | {r['heuristic']} | {ring:.4f} | {same:.4f} | "
            f"{same / ring - 1:+.2%} | {joint:.4f} | {joint / ring - 1:+.2%} | {r['non_ring']} |"
        )
    gains = [float(r["same_gpus"]) / float(r["ring"]) - 1 for r in table]  # type: ignore[arg-type]
    joints = [float(r["joint"]) / float(r["ring"]) - 1 for r in table]  # type: ignore[arg-type]
    lines += [
        "",
        f"mean gain, same GPUs: {sum(gains) / len(gains):+.2%} (max {max(gains):+.2%}); "
        f"joint: {sum(joints) / len(joints):+.2%} (max {max(joints):+.2%}), over {len(table)} runs",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
