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
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..core import CheckReport
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
) -> SimResult:
    """Simulate, check the timeline, and compute the metrics from the checked records."""
    model = model or ThroughputModel(cluster)
    pol = get_policy(policy, rule) if isinstance(policy, str) else policy
    cost = constant_overhead(float(overhead)) if isinstance(overhead, (int, float)) else overhead
    cost = cost or constant_overhead(0.0)
    start = time.perf_counter()
    timeline = run(
        workload, cluster, pol, model=model, round_seconds=round_seconds, overhead=cost, seed=seed
    )
    report, records = check_timeline(workload, cluster, timeline, model=model, overhead=cost)
    if not report.feasible:
        kinds = ", ".join(f"{k} x{n}" for k, (n, _) in report.by_kind().items())
        raise TimelineRejected(f"the checker rejected the timeline of {pol.name} ({kinds})")
    jobs = job_table(workload, records, cluster, model)
    stats = summary(jobs, records, cluster)
    return SimResult(pol.name, jobs, stats, timeline, report, time.perf_counter() - start)


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
