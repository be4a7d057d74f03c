"""Lower bounds on what any policy can achieve on a workload: the online optimality gap.

For the measured jobs of a workload on a cluster (whatever the policy, the
semantics' placement rules aside, and even with the future known):

* **average JCT** >= the largest of three relaxations:

  - *alone*: every job runs from its arrival on its best GPU type, alone, at
    its best rate, paying one restart overhead:
    ``C_j >= a_j + o_j + p_j`` with ``p_j = work_j / best rate``;
  - *fluid*: the cluster as one machine that does ``G`` GPU-seconds per
    second, each job a task of ``g_j p_j`` GPU-seconds released at ``a_j``,
    preemption and any parallelism free. Shortest remaining processing time
    is optimal for the sum of completion times there, so its sum bounds
    every real schedule's;
  - *interval LP* (:func:`lp_bound`), when the workload is small enough: the
    LP relaxation of the time-indexed (timeslot) problem, with per-type
    capacities, over intervals of time, written with mean busy times. A job
    does its work at density at most ``1 / p_j``, so its completion is at
    least its mean busy time plus ``p_j / 2``; in an interval that starts at
    ``tau`` and holds a fraction ``y`` of its work, the job's busy time there
    is at least ``tau y + p_j y^2 / 2`` (all of it as early as possible),
    kept in the LP by tangents of the parabola. It sees the contention for
    each GPU type that the alone bound ignores, and the types that the fluid
    bound pools. It holds the measured jobs only (the others could always do
    their work in its endless last interval, so they would bind nothing).

  Each is a valid bound on the sum, so their maximum is too.
* **makespan** (the last measured completion) >= ``max_j (a_j + o_j + p_j)``
  and >= ``min_j a_j + sum_j g_j p_j / G``: the GPU-seconds the measured jobs
  need at their best rates cannot be done faster than the whole cluster works.

Best rates are consolidated throughputs, or a measured spread one where it is
faster (:meth:`ThroughputModel.fastest`; otherwise locality only slows a job
down), so the bounds hold under the default semantics and under Gavel's.

**Space sharing.** Two jobs that share a GPU set both progress, at their
co-located rates, so a GPU can do more than one GPU-second of isolated work per
second: up to ``kappa``, the largest sum of the two interference factors over
the pairs of the workload's job types on the cluster's GPU types. When a run
shares GPUs, the cluster's capacity in the fluid, makespan and LP bounds is
``kappa G`` (``sharing=True``); otherwise it is ``G``, and the bounds are those
of every schedule without space sharing.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from ..model.topology import Cluster
from ..throughput.model import ThroughputModel
from .engine import Overhead, constant_overhead
from .workload import SimJob, Workload


def type_rates(job: SimJob, cluster: Cluster, model: ThroughputModel) -> dict[str, float]:
    """The job's fastest throughput on each GPU type it may use and fits."""
    rates = {
        t: model.fastest(job.job_type, t, job.num_gpus)
        for t in cluster.gpu_types
        if (not job.gpu_types or t in job.gpu_types)
        and model.runs_on(job.job_type, t)
        and cluster.capacity(t) >= job.num_gpus
    }
    return {t: r for t, r in rates.items() if r > 0}


def best_times(workload: Workload, cluster: Cluster, model: ThroughputModel) -> list[float]:
    """Each measured job's time alone at its best rate (seconds)."""
    out = []
    for job in workload.measured:
        rates = type_rates(job, cluster, model)
        out.append(job.work / max(rates.values()) if rates else math.inf)
    return out


def sharing_factors(
    jobs: Sequence[SimJob], cluster: Cluster, model: ThroughputModel
) -> tuple[float, float]:
    """``(kappa, fmax)`` for runs where two of ``jobs`` may share a GPU set: the most
    isolated GPU-seconds one GPU does per second (the largest ``f_ab + f_ba`` over
    their type pairs, gang sizes and GPU types), and the largest speed-up a job can
    get from a partner (the largest ``f_ab``); each at least 1 (a job alone)."""
    kappa = fmax = 1.0
    kinds = sorted({(j.job_type, j.num_gpus) for j in jobs})
    for i, (a, k) in enumerate(kinds):
        for b, k2 in kinds[i:]:
            if k2 != k:
                continue
            for t in cluster.gpu_types:
                fab, fba = model.interference(a, b, t, k), model.interference(b, a, t, k)
                if fab is not None and fba is not None:
                    kappa = max(kappa, fab + fba)
                    fmax = max(fmax, fab, fba)
    return kappa, fmax


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


