"""Hopper: model hopper parallelism (Cerebro), i.e. open-shop scheduling.

``|S|`` configs and ``p`` workers, each worker holding one data partition.
Unit ``(i, j)`` trains config ``i`` for one pass over worker ``j``'s partition
and takes ``T[i][j]`` seconds. One epoch runs every unit exactly once; a
config trains on one worker at a time, a worker trains one config at a time,
and units are not preempted. Minimise the makespan.

Replication (Cerebro's replica-aware MOP): ``replicas[j]`` lists the workers
holding a copy of partition ``j`` (by default only worker ``j``). A unit of
partition ``j`` may then run on any of them, taking ``T[i][w]`` on worker
``w`` (partitions are equal in size, so a worker's speed decides). With full
replication, task parallelism (each config trains whole epochs on one
worker) is a schedule of this family.

Solver-free lower bound (:func:`lower_bound`): without replication
``max(max_j sum_i T_ij, max_i sum_j T_ij)``; with it, every unit takes at
least ``m_ij = min_{w holds j} T_iw``, so ``max(max_i sum_j m_ij,
sum_ij m_ij / p)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from ...core import Sense
from ...errors import InputError, check_list, check_real, check_str, get_field
from ..base import INSTANCE_FORMAT, check_ids, envelope, strip_envelope

NAME = "hopper"


@dataclass(frozen=True)
class HopperInstance:
    """Unit times ``times[i][j]`` (seconds) of config ``i`` on worker ``j``."""

    name: str
    configs: tuple[str, ...]
    workers: tuple[str, ...]
    times: tuple[tuple[float, ...], ...]
    replicas: tuple[tuple[int, ...], ...] | None = None

    family = NAME
    sense = Sense.MIN

    def __post_init__(self) -> None:
        check_str(self.name, "name", "instance")
        object.__setattr__(self, "configs", tuple(self.configs))
        object.__setattr__(self, "workers", tuple(self.workers))
        if not self.configs:
            raise InputError("instance: configs must not be empty")
        if not self.workers:
            raise InputError("instance: workers must not be empty")
        check_ids(self.configs, "config")
        check_ids(self.workers, "worker")
        if isinstance(self.times, (str, bytes)) or len(self.times) != len(self.configs):
            raise InputError(
                f"instance: times must have one row per config "
                f"({len(self.configs)}), got {len(self.times)}"
            )
        rows = []
        for cfg, row in zip(self.configs, self.times):
            if isinstance(row, (str, bytes)) or len(row) != len(self.workers):
                raise InputError(
                    f"config {cfg!r}: times must have one entry per worker "
                    f"({len(self.workers)}), got {len(row)}"
                )
            rows.append(
                tuple(
                    check_real(t, f"times[{w!r}]", f"config {cfg!r}")
                    for w, t in zip(self.workers, row)
                )
            )
        object.__setattr__(self, "times", tuple(rows))
        if self.replicas is not None:
            if len(self.replicas) != len(self.workers):
                raise InputError(
                    f"instance: replicas must have one entry per partition "
                    f"({len(self.workers)}), got {len(self.replicas)}"
                )
            reps = []
            for j, holders in enumerate(self.replicas):
                if any(isinstance(w, bool) or not isinstance(w, int) for w in holders):
                    raise InputError(
                        f"partition {self.workers[j]!r}: replica worker must be "
                        f"a worker index, got {list(holders)!r}"
                    )
                ws = tuple(sorted(set(holders)))
                if j not in ws:
                    raise InputError(
                        f"partition {self.workers[j]!r}: replicas must include "
                        f"its own worker {j}, got {list(holders)}"
                    )
                for w in ws:
                    if (
                        isinstance(w, bool)
                        or not isinstance(w, int)
                        or not 0 <= w < len(self.workers)
                    ):
                        raise InputError(
                            f"partition {self.workers[j]!r}: replica worker must "
                            f"be a worker index, got {w!r}"
                        )
                reps.append(ws)
            object.__setattr__(self, "replicas", tuple(reps))

    @property
    def replicated(self) -> bool:
        return self.replicas is not None and any(len(r) > 1 for r in self.replicas)

    def holders(self, j: int) -> tuple[int, ...]:
        """Workers that may run units of partition ``j``."""
        return self.replicas[j] if self.replicas is not None else (j,)

    def fully_replicated(self) -> HopperInstance:
        """The same instance with every partition on every worker."""
        every = tuple(range(self.num_workers))
        return replace(self, replicas=tuple(every for _ in self.workers))

    @property
    def num_configs(self) -> int:
        return len(self.configs)

    @property
    def num_workers(self) -> int:
        return len(self.workers)

    @cached_property
    def worker_loads(self) -> tuple[float, ...]:
        return tuple(sum(row[j] for row in self.times) for j in range(self.num_workers))

    @cached_property
    def config_totals(self) -> tuple[float, ...]:
        return tuple(sum(row) for row in self.times)

    def replace(self, **changes: Any) -> HopperInstance:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out = envelope(
            INSTANCE_FORMAT,
            NAME,
            name=self.name,
            configs=list(self.configs),
            workers=list(self.workers),
            times=[list(r) for r in self.times],
        )
        if self.replicas is not None:
            out["replicas"] = [list(r) for r in self.replicas]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HopperInstance:
        d = strip_envelope(data, ("name", "configs", "workers", "times", "replicas"), "instance")
        times = check_list(get_field(d, "times", "instance"), "times", "instance")
        rows = tuple(tuple(check_list(r, "times row", "instance")) for r in times)
        reps = d.get("replicas")
        if reps is not None:
            reps = tuple(
                tuple(check_list(r, "replicas entry", "instance"))
                for r in check_list(reps, "replicas", "instance")
            )
        return cls(
            d.get("name", "hopper"),
            tuple(check_list(get_field(d, "configs", "instance"), "configs", "instance")),
            tuple(check_list(get_field(d, "workers", "instance"), "workers", "instance")),
            rows,
            reps,
        )

    @classmethod
    def from_matrix(cls, name: str, times: Sequence[Sequence[float]]) -> HopperInstance:
        """Configs ``c0..`` and workers ``w0..`` named by position."""
        n = len(times)
        p = len(times[0]) if n else 0
        return cls(
            name,
            tuple(f"c{i}" for i in range(n)),
            tuple(f"w{j}" for j in range(p)),
            tuple(tuple(r) for r in times),
        )

    def summary(self) -> dict[str, Any]:
        flat = [t for row in self.times for t in row]
        return {
            "num_configs": self.num_configs,
            "num_workers": self.num_workers,
            "total_time": sum(flat),
            "max_unit_time": max(flat),
            "max_worker_load": max(self.worker_loads),
            "max_config_total": max(self.config_totals),
            "replicated": self.replicated,
            "lower_bound": lower_bound(self),
        }


def lower_bound(instance: HopperInstance) -> float:
    """Every worker and every config is a serial resource: without replication the
    makespan is at least the largest worker load and the largest config total. With
    replication a unit's least time ``m_ij`` replaces ``T_ij`` and the total least work
    spread over all workers replaces the worker loads."""
    if not instance.replicated:
        return max(max(instance.worker_loads), max(instance.config_totals))
    least = [
        [min(row[w] for w in instance.holders(j)) for j in range(instance.num_workers)]
        for row in instance.times
    ]
    total = sum(map(sum, least))
    return max(max(map(sum, least)), total / instance.num_workers)
