"""Independent checker for spase plans.

================== ============================================================
kind               size
================== ============================================================
unknown_task       1 per plan of a task not in the instance
missing_task       1 per task without a plan
bad_config         1 per plan naming a configuration that does not exist
gpu_out_of_range   1 per GPU index outside the cluster
wrong_gpu_count    ``|assigned - num_gpus|`` (distinct GPUs)
multi_server       servers used minus 1
negative_start     seconds before 0
gpu_overlap        seconds two tasks overlap on one GPU
================== ============================================================
"""

from __future__ import annotations

import math
from collections import defaultdict

from ...core import CHECK_TOL, CheckReport, Violations
from .instance import NAME, SpaseInstance
from .solution import SpaseSolution


def check(instance: SpaseInstance, solution: SpaseSolution) -> CheckReport:
    cluster = instance.cluster
    bad = Violations()
    tasks = {t.id: t for t in instance.tasks}
    for tid in solution.plans:
        if tid not in tasks:
            bad.add("unknown_task", 1, f"task {tid!r}")
    intervals: dict[int, list[tuple[float, float, str]]] = defaultdict(list)
    finish: dict[str, float] = {}
    complete = True
    for t in instance.tasks:
        plan = solution.plans.get(t.id)
        where = f"task {t.id!r}"
        if plan is None:
            bad.add("missing_task", 1, where)
            complete = False
            continue
        if plan.config >= len(t.configs):
            bad.add("bad_config", 1, f"{where}: config {plan.config}")
            complete = False
            continue
        cfg = t.configs[plan.config]
        gpus = [g for g in set(plan.gpus) if 0 <= g < cluster.num_gpus]
        bad.add("gpu_out_of_range", len(set(plan.gpus)) - len(gpus), where)
        bad.add(
            "wrong_gpu_count",
            abs(len(set(plan.gpus)) - cfg.num_gpus),
            f"{where}: {len(set(plan.gpus))} GPUs, needs {cfg.num_gpus}",
        )
        bad.add("multi_server", len({cluster.gpu2server[g] for g in gpus}) - 1, where)
        bad.add("negative_start", -plan.start, where)
        end = plan.start + cfg.runtime
        finish[t.id] = end
        for g in gpus:
            intervals[g].append((plan.start, end, t.id))
    makespan = max(finish.values(), default=0.0)
    tol = CHECK_TOL * max(makespan, 1.0)
    for g, ivs in sorted(intervals.items()):
        ivs.sort()
        end, who = -math.inf, ""
        for s, e, tid in ivs:
            if s < end - tol:
                bad.add("gpu_overlap", min(end, e) - s, f"GPU {g}: {who} and {tid}")
            if e > end:
                end, who = e, tid
    objective = makespan if complete else math.inf
    return CheckReport(NAME, objective, bad.freeze(), {"finish": finish})
