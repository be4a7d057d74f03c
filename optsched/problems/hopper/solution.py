"""Hopper solutions: a start time per unit, and its worker where partitions are replicated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import InputError, check_list, check_real, get_field
from ..base import SOLUTION_FORMAT, envelope, strip_envelope
from .instance import NAME


@dataclass(frozen=True)
class HopperSolution:
    """``starts[i][j]``: when config ``i`` starts on partition ``j`` (seconds).

    ``workers[i][j]``: the worker that runs that unit; ``None`` means worker
    ``j`` for every unit (the only choice without replication).
    """

    starts: tuple[tuple[float, ...], ...]
    workers: tuple[tuple[int, ...], ...] | None = None

    family = NAME

    def __post_init__(self) -> None:
        rows = []
        for i, row in enumerate(self.starts):
            if isinstance(row, (str, bytes)) or not hasattr(row, "__iter__"):
                raise InputError(f"solution: starts row {i} must be a list, got {row!r}")
            rows.append(tuple(check_real(t, f"starts[{i}]", "solution", minimum=None) for t in row))
        object.__setattr__(self, "starts", tuple(rows))
        if self.workers is not None:
            ws = []
            for i, row in enumerate(self.workers):
                if any(isinstance(w, bool) or not isinstance(w, int) for w in row):
                    raise InputError(
                        f"solution: workers row {i} must hold worker indices, got {list(row)!r}"
                    )
                ws.append(tuple(row))
            object.__setattr__(self, "workers", tuple(ws))

    def worker(self, i: int, j: int) -> int:
        return j if self.workers is None else self.workers[i][j]

    def to_dict(self, instance_name: str = "") -> dict[str, Any]:
        out = envelope(
            SOLUTION_FORMAT, NAME, instance=instance_name, starts=[list(r) for r in self.starts]
        )
        if self.workers is not None:
            out["workers"] = [list(r) for r in self.workers]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HopperSolution:
        d = strip_envelope(data, ("instance", "starts", "workers"), "solution")
        rows = check_list(get_field(d, "starts", "solution"), "starts", "solution")
        workers = d.get("workers")
        if workers is not None:
            workers = tuple(
                tuple(check_list(r, "workers row", "solution"))
                for r in check_list(workers, "workers", "solution")
            )
        return cls(tuple(tuple(check_list(r, "starts row", "solution")) for r in rows), workers)
