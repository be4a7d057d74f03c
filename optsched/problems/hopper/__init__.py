"""Hopper family: Cerebro's model hopper parallelism (open shop)."""

from .checker import check
from .instance import FAMILY, HopperInstance, lower_bound
from .solution import HopperSolution

__all__ = ["FAMILY", "HopperInstance", "HopperSolution", "check", "lower_bound"]
