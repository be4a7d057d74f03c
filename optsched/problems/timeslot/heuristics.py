"""Solver-free timeslot schedules (used as warm starts and as baselines)."""

from __future__ import annotations

from .instance import TimeslotInstance
from .solution import Run, TimeslotSolution


def greedy_srtf(instance: TimeslotInstance) -> TimeslotSolution:
    """Shortest remaining time first, slot by slot, each job on its fastest free type.

    In every slot, released unfinished jobs are taken by remaining time at
    their best rate; each runs on the fastest allowed GPU type with enough free
    GPUs, paying the restart overhead when it did not run on that type in the
    previous slot. Locality is ignored (runs name no GPUs).
    """
    cap = {t: instance.cluster.capacity(t) for t in instance.cluster.gpu_types}
    left = {j.id: j.work for j in instance.jobs}
    last: dict[str, str | None] = {j.id: None for j in instance.jobs}
    best = {j.id: max(instance.rate(j.id, t) for t in instance.pools[j.id]) for j in instance.jobs}
    runs: list[Run] = []
    delta, o = instance.slot_seconds, instance.restart_overhead
    for slot in range(instance.num_slots):
        free = dict(cap)
        ready = [j for j in instance.jobs if j.release <= slot and left[j.id] > 0]
        ready.sort(key=lambda j: (left[j.id] / best[j.id], j.id))
        now: dict[str, str] = {}
        for j in ready:
            types = sorted(instance.pools[j.id], key=lambda t: -instance.rate(j.id, t))
            for t in types:
                if free[t] >= j.num_gpus:
                    free[t] -= j.num_gpus
                    seconds = delta - (o if last[j.id] != t else 0.0)
                    left[j.id] -= instance.rate(j.id, t) * seconds
                    runs.append(Run(j.id, slot, t))
                    now[j.id] = t
                    break
        for j in instance.jobs:
            last[j.id] = now.get(j.id)
    return TimeslotSolution(tuple(runs))
