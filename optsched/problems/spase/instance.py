"""Spase: parallelism selection, apportioning and scheduling (Saturn).

Each task (a model to train) has candidate configurations, each a
parallelism technique with a GPU count and a profiled runtime. Choose one
configuration per task, one server, a set of that many GPUs on the server and
a start time; a GPU runs one task at a time; minimise the makespan.

Solver-free lower bound (:func:`lower_bound`): the least makespan ``C`` at which
every task has a configuration no longer than ``C`` (that fits some server) and
their least total GPU-time fits the cluster's GPUs over ``C``. It is at least
the longest task's shortest runtime and the least total GPU-time over the
GPUs, ``max(max_t min_s R_ts, sum_t min_s G_ts R_ts / num_gpus)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    """See the module docstring: the least makespan ``C`` at which every task has a
    configuration no longer than ``C`` and their least GPU-time fits ``C`` on every GPU.

    A schedule of makespan ``C`` runs each task in one configuration of runtime at
    most ``C`` and all of them within ``num_gpus x C`` GPU-seconds, so
    ``need(C) = sum_t min {G_ts R_ts : R_ts <= C} <= num_gpus C``. ``need`` only falls
    as ``C`` grows and is constant between runtimes, so the least such ``C`` is, in
    the first interval ``[R_i, R_i+1)`` where it is feasible, ``max(R_i, need(R_i) /
    num_gpus)``. It is never below the longest shortest runtime or the least
    GPU-time over every GPU (both of the configurations that fit some server)."""
    fit = [
        [(c.runtime, c.num_gpus) for k, c in enumerate(t.configs) if instance.fits(t, k)]
        for t in instance.tasks
    ]
    return area_time_bound(fit, instance.cluster.num_gpus)


def area_time_bound(options: Sequence[Sequence[tuple[float, int]]], gpus: int) -> float:
    """:func:`lower_bound` over each task's ``(runtime, GPUs)`` options (the models call it
    on their scaled runtimes)."""
    longest = max((min(r for r, _ in opts) for opts in options), default=0.0)
    steps = sorted({r for opts in options for r, _ in opts if r >= longest})
    best = 0.0
    for i, r in enumerate(steps):
        need = sum(min(g * rr for rr, g in opts if rr <= r) for opts in options)
        best = max(r, need / gpus)
        if i + 1 == len(steps) or best < steps[i + 1]:
            break
    return best
