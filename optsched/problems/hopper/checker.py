"""Independent checker for hopper (open-shop) schedules.

=============== ===============================================================
kind            size
=============== ===============================================================
shape           1 (starts or workers is not |S| x p; nothing else is checked)
not_replicated  1 per unit on a worker that does not hold its partition
negative_start  seconds before 0
worker_overlap  seconds two units overlap on one worker
config_overlap  seconds two units of one config overlap
=============== ===============================================================

Overlaps are found by sorting each worker's (config's) units by start and
comparing neighbours; zero-length units never overlap.
"""

from __future__ import annotations

import math

from ...core import CHECK_TOL, CheckReport, Violations
from .instance import NAME, HopperInstance
from .solution import HopperSolution


def _overlaps(
    bad: Violations, kind: str, label: str, units: list[tuple[float, float, str]], tol: float
) -> None:
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
    ws = solution.workers
    if (
        len(starts) != n
        or any(len(r) != p for r in starts)
        or (ws is not None and (len(ws) != n or any(len(r) != p for r in ws)))
    ):
        bad.add("shape", 1, f"starts and workers must be {n} x {p}")
        return CheckReport(NAME, math.nan, bad.freeze())
    where = [[solution.worker(i, j) for j in range(p)] for i in range(n)]
    for i in range(n):
        for j in range(p):
            if where[i][j] not in instance.holders(j):
                bad.add(
                    "not_replicated",
                    1,
                    f"config {instance.configs[i]!r} partition "
                    f"{instance.workers[j]!r} on worker {where[i][j]}",
                )
    if bad:
        return CheckReport(NAME, math.nan, bad.freeze())
    T = [[instance.times[i][where[i][j]] for j in range(p)] for i in range(n)]
    makespan = max((starts[i][j] + T[i][j] for i in range(n) for j in range(p)), default=0.0)
    tol = CHECK_TOL * max(makespan, 1.0)
    for i in range(n):
        for j in range(p):
            bad.add(
                "negative_start",
                -starts[i][j] if starts[i][j] < -tol else 0,
                f"config {instance.configs[i]!r} on worker {instance.workers[j]!r}",
            )
    for w, name in enumerate(instance.workers):
        _overlaps(
            bad,
            "worker_overlap",
            f"worker {name!r}",
            [
                (starts[i][j], starts[i][j] + T[i][j], f"{instance.configs[i]}/{j}")
                for i in range(n)
                for j in range(p)
                if where[i][j] == w
            ],
            tol,
        )
    for i, c in enumerate(instance.configs):
        _overlaps(
            bad,
            "config_overlap",
            f"config {c!r}",
            [(starts[i][j], starts[i][j] + T[i][j], instance.workers[j]) for j in range(p)],
            tol,
        )
    return CheckReport(NAME, makespan, bad.freeze(), {"makespan": makespan})
