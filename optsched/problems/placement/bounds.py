"""Solver-free upper bound for placement.

A job's normalised throughput alone is at most ``a_j``: 1 (its best consolidated
throughput is its normaliser), or more where Gavel measured it faster spread
over servers than on one (the throughput model's rule 2 takes that measurement;
a spread over racks only adds communication time). Next to a partner that slows
it by factor ``f`` it is at most ``a_j f``. So with
``b_j = a_j max(1, max f over partners it may share with)``:

* ``weighted_throughput <= sum_j w_j b_j``;
* ``gpus_used <= min(num_gpus, sum_j g_j)``;
* ``min_throughput <= min_j b_j``, and ``0`` when the jobs' GPUs exceed the
  cluster's (counting each GPU twice with space sharing).
"""

from __future__ import annotations

from .instance import PlacementInstance, PlacementObjective


def best_normalised(instance: PlacementInstance) -> dict[str, float]:
    model = instance.model
    out = {}
    for a in instance.jobs:
        alone = max(
            [1.0]
            + [
                model.fastest(a.job_type, t, a.num_gpus) / instance.reference[a.id]
                for t in instance.pools[a.id]
            ]
        )
        best = 1.0
        if instance.space_sharing:
            for b in instance.jobs:
                if b.id == a.id or b.num_gpus != a.num_gpus:
                    continue
                for t in set(instance.pools[a.id]) & set(instance.pools[b.id]):
                    f = model.interference(a.job_type, b.job_type, t, a.num_gpus)
                    g = model.interference(b.job_type, a.job_type, t, a.num_gpus)
                    if f is not None and g is not None:
                        best = max(best, f)
        out[a.id] = alone * best
    return out


def upper_bound(instance: PlacementInstance) -> float:
    best = best_normalised(instance)
    demand = sum(j.num_gpus for j in instance.jobs)
    if instance.objective is PlacementObjective.WEIGHTED_THROUGHPUT:
        return sum(j.weight * best[j.id] for j in instance.jobs)
    if instance.objective is PlacementObjective.GPUS_USED:
        return float(min(instance.cluster.num_gpus, demand))
    slots = instance.cluster.num_gpus * (2 if instance.space_sharing else 1)
    return 0.0 if demand > slots else min(best.values())