METHOD = "highs-ipm"


def lp_bound(
    workload: Workload,
    cluster: Cluster,
    model: ThroughputModel,
    overhead: Overhead,
    *,
    sharing: bool = False,
    cells: int = 48,
    max_columns: int = 400_000,
) -> float:
    """The interval LP's bound on the measured jobs' average JCT (seconds; see the module),
    or NaN when it would need more than ``max_columns`` variables.

    Each job has intervals from its release (arrival plus overhead) to a horizon
    ``H_j`` after it, on a grid with ``cells`` steps in a typical horizon (its
    first interval starts at its release), then one last interval without end or
    capacity: work placed there counts as done at its start, so no schedule is
    cut off and the LP stays a relaxation whatever ``H_j``. The horizon starts at the job's own
    time plus twice a typical JCT (the larger of the fluid bound's average JCT
    and the mean time alone), and doubles for the jobs whose last interval the
    optimum uses (up to three times).
    Variables ``y[j, s, t]``: the fraction of job ``j``'s work done on GPU type
    ``t`` in interval ``s``. Solved by HiGHS (through SciPy); the optimum is
    lowered by 1e-6 of itself for the solver's tolerances. When the LP would be
    too large, its cells grow (down to 6 in a typical horizon) before it gives up.

    When every job can run alone from its release on its fastest type without
    exceeding that type's GPUs at any time, that schedule is the LP's optimum:
    the bound is then the alone bound, found without solving.
    """
    jobs = measured = workload.measured
    if not measured:
        return math.nan
    rates = [type_rates(j, cluster, model) for j in jobs]
    if any(not r for r in rates):
        return math.nan
    lp = _IntervalLP(jobs, rates, cluster, model, overhead, sharing)
    arrivals = sum(j.arrival for j in measured) / 3600.0
    if lp.alone_fits():  # every job alone from its release fits: the LP's optimum
        value = float((lp.rel + lp.p).sum())
        return max(0.0, (value - arrivals) * 3600.0 / len(measured))
    fluid = fluid_srpt(
        [j.arrival / 3600.0 for j in jobs],
        list(lp.gang * lp.p * lp.fmax),
        float(lp.cap.sum() * lp.speed),
    )
    typical = max((fluid - sum(j.arrival for j in jobs) / 3600.0) / len(jobs), float(lp.p.mean()))
    horizon = lp.p + 2.0 * typical
    step = typical * 3.0 / cells
    value = math.nan
    for _ in range(4):
        got = lp.solve(horizon, step, max_columns)
        while got is None and step < typical / 2:  # too large: coarser cells
            step *= 2.0
            got = lp.solve(horizon, step, max_columns)
        if got is None:
            break
        value, late = got
        if not late.any():
            break
        horizon = np.where(late, 2.0 * horizon, horizon)
    if math.isnan(value):
        return math.nan
    return max(0.0, (value * (1 - 1e-6) - arrivals) * 3600.0 / len(measured))


