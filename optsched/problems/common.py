"""Jobs, validation and generator helpers shared by the cluster families."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from .. import sources
from ..errors import InputError, check_list, where
from ..model.gpus import GPU_TYPES
from ..model.topology import Cluster
from ..throughput.jobtypes import Catalog, JobType, default_catalog
from ..throughput.model import ThroughputModel


def build_catalog(job_types: Sequence[JobType]) -> Catalog:
    return default_catalog().extended(job_types) if job_types else default_catalog()


def parse_job_types(data: Mapping[str, Any]) -> tuple[JobType, ...]:
    raw = check_list(data.get("job_types", []), "job_types", "instance")
    return tuple(JobType.from_dict(d) for d in raw)


def parse_gpu_types(value: Any, ctx: str) -> tuple[str, ...]:
    items = check_list(value, "gpu_types", ctx)
    for t in items:
        if not isinstance(t, str):
            raise InputError(f"{ctx}: gpu_types must hold strings, got {t!r}")
    return tuple(items)


def allowed_pools(
    kind: str,
    job_id: str,
    job_type: str,
    num_gpus: int,
    gpu_types: tuple[str, ...],
    cluster: Cluster,
    model: ThroughputModel,
    *,
    need_one_server: bool = False,
) -> tuple[str, ...]:
    """GPU types a job may use: allowed, present, large enough and with a known throughput.

    Raises when there is none, naming the job.
    """
    ctx = where(kind, job_id)
    known = set(GPU_TYPES) | set(cluster.extra_gpu_types)
    for t in gpu_types:
        if t not in known:
            raise InputError(f"{ctx}: unknown gpu type {t!r}")
    if job_type not in model.catalog:
        raise InputError(f"{ctx}: unknown job type {job_type!r}")
    candidates = gpu_types or cluster.gpu_types
    pools = []
    for t in candidates:
        size = cluster.max_server_gpus(t) if need_one_server else cluster.capacity(t)
        if size >= num_gpus and model.runs_on(job_type, t):
            pools.append(t)
    if not pools:
        allowed = ",".join(candidates)
        raise InputError(f"{ctx}: num_gpus {num_gpus} fits no allowed GPU pool ({allowed})")
    return tuple(pools)


# ---------------------------------------------------------------- generator helpers
#: Gavel's parametric job-size distribution (scheduler/utils.py): GPUs -> probability.
GAVEL_SCALE_PROBS = {1: 0.70, 2: 0.10, 4: 0.15, 8: 0.05}


def gavel_jobs(rng: np.random.Generator, num_jobs: int, max_gpus: int) -> list[tuple[str, int]]:
    """``(job type, GPUs)`` drawn from Gavel's size distribution and its measured types."""
    table = default_catalog().table
    out = []
    sizes = [s for s in GAVEL_SCALE_PROBS if s <= max_gpus]
    probs = np.array([GAVEL_SCALE_PROBS[s] for s in sizes])
    probs /= probs.sum()
    for _ in range(num_jobs):
        g = int(rng.choice(sizes, p=probs))
        types = sorted({k[0] for k in table.isolated if k[2] == g})
        out.append((types[int(rng.integers(len(types)))], g))
    return out


def types_for(g: int) -> list[str]:
    """Gavel job types measured at ``g`` GPUs; other sizes draw from the 8-GPU types
    (their throughput follows rule 4 of the throughput model)."""
    table = default_catalog().table
    measured = sorted({k[0] for k in table.isolated if k[2] == g})
    if measured:
        return measured
    return sorted({k[0] for k in table.isolated if k[2] == 8})


def trace(source: str, vc: str | None, seed: int) -> tuple[sources.TraceJob, ...]:
    if source == "philly":
        return sources.philly(vc)
    if source == "itp":
        return sources.itp(vc or "cluster03")
    if source == "helios":
        return sources.helios()
    if source == "gavel":
        return sources.gavel_msr(vc or "6214e9", seed % 5)
    if source == "alibaba":
        return sources.openb_jobs(vc or "default")
    raise InputError(f"unknown trace source {source!r}")


class Window(NamedTuple):
    """Consecutive jobs of a trace, and what was left out between them."""

    jobs: list[sources.TraceJob]
    dropped: int  # jobs of the span left out for their size
    gpu_time_dropped: float  # their share of the span's GPU-time


def window(
    jobs: tuple[sources.TraceJob, ...],
    n: int,
    max_gpus: int | None,
    rng: np.random.Generator,
) -> Window:
    """``n`` consecutive jobs (by arrival) from a random start, of every size, or, with
    ``max_gpus``, the next ``n`` no larger (what that drops is counted)."""
    if n < 1:
        raise InputError(f"num_jobs must be >= 1, got {n}")
    keep = [i for i, j in enumerate(jobs) if max_gpus is None or j.num_gpus <= max_gpus]
    if len(keep) < n:
        which = "jobs" if max_gpus is None else f"jobs of at most {max_gpus} GPUs"
        raise InputError(f"trace has only {len(keep)} {which}, need {n}")
    start = int(rng.integers(0, len(keep) - n + 1))
    chosen = keep[start : start + n]
    span = jobs[chosen[0] : chosen[-1] + 1]
    total = sum(j.num_gpus * j.duration for j in span)
    kept = sum(jobs[i].num_gpus * jobs[i].duration for i in chosen)
    share = 1.0 - kept / total if total > 0 else 0.0
    return Window([jobs[i] for i in chosen], len(span) - n, share)


def typed(job: sources.TraceJob, rng: np.random.Generator) -> str:
    """The trace's job type where it names one, else one drawn for its size."""
    if job.job_type is not None:
        return job.job_type
    types = types_for(job.num_gpus)
    return types[int(rng.integers(len(types)))]
