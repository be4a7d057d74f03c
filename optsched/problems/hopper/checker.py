"""Independent checker for hopper (open-shop) schedules.

=============== ===============================================================
kind            size
=============== ===============================================================
shape           1 (starts is not |S| x p; nothing else is checked)
negative_start  seconds before 0
worker_overlap  seconds two units overlap on one worker
config_overlap  seconds two units of one config overlap
=============== ===============================================================

Overlaps are found by sorting each worker's (config's) units by start and
comparing neighbours; zero-length units never overlap.
"""

from __future__ import annotations

import math

from ..base import TOL, CheckReport, Violations
from .instance import FAMILY, HopperInstance
from .solution import HopperSolution


def _overlaps(bad: Violations, kind: str, label: str,
              units: list[tuple[float, float, str]], tol: float) -> None:
    units = sorted(u for u in units if u[1] > u[0])
    end, who = -math.inf, ""
    for start, finish, name in units:
        if start < end - tol:
            bad.add(kind, min(end, finish) - start, f"{label}: {who} and {name}")
        if finish > end:
            end, who = finish, name


def check(instance: HopperInstance, solution: HopperSolution) -> CheckReport:
    bad = Violations()
    n, p = instance.num_configs, instance.num_workers
    starts = solution.starts
    if len(starts) != n or any(len(r) != p for r in starts):
        bad.add("shape", 1, f"starts must be {n} x {p}")
        return CheckReport(FAMILY, math.nan, bad.freeze())
    T = instance.times
    makespan = max((starts[i][j] + T[i][j] for i in range(n) for j in range(p)), default=0.0)
    tol = TOL * max(makespan, 1.0)
    for i in range(n):
        for j in range(p):
            bad.add("negative_start", -starts[i][j] if starts[i][j] < -tol else 0,
                    f"config {instance.configs[i]!r} on worker {instance.workers[j]!r}")
    for j, w in enumerate(instance.workers):
        _overlaps(bad, "worker_overlap", f"worker {w!r}",
                  [(starts[i][j], starts[i][j] + T[i][j], instance.configs[i]) for i in range(n)],
                  tol)
    for i, c in enumerate(instance.configs):
        _overlaps(bad, "config_overlap", f"config {c!r}",
                  [(starts[i][j], starts[i][j] + T[i][j], instance.workers[j]) for j in range(p)],
                  tol)
    return CheckReport(FAMILY, makespan, bad.freeze(), {"makespan": makespan})