class _IntervalLP:
    """The interval LP of :func:`lp_bound`, in hours, built with sparse matrices. With
    ``sharing``, capacities are for runs that share GPUs (``kappa``), and ``p``, the
    least time a job can take, is ``best / fmax`` (:func:`sharing_factors`)."""

    def __init__(
        self,
        jobs: Sequence[SimJob],
        rates: Sequence[dict[str, float]],
        cluster: Cluster,
        model: ThroughputModel,
        overhead: Overhead,
        sharing: bool,
    ) -> None:
        self.jobs, self.rates = jobs, rates
        self.types = list(cluster.gpu_types)
        self.cap = np.array([cluster.capacity(t) for t in self.types], dtype=float)
        self.rel = np.array([(j.arrival + overhead(j)) / 3600.0 for j in jobs])
        self.best = np.array([j.work / max(r.values()) / 3600.0 for j, r in zip(jobs, rates)])
        self.gang = np.array([j.num_gpus for j in jobs], dtype=float)
        got = sharing_factors(jobs, cluster, model) if sharing else (1.0, 1.0)
        self.speed, self.fmax = got
        self.p = self.best / self.fmax

    def alone_fits(self) -> bool:
        """Whether every job alone from its release on its fastest type (for ``p``)
        stays within each type's GPUs at all times."""
        events: list[tuple[float, int, int, float]] = []  # (time, end first, type, GPUs)
        for j, r in enumerate(self.rates):
            t = self.types.index(max(r, key=lambda name: r[name]))
            use = self.gang[j] * self.fmax
            events += [(self.rel[j], 1, t, use), (self.rel[j] + self.p[j], 0, t, -use)]
        busy = np.zeros(len(self.types))
        for _, _, t, use in sorted(events):
            busy[t] += use
            if busy[t] > self.speed * self.cap[t] + 1e-9:
                return False
        return True

    def solve(
        self, horizon: np.ndarray, step: float, max_columns: int
    ) -> tuple[float, np.ndarray] | None:
        """The LP's optimum (sum of completions, hours) and which jobs use their
        endless last interval; None when too large or not solved."""
        rel, p, n_jobs, n_types = self.rel, self.p, len(self.jobs), len(self.types)
        start, end = float(rel.min()), float((rel + horizon).max())
        grid = np.arange(start, end + step, step)
        edges = np.unique(np.concatenate([grid, [end]]))
        width = np.diff(edges)
        lo = np.searchsorted(edges, rel, side="right") - 1
        hi = np.minimum(np.searchsorted(edges, rel + horizon, side="left"), len(edges) - 1)
        # cells: (job, interval) for lo <= s < hi, then the job's endless one (s = -1)
        counts = hi - lo + 1
        cell_job = np.repeat(np.arange(n_jobs), counts)
        offset = np.arange(len(cell_job)) - np.repeat(np.cumsum(counts) - counts, counts)
        cell_s = np.repeat(lo, counts) + offset
        tail = offset == counts[cell_job] - 1
        cell_s[tail] = -1
        tau = np.where(tail, edges[np.repeat(hi, counts)], 0.0)
        tau[~tail] = np.maximum(edges[cell_s[~tail]], rel[cell_job[~tail]])
        cell_len = np.full(len(cell_job), np.inf)
        cell_len[~tail] = edges[cell_s[~tail] + 1] - tau[~tail]
        # columns: one per (cell, GPU type the job may use)
        allowed = np.zeros((n_jobs, n_types))
        for j, r in enumerate(self.rates):
            top = max(r.values())
            for t, rt in r.items():
                allowed[j, self.types.index(t)] = top / rt  # seconds per best second
        pairs = np.argwhere(allowed[cell_job] > 0)
        col_cell, col_type = pairs[:, 0], pairs[:, 1]
        ny, n_cells = len(col_cell), len(cell_job)
        n = ny + n_cells + n_jobs  # columns y, then q per cell, then C per job
        if n > max_columns:
            return None
        cj = cell_job[col_cell]
        cp = allowed[cj, col_type]
        q_of = ny + np.arange(n_cells)
        c_of = ny + n_cells + np.arange(n_jobs)

        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        rhs: list[np.ndarray] = []
        n_rows = 0

        def block(r: np.ndarray, c: np.ndarray, v: np.ndarray) -> None:
            rows.append(n_rows + r)
            cols.append(c)
            vals.append(v)

        fin = np.flatnonzero(~tail[col_cell])
        # a job's time in a finite interval: sum_t y p_t <= length
        fin_cells, fin_row = np.unique(col_cell[fin], return_inverse=True)
        block(fin_row, fin, cp[fin] * p[cj[fin]] / cell_len[col_cell[fin]])
        rhs.append(np.ones(len(fin_cells)))
        n_rows += len(fin_cells)
        # capacity of type t in interval s: sum_j g_j y p_t fmax <= speed cap_t width_s
        s_of = cell_s[col_cell[fin]]
        keys, cap_row = np.unique(s_of * n_types + col_type[fin], return_inverse=True)
        v = self.gang[cj[fin]] * cp[fin] * p[cj[fin]] * self.fmax / width[s_of]
        block(cap_row, fin, v)
        rhs.append(self.speed * self.cap[keys % n_types])
        n_rows += len(keys)
        # busy time in a cell >= tau y + p y^2 / 2, the parabola kept by tangents at h:
        # p h y - q <= p h^2 / 2, y = sum_t y[j, s, t]
        ymax = np.minimum(1.0, cell_len / p[cell_job])
        every = np.arange(ny)
        pj = p[cell_job]
        for frac in (0.5, 1.0):
            h = frac * ymax
            block(col_cell, every, (pj * h)[col_cell])
            block(np.arange(n_cells), q_of, -np.ones(n_cells))
            rhs.append(pj * h * h / 2)
            n_rows += n_cells
        # completion >= its mean busy time + p / 2: sum tau y + sum q - C <= -p / 2
        block(cj, every, tau[col_cell])
        block(cell_job, q_of, np.ones(n_cells))
        block(np.arange(n_jobs), c_of, -np.ones(n_jobs))
        rhs.append(-p / 2)
        n_rows += n_jobs

        a_ub = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n_rows, n),
        )
        a_eq = sp.csr_matrix((np.ones(ny), (cj, np.arange(ny))), shape=(n_jobs, n))
        c = np.zeros(n)
        c[c_of] = 1.0
        low = np.zeros(n)
        low[c_of] = rel + p  # the alone bound, per job
        res = linprog(
            c, A_ub=a_ub, b_ub=np.concatenate(rhs), A_eq=a_eq, b_eq=np.ones(n_jobs),
            bounds=np.c_[low, np.full(n, np.inf)], method=METHOD,
        )  # fmt: skip
        if res.status != 0:
            return None
        late = np.zeros(n_jobs)
        on_tail = tail[col_cell]
        np.add.at(late, cj[on_tail], res.x[:ny][on_tail])
        return float(res.fun), late > 1e-7


