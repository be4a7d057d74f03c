"""Timeslot: offline time-slotted allocation.

A horizon of ``num_slots`` slots of ``slot_seconds`` each (Gavel's rounds are
360 s). Each job has a release slot, total work (iterations), a gang size and
a type. Per slot, a schedule says which jobs run on which GPU type, and, with
``locality`` on, on exactly which GPUs. In slot ``t`` a running job progresses
``thr x (slot_seconds - o)`` iterations, where ``o = restart_overhead`` if the
job did not run in slot ``t-1`` on the same allocation (every start, the first
included, pays it) and 0 otherwise. Jobs may be preempted between slots.

Job ``j`` completes at ``C_j = (t_j + 1) x slot_seconds``, where ``t_j`` is the
slot in which its cumulative progress reaches its work; every job must
complete within the horizon. Objectives (minimised):

* ``makespan``: ``max_j C_j``;
* ``weighted_completion``: ``sum_j w_j (C_j - r_j)``, ``r_j`` the release time
  in seconds (weighted JCT);
* ``max_ftf``: ``max_j (C_j - r_j) / T^id_j``, Themis' finish-time fairness,
  with ``T^id_j = work_j / (ref_j x min(1, G / (N g_j)))``: the time the job
  needs alone on a ``1/N`` share of the ``G`` GPUs it may use (``N`` jobs),
  at its best consolidated throughput ``ref_j``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cached_property
from typing import Any

from ...core import Sense
from ...errors import (
    InputError,
    check_keys,
    check_list,
    check_positive_int,
    check_real,
    check_str,
    get_field,
    where,
)
from ...model.topology import Cluster
from ...throughput.jobtypes import Catalog, JobType
from ...throughput.model import ThroughputModel
from ..base import INSTANCE_FORMAT, check_ids, check_origin, envelope, strip_envelope
from ..common import allowed_pools, build_catalog, parse_gpu_types, parse_job_types

NAME = "timeslot"
GAVEL_ROUND_SECONDS = 360.0


class TimeslotObjective(str, Enum):
    MAKESPAN = "makespan"
    WEIGHTED_COMPLETION = "weighted_completion"
    MAX_FTF = "max_ftf"


@dataclass(frozen=True)
class TimeslotJob:
    """A training job.

    Attributes
    ----------
    work
        Iterations to complete, > 0 (same unit as the throughput model).
    release
        First slot (0-based) in which the job may run.
    """

    id: str
    job_type: str
    num_gpus: int
    work: float
    release: int = 0
    weight: float = 1.0
    gpu_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_str(self.id, "id", "job")
        ctx = where("job", self.id)
        check_str(self.job_type, "job_type", ctx)
        check_positive_int(self.num_gpus, "num_gpus", ctx)
        check_real(self.work, "work", ctx, strict=True)
        check_positive_int(self.release, "release", ctx, minimum=0)
        check_real(self.weight, "weight", ctx, strict=True)
        object.__setattr__(self, "gpu_types", tuple(self.gpu_types))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "job_type": self.job_type,
            "num_gpus": self.num_gpus,
            "work": self.work,
            "release": self.release,
            "weight": self.weight,
        }
        if self.gpu_types:
            out["gpu_types"] = list(self.gpu_types)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TimeslotJob:
        check_keys(
            d, ("id", "job_type", "num_gpus", "work", "release", "weight", "gpu_types"), "job"
        )
        jid = get_field(d, "id", "job")
        ctx = where("job", jid)
        return cls(
            jid,
            get_field(d, "job_type", ctx),
            get_field(d, "num_gpus", ctx),
            get_field(d, "work", ctx),
            d.get("release", 0),
            d.get("weight", 1.0),
            parse_gpu_types(d.get("gpu_types", []), ctx),
        )


@dataclass(frozen=True)
class TimeslotInstance:
    """Offline time-slotted allocation over a fixed horizon. ``origin``: where a generator
    took the jobs from and what it changed (:func:`~optsched.problems.base.check_origin`)."""

    name: str
    cluster: Cluster
    jobs: tuple[TimeslotJob, ...]
    num_slots: int
    slot_seconds: float = GAVEL_ROUND_SECONDS
    objective: TimeslotObjective = TimeslotObjective.MAKESPAN
    locality: bool = False
    restart_overhead: float = 0.0
    job_types: tuple[JobType, ...] = field(default=())
    origin: Mapping[str, Any] = field(default_factory=dict)

    family = NAME
    sense = Sense.MIN

    def __post_init__(self) -> None:
        check_str(self.name, "name", "instance")
        object.__setattr__(self, "jobs", tuple(self.jobs))
        object.__setattr__(self, "job_types", tuple(self.job_types))
        object.__setattr__(self, "origin", check_origin(self.origin))
        try:
            object.__setattr__(self, "objective", TimeslotObjective(self.objective))
        except ValueError:
            names = ", ".join(o.value for o in TimeslotObjective)
            raise InputError(
                f"instance: objective must be one of {names}, got {self.objective!r}"
            ) from None
        check_positive_int(self.num_slots, "num_slots", "instance")
        check_real(self.slot_seconds, "slot_seconds", "instance", strict=True)
        check_real(self.restart_overhead, "restart_overhead", "instance")
        if self.restart_overhead >= self.slot_seconds:
            raise InputError(
                f"instance: restart_overhead must be < slot_seconds, got {self.restart_overhead:g}"
            )
        if not isinstance(self.locality, bool):
            raise InputError(f"instance: locality must be true or false, got {self.locality!r}")
        if not self.jobs:
            raise InputError("instance: jobs must not be empty")
        check_ids((j.id for j in self.jobs), "job")
        for j in self.jobs:
            if j.release >= self.num_slots:
                raise InputError(
                    f"job {j.id!r}: release must be < num_slots ({self.num_slots}), got {j.release}"
                )
        _ = self.pools

    @cached_property
    def catalog(self) -> Catalog:
        return build_catalog(self.job_types)

    @cached_property
    def model(self) -> ThroughputModel:
        return ThroughputModel(self.cluster, self.catalog, locality=self.locality)

    @cached_property
    def pools(self) -> dict[str, tuple[str, ...]]:
        return {
            j.id: allowed_pools(
                "job", j.id, j.job_type, j.num_gpus, j.gpu_types, self.cluster, self.model
            )
            for j in self.jobs
        }

    @cached_property
    def job_index(self) -> dict[str, int]:
        return {j.id: i for i, j in enumerate(self.jobs)}

    def rate(self, job_id: str, gpu_type: str) -> float:
        """Iterations/s of a job packed on ``gpu_type`` (the rate without locality)."""
        job = self.jobs[self.job_index[job_id]]
        return self.model.consolidated(job.job_type, gpu_type, job.num_gpus)

    @cached_property
    def ideal_time(self) -> dict[str, float]:
        """``T^id_j`` of the ``max_ftf`` objective, seconds."""
        n = len(self.jobs)
        out = {}
        for j in self.jobs:
            ref = max(self.rate(j.id, t) for t in self.pools[j.id])
            gpus = sum(self.cluster.capacity(t) for t in self.pools[j.id])
            share = min(1.0, gpus / (n * j.num_gpus))
            out[j.id] = j.work / (ref * share)
        return out

    @property
    def horizon(self) -> float:
        return self.num_slots * self.slot_seconds

    def replace(self, **changes: Any) -> TimeslotInstance:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out = envelope(INSTANCE_FORMAT, NAME, name=self.name)
        out.update(
            objective=self.objective.value,
            num_slots=self.num_slots,
            slot_seconds=self.slot_seconds,
            locality=self.locality,
            restart_overhead=self.restart_overhead,
            cluster=self.cluster.to_dict(),
        )
        if self.job_types:
            out["job_types"] = [jt.to_dict() for jt in self.job_types]
        if self.origin:
            out["origin"] = dict(self.origin)
        out["jobs"] = [j.to_dict() for j in self.jobs]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimeslotInstance:
        d = strip_envelope(
            data,
            (
                "name",
                "objective",
                "num_slots",
                "slot_seconds",
                "locality",
                "restart_overhead",
                "cluster",
                "job_types",
                "origin",
                "jobs",
            ),
            "instance",
        )
        jobs = tuple(
            TimeslotJob.from_dict(j)
            for j in check_list(get_field(d, "jobs", "instance"), "jobs", "instance")
        )
        return cls(
            d.get("name", "timeslot"),
            Cluster.from_dict(get_field(d, "cluster", "instance")),
            jobs,
            get_field(d, "num_slots", "instance"),
            d.get("slot_seconds", GAVEL_ROUND_SECONDS),
            d.get("objective", TimeslotObjective.MAKESPAN.value),
            d.get("locality", False),
            d.get("restart_overhead", 0.0),
            parse_job_types(d),
            d.get("origin", {}),
        )

    def summary(self) -> dict[str, Any]:
        by_type: dict[str, int] = {}
        by_size: dict[int, int] = {}
        for j in self.jobs:
            by_type[j.job_type] = by_type.get(j.job_type, 0) + 1
            by_size[j.num_gpus] = by_size.get(j.num_gpus, 0) + 1
        return {
            "objective": self.objective.value,
            "num_slots": self.num_slots,
            "slot_seconds": self.slot_seconds,
            "horizon_seconds": self.horizon,
            "locality": self.locality,
            "restart_overhead": self.restart_overhead,
            "num_jobs": len(self.jobs),
            "total_work": sum(j.work for j in self.jobs),
            "jobs_by_type": by_type,
            "jobs_by_num_gpus": dict(sorted(by_size.items())),
            **({"origin": dict(self.origin)} if self.origin else {}),
        }
