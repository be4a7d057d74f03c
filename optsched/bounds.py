"""Solver-free bounds, one per family (lower for min, upper for max).

Each is proven from the instance alone; none comes from a feasible solution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .problems.hopper import lower_bound as hopper_bound
from .problems.placement.bounds import upper_bound as placement_bound
from .problems.spase import lower_bound as spase_bound
from .problems.timeslot.bounds import lower_bound as timeslot_bound

_BOUNDS: dict[str, Callable[[Any], float]] = {
    "hopper": hopper_bound,
    "spase": spase_bound,
    "placement": placement_bound,
    "timeslot": timeslot_bound,
}


def combinatorial_bound(instance: Any) -> float:
    return float(_BOUNDS[instance.family](instance))
