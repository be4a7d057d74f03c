"""Spase family: Saturn's joint parallelism selection, allocation and scheduling."""

from .checker import check
from .instance import FAMILY, SpaseInstance, Task, TaskConfig, lower_bound
from .solution import SpaseSolution, TaskPlan

__all__ = [
    "FAMILY",
    "SpaseInstance",
    "SpaseSolution",
    "Task",
    "TaskConfig",
    "TaskPlan",
    "check",
    "lower_bound",
]
