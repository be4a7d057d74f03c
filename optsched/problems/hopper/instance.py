"""Hopper: model hopper parallelism (Cerebro), i.e. open-shop scheduling.

``|S|`` configs and ``p`` workers, each worker holding one data partition.
Unit ``(i, j)`` trains config ``i`` for one pass over worker ``j``'s partition
and takes ``T[i][j]`` seconds. One epoch runs every unit exactly once; a
config trains on one worker at a time, a worker trains one config at a time,
and units are not preempted. Minimise the makespan.

Solver-free lower bound (:func:`lower_bound`):
``max(max_j sum_i T_ij, max_i sum_j T_ij)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from ...errors import InputError, check_list, check_real, check_str, get_field
from ..base import INSTANCE_FORMAT, Sense, check_ids, envelope, strip_envelope

FAMILY = "hopper"


@dataclass(frozen=True)
class HopperInstance:
    """Unit times ``times[i][j]`` (seconds) of config ``i`` on worker ``j``."""

    name: str
    configs: tuple[str, ...]
    workers: tuple[str, ...]
    times: tuple[tuple[float, ...], ...]

    family = FAMILY
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
            raise InputError(f"instance: times must have one row per config "
                             f"({len(self.configs)}), got {len(self.times)}")
        rows = []
        for cfg, row in zip(self.configs, self.times):
            if isinstance(row, (str, bytes)) or len(row) != len(self.workers):
                raise InputError(f"config {cfg!r}: times must have one entry per worker "
                                 f"({len(self.workers)}), got {len(row)}")
            rows.append(tuple(check_real(t, f"times[{w!r}]", f"config {cfg!r}")
                              for w, t in zip(self.workers, row)))
        object.__setattr__(self, "times", tuple(rows))

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
        return envelope(INSTANCE_FORMAT, FAMILY, name=self.name, configs=list(self.configs),
                        workers=list(self.workers), times=[list(r) for r in self.times])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HopperInstance:
        d = strip_envelope(data, ("name", "configs", "workers", "times"), "instance")
        times = check_list(get_field(d, "times", "instance"), "times", "instance")
        rows = tuple(tuple(check_list(r, "times row", "instance")) for r in times)
        return cls(d.get("name", "hopper"),
                   tuple(check_list(get_field(d, "configs", "instance"), "configs", "instance")),
                   tuple(check_list(get_field(d, "workers", "instance"), "workers", "instance")),
                   rows)

    @classmethod
    def from_matrix(cls, name: str, times: Sequence[Sequence[float]]) -> HopperInstance:
        """Configs ``c0..`` and workers ``w0..`` named by position."""
        n = len(times)
        p = len(times[0]) if n else 0
        return cls(name, tuple(f"c{i}" for i in range(n)), tuple(f"w{j}" for j in range(p)),
                   tuple(tuple(r) for r in times))

    def summary(self) -> dict[str, Any]:
        flat = [t for row in self.times for t in row]
        return {
            "num_configs": self.num_configs,
            "num_workers": self.num_workers,
            "total_time": sum(flat),
            "max_unit_time": max(flat),
            "max_worker_load": max(self.worker_loads),
            "max_config_total": max(self.config_totals),
            "lower_bound": lower_bound(self),
        }


def lower_bound(instance: HopperInstance) -> float:
    """``max(max worker load, max config total)``: every worker and every config is a
    serial resource, so the makespan is at least each one's total work."""
    return max(max(instance.worker_loads), max(instance.config_totals))
