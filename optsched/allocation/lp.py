"""Gavel's allocation policies as LPs on optsched's linear layer.

An allocation gives each job ``m`` a time fraction ``X_mt`` on each GPU type
``t`` (and, with space sharing, a fraction on ``t`` next to each partner),
with ``sum_t X_mt <= 1`` per job and ``sum_m scale_m X_mt <= G_t`` per type;
its throughput is ``thr_m = sum_t T_mt X_mt`` (plus its co-located
throughputs times its shared fractions). Policies (Gavel's names):

* ``max_min_fairness_perf``: maximise ``min_m scale_m thr_m / (w_m T^eq_m)``,
  ``T^eq_m = sum_t T_mt G_t / G`` the throughput of an equal share (Gavel's
  ``ProportionalPolicy``);
* ``max_min_fairness``: the same with every ``T_mt = 1`` (heterogeneity-agnostic);
* ``max_min_fairness_packed``: the ``_perf`` objective over single jobs and
  pairs of one scale sharing GPUs (Gavel's measured co-located throughputs);
* ``max_sum_throughput``: maximise ``sum_m thr_m``;
* ``min_total_duration``: the smallest ``T`` with ``thr_m >= R_m / T`` for all
  ``m`` (``R_m`` steps left). Gavel bisects on ``T`` to 5%; with ``l = 1/T``
  it is the LP ``max l`` s.t. ``thr_m >= l R_m``, solved exactly here;
* ``finish_time_fairness`` (Themis): minimise ``max_m rho_m``, ``rho_m = (t_m +
  R_m / thr_m) / (c_m + R_m / T^iso_m)`` (``t_m`` time since arrival, ``c_m``
  the isolated time its progress so far would have taken, ``T^iso_m`` its
  throughput on an isolated ``1/n`` share). Convex, not an LP: for a given
  ``rho`` it is the LP feasibility ``thr_m >= R_m / (rho D_m - t_m)``, so
  bisection on ``rho`` to a relative 1e-9 solves it exactly to that tolerance.

**Exact aggregation.** Jobs of one class (job type, scale, weight) have the
same coefficients in every constraint and in the objective of the max-min and
max-sum policies. Averaging any optimal allocation over the permutations of
each class keeps it feasible and (the objective being concave) optimal, so an
optimum exists in which jobs of a class are treated alike. The LP then has one
variable per (class, type) and, with packing, per (class, partner class,
type): ``s_ct`` for a job alone, ``p_cdt`` for a job of ``c`` next to some job
of ``d``, with ``n_c p_cdt = n_d p_dct`` (both count the same pair time) and a
pair's GPUs counted once. That is Gavel's own job-type formulation; its size
does not grow with the number of jobs, which is how 1,024 and 2,048 jobs
solve in milliseconds without POP's approximation. A per-job allocation
follows by spreading ``p_cdt`` evenly over the ``n_d`` (or ``n_c - 1``)
partners. The two policies with per-job data (``min_total_duration``,
``finish_time_fairness``) solve one row per job.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core import Status
from ..errors import InputError
from ..solvers.common import SolveOptions
from ..solvers.linear import LinearModel, new_model
from .problem import AllocJob, AllocProblem, equal_share, isolated_share

POLICIES = {
    "max_min_fairness": "max-min fairness, heterogeneity-agnostic (Gavel's LAS)",
    "max_min_fairness_perf": "max-min fairness of throughput normalised by an equal share",
    "max_min_fairness_packed": "max-min fairness with space sharing over pairs of jobs",
    "max_sum_throughput": "maximum total throughput",
    "min_total_duration": "minimum time for every job to finish (makespan)",
    "finish_time_fairness": "Themis: minimum worst finish-time fairness rho",
}
#: Relative tolerance of the finish-time-fairness bisection.
FTF_TOL = 1e-9


@dataclass
class Class:
    """Jobs with the same coefficients everywhere (job type, scale, weight, and for the
    per-job policies the job itself)."""

    members: list[int]
    scale: int
    weight: float
    job_type: str
    throughput: np.ndarray  # per GPU type

    @property
    def n(self) -> int:
        return len(self.members)


@dataclass
class Allocation:
    """An allocation and how it was found.

    ``single[m, t]`` is job ``m``'s fraction alone on type ``t``; ``shared[(m, k)]``
    its fraction on ``t`` (array) next to a job of class ``k`` (spread evenly over
    that class's jobs). ``objective`` is the policy's, recomputed from the
    allocation by :func:`check`."""

    policy: str
    problem: AllocProblem
    single: np.ndarray
    classes: list[Class]
    class_of: np.ndarray  # job -> class index
    shared: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # (class, class)
    objective: float = math.nan
    status: Status = Status.OPTIMAL
    wall_s: float = 0.0
    lps: int = 0
    solver: str = ""
    parts: int = 1

    def throughput(self) -> np.ndarray:
        """Each job's effective throughput under the allocation."""
        p = self.problem
        thr = (p.throughputs * self.single).sum(axis=1)
        for (c, d), frac in self.shared.items():
            tc = pair_rates(p, self.classes[c], self.classes[d])
            for m in self.classes[c].members:
                thr[m] += float((tc * frac).sum())
        return thr

    def share(self, m: int) -> dict[str, float]:
        """Job ``m``'s total time fraction per GPU type (alone and shared)."""
        out = {t: float(self.single[m, k]) for k, t in enumerate(self.problem.types)}
        c = int(self.class_of[m])
        for (a, _d), frac in self.shared.items():
            if a == c:
                for k, t in enumerate(self.problem.types):
                    out[t] += float(frac[k])
        return out


def pair_rates(problem: AllocProblem, c: Class, d: Class) -> np.ndarray:
    """Throughput per GPU type of a job of ``c`` next to a job of ``d``."""
    return np.array(
        [problem.pair_throughput(c.job_type, d.job_type, c.scale, t)[0] for t in problem.types]
    )


def classes_of(
    problem: AllocProblem, per_job: bool, agnostic: bool
) -> tuple[list[Class], np.ndarray]:
    T = np.ones_like(problem.throughputs) if agnostic else problem.throughputs
    out: list[Class] = []
    index: dict[tuple, int] = {}
    class_of = np.zeros(len(problem.jobs), dtype=int)
    for m, job in enumerate(problem.jobs):
        key = (m,) if per_job else (job.job_type, job.scale, job.weight)
        if key not in index:
            index[key] = len(out)
            out.append(Class([], job.scale, job.weight, job.job_type, T[m]))
        out[index[key]].members.append(m)
        class_of[m] = index[key]
    return out, class_of


class _Builder:
    """The class LP's variables and constraints, shared by every policy."""

    def __init__(
        self, problem: AllocProblem, classes: list[Class], solver: str, packed: bool
    ) -> None:
        self.p, self.classes = problem, classes
        self.model: LinearModel = new_model(
            "allocation", SolveOptions(extra={"solver": solver}), integer=False
        )
        types = problem.types
        m = self.model
        self.s = [[m.continuous(f"s{c}_{t}") for t in types] for c in range(len(classes))]
        self.pairs: dict[tuple[int, int], list[Any]] = {}
        self.rates: dict[tuple[int, int], np.ndarray] = {}
        if packed:
            for c, a in enumerate(classes):
                for d, b in enumerate(classes):
                    if a.scale != b.scale or (c == d and a.n < 2):
                        continue
                    rc = pair_rates(problem, a, b)
                    rd = pair_rates(problem, b, a)
                    if not (rc > 0).any() and not (rd > 0).any():
                        continue
                    self.rates[(c, d)] = rc
                    self.pairs[(c, d)] = [
                        m.continuous(f"p{c}_{d}_{t}", hi=1.0 if (rc[k] > 0 or rd[k] > 0) else 0.0)
                        for k, t in enumerate(types)
                    ]
            for (c, d), xs in self.pairs.items():  # both sides count the same pair time
                if c < d:
                    ys = self.pairs[(d, c)]
                    for k in range(len(types)):
                        m.add(classes[c].n * xs[k] == classes[d].n * ys[k])
        for c in range(len(classes)):
            terms = list(self.s[c])
            for (first, _d), xs in self.pairs.items():
                if first == c:
                    terms += xs
            m.add(m.total(terms) <= 1.0)
        for k, t in enumerate(types):
            used = [classes[c].scale * classes[c].n * self.s[c][k] for c in range(len(classes))]
            for (c, d), xs in self.pairs.items():
                if c < d:
                    used.append(classes[c].scale * classes[c].n * xs[k])
                elif c == d:
                    used.append(classes[c].scale * classes[c].n * 0.5 * xs[k])
            m.add(m.total(used) <= float(problem.gpus[t]))

    def throughput(self, c: int) -> Any:
        """A job of class ``c``'s throughput, as an expression."""
        cl = self.classes[c]
        terms = [float(cl.throughput[k]) * v for k, v in enumerate(self.s[c]) if cl.throughput[k]]
        for (a, d), xs in self.pairs.items():
            if a == c:
                r = self.rates[(a, d)]
                terms += [float(r[k]) * v for k, v in enumerate(xs) if r[k]]
        return self.model.total(terms)

    def solve(self) -> Status:
        outcome = self.model.solve(SolveOptions(extra={}))
        return outcome.status

    def read(self, policy: str, class_of: np.ndarray) -> Allocation:
        m, p = self.model, self.p
        single = np.zeros((len(p.jobs), len(p.types)))
        for c, cl in enumerate(self.classes):
            row = [max(0.0, m.value(v)) for v in self.s[c]]
            single[cl.members] = row
        shared = {
            key: np.array([max(0.0, m.value(v)) for v in xs]) for key, xs in self.pairs.items()
        }
        shared = {k: v for k, v in shared.items() if v.any()}
        return Allocation(policy, p, single, self.classes, class_of, shared)


def normaliser(problem: AllocProblem, agnostic: bool) -> np.ndarray:
    """``w_m T^eq_m / scale_m``: a job's max-min objective is its throughput over this."""
    T = np.ones_like(problem.throughputs) if agnostic else problem.throughputs
    eq = T @ equal_share(problem)
    w = np.array([j.weight for j in problem.jobs])
    scale = np.array([j.scale for j in problem.jobs], dtype=float)
    return w * eq / scale


def allocate(
    problem: AllocProblem,
    policy: str,
    *,
    solver: str = "glop",
    pop: int = 1,
    seed: int = 0,
    aggregate: bool = True,
) -> Allocation:
    """The allocation of ``policy`` (see the module); ``pop = k > 1`` splits the jobs
    at random into ``k`` parts with ``G_t // k`` GPUs each (POP), and the objective is
    then recomputed over all jobs. ``aggregate=False`` solves one row per job (and,
    packed, one per pair of jobs): the same optimum, for checking the aggregation."""
    if policy not in POLICIES:
        raise InputError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    if pop < 1:
        raise InputError(f"--pop must be >= 1, got {pop}")
    if pop > 1 and policy == "max_min_fairness_packed":
        raise InputError("--pop with space sharing is not supported yet; use --pop 1")
    start = time.perf_counter()
    if pop > 1:
        out = _pop(problem, policy, solver, pop, seed)
    else:
        out = _solve(problem, policy, solver, aggregate)
    out.wall_s = time.perf_counter() - start
    report = check(out)
    if report:
        raise RuntimeError(f"allocation of {policy} fails its check: {report[0]}")
    return out


def _solve(problem: AllocProblem, policy: str, solver: str, aggregate: bool = True) -> Allocation:
    agnostic = policy == "max_min_fairness"
    per_job = not aggregate or policy in ("min_total_duration", "finish_time_fairness")
    classes, class_of = classes_of(problem, per_job, agnostic)
    if policy == "finish_time_fairness":
        return _ftf(problem, classes, class_of, solver)
    b = _Builder(problem, classes, solver, packed=policy == "max_min_fairness_packed")
    m = b.model
    if policy.startswith("max_min_fairness"):
        norm = normaliser(problem, agnostic)
        z = m.continuous("z")
        for c, cl in enumerate(classes):
            m.add(b.throughput(c) >= float(norm[cl.members[0]]) * z)
        m.maximize(z)
    elif policy == "max_sum_throughput":
        m.maximize(m.total([cl.n * b.throughput(c) for c, cl in enumerate(classes)]))
    else:  # min_total_duration: max l = 1 / T with thr_m >= l R_m
        lam = m.continuous("inverse_duration")
        for c, cl in enumerate(classes):
            left = problem.jobs[cl.members[0]].steps_left
            m.add(b.throughput(c) >= float(left) * lam)
        m.maximize(lam)
    status = b.solve()
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        raise RuntimeError(f"allocation LP of {policy} ended {status.value}")
    out = b.read(policy, class_of)
    out.lps, out.solver = 1, b.model.solver
    return out


def _ftf(
    problem: AllocProblem, classes: list[Class], class_of: np.ndarray, solver: str
) -> Allocation:
    T = problem.throughputs
    iso = (T * isolated_share(problem)).sum(axis=1)
    jobs = problem.jobs
    left = np.array([j.steps_left for j in jobs])
    t = np.array([j.elapsed for j in jobs])
    with np.errstate(divide="ignore"):
        denom = np.array([j.done_isolated for j in jobs]) + left / iso
        best = left / T.max(axis=1)
    if not np.isfinite(denom).all() or (iso <= 0).any():
        raise InputError("finish_time_fairness: a job has no throughput on its isolated share")
    lo = float(((t + best) / denom).max())
    hi = float(((t + left / iso) / denom).max())
    lps = 0
    feasible: Allocation | None = None

    def attempt(rho: float) -> Allocation | None:
        nonlocal lps
        need = rho * denom - t
        if (need <= 0).any():
            return None
        b = _Builder(problem, classes, solver, packed=False)
        for c, cl in enumerate(classes):
            m = cl.members[0]
            b.model.add(b.throughput(c) >= float(left[m] / need[m]))
        b.model.maximize(b.model.total([]))
        lps += 1
        if b.solve() != Status.OPTIMAL:
            return None
        return b.read("finish_time_fairness", class_of)

    feasible = attempt(hi * (1 + FTF_TOL))
    if feasible is None:  # the isolated share is feasible by construction
        raise RuntimeError("finish_time_fairness: the isolated share tested infeasible")
    while hi - lo > FTF_TOL * hi:
        mid = (lo + hi) / 2
        got = attempt(mid)
        if got is None:
            lo = mid
        else:
            hi, feasible = mid, got
    feasible.lps, feasible.solver = lps, "bisection"
    return feasible


def _pop(problem: AllocProblem, policy: str, solver: str, k: int, seed: int) -> Allocation:
    rng = np.random.default_rng(seed)
    part = rng.integers(k, size=len(problem.jobs))
    n = len(problem.jobs)
    single = np.zeros((n, len(problem.types)))
    lps = 0
    for i in range(k):
        idx = np.flatnonzero(part == i)
        if idx.size == 0:
            continue
        sub = AllocProblem(
            tuple(problem.jobs[m] for m in idx),
            {t: g // k for t, g in problem.gpus.items()},
            problem.single,
            problem.pair,
            f"{problem.name}-part{i}",
        )
        got = _solve(sub, policy, solver)
        lps += got.lps
        single[idx] = got.single
    classes, class_of = classes_of(problem, True, policy == "max_min_fairness")
    out = Allocation(policy, problem, single, classes, class_of, {}, lps=lps, solver=solver)
    out.parts = k
    return out


def check(a: Allocation) -> list[str]:
    """Independent check: fractions in [0, 1], each job's total <= 1, each type's GPUs
    <= its count (a pair counted once), pair time the same seen from both sides; then
    the objective recomputed from the allocation alone (set on ``a``)."""
    p, tol = a.problem, 1e-6
    bad = []
    if (a.single < -tol).any():
        bad.append("negative fraction")
    n = len(p.jobs)
    total = a.single.sum(axis=1)
    scale = np.array([j.scale for j in p.jobs], dtype=float)
    used = (a.single * scale[:, None]).sum(axis=0)
    for (c, d), frac in a.shared.items():
        cc, cd = a.classes[c], a.classes[d]
        total[cc.members] += frac.sum()
        if c < d:
            other = a.shared.get((d, c), np.zeros_like(frac))
            if not np.allclose(cc.n * frac, cd.n * other, atol=tol):
                bad.append(f"pair time of classes {c}, {d} differs by side")
            used += cc.scale * cc.n * frac
        elif c == d:
            used += cc.scale * cc.n * frac / 2
    if (total > 1 + tol).any():
        bad.append(f"job {int(np.argmax(total))} gets {total.max():.9g} of its time")
    for k, t in enumerate(p.types):
        if used[k] > p.gpus[t] * (1 + tol) + tol:
            bad.append(f"type {t}: {used[k]:.9g} GPUs of {p.gpus[t]}")
    a.objective = objective(a) if n else math.nan
    return bad


def objective(a: Allocation) -> float:
    """The policy's objective of the allocation, from the allocation alone."""
    p = a.problem
    if a.policy == "max_min_fairness":
        ones = np.ones_like(p.throughputs)
        thr = (ones * a.single).sum(axis=1)
        for (c, _d), frac in a.shared.items():
            thr[a.classes[c].members] += frac.sum()
        return float((thr / normaliser(p, True)).min())
    thr = a.throughput()
    if a.policy.startswith("max_min_fairness"):
        return float((thr / normaliser(p, False)).min())
    if a.policy == "max_sum_throughput":
        return float(thr.sum())
    left = np.array([j.steps_left for j in p.jobs])
    if a.policy == "min_total_duration":
        with np.errstate(divide="ignore"):
            return float((left / thr).max())
    iso = (p.throughputs * isolated_share(p)).sum(axis=1)
    t = np.array([j.elapsed for j in p.jobs])
    done = np.array([j.done_isolated for j in p.jobs])
    with np.errstate(divide="ignore"):
        return float(((t + left / thr) / (done + left / iso)).max())


def jobs_from(rows: Sequence[Mapping[str, Any]]) -> tuple[AllocJob, ...]:
    return tuple(AllocJob(**r) for r in rows)
