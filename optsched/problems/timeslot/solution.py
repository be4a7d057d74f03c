"""Timeslot solutions: which jobs run in which slot, on which GPU type (and GPUs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import InputError, check_keys, check_list, check_positive_int, get_field
from ..base import SOLUTION_FORMAT, envelope, strip_envelope
from .instance import NAME


@dataclass(frozen=True)
class Run:
    """Job ``job`` runs in slot ``slot`` on ``gpu_type``; ``gpus`` when locality is modelled."""

    job: str
    slot: int
    gpu_type: str
    gpus: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        check_positive_int(self.slot, "slot", f"run of job {self.job!r}", minimum=0)
        if self.gpus is not None:
            object.__setattr__(self, "gpus", tuple(sorted(self.gpus)))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"job": self.job, "slot": self.slot, "gpu_type": self.gpu_type}
        if self.gpus is not None:
            out["gpus"] = list(self.gpus)
        return out


@dataclass(frozen=True)
class TimeslotSolution:
    runs: tuple[Run, ...]

    family = NAME

    def __post_init__(self) -> None:
        object.__setattr__(self, "runs", tuple(sorted(self.runs, key=lambda r: (r.slot, r.job))))

    def to_dict(self, instance_name: str = "") -> dict[str, Any]:
        return envelope(
            SOLUTION_FORMAT, NAME, instance=instance_name, runs=[r.to_dict() for r in self.runs]
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimeslotSolution:
        d = strip_envelope(data, ("instance", "runs"), "solution")
        runs = []
        for r in check_list(get_field(d, "runs", "solution"), "runs", "solution"):
            check_keys(r, ("job", "slot", "gpu_type", "gpus"), "run")
            gpus = r.get("gpus")
            if gpus is not None:
                gpus = tuple(check_list(gpus, "gpus", "run"))
                if any(isinstance(g, bool) or not isinstance(g, int) for g in gpus):
                    raise InputError(f"run: gpus must be integers, got {list(gpus)!r}")
            runs.append(
                Run(
                    get_field(r, "job", "run"),
                    get_field(r, "slot", "run"),
                    get_field(r, "gpu_type", "run"),
                    gpus,
                )
            )
        return cls(tuple(runs))
