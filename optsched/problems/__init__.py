"""The problem families: this module only collects their records.

Each family is one folder whose ``__init__`` exports a
:class:`~optsched.problems.record.Family` record named ``FAMILY``. To add a
family, add its folder and one line to :data:`FAMILIES` below
(``docs/dev/adding-a-family.md``).
"""

from __future__ import annotations

from typing import Any

from ..core import CheckReport, Instance, Solution
from ..errors import InputError
from . import hopper, placement, spase, timeslot
from .record import Family, MethodSpec, Option, Source

FAMILIES: dict[str, Family[Any, Any]] = {
    f.name: f
    for f in (
        placement.FAMILY,
        timeslot.FAMILY,
        hopper.FAMILY,
        spase.FAMILY,
    )
}


def family(name: str) -> Family[Any, Any]:
    try:
        return FAMILIES[name]
    except KeyError:
        names = ", ".join(FAMILIES)
        raise InputError(f"family must be one of {names}, got {name!r}") from None


def check(instance: Instance, solution: Solution) -> CheckReport:
    """Run the family's independent checker."""
    if instance.family != solution.family:
        raise InputError(
            f"solution family {solution.family!r} does not match instance "
            f"family {instance.family!r}"
        )
    return family(instance.family).check(instance, solution)


def bound(instance: Instance) -> float:
    """The family's solver-free bound (lower for min, upper for max)."""
    return float(family(instance.family).bound(instance))


__all__ = [
    "FAMILIES",
    "Family",
    "MethodSpec",
    "Option",
    "Source",
    "bound",
    "check",
    "family",
]
