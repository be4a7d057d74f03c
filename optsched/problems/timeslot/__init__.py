"""Timeslot family: offline time-slotted allocation."""

from .checker import check
from .instance import FAMILY, TimeslotInstance, TimeslotJob, TimeslotObjective
from .solution import Run, TimeslotSolution

__all__ = [
    "FAMILY",
    "Run",
    "TimeslotInstance",
    "TimeslotJob",
    "TimeslotObjective",
    "TimeslotSolution",
    "check",
]
