"""Online simulation: replay arrivals on a simulated cluster under a policy, check the
timeline independently, and report JCT, makespan, utilisation and fairness.

``simulate(workload, cluster, policy)`` runs the event-driven engine
(:mod:`.engine`), re-checks the timeline with the independent checker
(:mod:`.checker`) and returns a :class:`SimResult` whose ``jobs`` is a
DataFrame of per-job metrics and ``summary`` the aggregate ones
(:mod:`.metrics`). A timeline the checker rejects is an error, never numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..blas import one_thread
from ..core import CheckReport
from ..errors import InputError
from ..model.topology import Cluster
from ..throughput.model import ThroughputModel
from .checker import check_timeline
from .engine import Overhead, Policy, Timeline, constant_overhead, run
from .metrics import job_table, summary
from .policies import POLICIES, get_policy
from .workload import SimJob, Workload, read_gavel_trace


class TimelineRejected(RuntimeError):
    """The checker found the engine's timeline infeasible: a bug in the engine or policy."""


@dataclass
class SimResult:
    """A checked simulation: per-job table, summary, timeline and the checker's report."""

    policy: str
    jobs: pd.DataFrame
    summary: dict[str, Any]
    timeline: Timeline
    check: CheckReport
    wall_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, **self.summary, "wall_s": self.wall_s}


def simulate(
    workload: Workload,
    cluster: Cluster,
    policy: str | Policy = "fifo",
    *,
    model: ThroughputModel | None = None,
    round_seconds: float | None = 360.0,
    overhead: Overhead | float | None = None,
    rule: str = "consolidated",
    seed: int = 0,
    semantics: str = "default",
    progress: Callable[[int, int], None] | None = None,
    bound: bool = False,
    round_time_limit: float | None = None,
) -> SimResult:
    """Simulate, check the timeline, and compute the metrics from the checked records.

    ``semantics="gavel"`` runs Gavel's simulator instead (:mod:`.gavel`: rounds,
    type-level placement, consolidated throughputs, no restart cost); its
    timeline is checked against Gavel's throughputs. ``wall_s`` is the
    simulation; ``check_s`` the independent check that follows it. ``bound``: add
    lower bounds on the measured jobs' average JCT and makespan that no policy can
    beat (:mod:`.bounds`), and the run's gaps to them. ``round_time_limit``: the
    per-round solver time limit of a policy that solves a model each round
    (:mod:`.exact`); its solves' gaps are summarised (``solve_gap_mean`` ...).
    """
    if semantics not in ("default", "gavel"):
        raise InputError(f"semantics must be default or gavel, got {semantics!r}")
    with one_thread():  # the LP rounds factorise small matrices, thousands of times
        return _simulate(
            workload, cluster, policy, model, round_seconds, overhead, rule, seed, semantics,
            progress, bound, round_time_limit,
        )  # fmt: skip


def _simulate(
    workload: Workload,
    cluster: Cluster,
    policy: str | Policy,
    model: ThroughputModel | None,
    round_seconds: float | None,
    overhead: Overhead | float | None,
    rule: str,
    seed: int,
    semantics: str,
    progress: Callable[[int, int], None] | None,
    bound: bool,
    round_time_limit: float | None,
) -> SimResult:
    start = time.perf_counter()
    if semantics == "gavel":
        from .gavel import GAVEL_ROUND, packed_model, run_gavel

        name = policy if isinstance(policy, str) else policy.name
        if overhead:
            raise InputError("--semantics gavel charges no restart overhead (Gavel's simulator)")
        out = run_gavel(
            workload, cluster, name, seed=seed, round_seconds=round_seconds or GAVEL_ROUND
        )
        timeline = Timeline(out.events, out.rounds)
        wall = time.perf_counter() - start
        check_model: Any = packed_model(cluster)
        cost = constant_overhead(0.0)
    else:
        model = model or ThroughputModel(cluster)
        pol = get_policy(policy, rule) if isinstance(policy, str) else policy
        if round_time_limit is not None:
            if not hasattr(pol, "with_time_limit"):
                raise InputError(f"policy {pol.name!r} solves no model: it takes no time limit")
            pol = pol.with_time_limit(round_time_limit)
        name = str(pol.name)
        if isinstance(overhead, (int, float)):
            cost = constant_overhead(float(overhead))
        elif overhead is not None:
            cost = overhead
        else:
            cost = constant_overhead(0.0)
        timeline = run(
            workload,
            cluster,
            pol,
            model=model,
            round_seconds=round_seconds,
            overhead=cost,
            seed=seed,
            progress=progress,
        )
        wall = time.perf_counter() - start
        check_model = model
    t_check = time.perf_counter()
    report, records = check_timeline(
        workload,
        cluster,
        timeline,
        model=check_model,
        overhead=cost,
        until_measured=semantics == "gavel",
    )
    if not report.feasible:
        kinds = ", ".join(f"{k} x{n}" for k, (n, _) in report.by_kind().items())
        raise TimelineRejected(f"the checker rejected the timeline of {name} ({kinds})")
    metrics_model = model or ThroughputModel(cluster)
    jobs = job_table(workload, records, cluster, metrics_model, rounds=semantics == "gavel")
    stats = summary(jobs, records, cluster)
    stats["semantics"] = semantics
    stats["workload"] = workload.name
    stats["cluster"] = cluster.name
    stats["check_s"] = time.perf_counter() - t_check
    if timeline.solves:
        stats.update(solve_summary(timeline.solves))
    if bound:
        from .bounds import gaps, lower_bounds

        sharing = bool(report.details.get("shared_starts"))
        lbs = lower_bounds(workload, cluster, metrics_model, cost, sharing=sharing)
        stats.update(lbs)
        stats.update(gaps(stats, lbs))
    return SimResult(name, jobs, stats, timeline, report, wall)


def solve_summary(solves: list[dict[str, Any]]) -> dict[str, Any]:
    """What the per-round solves of a policy proved: how many, how many to optimality,
    their gaps (mean, max) and the solver time."""
    gaps = [float(s["gap"]) for s in solves]
    return {
        "solves": len(solves),
        "solves_optimal": sum(s["status"] == "optimal" for s in solves),
        "solve_gap_mean": sum(gaps) / len(gaps),
        "solve_gap_max": max(gaps),
        "solve_s": sum(float(s["solve_s"]) for s in solves),
    }


__all__ = [
    "POLICIES",
    "SimJob",
    "SimResult",
    "TimelineRejected",
    "Workload",
    "check_timeline",
    "read_gavel_trace",
    "simulate",
]
