"""Placement solutions: which GPUs each running job gets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ...errors import InputError, check_list
from ..base import SOLUTION_FORMAT, envelope, strip_envelope
from .instance import NAME


@dataclass(frozen=True)
class PlacementSolution:
    """``assignment[job_id]`` = sorted global GPU indices; absent jobs do not run.
    ``strategies[job_id]``: how the job synchronises (absent: the instance's rule
    picks; :meth:`PlacementInstance.annotate` records it)."""

    assignment: Mapping[str, tuple[int, ...]]
    strategies: Mapping[str, str] = field(default_factory=dict)

    family = NAME

    def __post_init__(self) -> None:
        frozen = {}
        for jid, gpus in self.assignment.items():
            if isinstance(gpus, (str, bytes)) or not hasattr(gpus, "__iter__"):
                raise InputError(f"solution: gpus of job {jid!r} must be a list, got {gpus!r}")
            gs = tuple(gpus)
            for g in gs:
                if isinstance(g, bool) or not isinstance(g, int):
                    raise InputError(
                        f"solution: job {jid!r}: GPU index must be an integer, got {g!r}"
                    )
            frozen[jid] = tuple(sorted(gs))
        object.__setattr__(self, "assignment", MappingProxyType(frozen))
        for jid, name in self.strategies.items():
            if not isinstance(name, str):
                raise InputError(f"solution: strategy of job {jid!r} must be a name, got {name!r}")
        object.__setattr__(self, "strategies", MappingProxyType(dict(self.strategies)))

    def to_dict(self, instance_name: str = "") -> dict[str, Any]:
        extra = {"strategies": dict(self.strategies)} if self.strategies else {}
        return envelope(
            SOLUTION_FORMAT,
            NAME,
            instance=instance_name,
            assignment={j: list(g) for j, g in self.assignment.items()},
            **extra,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlacementSolution:
        d = strip_envelope(data, ("instance", "assignment", "strategies"), "solution")
        raw = d.get("assignment", {})
        if not isinstance(raw, Mapping):
            raise InputError("solution: assignment must map job ids to GPU lists")
        strategies = d.get("strategies", {})
        if not isinstance(strategies, Mapping):
            raise InputError("solution: strategies must map job ids to strategy names")
        return cls(
            {j: tuple(check_list(g, f"assignment[{j!r}]", "solution")) for j, g in raw.items()},
            strategies,
        )
