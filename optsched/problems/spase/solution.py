"""Spase solutions: configuration, GPUs and start time per task."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ...errors import InputError, check_keys, check_list, check_positive_int, check_real, get_field
from ..base import SOLUTION_FORMAT, envelope, strip_envelope
from .instance import NAME


@dataclass(frozen=True)
class TaskPlan:
    """Run configuration ``config`` (index) on global GPUs ``gpus`` from ``start`` seconds."""

    config: int
    gpus: tuple[int, ...]
    start: float

    def __post_init__(self) -> None:
        check_positive_int(self.config, "config", "task plan", minimum=0)
        object.__setattr__(self, "gpus", tuple(sorted(self.gpus)))
        check_real(self.start, "start", "task plan", minimum=None)

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config, "gpus": list(self.gpus), "start": self.start}


@dataclass(frozen=True)
class SpaseSolution:
    plans: Mapping[str, TaskPlan]

    family = NAME

    def __post_init__(self) -> None:
        object.__setattr__(self, "plans", MappingProxyType(dict(self.plans)))

    def to_dict(self, instance_name: str = "") -> dict[str, Any]:
        return envelope(
            SOLUTION_FORMAT,
            NAME,
            instance=instance_name,
            plans={t: p.to_dict() for t, p in self.plans.items()},
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpaseSolution:
        d = strip_envelope(data, ("instance", "plans"), "solution")
        raw = get_field(d, "plans", "solution")
        if not isinstance(raw, Mapping):
            raise InputError("solution: plans must map task ids to plans")
        plans = {}
        for tid, p in raw.items():
            check_keys(p, ("config", "gpus", "start"), f"plan of task {tid!r}")
            gpus = check_list(get_field(p, "gpus", "plan"), "gpus", f"plan of task {tid!r}")
            if any(isinstance(g, bool) or not isinstance(g, int) for g in gpus):
                raise InputError(f"plan of task {tid!r}: gpus must be integers, got {gpus!r}")
            plans[tid] = TaskPlan(
                get_field(p, "config", "plan"), tuple(gpus), get_field(p, "start", "plan")
            )
        return cls(plans)
