"""The four problem families and a registry of their types and checkers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from . import hopper, placement, spase, timeslot
from .base import CheckReport, Sense, Violation


@dataclass(frozen=True)
class Family:
    """What optsched knows about a family: its types, checker and sense."""

    name: str
    instance_type: Any
    solution_type: Any
    check: Callable[[Any, Any], CheckReport]
    sense: Sense
    description: str


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "placement",
            placement.PlacementInstance,
            placement.PlacementSolution,
            placement.check,
            Sense.MAX,
            "one scheduling round: which jobs run on which GPUs",
        ),
        Family(
            "timeslot",
            timeslot.TimeslotInstance,
            timeslot.TimeslotSolution,
            timeslot.check,
            Sense.MIN,
            "offline time-slotted allocation over a horizon",
        ),
        Family(
            "hopper",
            hopper.HopperInstance,
            hopper.HopperSolution,
            hopper.check,
            Sense.MIN,
            "Cerebro's model hopper parallelism (open shop)",
        ),
        Family(
            "spase",
            spase.SpaseInstance,
            spase.SpaseSolution,
            spase.check,
            Sense.MIN,
            "Saturn's parallelism selection, allocation and scheduling",
        ),
    )
}


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        names = ", ".join(FAMILIES)
        raise InputError(f"family must be one of {names}, got {name!r}") from None


def check(instance: Any, solution: Any) -> CheckReport:
    """Run the family's independent checker."""
    if instance.family != solution.family:
        raise InputError(
            f"solution family {solution.family!r} does not match instance "
            f"family {instance.family!r}"
        )
    return family(instance.family).check(instance, solution)


__all__ = ["FAMILIES", "CheckReport", "Family", "Sense", "Violation", "check", "family"]
