"""Placement: one scheduling round.

Choose which jobs run and exactly which GPUs each gets (all of one allowed
type). A GPU hosts one job, or two with space sharing, in which case the two
jobs share the same GPU set. Throughputs come from
:class:`~optsched.throughput.model.ThroughputModel`.

Objectives (all maximised), with ``n_j = thr_j / ref_j`` the normalised
throughput of job ``j`` (0 when it does not run) and ``ref_j`` its best
consolidated throughput on an allowed GPU type:

* ``weighted_throughput``: ``sum_j w_j n_j``;
* ``gpus_used``: number of GPUs hosting at least one job;
* ``min_throughput``: ``min_j n_j`` over all jobs.
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
from ...throughput.model import (
    SPREAD_RULES,
    ThroughputModel,
    check_interference,
    check_strategy,
)
from ..base import INSTANCE_FORMAT, check_ids, check_origin, envelope, strip_envelope
from ..common import allowed_pools, build_catalog, parse_gpu_types, parse_job_types

NAME = "placement"


class PlacementObjective(str, Enum):
    WEIGHTED_THROUGHPUT = "weighted_throughput"
    GPUS_USED = "gpus_used"
    MIN_THROUGHPUT = "min_throughput"


@dataclass(frozen=True)
class Job:
    """A job to place.

    Attributes
    ----------
    id
        Unique id.
    job_type
        Name of a job type in the catalog or the instance's ``job_types``.
    num_gpus
        Gang size: GPUs it needs, all at once, all of one type.
    weight
        Weight in the objective, > 0.
    gpu_types
        GPU types it may use; empty means any.
    """

    id: str
    job_type: str
    num_gpus: int
    weight: float = 1.0
    gpu_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_str(self.id, "id", "job")
        ctx = where("job", self.id)
        check_str(self.job_type, "job_type", ctx)
        check_positive_int(self.num_gpus, "num_gpus", ctx)
        check_real(self.weight, "weight", ctx, strict=True)
        object.__setattr__(self, "gpu_types", tuple(self.gpu_types))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "job_type": self.job_type,
            "num_gpus": self.num_gpus,
            "weight": self.weight,
        }
        if self.gpu_types:
            out["gpu_types"] = list(self.gpu_types)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Job:
        check_keys(d, ("id", "job_type", "num_gpus", "weight", "gpu_types"), "job")
        jid = get_field(d, "id", "job")
        ctx = where("job", jid)
        return cls(
            jid,
            get_field(d, "job_type", ctx),
            get_field(d, "num_gpus", ctx),
            d.get("weight", 1.0),
            parse_gpu_types(d.get("gpu_types", []), ctx),
        )


@dataclass(frozen=True)
class PlacementInstance:
    """A placement round: cluster, jobs and model options.

    Attributes
    ----------
    unmeasured_interference
        Co-located pairs Gavel did not measure: ``"fitted"`` (the fitted
        interference model), ``"forbid"`` (they may not share GPUs) or a factor
        in (0, 1] (:class:`~optsched.throughput.model.ThroughputModel`).
    spread
        The throughput model's rule 2: ``"measured"`` or ``"no_gain"``.
    job_types
        Parametric job types added to the catalog for this instance.
    origin
        Where a generator took the jobs from and what it changed there.
    strategy, spare_cpu_servers
        How jobs synchronise: ``"ring"`` all-reduce, or ``"best"``, the fastest
        strategy per job and placement (BytePS may use ``spare_cpu_servers``).
        Under ``"best"`` the GPUs and the strategy are chosen jointly; solutions
        record each job's strategy and the checker scores it.
    throughput
        A throughput model to use instead of the one these fields describe (a
        simulator's round uses the simulator's own); not written to files.
    """

    name: str
    cluster: Cluster
    jobs: tuple[Job, ...]
    objective: PlacementObjective = PlacementObjective.WEIGHTED_THROUGHPUT
    space_sharing: bool = False
    locality: bool = True
    unmeasured_interference: float | str = "fitted"
    spread: str = "measured"
    job_types: tuple[JobType, ...] = field(default=())
    origin: Mapping[str, Any] = field(default_factory=dict)
    strategy: str = "ring"
    spare_cpu_servers: int = 0
    throughput: ThroughputModel | None = field(default=None, compare=False, repr=False)

    family = NAME
    sense = Sense.MAX

    def __post_init__(self) -> None:
        check_str(self.name, "name", "instance")
        object.__setattr__(self, "jobs", tuple(self.jobs))
        object.__setattr__(self, "job_types", tuple(self.job_types))
        object.__setattr__(self, "origin", check_origin(self.origin))
        try:
            object.__setattr__(self, "objective", PlacementObjective(self.objective))
        except ValueError:
            names = ", ".join(o.value for o in PlacementObjective)
            raise InputError(
                f"instance: objective must be one of {names}, got {self.objective!r}"
            ) from None
        if not self.jobs:
            raise InputError("instance: jobs must not be empty")
        check_ids((j.id for j in self.jobs), "job")
        for flag in ("space_sharing", "locality"):
            if not isinstance(getattr(self, flag), bool):
                raise InputError(
                    f"instance: {flag} must be true or false, got {getattr(self, flag)!r}"
                )
        object.__setattr__(
            self,
            "unmeasured_interference",
            check_interference(self.unmeasured_interference, "instance"),
        )
        if self.spread not in SPREAD_RULES:
            raise InputError(
                f"instance: spread must be one of {', '.join(SPREAD_RULES)}, got {self.spread!r}"
            )
        check_strategy(self.strategy, self.spare_cpu_servers, "instance")
        _ = self.pools  # validates every job against the cluster

    # -------------------------------------------------------------- derived
    @cached_property
    def catalog(self) -> Catalog:
        return build_catalog(self.job_types)

    @cached_property
    def model(self) -> ThroughputModel:
        if self.throughput is not None:
            return self.throughput
        return ThroughputModel(
            self.cluster,
            self.catalog,
            locality=self.locality,
            unmeasured_interference=self.unmeasured_interference,
            spread=self.spread,
            strategy=self.strategy,
            spare_cpu_servers=self.spare_cpu_servers,
        )

    @cached_property
    def pools(self) -> dict[str, tuple[str, ...]]:
        """Job id -> GPU types it may actually use."""
        return {
            j.id: allowed_pools(
                "job", j.id, j.job_type, j.num_gpus, j.gpu_types, self.cluster, self.model
            )
            for j in self.jobs
        }

    @cached_property
    def reference(self) -> dict[str, float]:
        """Job id -> normaliser ``ref_j`` (iterations/s)."""
        return {
            j.id: self.model.reference(j.job_type, j.num_gpus, self.pools[j.id]) for j in self.jobs
        }

    @cached_property
    def job_index(self) -> dict[str, int]:
        return {j.id: i for i, j in enumerate(self.jobs)}

    @property
    def num_jobs(self) -> int:
        return len(self.jobs)

    def replace(self, **changes: Any) -> PlacementInstance:
        return replace(self, **changes)

    def annotate(self, assignment: Mapping[str, tuple[int, ...]]) -> Any:
        """A :class:`PlacementSolution` of ``assignment`` recording the strategy each
        multi-GPU job synchronises with under ``strategy="best"``."""
        from .solution import PlacementSolution

        strategies = {}
        if self.model.strategy != "ring":
            for jid, gpus in assignment.items():
                job = self.jobs[self.job_index[jid]]
                if len(gpus) > 1 and len({self.cluster.gpu2type[g] for g in gpus}) == 1:
                    strategies[jid] = self.model.strategy_for(job.job_type, sorted(gpus))
        return PlacementSolution(assignment, strategies)

    # -------------------------------------------------------------- I/O
    def to_dict(self) -> dict[str, Any]:
        out = envelope(INSTANCE_FORMAT, NAME, name=self.name)
        out["objective"] = self.objective.value
        out["space_sharing"] = self.space_sharing
        out["locality"] = self.locality
        out["unmeasured_interference"] = self.unmeasured_interference
        out["spread"] = self.spread
        if self.strategy != "ring":
            out["strategy"] = self.strategy
        if self.spare_cpu_servers:
            out["spare_cpu_servers"] = self.spare_cpu_servers
        out["cluster"] = self.cluster.to_dict()
        if self.job_types:
            out["job_types"] = [jt.to_dict() for jt in self.job_types]
        if self.origin:
            out["origin"] = dict(self.origin)
        out["jobs"] = [j.to_dict() for j in self.jobs]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlacementInstance:
        d = strip_envelope(
            data,
            (
                "name",
                "objective",
                "space_sharing",
                "locality",
                "unmeasured_interference",
                "spread",
                "strategy",
                "spare_cpu_servers",
                "cluster",
                "job_types",
                "origin",
                "jobs",
            ),
            "instance",
        )
        jobs = tuple(
            Job.from_dict(j)
            for j in check_list(get_field(d, "jobs", "instance"), "jobs", "instance")
        )
        return cls(
            d.get("name", "placement"),
            Cluster.from_dict(get_field(d, "cluster", "instance")),
            jobs,
            d.get("objective", PlacementObjective.WEIGHTED_THROUGHPUT.value),
            d.get("space_sharing", False),
            d.get("locality", True),
            d.get("unmeasured_interference", "fitted"),
            d.get("spread", "measured"),
            parse_job_types(d),
            d.get("origin", {}),
            d.get("strategy", "ring"),
            d.get("spare_cpu_servers", 0),
        )

    def summary(self) -> dict[str, Any]:
        by_type: dict[str, int] = {}
        by_size: dict[int, int] = {}
        for j in self.jobs:
            by_type[j.job_type] = by_type.get(j.job_type, 0) + 1
            by_size[j.num_gpus] = by_size.get(j.num_gpus, 0) + 1
        return {
            "objective": self.objective.value,
            "space_sharing": self.space_sharing,
            "locality": self.locality,
            "unmeasured_interference": self.unmeasured_interference,
            "spread": self.spread,
            "strategy": self.strategy,
            "num_jobs": self.num_jobs,
            "gpus_requested": sum(j.num_gpus for j in self.jobs),
            "jobs_by_type": by_type,
            "jobs_by_num_gpus": dict(sorted(by_size.items())),
            **({"origin": dict(self.origin)} if self.origin else {}),
        }
