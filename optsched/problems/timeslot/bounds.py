"""Solver-free lower bound for timeslot.

Job ``j`` alone at its best rate ``rho_j`` (over allowed GPU types: consolidated,
or a measured spread rate where it is faster, :meth:`ThroughputModel.fastest`),
paying the restart overhead ``o`` once,
needs at least ``s_j = ceil((w_j (1 - tol) / rho_j + o) / Delta)`` slots, so
``C_j >= (r_j + s_j) Delta``. Hence ``makespan >= max_j (r_j + s_j) Delta``, and,
since a job holds its ``g_j`` GPUs in each of those slots and the jobs released
from slot ``k`` on run in slots ``k`` onward on the cluster's ``G`` GPUs,
``makespan >= max_k (k + ceil(sum_{r_j >= k} g_j s_j / G)) Delta``;
``weighted_completion >= sum_j w_j s_j Delta`` and
``max_ftf >= max_j s_j Delta / T^id_j``. ``tol`` is the checker's tolerance on
work, so the bound holds for every solution the checker accepts.
"""

from __future__ import annotations

import math

from ...core import CHECK_TOL
from .instance import TimeslotInstance, TimeslotObjective


def min_slots(instance: TimeslotInstance) -> dict[str, int]:
    out = {}
    for j in instance.jobs:
        rate = max(instance.model.fastest(j.job_type, t, j.num_gpus) for t in instance.pools[j.id])
        need = (j.work * (1 - CHECK_TOL) / rate + instance.restart_overhead) / instance.slot_seconds
        out[j.id] = max(1, math.ceil(need - 1e-12))
    return out


def beyond_horizon(instance: TimeslotInstance) -> str | None:
    """Why no schedule exists, if a job cannot finish within the horizon even alone on
    its fastest type from its release (a proof of infeasibility); else None."""
    need = min_slots(instance)
    for j in instance.jobs:
        if j.release + need[j.id] > instance.num_slots:
            return (
                f"job {j.id!r} needs at least {need[j.id]} slot(s) from its release in slot "
                f"{j.release}, beyond the horizon of {instance.num_slots}"
            )
    return None


def lower_bound(instance: TimeslotInstance) -> float:
    s = min_slots(instance)
    delta = instance.slot_seconds
    if instance.objective is TimeslotObjective.MAKESPAN:
        alone = max(j.release + s[j.id] for j in instance.jobs)
        gpus = sum(instance.cluster.capacity(t) for t in instance.cluster.gpu_types)
        for k in sorted({j.release for j in instance.jobs}):
            area = sum(j.num_gpus * s[j.id] for j in instance.jobs if j.release >= k)
            alone = max(alone, k + -(-area // gpus))
        return alone * delta
    if instance.objective is TimeslotObjective.WEIGHTED_COMPLETION:
        return sum(j.weight * s[j.id] * delta for j in instance.jobs)
    return max(s[j.id] * delta / instance.ideal_time[j.id] for j in instance.jobs)
