"""Placement family: one scheduling round."""

from .checker import check
from .instance import FAMILY, Job, PlacementInstance, PlacementObjective
from .solution import PlacementSolution

__all__ = ["FAMILY", "Job", "PlacementInstance", "PlacementObjective", "PlacementSolution", "check"]
