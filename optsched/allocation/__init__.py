"""Allocation policies: Gavel's LPs on optsched's linear layer (:mod:`.lp`), over the
jobs of one round (:mod:`.problem`)."""

from .lp import POLICIES, Allocation, allocate, check
from .problem import AllocJob, AllocProblem, from_jobs, gavel_input

__all__ = [
    "POLICIES",
    "AllocJob",
    "AllocProblem",
    "Allocation",
    "allocate",
    "check",
    "from_jobs",
    "gavel_input",
]
