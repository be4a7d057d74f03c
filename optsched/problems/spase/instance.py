"""Spase: parallelism selection, apportioning and scheduling (Saturn).

Each task (a model to train) has candidate configurations, each a
parallelism technique with a GPU count and a profiled runtime. Choose one
configuration per task, one server, a set of that many GPUs on the server and
a start time; a GPU runs one task at a time; minimise the makespan.

Solver-free lower bound (:func:`lower_bound`): the larger of the longest
task's shortest runtime and the least total GPU-time over the cluster's GPUs,
``max(max_t min_s R_ts, sum_t min_s G_ts R_ts / num_gpus)``, over the
configurations that fit some server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
from ..base import INSTANCE_FORMAT, check_ids, check_origin, envelope, strip_envelope

NAME = "spase"


@dataclass(frozen=True)
class TaskConfig:
    """One way to run a task: ``parallelism`` on ``num_gpus`` GPUs for ``runtime`` seconds."""

    parallelism: str
    num_gpus: int
    runtime: float

    def to_dict(self) -> dict[str, Any]:
        return {"parallelism": self.parallelism, "num_gpus": self.num_gpus, "runtime": self.runtime}


@dataclass(frozen=True)
class Task:
    id: str
    configs: tuple[TaskConfig, ...]

    def __post_init__(self) -> None:
        check_str(self.id, "id", "task")
        ctx = where("task", self.id)
        object.__setattr__(self, "configs", tuple(self.configs))
        if not self.configs:
            raise InputError(f"{ctx}: configs must not be empty")
        for k, c in enumerate(self.configs):
            cctx = f"{ctx} config {k}"
            check_str(c.parallelism, "parallelism", cctx)
            check_positive_int(c.num_gpus, "num_gpus", cctx)
            check_real(c.runtime, "runtime", cctx, strict=True)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "configs": [c.to_dict() for c in self.configs]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Task:
        check_keys(d, ("id", "configs"), "task")
        tid = get_field(d, "id", "task")
        ctx = where("task", tid)
        configs = []
        for c in check_list(get_field(d, "configs", ctx), "configs", ctx):
            check_keys(c, ("parallelism", "num_gpus", "runtime"), f"{ctx} config")
            configs.append(
                TaskConfig(
                    c.get("parallelism", "default"),
                    get_field(c, "num_gpus", f"{ctx} config"),
                    get_field(c, "runtime", f"{ctx} config"),
                )
            )
        return cls(tid, tuple(configs))


@dataclass(frozen=True)
class SpaseInstance:
    """Tasks with candidate configurations, on the servers of ``cluster``.

    Runtimes are profiled wall-clock seconds (GPU type is implicit in them).
    ``origin``: where a generator took the tasks from and what it changed.
    """

    name: str
    cluster: Cluster
    tasks: tuple[Task, ...]
    origin: Mapping[str, Any] = field(default_factory=dict)

    family = NAME
    sense = Sense.MIN

    def __post_init__(self) -> None:
        check_str(self.name, "name", "instance")
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "origin", check_origin(self.origin))
        if not self.tasks:
            raise InputError("instance: tasks must not be empty")
        check_ids((t.id for t in self.tasks), "task")
        biggest = max(s.num_gpus for s in self.cluster.servers)
        for t in self.tasks:
            if not any(c.num_gpus <= biggest for c in t.configs):
                need = min(c.num_gpus for c in t.configs)
                raise InputError(
                    f"task {t.id!r}: num_gpus {need} fits no server (largest has {biggest})"
                )

    def fits(self, task: Task, k: int) -> bool:
        """Whether configuration ``k`` of ``task`` fits on some server."""
        return task.configs[k].num_gpus <= max(s.num_gpus for s in self.cluster.servers)

    def replace(self, **changes: Any) -> SpaseInstance:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out = envelope(INSTANCE_FORMAT, NAME, name=self.name, cluster=self.cluster.to_dict())
        if self.origin:
            out["origin"] = dict(self.origin)
        out["tasks"] = [t.to_dict() for t in self.tasks]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpaseInstance:
        d = strip_envelope(data, ("name", "cluster", "origin", "tasks"), "instance")
        tasks = tuple(
            Task.from_dict(t)
            for t in check_list(get_field(d, "tasks", "instance"), "tasks", "instance")
        )
        return cls(
            d.get("name", "spase"),
            Cluster.from_dict(get_field(d, "cluster", "instance")),
            tasks,
            d.get("origin", {}),
        )

    def summary(self) -> dict[str, Any]:
        return {
            "num_tasks": len(self.tasks),
            "num_configs": sum(len(t.configs) for t in self.tasks),
            "num_servers": len(self.cluster.servers),
            "lower_bound": lower_bound(self),
            **({"origin": dict(self.origin)} if self.origin else {}),
        }


def lower_bound(instance: SpaseInstance) -> float:
    """See the module docstring: the longest task, or the total least GPU-time spread
    over every GPU, whichever is larger."""
    longest, area = 0.0, 0.0
    for t in instance.tasks:
        fit = [c for k, c in enumerate(t.configs) if instance.fits(t, k)]
        longest = max(longest, min(c.runtime for c in fit))
        area += min(c.num_gpus * c.runtime for c in fit)
    return max(longest, area / instance.cluster.num_gpus)
