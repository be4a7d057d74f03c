"""Placement family: one scheduling round."""

from ...core import Sense
from ...solvers.linear import MIP_SOLVERS
from ..record import Family, MethodSpec, Option, Source
from .bounds import upper_bound
from .checker import check
from .instance import NAME, Job, PlacementInstance, PlacementObjective
from .solution import PlacementSolution

_TRACE = (
    "num_jobs",
    "objective",
    "locality",
    "sharing",
    "interference",
    "spread",
    "strategy",
    "spare_cpu",
)

_SOLVERS = ", ".join(MIP_SOLVERS)

FAMILY: Family[PlacementInstance, PlacementSolution] = Family(
    name=NAME,
    description="one scheduling round: which jobs run on which GPUs",
    sense=Sense.MAX,
    instance_type=PlacementInstance,
    solution_type=PlacementSolution,
    check=check,
    bound=upper_bound,
    methods=(
        MethodSpec(
            "cpsat",
            "exact",
            ".cpsat:solve_cpsat",
            "CP-SAT: type x spread-level choices, GPU counts per server, "
            "co-location pairs; exact against the throughput model",
            "CP-SAT",
        ),
        MethodSpec(
            "classes",
            "exact",
            ".classes:solve_classes",
            "CP-SAT over GPU types (servers alike counted as one class), unfolded onto "
            "servers best fit; proven bound, for real-cluster sizes",
            "CP-SAT classes",
        ),
        MethodSpec(
            "milp",
            "exact",
            ".milp:solve_milp",
            "MILP of the same formulation as cpsat (--solver " + _SOLVERS + ")",
            "MILP",
        ),
        MethodSpec(
            "first_fit",
            "heuristic",
            ".heuristics:first_fit_method",
            "first-fit: first server that fits, else spread",
            "first fit",
        ),
        MethodSpec(
            "best_fit",
            "heuristic",
            ".heuristics:best_fit_method",
            "best-fit consolidation (Tiresias/Blox): one server, exact fit first",
            "best fit",
        ),
        MethodSpec(
            "scattered",
            "heuristic",
            ".heuristics:scattered_method",
            "scattered (Blox): first-fit GPUs across servers",
        ),
        MethodSpec(
            "random",
            "heuristic",
            ".heuristics:random_method",
            "random order, type and GPUs, seeded",
        ),
        MethodSpec(
            "gavel",
            "heuristic",
            ".heuristics:gavel_method",
            "Gavel's round placement: largest first, fewest servers, fastest type",
            "Gavel",
        ),
        MethodSpec(
            "gandiva",
            "heuristic",
            ".heuristics:gandiva_method",
            "Gandiva packing: co-locate when the measured pair throughput pays",
            "Gandiva",
        ),
        MethodSpec(
            "greedy",
            "heuristic",
            ".heuristics:greedy_method",
            "greedy by weighted throughput density (value per GPU)",
        ),
    ),
    sources=(
        Source(
            "synthetic",
            ".generate:synthetic",
            ("num_jobs", "counts", *_TRACE[1:]),
            "Gavel's measured types and size distribution (48 jobs; v100:24,p100:24,k80:16)",
        ),
        Source(
            "gavel",
            ".generate:from_trace",
            (*_TRACE, "counts", "vc"),
            "Gavel's Philly-derived traces (vc 6214e9)",
            ("gavel",),
        ),
        Source(
            "philly",
            ".generate:from_trace",
            (*_TRACE, "servers", "vc"),
            "Philly trace on its real machine list (16 servers per size)",
            ("philly",),
        ),
        Source(
            "helios",
            ".generate:from_trace",
            (*_TRACE, "counts"),
            "Helios trace on a Gavel-style cluster",
            ("helios",),
        ),
        Source(
            "itp",
            ".generate:from_trace",
            (*_TRACE, "counts", "vc"),
            "Microsoft ITP trace (cluster03) on a Gavel-style cluster",
            ("itp",),
        ),
        Source(
            "alibaba",
            ".generate:from_trace",
            (*_TRACE, "servers"),
            "Alibaba openb pods on 24 of its GPU nodes",
            ("alibaba",),
        ),
    ),
    options=(
        Option("num_jobs", "int", "jobs in the round (default 48)"),
        Option("counts", "counts", "GPUs per type, e.g. v100:24,p100:24,k80:16"),
        Option(
            "servers",
            "int",
            "philly: servers per size (16; 321 keeps all 552); alibaba: nodes (24)",
        ),
        Option("vc", "str", "virtual cluster (philly, gavel) or cluster (itp)"),
        Option(
            "objective",
            "str",
            "objective (default weighted_throughput)",
            tuple(o.value for o in PlacementObjective),
        ),
        Option("locality", "bool", "model locality (default on)"),
        Option("sharing", "bool", "allow space sharing of GPUs by job pairs (default on)"),
        Option(
            "interference",
            "str",
            "co-located pairs Gavel did not measure: fitted (default), forbid, or a factor",
        ),
        Option(
            "spread",
            "str",
            "spread placements: the measured value (default) or no_gain (at most packed)",
            ("measured", "no_gain"),
        ),
        Option(
            "strategy",
            "str",
            "gradient synchronisation: ring (default), or best per job and placement",
            ("ring", "best"),
        ),
        Option("spare_cpu", "int0", "CPU servers BytePS may sum on, per job (default 0)"),
    ),
    package=__name__,
)

__all__ = ["FAMILY", "Job", "PlacementInstance", "PlacementObjective", "PlacementSolution", "check"]
