"""The simulator's online policies over a timeslot instance: the timeslot baselines.

A timeslot instance is a workload whose jobs arrive at the start of their
release slot, on its cluster, with its throughput model (locality on or off,
as the instance says), its allowed GPU types and its restart overhead. The
engine runs a policy with decisions at slot boundaries only (``slotted``): a
job holds its GPUs for whole slots, as the timeslot family's schedules do.
The timeline then becomes the slots each job held, with its GPUs, and the
timeslot checker re-checks that schedule, with the same progress rule
(:mod:`optsched.model.progress`) as the simulator's own checker.
"""

from __future__ import annotations

import math
from typing import Any

from ..core import FLOAT_EPS
from ..problems.timeslot.instance import TimeslotInstance
from ..problems.timeslot.solution import Run, TimeslotSolution
from .engine import Timeline, constant_overhead, run
from .workload import SimJob, Workload


def workload_of(instance: TimeslotInstance) -> Workload:
    """The instance's jobs as a workload: arrivals at their release slot's start."""
    delta = instance.slot_seconds
    jobs = tuple(
        SimJob(
            j.id,
            j.job_type,
            j.num_gpus,
            j.work,
            j.release * delta,
            j.weight,
            instance.pools[j.id],
        )
        for j in instance.jobs
    )
    return Workload(instance.name, jobs, source="timeslot")


def runs_of(timeline: Timeline, instance: TimeslotInstance) -> tuple[TimeslotSolution, list[str]]:
    """The slots each job held (a run ending inside a slot holds all of it), within the
    horizon, and the jobs that did not complete within it."""
    delta, horizon = instance.slot_seconds, instance.num_slots
    cluster = instance.cluster
    held: dict[str, tuple[float, tuple[int, ...]]] = {}
    runs: list[Run] = []
    unfinished = {j.id for j in instance.jobs}
    for ev in timeline:
        if ev.kind == "start":
            held[ev.job] = (ev.time, ev.gpus)
        elif ev.kind in ("stop", "complete"):
            start, gpus = held.pop(ev.job)
            first = round(start / delta)
            last = math.ceil(ev.time / delta - FLOAT_EPS) - 1
            for slot in range(first, min(last, horizon - 1) + 1):
                runs.append(Run(ev.job, slot, cluster.gpu2type[gpus[0]], gpus))
            if ev.kind == "complete" and last < horizon:
                unfinished.discard(ev.job)
    runs.sort(key=lambda r: (r.slot, instance.job_index[r.job]))
    order = [j.id for j in instance.jobs if j.id in unfinished]
    return TimeslotSolution(tuple(runs)), order


def run_on_instance(
    instance: TimeslotInstance, policy: Any, seed: int = 0
) -> tuple[TimeslotSolution, list[str]]:
    """Run ``policy`` (a name or a policy object) over the instance, slot by slot."""
    from .policies import get_policy

    pol = get_policy(policy) if isinstance(policy, str) else policy
    timeline = run(
        workload_of(instance),
        instance.cluster,
        pol,
        model=instance.model,
        round_seconds=instance.slot_seconds,
        overhead=constant_overhead(instance.restart_overhead),
        seed=seed,
        slotted=True,
    )
    return runs_of(timeline, instance)
