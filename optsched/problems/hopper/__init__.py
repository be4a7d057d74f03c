"""Hopper family: Cerebro's model hopper parallelism (open shop)."""

from ...core import Sense
from ...solvers.linear import MIP_SOLVERS
from ..record import Family, MethodSpec, Option, Source
from .checker import check
from .instance import NAME, HopperInstance, lower_bound
from .solution import HopperSolution

_SOLVERS = ", ".join(MIP_SOLVERS)

FAMILY: Family[HopperInstance, HopperSolution] = Family(
    name=NAME,
    description="Cerebro's model hopper parallelism (open shop)",
    sense=Sense.MIN,
    instance_type=HopperInstance,
    solution_type=HopperSolution,
    check=check,
    bound=lower_bound,
    methods=(
        MethodSpec(
            "cpsat",
            "exact",
            ".cpsat:solve_cpsat",
            "CP-SAT open-shop model: intervals, no-overlap per worker and per config",
            "CP-SAT",
        ),
        MethodSpec(
            "milp",
            "exact",
            ".milp:solve_milp",
            "Cerebro's big-M MILP (--solver " + _SOLVERS + ")",
            "MILP",
        ),
        MethodSpec(
            "greedy",
            "heuristic",
            ".heuristics:greedy_method",
            "dense greedy open-shop schedule, most remaining work first",
        ),
        MethodSpec(
            "randomized",
            "heuristic",
            ".heuristics:randomized_method",
            "Cerebro's randomized scheduler (Algorithm 1), seeded",
            "Cerebro randomized",
        ),
        MethodSpec(
            "task_parallel",
            "heuristic",
            ".heuristics:task_parallel_method",
            "task parallelism: whole epochs per worker, LPT (needs full replication)",
            "task parallel",
        ),
    ),
    sources=(
        Source(
            "cerebro",
            ".generate:cerebro",
            ("num_configs", "num_workers", "homogeneous"),
            "a cell of Cerebro's Figure 6 grid (16 configs x 8 workers, heterogeneous)",
        ),
        Source(
            "synthetic",
            ".generate:synthetic",
            ("num_configs", "num_workers"),
            "unit times uniform in [1, 10] (16 configs x 8 workers)",
        ),
        Source(
            "dense",
            ".generate:dense",
            ("num_configs", "perturbation"),
            "a dense open shop: n x n, every load 1,000, times perturbed by a percentage "
            "(8 x 8, 0%)",
        ),
    ),
    options=(
        Option("num_configs", "int", "configs (default 16)"),
        Option("num_workers", "int", "workers, one partition each (default 8)"),
        Option("homogeneous", "bool", "cerebro: the homogeneous cell (default off)"),
        Option("perturbation", "int0", "dense: percent each time is perturbed by (0, 10, 20)"),
    ),
    package=__name__,
)

__all__ = ["FAMILY", "HopperInstance", "HopperSolution", "check", "lower_bound"]
