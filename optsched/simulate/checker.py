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
* ``overbooked``: no GPU is held by two jobs at once, unless exactly two
  share exactly one GPU set (space sharing); ``cannot_share``: the model lets
  the two job types share GPUs;
* ``early_completion`` / ``late_completion``: a job completes exactly when its
  work is done, recomputed as ``rate x (held time - restart overhead)`` summed
  over its runs, with the overhead charged on every start, and the rate the
  co-located one while a partner shares the GPUs (from the partner's own start
  and stop, so sharing needs no event of its own). One exception: a job that
  shares its GPUs may complete after its work is done if its partner leaves at
  that same instant (a pair that runs as one task and returns when the later of
  the two ends, as Gavel's simulator runs pairs);
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
from ..model.progress import progress
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
    #: held seconds per GPU type, halved while shared: busy GPU time is ``x gang``
    seconds_by_type: dict[str, float] = field(default_factory=dict)


@dataclass
class _Held:
    """A job's current run, in stretches at one rate (a partner changes the rate)."""

    start: float
    gpus: tuple[int, ...]
    busy_until: float  # start + restart overhead: no progress before
    rate: float
    since: float  # start of the current stretch
    partner: str | None = None

    def advance(self, t: float, rec: JobRecord) -> None:
        """Progress and held time of the stretch up to ``t``; a new stretch starts there."""
        rec.done += progress(self.rate, t - self.since, self.busy_until - self.since)
        share = 0.5 if self.partner is not None else 1.0
        rec.seconds_by_type[rec.gpu_type] = rec.seconds_by_type.get(rec.gpu_type, 0.0) + share * (
            t - self.since
        )
        self.since = t


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
    running: dict[str, _Held] = {}
    owner: dict[int, str] = {}  # GPU -> the job that took it first
    sharing: dict[int, str] = {}  # GPU -> the second job on it

    def rate(jid: str, gpus: tuple[int, ...], partner: str | None) -> float:
        other = jobs[partner].job_type if partner is not None else None
        return model.throughput(jobs[jid].job_type, gpus, other)

    def rerate(jid: str, t: float, partner: str | None) -> None:
        h = running[jid]
        h.advance(t, rec[jid])
        h.partner = partner
        h.rate = rate(jid, h.gpus, partner)

    completed: set[str] = set()
    shared = 0  # starts onto GPUs another job holds (space sharing)
    waits: dict[str, tuple[float, str, float]] = {}  # partner -> (when, job, how late)
    alone_since: dict[str, float] = {}  # job -> when its partner left
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
            if job.gpu_types and not types <= set(job.gpu_types):
                bad.add("not_allowed", 1, f"{where}: on {sorted(types)}")
                continue
            host = owner.get(gpus[0])
            if host is not None and (
                running[host].gpus != gpus or running[host].partner is not None
            ):
                taken = [g for g in gpus if g in owner]
                bad.add("overbooked", len(taken), f"{where}: GPUs {taken} are held")
                continue
            if host is None and any(g in owner for g in gpus):
                taken = [g for g in gpus if g in owner]
                bad.add("overbooked", len(taken), f"{where}: GPUs {taken} are held")
                continue
            if host is not None:
                pair = (job.job_type, jobs[host].job_type, cluster.gpu2type[gpus[0]], len(gpus))
                if (
                    model.interference(*pair) is None
                    or model.interference(pair[1], pair[0], *pair[2:]) is None
                ):
                    bad.add("cannot_share", 1, f"{where}: with {host!r}")
                    continue
            if not model.throughput(job.job_type, gpus) > 0:
                bad.add("cannot_run", 1, f"{where}: {job.job_type!r} has no throughput there")
                continue
            for g in gpus:
                (sharing if host is not None else owner)[g] = job.id
            r.gpu_type = types.pop()
            t0 = ev.time
            running[job.id] = _Held(t0, gpus, t0 + overhead(job), rate(job.id, gpus, host), t0)
            if host is not None:
                running[job.id].partner = host
                rerate(host, t0, job.id)
                shared += 1
            r.starts += 1
            if r.last_gpus and r.last_gpus != gpus:
                r.moves += 1
            r.last_gpus = gpus
            if math.isnan(r.first_start):
                r.first_start = ev.time
        elif ev.kind in ("stop", "complete"):
            if job.id not in running:
                bad.add("bad_event", 1, f"{where}: {ev.kind} while not running")
                continue
            h = running.pop(job.id)
            waited = waits.pop(job.id, None)
            if waited is not None and abs(ev.time - waited[0]) > CHECK_TOL * max(1.0, ev.time):
                bad.add("late_completion", waited[2], f"job {waited[1]!r}: its partner left later")
            before, last_from = r.done, max(h.since, h.busy_until)
            h.advance(ev.time, r)
            if h.partner is not None:  # the partner goes on alone and keeps the GPUs
                other = h.partner
                for g in h.gpus:
                    owner[g] = other
                    del sharing[g]
                rerate(other, ev.time, None)
                alone_since[other] = ev.time
            else:
                for g in h.gpus:
                    del owner[g]
            r.gpu_seconds += len(h.gpus) * (ev.time - h.start)
            tol = CHECK_TOL * job.work
            if ev.kind == "complete":
                r.completion = ev.time
                completed.add(job.id)
                if r.done < job.work - tol:
                    need = (job.work - before) / h.rate if h.rate > 0 else math.inf
                    bad.add("early_completion", last_from + need - ev.time, where)
                elif r.done > job.work + tol:
                    late = (r.done - job.work) / h.rate
                    left = alone_since.get(job.id, -math.inf)
                    if h.partner is not None:  # fine if the partner leaves now too
                        waits[h.partner] = (ev.time, job.id, late)
                    elif abs(ev.time - left) > CHECK_TOL * max(1.0, ev.time):  # or just left
                        bad.add("late_completion", late, where)
            elif r.done > job.work + tol:
                bad.add("overrun", (r.done - job.work) / h.rate, f"{where}: stopped after its end")
        else:
            bad.add("bad_event", 1, f"{where}: unknown event {ev.kind!r}")
    for _, jid, late in waits.values():
        bad.add("late_completion", late, f"job {jid!r}: its partner never left")
    must = {j.id for j in workload.measured} if until_measured else set(jobs)
    for jid in jobs:
        if jid not in completed and jid in must:
            bad.add("incomplete", 1, f"job {jid!r}")
    measured = [rec[j.id] for j in workload.measured]
    jcts = [r.completion - r.arrival for r in measured if not math.isnan(r.completion)]
    objective = sum(jcts) / len(jcts) if jcts and len(jcts) == len(measured) else math.nan
    return CheckReport("simulate", objective, bad.freeze(), {"shared_starts": shared}), rec
