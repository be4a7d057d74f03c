"""Lower bounds on what any policy can achieve on a workload: the online optimality gap.

For the measured jobs of a workload on a cluster (whatever the policy, the
semantics' placement rules aside, and even with the future known):

* **average JCT** >= the larger of two relaxations:

  - *alone*: every job runs from its arrival on its best GPU type, alone, at
    its best consolidated rate, paying one restart overhead:
    ``C_j >= a_j + o_j + p_j`` with ``p_j = work_j / best rate``;
  - *fluid*: the cluster as one machine that does ``G`` GPU-seconds per
    second, each job a task of ``g_j p_j`` GPU-seconds released at ``a_j``,
    preemption and any parallelism free. Shortest remaining processing time
    is optimal for the sum of completion times there, so its sum bounds
    every real schedule's.

  Each is a valid bound on the sum, so their maximum is too.
* **makespan** (the last measured completion) >= ``max_j (a_j + o_j + p_j)``
  and >= ``min_j a_j + sum_j g_j p_j / G``: the GPU-seconds the measured jobs
  need at their best rates cannot be done faster than the whole cluster works.

Best rates are consolidated throughputs (locality only slows a job down), so
the bounds hold under the default semantics and under Gavel's.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

from ..model.topology import Cluster
from ..throughput.model import ThroughputModel
from .engine import Overhead, constant_overhead
from .workload import Workload


def best_times(workload: Workload, cluster: Cluster, model: ThroughputModel) -> list[float]:
    """Each measured job's time alone at its best consolidated rate (seconds)."""
    out = []
    for job in workload.measured:
        rates = [
            model.consolidated(job.job_type, t, job.num_gpus)
            for t in cluster.gpu_types
            if (not job.gpu_types or t in job.gpu_types)
            and model.runs_on(job.job_type, t)
            and cluster.capacity(t) >= job.num_gpus
        ]
        out.append(job.work / max(rates) if rates and max(rates) > 0 else math.inf)
    return out


def fluid_srpt(releases: list[float], sizes: list[float], speed: float) -> float:
    """Sum of completion times of preemptive SRPT on one machine of ``speed``."""
    order = sorted(range(len(releases)), key=lambda i: releases[i])
    heap: list[float] = []  # remaining sizes of released jobs
    t, total, k = 0.0, 0.0, 0
    n = len(order)
    while k < n or heap:
        if not heap:
            t = max(t, releases[order[k]])
        while k < n and releases[order[k]] <= t:
            heapq.heappush(heap, sizes[order[k]])
            k += 1
        left = heapq.heappop(heap)
        nxt = releases[order[k]] if k < n else math.inf
        finish = t + left / speed
        if finish <= nxt:
            t = finish
            total += t
        else:  # an arrival first: work until then, then compare again
            heapq.heappush(heap, left - (nxt - t) * speed)
            t = nxt
    return total


def lower_bounds(
    workload: Workload,
    cluster: Cluster,
    model: ThroughputModel | None = None,
    overhead: Overhead | None = None,
) -> dict[str, Any]:
    """Lower bounds on the measured jobs' average JCT and makespan (see the module)."""
    model = model or ThroughputModel(cluster)
    overhead = overhead or constant_overhead(0.0)
    jobs = workload.measured
    if not jobs:
        return {"avg_jct_lb_s": math.nan, "makespan_lb_s": math.nan}
    p = best_times(workload, cluster, model)
    o = [overhead(j) for j in jobs]
    arrive = [j.arrival for j in jobs]
    alone = [a + oj + pj for a, oj, pj in zip(arrive, o, p)]
    work = [j.num_gpus * pj for j, pj in zip(jobs, p)]
    fluid = fluid_srpt(arrive, work, float(cluster.num_gpus))
    n = len(jobs)
    jct_alone = sum(c - a for c, a in zip(alone, arrive)) / n
    jct_fluid = (fluid - sum(arrive)) / n
    return {
        "avg_jct_lb_s": max(jct_alone, jct_fluid),
        "avg_jct_lb_alone_s": jct_alone,
        "avg_jct_lb_fluid_s": jct_fluid,
        "makespan_lb_s": max(max(alone), min(arrive) + sum(work) / cluster.num_gpus),
    }


def gaps(summary: dict[str, Any], bounds: dict[str, Any]) -> dict[str, float]:
    """How far a run's average JCT and makespan are above the bounds (fractions)."""
    out = {}
    for metric in ("avg_jct", "makespan"):
        value, lb = summary.get(f"{metric}_s", math.nan), bounds[f"{metric}_lb_s"]
        out[f"{metric}_gap"] = value / lb - 1 if lb > 0 else math.nan
    return out


def is_summary(data: Any) -> bool:
    """Whether ``data`` is the ``summary.json`` of a simulation (``simulate -o``)."""
    return isinstance(data, dict) and "semantics" in data and "avg_jct_s" in data


def gap_rows(
    summaries: list[dict[str, Any]], method: str, against: str = "bound"
) -> list[dict[str, Any]]:
    """The gaps of policy ``method``'s runs: against the lower bounds stored with them
    (``simulate --bound``), or against the run of policy ``against`` on the same
    workload, cluster and semantics. One row per run and metric."""
    from ..errors import InputError

    def key(s: dict[str, Any]) -> tuple:
        return (s.get("workload"), s.get("cluster"), s.get("semantics"), s.get("measured_jobs"))

    runs = [s for s in summaries if s.get("policy") == method]
    if not runs:
        known = sorted({str(s.get("policy")) for s in summaries})
        raise InputError(
            f"no simulation of policy {method!r} among the results ({', '.join(known)})"
        )
    rows = []
    for run in runs:
        if against == "bound":
            if "avg_jct_lb_s" not in run:
                raise InputError(
                    f"the {method} run on {run.get('workload')!r} has no bounds: simulate it "
                    "again with --bound"
                )
            refs = {m: run[f"{m}_lb_s"] for m in ("avg_jct", "makespan")}
            kind = "lower bound"
        else:
            peers = [s for s in summaries if s.get("policy") == against and key(s) == key(run)]
            if not peers:
                raise InputError(
                    f"no run of policy {against!r} on the same workload, cluster and semantics "
                    f"as {method} on {run.get('workload')!r}"
                )
            refs = {m: peers[0][f"{m}_s"] for m in ("avg_jct", "makespan")}
            kind = against
        for metric, ref in refs.items():
            value = run[f"{metric}_s"]
            rows.append(
                {
                    "workload": run.get("workload"),
                    "cluster": run.get("cluster"),
                    "semantics": run.get("semantics"),
                    "policy": method,
                    "metric": metric,
                    "value_s": value,
                    "reference_s": ref,
                    "reference": kind,
                    "gap": value / ref - 1 if ref and ref > 0 else math.nan,
                }
            )
    return rows
