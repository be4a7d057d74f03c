"""Hopper solutions: a start time per unit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import InputError, check_list, check_real, get_field
from ..base import SOLUTION_FORMAT, envelope, strip_envelope
from .instance import FAMILY


@dataclass(frozen=True)
class HopperSolution:
    """``starts[i][j]``: when config ``i`` starts on worker ``j`` (seconds)."""

    starts: tuple[tuple[float, ...], ...]

    family = FAMILY

    def __post_init__(self) -> None:
        rows = []
        for i, row in enumerate(self.starts):
            if isinstance(row, (str, bytes)) or not hasattr(row, "__iter__"):
                raise InputError(f"solution: starts row {i} must be a list, got {row!r}")
            rows.append(tuple(check_real(t, f"starts[{i}]", "solution", minimum=None)
                              for t in row))
        object.__setattr__(self, "starts", tuple(rows))

    def to_dict(self, instance_name: str = "") -> dict[str, Any]:
        return envelope(SOLUTION_FORMAT, FAMILY, instance=instance_name,
                        starts=[list(r) for r in self.starts])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HopperSolution:
        d = strip_envelope(data, ("instance", "starts"), "solution")
        rows = check_list(get_field(d, "starts", "solution"), "starts", "solution")
        return cls(tuple(tuple(check_list(r, "starts row", "solution")) for r in rows))