def lower_bounds(
    workload: Workload,
    cluster: Cluster,
    model: ThroughputModel | None = None,
    overhead: Overhead | None = None,
    *,
    sharing: bool = False,
    lp: bool = True,
) -> dict[str, Any]:
    """Lower bounds on the measured jobs' average JCT and makespan (see the module).

    ``sharing``: the run space-shares GPUs (capacities scaled by ``kappa``, and times
    by ``1 / fmax`` should a partner ever speed a job up: :func:`sharing_factors`).
    ``lp``: also the interval LP (:func:`lp_bound`); ``avg_jct_lb_lp_s`` is NaN
    when the workload is too large for it."""
    model = model or ThroughputModel(cluster)
    overhead = overhead or constant_overhead(0.0)
    jobs = workload.measured
    if not jobs:
        return {"avg_jct_lb_s": math.nan, "makespan_lb_s": math.nan}
    kappa, fmax = sharing_factors(jobs, cluster, model) if sharing else (1.0, 1.0)
    p = [t / fmax for t in best_times(workload, cluster, model)]
    o = [overhead(j) for j in jobs]
    arrive = [j.arrival for j in jobs]
    alone = [a + oj + pj for a, oj, pj in zip(arrive, o, p)]
    work = [j.num_gpus * pj * fmax for j, pj in zip(jobs, p)]  # isolated GPU-seconds
    speed = cluster.num_gpus * kappa
    fluid = fluid_srpt(arrive, work, speed)
    n = len(jobs)
    jct_alone = sum(c - a for c, a in zip(alone, arrive)) / n
    jct_fluid = (fluid - sum(arrive)) / n
    out = {
        "avg_jct_lb_alone_s": jct_alone,
        "avg_jct_lb_fluid_s": jct_fluid,
        "makespan_lb_s": max(max(alone), min(arrive) + sum(work) / speed),
        "bound_sharing": sharing,
    }
    best = max(jct_alone, jct_fluid)
    if lp:
        out["avg_jct_lb_lp_s"] = lp_s = lp_bound(
            workload, cluster, model, overhead, sharing=sharing
        )
        if not math.isnan(lp_s):
            best = max(best, lp_s)
    out["avg_jct_lb_s"] = best
    return out


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
        return (
            s.get("workload"),
            s.get("cluster"),
            s.get("semantics"),
            s.get("measured_jobs"),
            s.get("seed"),  # an experiment's rows: runs of one seed compare
        )

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
