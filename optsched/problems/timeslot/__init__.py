"""Timeslot family: offline time-slotted allocation."""

from ...core import Sense
from ...solvers.linear import MIP_SOLVERS
from ..record import Family, MethodSpec, Option, Source
from .bounds import lower_bound
from .checker import check
from .instance import NAME, TimeslotInstance, TimeslotJob, TimeslotObjective
from .solution import Run, TimeslotSolution

_BASE = ("num_jobs", "num_slots", "counts", "objective", "locality")


def _policy(name: str, summary: str, display: str = "") -> MethodSpec:
    return MethodSpec(name, "heuristic", f".heuristics:{name}_method", summary, display)


_SOLVERS = ", ".join(MIP_SOLVERS)

FAMILY: Family[TimeslotInstance, TimeslotSolution] = Family(
    name=NAME,
    description="offline time-slotted allocation over a horizon",
    sense=Sense.MIN,
    instance_type=TimeslotInstance,
    solution_type=TimeslotSolution,
    check=check,
    bound=lower_bound,
    methods=(
        MethodSpec(
            "cpsat",
            "exact",
            ".cpsat:solve_cpsat",
            "CP-SAT time-indexed model (slot x GPU type)",
            "CP-SAT",
        ),
        MethodSpec(
            "milp",
            "exact",
            ".milp:solve_milp",
            "MILP time-indexed model (--solver " + _SOLVERS + ")",
            "MILP",
        ),
        _policy("fifo", "FIFO by release, fastest type with room", "FIFO"),
        _policy("sjf", "shortest job first, non-preemptive", "SJF"),
        _policy("srtf", "shortest remaining time first, preemptive", "SRTF"),
        _policy(
            "tiresias_las", "Tiresias discretised 2D-LAS with starvation guard", "Tiresias LAS"
        ),
        _policy("tiresias_gittins", "Tiresias discretised 2D-Gittins index", "Tiresias Gittins"),
        _policy(
            "gavel_mmf",
            "Gavel heterogeneity-aware max-min fairness LP, in rounds of one slot",
            "Gavel MMF",
        ),
        _policy("themis", "Themis finish-time fairness, greedy on largest rho", "Themis"),
        _policy("allox", "AlloX min-cost matching of jobs to (type, position)", "AlloX"),
        _policy("optimus", "Optimus-style marginal remaining-time gain per GPU", "Optimus"),
        _policy("greedy", "shortest remaining time first on the fastest free type (warm start)"),
    ),
    sources=(
        Source(
            "synthetic",
            ".generate:synthetic",
            _BASE,
            "Gavel's measured types, work for 80% load (24 jobs, 24 slots; v100:12,p100:12,k80:8)",
        ),
        Source(
            "gavel",
            ".generate:from_trace",
            (*_BASE, "vc"),
            "window of Gavel's Philly-derived traces",
            ("gavel",),
        ),
        Source(
            "philly",
            ".generate:from_trace",
            (*_BASE, "vc"),
            "window of the Philly trace",
            ("philly",),
        ),
        Source("helios", ".generate:from_trace", _BASE, "window of the Helios trace", ("helios",)),
        Source(
            "itp",
            ".generate:from_trace",
            (*_BASE, "vc"),
            "window of the Microsoft ITP trace (cluster03)",
            ("itp",),
        ),
    ),
    options=(
        Option("num_jobs", "int", "jobs (default 24)"),
        Option("num_slots", "int", "slots of 360 s in the horizon (default 24)"),
        Option("counts", "counts", "GPUs per type, e.g. v100:12,p100:12,k80:8"),
        Option("vc", "str", "virtual cluster (philly, gavel) or cluster (itp)"),
        Option(
            "objective",
            "str",
            "objective (default makespan)",
            tuple(o.value for o in TimeslotObjective),
        ),
        Option("locality", "bool", "model locality: runs name their GPUs (default off)"),
    ),
    package=__name__,
)

__all__ = [
    "FAMILY",
    "Run",
    "TimeslotInstance",
    "TimeslotJob",
    "TimeslotObjective",
    "TimeslotSolution",
    "check",
]
