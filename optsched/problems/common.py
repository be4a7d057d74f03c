"""Jobs and helpers shared by the cluster families (placement, timeslot)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
