"""Spase family: Saturn's joint parallelism selection, allocation and scheduling."""

from ...core import Sense
from ...solvers.linear import MIP_SOLVERS
from ..record import Family, MethodSpec, Option, Source
from .checker import check
from .instance import NAME, SpaseInstance, Task, TaskConfig, lower_bound
from .solution import SpaseSolution, TaskPlan

_SOLVERS = ", ".join(MIP_SOLVERS)

FAMILY: Family[SpaseInstance, SpaseSolution] = Family(
    name=NAME,
    description="Saturn's parallelism selection, allocation and scheduling",
    sense=Sense.MIN,
    instance_type=SpaseInstance,
    solution_type=SpaseSolution,
    check=check,
    bound=lower_bound,
    methods=(
        MethodSpec(
            "cpsat",
            "exact",
            ".cpsat:solve_cpsat",
            "CP-SAT: optional intervals per (configuration, server), cumulative per server",
            "CP-SAT",
        ),
        MethodSpec(
            "milp",
            "exact",
            ".milp:solve_milp",
            "Saturn's SPASE MILP (--solver " + _SOLVERS + ")",
            "MILP",
        ),
        MethodSpec(
            "max_heuristic",
            "heuristic",
            ".heuristics:max_heuristic_method",
            "Saturn's Max-Heuristic: a whole server per task, best parallelism",
            "Max-Heuristic",
        ),
        MethodSpec(
            "min_heuristic",
            "heuristic",
            ".heuristics:min_heuristic_method",
            "Saturn's Min-Heuristic: one GPU per task, leftover GPUs split evenly",
            "Min-Heuristic",
        ),
        MethodSpec(
            "optimus_greedy",
            "heuristic",
            ".heuristics:optimus_greedy_method",
            "Saturn's Optimus*-Greedy: marginal runtime gain per GPU, per server",
            "Optimus*-Greedy",
        ),
        MethodSpec(
            "randomized",
            "heuristic",
            ".heuristics:randomized_method",
            "random configuration, server and order, seeded",
        ),
        MethodSpec(
            "greedy",
            "heuristic",
            ".heuristics:greedy_method",
            "longest task first, earliest finishing configuration and server",
        ),
    ),
    sources=(
        Source(
            "saturn",
            ".generate:saturn",
            ("num_tasks", "servers"),
            "Saturn-style tasks, assumed scaling (12 tasks, 4 servers x 8 A100)",
        ),
        Source(
            "pollux",
            ".generate:pollux",
            ("num_tasks", "servers"),
            "Pollux jobs with measured step times (16 tasks, 4 servers x 4 T4)",
        ),
    ),
    options=(
        Option("num_tasks", "int", "tasks (saturn 12, pollux 16)"),
        Option("servers", "int", "servers (default 4)"),
    ),
    package=__name__,
)

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
