"""The independent timeline checker: recompute every job from the timeline alone.

It reads only the workload, the cluster, the throughput model, the restart
overhead and the timeline (never the engine's state) and verifies, in one
pass over the events (linear time):

* ``unknown_job``, ``bad_event``: every event names a job of the workload, and
  events follow each other in a possible order (start after arrival, stop or
  completion only while running, nothing after completion);
* ``early_start``: no job starts before it arrives;
* ``gang``: a start holds exactly the job's GPU count, of one GPU type, within
  the cluster; ``cannot_run``: the job type runs on those GPUs;
* ``overbooked``: no GPU is held by two jobs at once;
* ``early_completion`` / ``late_completion``: a job completes exactly when its
  work is done, recomputed as ``rate x (held time - restart overhead)`` summed
  over its runs, with the overhead charged on every start;
* ``overrun``: a job stopped before completing had not already finished;
* ``incomplete``: every job completes (every measured one, for a run that stops
  once they are done, as Gavel's does).

It then recomputes each job's start, completion, restarts and GPU-seconds,
which :mod:`.metrics` turns into the reported numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..core import CHECK_TOL, CheckReport, Violations
from ..model.topology import Cluster
from ..throughput.model import ThroughputModel
from .engine import Event, Overhead, constant_overhead
from .workload import Workload


@dataclass
class JobRecord:
    """What the timeline says of one job, recomputed."""

    arrival: float
    gang: int
    first_start: float = math.nan
    completion: float = math.nan
    starts: int = 0
    moves: int = 0  # starts on another GPU set than the job's previous run
    last_gpus: tuple[int, ...] = ()
    gpu_seconds: float = 0.0
    done: float = 0.0  # iterations
    gpu_type: str = ""  # of its last run
    seconds_by_type: dict[str, float] = field(default_factory=dict)


def check_timeline(
    workload: Workload,
    cluster: Cluster,
    events: Iterable[Event],
    *,
    model: ThroughputModel | None = None,
    overhead: Overhead | None = None,
    until_measured: bool = False,
) -> tuple[CheckReport, dict[str, JobRecord]]:
    """The report (objective: the average JCT of the measured jobs, seconds) and the
    recomputed record of every job. ``until_measured``: the run stopped once the
    measured jobs completed, so only they must complete."""
    model = model or ThroughputModel(cluster)
    overhead = overhead or constant_overhead(0.0)
    jobs = {j.id: j for j in workload.jobs}
    bad = Violations()
    rec = {j.id: JobRecord(j.arrival, j.num_gpus) for j in workload.jobs}
    arrived: set[str] = set()
    # job -> (start time, gpus, rate, overhead, done at start)
    running: dict[str, tuple[float, tuple[int, ...], float, float, float]] = {}
    owner: dict[int, str] = {}
    completed: set[str] = set()
    last_t = 0.0
    for ev in events:
        job = jobs.get(ev.job)
        where = f"job {ev.job!r} at {ev.time:g} s"
        if job is None:
            bad.add("unknown_job", 1, where)
            continue
        if not math.isfinite(ev.time):
            bad.add("bad_event", 1, f"{where}: time is not finite")
            continue
        if ev.time < last_t:
            bad.add("bad_event", last_t - ev.time, f"{where}: time goes back")
        last_t = max(last_t, ev.time)
        r = rec[job.id]
        if ev.job in completed:
            bad.add("bad_event", 1, f"{where}: {ev.kind} after completion")
            continue
        if ev.kind == "arrive":
            if abs(ev.time - job.arrival) > CHECK_TOL * max(1.0, job.arrival):
                bad.add("bad_event", abs(ev.time - job.arrival), f"{where}: not its arrival")
            arrived.add(job.id)
        elif ev.kind == "start":
            if job.id not in arrived or ev.time < job.arrival - CHECK_TOL * max(1.0, job.arrival):
                bad.add("early_start", max(job.arrival - ev.time, CHECK_TOL), where)
            if job.id in running:
                bad.add("bad_event", 1, f"{where}: started while running")
                continue
            gpus = tuple(ev.gpus)
            if not all(isinstance(g, int) and 0 <= g < cluster.num_gpus for g in gpus):
                bad.add("gang", 1, f"{where}: GPU ids outside the cluster {list(gpus)}")
                continue
            types = {cluster.gpu2type[g] for g in gpus}
            if len(gpus) != job.num_gpus or len(set(gpus)) != len(gpus) or len(types) != 1:
                bad.add("gang", abs(len(set(gpus)) - job.num_gpus) or 1, where)
                continue
            for g in gpus:
                if g in owner:
                    bad.add("overbooked", 1, f"{where}: GPU {g} is held by {owner[g]!r}")
                owner[g] = job.id
            rate = model.throughput(job.job_type, gpus)
            if not rate > 0:
                bad.add("cannot_run", 1, f"{where}: {job.job_type!r} has no throughput there")
                continue
            running[job.id] = (ev.time, gpus, rate, overhead(job), r.done)
            r.starts += 1
            if r.last_gpus and r.last_gpus != gpus:
                r.moves += 1
            r.last_gpus = gpus
            r.gpu_type = types.pop()
            if math.isnan(r.first_start):
                r.first_start = ev.time
        elif ev.kind in ("stop", "complete"):
            if job.id not in running:
                bad.add("bad_event", 1, f"{where}: {ev.kind} while not running")
                continue
            start, gpus, rate, o, done0 = running.pop(job.id)
            for g in gpus:
                if owner.get(g) == job.id:
                    del owner[g]
            held = ev.time - start
            r.gpu_seconds += len(gpus) * held
            r.seconds_by_type[r.gpu_type] = r.seconds_by_type.get(r.gpu_type, 0.0) + held
            r.done = done0 + rate * max(0.0, held - o)
            tol = CHECK_TOL * job.work
            if ev.kind == "complete":
                r.completion = ev.time
                completed.add(job.id)
                if r.done < job.work - tol:
                    need = (job.work - done0) / rate if rate > 0 else math.inf
                    bad.add("early_completion", start + o + need - ev.time, where)
                elif r.done > job.work + tol:
                    late = (r.done - job.work) / rate
                    bad.add("late_completion", late, where)
            elif r.done > job.work + tol:
                bad.add("overrun", (r.done - job.work) / rate, f"{where}: stopped after its end")
        else:
            bad.add("bad_event", 1, f"{where}: unknown event {ev.kind!r}")
    must = {j.id for j in workload.measured} if until_measured else set(jobs)
    for jid in jobs:
        if jid not in completed and jid in must:
            bad.add("incomplete", 1, f"job {jid!r}")
    measured = [rec[j.id] for j in workload.measured]
    jcts = [r.completion - r.arrival for r in measured if not math.isnan(r.completion)]
    objective = sum(jcts) / len(jcts) if jcts and len(jcts) == len(measured) else math.nan
    return CheckReport("simulate", objective, bad.freeze(), {}), rec
