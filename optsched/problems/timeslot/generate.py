"""Timeslot instances: Gavel's measured job types with work for a target load, and
windows of real traces (Philly, Microsoft ITP, Helios, Gavel's traces) as offline
allocation problems. Deterministic in the seed.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError
from ...model import gavel
from ...throughput import ThroughputModel, default_catalog
from ..common import gavel_jobs, trace, typed, window
from .instance import TimeslotInstance, TimeslotJob, TimeslotObjective

DEFAULT_COUNTS = {"v100": 12, "p100": 12, "k80": 8}


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
) -> TimeslotInstance:
    """A window of a real trace as an offline allocation problem.

    ``num_jobs`` consecutive submissions from a random start. Arrivals are
    scaled linearly so the window's jobs arrive within the first third of the
    horizon (inter-arrival ratios kept). Work is the trace's duration times the
    job's consolidated V100 rate (Gavel's convention: durations are V100 time;
    Gavel's own traces give steps directly), capped at what half the horizon
    gives at the job's best rate, so that every job can finish.
    """
    rng = np.random.default_rng(seed)
    cluster = gavel(counts or DEFAULT_COUNTS)
    biggest = max(cluster.max_server_gpus(t) for t in cluster.gpu_types)
    picked = window(trace(source, vc, seed), num_jobs, biggest, rng)
    t0, span = picked[0].arrival, max(picked[-1].arrival - picked[0].arrival, 1.0)
    model = ThroughputModel(cluster)
    delta = 360.0
    jobs = []
    for i, tj in enumerate(picked):
        jt = typed(tj, rng)
        rates = [model.consolidated(jt, t, tj.num_gpus) for t in cluster.gpu_types]
        v100 = model.consolidated(jt, "v100", tj.num_gpus)
        work = tj.work if tj.work is not None else tj.duration * v100
        work = min(work, max(rates) * delta * num_slots / 2)
        release = int((tj.arrival - t0) / span * (num_slots // 3))
        jobs.append(
            TimeslotJob(
                f"j{i}",
                jt,
                tj.num_gpus,
                float(max(work, 1.0)),
                min(release, num_slots - 1),
                float(rng.integers(1, 4)),
            )
        )
    return TimeslotInstance(
        f"{source}-slots-{num_jobs}j-{num_slots}h-s{seed}",
        cluster,
        tuple(jobs),
        num_slots,
        delta,
        TimeslotObjective(objective),
        False,
        restart_overhead,
    )


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
    inst = trace_timeslot(
        source, num_jobs, num_slots, seed, vc=vc, counts=counts, objective=objective
    )
    return inst.replace(locality=locality)
