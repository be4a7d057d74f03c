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
    """``b_j`` of the module docstring for every job. Partners matter only by job type,
    gang size and pool, so each job looks over the ``(type, GPU type)`` pairs that some
    other job of its gang size offers, not over every other job (a 3,000-job round has
    9 million pairs and a few hundred such pairs)."""
    model = instance.model
    offers: dict[tuple[int, str, str], int] = {}  # (gang, job type, GPU type) -> jobs
    if instance.space_sharing:
        for b in instance.jobs:
            for t in set(instance.pools[b.id]):
                key = (b.num_gpus, b.job_type, t)
                offers[key] = offers.get(key, 0) + 1
    by_gang: dict[int, list[tuple[str, str, int]]] = {}
    for (gang, bt, t), n in offers.items():
        by_gang.setdefault(gang, []).append((bt, t, n))
    memo: dict[tuple[str, str, str, int], float] = {}
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
        pools = set(instance.pools[a.id])
        for bt, t, n in by_gang.get(a.num_gpus, ()):
            if t not in pools or n - (bt == a.job_type) < 1:  # no other job offers it
                continue
            pair = (a.job_type, bt, t, a.num_gpus)
            if pair not in memo:
                fa = model.interference(a.job_type, bt, t, a.num_gpus)
                fb = model.interference(bt, a.job_type, t, a.num_gpus)
                memo[pair] = fa if fa is not None and fb is not None else 1.0
            best = max(best, memo[pair])
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
