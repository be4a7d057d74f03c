"""Timeslot instances: Gavel's measured job types with work for a target load, and
windows of real traces (Philly, Microsoft ITP, Helios, Gavel's traces) as offline
allocation problems. Deterministic in the seed.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import InputError, check_positive_int
from ...model import gavel
from ...throughput import ThroughputModel, default_catalog
from ..common import gavel_jobs, trace, typed, window
from .instance import TimeslotInstance, TimeslotJob, TimeslotObjective

DEFAULT_COUNTS = {"v100": 12, "p100": 12, "k80": 8}
#: Gavel's round, the shortest slot a trace window gets (seconds).
GAVEL_ROUND = 360.0
#: Slot lengths tried (each 25% longer) before a window is declared unfittable.
MAX_SLOT_TRIES = 40


def gavel_timeslot(
    num_jobs: int,
    counts: dict[str, int],
    num_slots: int,
    seed: int,
    *,
    load: float = 0.8,
    objective: str = "makespan",
    restart_overhead: float = 0.0,
    gpus_per_server: int = 4,
) -> TimeslotInstance:
    """Jobs of Gavel's types with work for about ``load`` of the cluster's GPU-slots.

    Each job's work is drawn so that, at its best consolidated rate, the jobs
    together fill about ``load`` of ``num_slots`` slots on every GPU; releases
    are uniform over the first third of the horizon.
    """
    if not 0 < load <= 1:
        raise InputError(f"gavel_timeslot: load must be in (0, 1], got {load}")
    rng = np.random.default_rng(seed)
    cluster = gavel(counts, gpus_per_server)
    specs = gavel_jobs(rng, num_jobs, max(cluster.max_server_gpus(t) for t in cluster.gpu_types))
    table = default_catalog().table
    budget = load * num_slots * cluster.num_gpus  # GPU-slots
    share = rng.dirichlet(np.ones(num_jobs)) * budget
    jobs = []
    for i, ((jt, g), gpu_slots) in enumerate(zip(specs, share)):
        slots = max(0.5, min(gpu_slots / g, num_slots / 2))
        rate = max(
            table.isolated[(jt, t, g)] for t in cluster.gpu_types if (jt, t, g) in table.isolated
        )
        release = int(rng.integers(0, max(1, num_slots // 3)))
        jobs.append(
            TimeslotJob(
                f"j{i}", jt, g, float(slots * 360.0 * rate), release, float(rng.integers(1, 4))
            )
        )
    label = ":".join(str(c) for c in counts.values())
    return TimeslotInstance(
        f"gavel-slots-{label}-{num_jobs}j-{num_slots}h-s{seed}",
        cluster,
        tuple(jobs),
        num_slots,
        360.0,
        TimeslotObjective(objective),
        False,
        restart_overhead,
    )


def trace_timeslot(
    source: str,
    num_jobs: int,
    num_slots: int,
    seed: int,
    *,
    vc: str | None = None,
    counts: dict[str, int] | None = None,
    objective: str = "makespan",
    restart_overhead: float = 0.0,
    locality: bool = False,
) -> TimeslotInstance:
    """A window of a real trace as an offline allocation problem, the trace kept as it is.

    ``num_jobs`` consecutive submissions from a random start, of every size.
    Releases are the trace's submission times, rounded up to a slot (a job never
    runs before it was submitted); durations are its durations: work is
    the duration times the job's consolidated V100 rate (Gavel's convention:
    durations are V100 time; Gavel's own traces give steps directly).

    The cluster and the horizon are sized to the jobs, not the jobs to them:
    without ``counts``, the default cluster is scaled up (every type alike, in
    whole servers) until its largest type holds the largest job; the slots are
    lengthened from Gavel's 360 s (in whole minutes) until greedy SRTF finishes
    every job within ``num_slots`` of them, so a schedule is known to exist.

    With ``counts`` given, the window is the next ``num_jobs`` jobs that fit its
    largest type; the instance's ``origin`` counts the jobs skipped between them
    (and their share of the span's GPU-time), as well as the scaling, for
    ``optsched info``.
    """
    check_positive_int(num_jobs, "num_jobs", "trace_timeslot")
    check_positive_int(num_slots, "num_slots", "trace_timeslot")
    rng = np.random.default_rng(seed)
    full = trace(source, vc, seed)
    scale = 1
    if counts is None:  # the default cluster, grown to the window's largest job
        picked = window(full, num_jobs, None, rng)
        largest_job, per_server = max(tj.num_gpus for tj in picked.jobs), 4
        scale = -(-largest_job // max(DEFAULT_COUNTS.values()))  # the least that holds it
        base = {t: -(-n * scale // per_server) * per_server for t, n in DEFAULT_COUNTS.items()}
        cluster = gavel(base)
    else:  # the cluster asked for: the next jobs that fit it, the others counted
        cluster = gavel(counts)
        largest = max(cluster.capacity(t) for t in cluster.gpu_types)
        picked = window(full, num_jobs, largest, rng)
    biggest = max(tj.num_gpus for tj in picked.jobs)
    model = ThroughputModel(cluster, locality=locality)
    fits = picked.jobs
    t0 = fits[0].arrival
    specs = []
    for tj in fits:
        jt = typed(tj, rng)
        v100 = model.consolidated(jt, "v100", tj.num_gpus)
        work = tj.work if tj.work is not None else tj.duration * v100
        best = max(
            model.consolidated(jt, t, tj.num_gpus)
            for t in cluster.gpu_types
            if cluster.capacity(t) >= tj.num_gpus and model.runs_on(jt, t)
        )
        specs.append((jt, tj, float(max(work, 1.0)), tj.arrival - t0, best))
    weights = [float(rng.integers(1, 4)) for _ in specs]
    # the shortest slot (whole minutes, at least Gavel's round) that could hold everything
    need = max(offset + work / best for _, _, work, offset, best in specs)
    slot = max(GAVEL_ROUND, 60.0 * math.ceil(need / num_slots / 60.0))
    for _ in range(MAX_SLOT_TRIES):
        jobs = tuple(
            TimeslotJob(f"j{i}", jt, tj.num_gpus, work, _release(offset, slot, num_slots), w)
            for i, ((jt, tj, work, offset, _), w) in enumerate(zip(specs, weights))
        )  # fmt: skip
        inst = TimeslotInstance(
            f"{source}-slots-{num_jobs}j-{num_slots}h-s{seed}",
            cluster,
            jobs,
            num_slots,
            slot,
            TimeslotObjective(objective),
            locality,
            restart_overhead,
        )
        if _greedy_finishes(inst):
            break
        slot = 60.0 * math.ceil(slot * 1.25 / 60.0)
    else:  # pragma: no cover - 1.25^40 outgrows any trace
        raise InputError(f"no slot length fits the {source} window in {num_slots} slots")
    origin = {
        "source": source,
        "vc": vc,
        "seed": seed,
        "jobs_dropped": picked.dropped,
        "gpu_time_dropped": picked.gpu_time_dropped,
        "largest_job_gpus": biggest,
        "cluster_scale": scale,
        "work": "trace steps" if fits[0].work is not None else "duration x V100 rate",
    }
    return inst.replace(origin=origin)


def _release(offset: float, slot: float, num_slots: int) -> int:
    """The first slot that starts at or after a submission ``offset`` seconds in: a job
    never runs before it is submitted."""
    return min(math.ceil(offset / slot - 1e-9), num_slots - 1)


def _greedy_finishes(inst: TimeslotInstance) -> bool:
    from .checker import check
    from .heuristics import greedy_srtf

    return not any(v.kind == "incomplete" for v in check(inst, greedy_srtf(inst)).violations)


# ---------------------------------------------------------------- sources
def synthetic(
    seed: int,
    *,
    num_jobs: int = 24,
    num_slots: int = 24,
    counts: dict[str, int] | None = None,
    objective: str = "makespan",
    locality: bool = False,
) -> TimeslotInstance:
    inst = gavel_timeslot(num_jobs, counts or DEFAULT_COUNTS, num_slots, seed, objective=objective)
    return inst.replace(locality=locality)


def from_trace(
    source: str,
    seed: int,
    *,
    num_jobs: int = 24,
    num_slots: int = 24,
    counts: dict[str, int] | None = None,
    vc: str | None = None,
    objective: str = "makespan",
    locality: bool = False,
) -> TimeslotInstance:
    return trace_timeslot(
        source, num_jobs, num_slots, seed, vc=vc, counts=counts, objective=objective,
        locality=locality,
    )  # fmt: skip
