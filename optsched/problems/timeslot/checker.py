"""Independent checker for timeslot solutions.

==================== ========================================================
kind                 size
==================== ========================================================
unknown_job          1 per run of a job not in the instance
slot_out_of_range    1 per run outside ``[0, num_slots)``
before_release       slots too early
double_booked        extra runs of one job in one slot
gpu_type_not_allowed 1 per run on a type the job may not use
capacity             GPUs over a type's capacity in a slot
gpus_missing         1 per run without GPUs when locality is modelled
wrong_gpus           1 per run whose GPU set has the wrong size, type or range
gpu_overlap          GPUs claimed by two runs in one slot
incomplete           fraction of a job's work left at the horizon
==================== ========================================================
"""

from __future__ import annotations

import math
from collections import defaultdict

from ...core import CHECK_TOL, CheckReport, Violations
from ...model.progress import progress
from .instance import NAME, TimeslotInstance, TimeslotObjective
from .solution import Run, TimeslotSolution


def check(instance: TimeslotInstance, solution: TimeslotSolution) -> CheckReport:
    cluster = instance.cluster
    bad = Violations()
    by_job: dict[str, dict[int, Run]] = defaultdict(dict)
    usage: dict[tuple[int, str], int] = defaultdict(int)
    gpu_use: dict[tuple[int, int], list[str]] = defaultdict(list)
    for run in solution.runs:
        if run.job not in instance.job_index:
            bad.add("unknown_job", 1, f"job {run.job!r}")
            continue
        job = instance.jobs[instance.job_index[run.job]]
        where = f"job {run.job!r} slot {run.slot}"
        if run.slot >= instance.num_slots:
            bad.add("slot_out_of_range", 1, where)
            continue
        bad.add("before_release", job.release - run.slot, where)
        if run.slot in by_job[run.job]:
            bad.add("double_booked", 1, where)
            continue
        if run.gpu_type not in instance.pools[run.job]:
            bad.add("gpu_type_not_allowed", 1, f"{where} on {run.gpu_type!r}")
            continue
        by_job[run.job][run.slot] = run
        usage[(run.slot, run.gpu_type)] += job.num_gpus
        if run.gpus is None:
            if instance.locality:
                bad.add("gpus_missing", 1, where)
            continue
        ok = len(set(run.gpus)) == job.num_gpus and all(
            0 <= g < cluster.num_gpus and cluster.gpu2type[g] == run.gpu_type for g in run.gpus
        )
        if not ok:
            bad.add("wrong_gpus", 1, f"{where}: {list(run.gpus)}")
            del by_job[run.job][run.slot]
            continue
        for g in run.gpus:
            gpu_use[(run.slot, g)].append(run.job)
    for (slot, gtype), used in sorted(usage.items()):
        bad.add("capacity", used - cluster.capacity(gtype), f"slot {slot} {gtype}: {used} GPUs")
    for (slot, g), jobs in sorted(gpu_use.items()):
        bad.add("gpu_overlap", len(jobs) - 1, f"slot {slot} GPU {g}: {', '.join(jobs)}")

    delta = instance.slot_seconds
    completion: dict[str, float] = {}
    fraction: dict[str, float] = {}
    for job in instance.jobs:
        runs = by_job.get(job.id, {})
        done, finished = 0.0, None
        for slot in sorted(runs):
            run = runs[slot]
            prev = runs.get(slot - 1)
            restart = prev is None or (prev.gpu_type, prev.gpus) != (run.gpu_type, run.gpus)
            if run.gpus is not None and instance.locality:
                rate = instance.model.isolated(job.job_type, run.gpus)
            else:
                rate = instance.rate(job.id, run.gpu_type)
            done += progress(rate, delta, instance.restart_overhead if restart else 0.0)
            if done >= job.work * (1 - CHECK_TOL):
                finished = slot
                break
        fraction[job.id] = min(done / job.work, 1.0)
        if finished is None:
            bad.add("incomplete", 1.0 - done / job.work, f"job {job.id!r}")
        else:
            completion[job.id] = (finished + 1) * delta

    if len(completion) < len(instance.jobs):
        objective = math.inf
    elif instance.objective is TimeslotObjective.MAKESPAN:
        objective = max(completion.values())
    elif instance.objective is TimeslotObjective.WEIGHTED_COMPLETION:
        objective = sum(j.weight * (completion[j.id] - j.release * delta) for j in instance.jobs)
    else:
        objective = max(
            (completion[j.id] - j.release * delta) / instance.ideal_time[j.id]
            for j in instance.jobs
        )
    details = {"completion": completion, "progress": fraction}
    return CheckReport(NAME, objective, bad.freeze(), details)
