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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core import Status
from ..errors import InputError
from ..solvers.common import SolveOptions
from ..solvers.linear import LinearModel, new_model
from .problem import AllocProblem, allowed_row, equal_share, isolated_share

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
    allowed: np.ndarray | None = None  # 1 per GPU type its jobs may use (None: all)

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
        gain = np.zeros(len(self.classes))  # per job of a class, from all its pairs
        for (c, d), frac in self.shared.items():
            gain[c] += float(pair_rates(p, self.classes[c], self.classes[d]) @ frac)
        for k in np.flatnonzero(gain).tolist():
            thr[self.classes[k].members] += gain[k]
        return thr

    def pair_share(self, c: int, d: int) -> np.ndarray | None:
        """The time per GPU type of one pair of jobs of classes ``c`` and ``d`` together:
        the class pair's time per job of ``c`` spread evenly over its partners in ``d``
        (None if the classes never share)."""
        frac = self.shared.get((c, d))
        if frac is None:
            return None
        return np.clip(frac, 0.0, None) / (self.classes[d].n - (c == d))

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
    key = (c.job_type, d.job_type, c.scale)
    rates = problem.pair_rows.get(key)
    if rates is None:
        types = problem.types
        rates = np.array([problem.pair_throughput(*key, t)[0] for t in types])
        problem.pair_rows[key] = rates
    for mask in (c.allowed, d.allowed):
        if mask is not None:
            rates = rates * mask
    return rates


def classes_of(
    problem: AllocProblem, per_job: bool, agnostic: bool
) -> tuple[list[Class], np.ndarray]:
    T = problem.allowed if agnostic else problem.throughputs
    out: list[Class] = []
    index: dict[tuple, int] = {}
    class_of = np.zeros(len(problem.jobs), dtype=int)
    for m, job in enumerate(problem.jobs):
        # heterogeneity-agnostic: every type runs every job at 1, so types do not matter
        kind = "" if agnostic and not per_job else job.job_type
        key = (m,) if per_job else (kind, job.scale, job.weight, job.gpu_types)
        if key not in index:
            index[key] = len(out)
            mask = problem.allowed[m] if job.gpu_types else None
            out.append(Class([], job.scale, job.weight, kind, T[m], mask))
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
    T = problem.allowed if agnostic else problem.throughputs
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
    report = check(out)
    if report:
        raise RuntimeError(f"allocation of {policy} fails its check: {report[0]}")
    out.wall_s = time.perf_counter() - start
    return out


def spread_evenly(a: Allocation) -> Allocation:
    """Heterogeneity-agnostic max-min fairness: every type runs every job at rate 1, so
    the LP cannot tell types apart and any split of a job's time over them is optimal.
    Split it in proportion to each type's GPUs, the choice that treats types alike (an
    interior-point solver's central solution when types have equal counts): same
    objective, and feasible since the total time fits the total GPUs."""
    a.single = _spread(a.single, a.problem)
    return a


def _spread(rows: np.ndarray, problem: AllocProblem) -> np.ndarray:
    """Each row's total time split over the types in proportion to their GPUs."""
    return rows.sum(axis=1, keepdims=True) * equal_share(problem)[None, :]


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
    return spread_evenly(out) if agnostic else out


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
    if a.shared:
        keys = list(a.shared)
        frac = np.array([a.shared[k] for k in keys])  # (pairs, types)
        c, d = (np.array(side) for side in zip(*keys))
        size = np.array([cl.n for cl in a.classes], dtype=float)
        per_class = np.zeros(len(a.classes))
        np.add.at(per_class, c, frac.sum(axis=1))
        total += per_class[a.class_of]
        index = {k: i for i, k in enumerate(keys)}
        below = np.flatnonzero(c < d)
        mirror = np.array([index.get((d[i], c[i]), -1) for i in below], dtype=int)
        other = np.where((mirror >= 0)[:, None], frac[mirror], 0.0)
        here = size[c[below], None] * frac[below]
        split = ~np.isclose(here, size[d[below], None] * other, atol=tol).all(axis=1)
        for i in below[split]:
            bad.append(f"pair time of classes {c[i]}, {d[i]} differs by side")
        scale_of = np.array([cl.scale for cl in a.classes], dtype=float)
        counted = np.where(c < d, 1.0, np.where(c == d, 0.5, 0.0))  # a pair counted once
        used += ((scale_of[c] * size[c] * counted)[:, None] * frac).sum(axis=0)
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
        thr = (p.allowed * a.single).sum(axis=1)
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


# ---------------------------------------------------------------- round after round
class RoundLP:
    """One policy's class LP kept from round to round (max-min fairness, its perf and
    packed forms, max sum throughput).

    Rounds change which classes are present and how many jobs each has, which
    moves only coefficients: ``n_c`` in the capacity and pair-consistency rows,
    whether a class's fairness row binds, and (packed) whether a class can pair
    with itself. So the model is built once over the classes seen so far (again
    when a new class appears), and each round updates those coefficients and
    re-solves on a MathOpt back-end, whose GLOP warm-starts its dual simplex
    from the previous basis. The answer is the same optimum as :func:`allocate`
    (same objective; it may be another vertex), and is checked the same way.
    """

    INCREMENTAL = ("max_min_fairness", "max_min_fairness_perf", "max_min_fairness_packed",
                   "max_sum_throughput")  # fmt: skip

    def __init__(self, policy: str, solver: str = "glop") -> None:
        if policy not in self.INCREMENTAL:
            raise InputError(f"RoundLP: policy must be one of {', '.join(self.INCREMENTAL)}")
        from ..solvers.linear import SOLVERS

        if SOLVERS.get(solver, ("", ""))[0] != "mathopt":
            raise InputError(f"RoundLP needs a MathOpt LP solver (glop, pdlp), got {solver!r}")
        self.policy, self.solver = policy, solver
        self.keys: list[tuple] = []
        self._built_for: tuple = ()

    def allocate(self, problem: AllocProblem) -> Allocation:
        start = time.perf_counter()
        agnostic = self.policy == "max_min_fairness"
        present, class_of = classes_of(problem, False, agnostic)
        keys = [
            (cl.job_type, cl.scale, cl.weight, problem.jobs[cl.members[0]].gpu_types)
            for cl in present
        ]
        values, pairs, index = self._solve(dict(zip(keys, (cl.n for cl in present))), problem)
        p = problem
        single = np.zeros((len(p.jobs), len(p.types)))
        shared: dict[tuple[int, int], np.ndarray] = {}
        where = {index[k]: c for c, k in enumerate(keys)}  # universe -> present class
        for c, k in enumerate(keys):
            single[present[c].members] = values[index[k]]
        for (u, v), got in pairs.items():
            if u in where and v in where and got.any():
                shared[(where[u], where[v])] = got
        out = Allocation(self.policy, p, single, present, class_of, shared, lps=1)
        out.solver = self.model.solver + " (incremental)"
        if agnostic:
            spread_evenly(out)
        bad = check(out)
        if bad:
            raise RuntimeError(f"allocation of {self.policy} fails its check: {bad[0]}")
        out.wall_s = time.perf_counter() - start
        return out

    def rows(self, counts: dict[tuple, int], cluster: AllocProblem) -> dict[tuple, np.ndarray]:
        """The allocation by class, for a simulator that keeps its jobs' classes: ``counts``
        maps each class present, ``(job type, scale, weight, allowed GPU types)`` (job
        type ``""`` for heterogeneity-agnostic max-min fairness), to its number of
        jobs; ``cluster`` is any round of the cluster (its GPUs and throughputs; its
        jobs are not read). Each class's time per GPU type, which every job of the
        class gets; checked at the class level like :func:`check` (fractions in [0, 1],
        a job's total <= 1, each type's GPUs), and the objective recomputed from the
        rows (``self.objective``). Space sharing has pairs of classes: use
        :meth:`allocate`."""
        if self.policy == "max_min_fairness_packed":
            raise InputError("RoundLP.rows: packed max-min fairness allocates pairs; use allocate")
        values, _, index = self._solve(counts, cluster)
        types = cluster.types
        keys = list(counts)
        R = np.array([values[index[k]] for k in keys])
        if self.policy == "max_min_fairness":  # as spread_evenly
            R = _spread(R, cluster)
        out = dict(zip(keys, R))
        n = np.array([counts[k] * k[1] for k in keys], dtype=float)
        tol = 1e-6
        bad = (R < -tol).any(axis=1) | (R.sum(axis=1) > 1 + tol)
        if bad.any():
            raise RuntimeError(
                f"allocation of {self.policy} fails its check: class {keys[int(np.argmax(bad))]}"
            )
        used = n @ R
        for i, t in enumerate(types):
            if used[i] > cluster.gpus[t] * (1 + tol) + tol:
                raise RuntimeError(f"allocation of {self.policy}: type {t} uses {used[i]:.9g}")
        at = [index[k] for k in keys]
        thr = (self._thr[at] * R).sum(axis=1)
        if self.policy == "max_sum_throughput":
            self.objective = float(np.array([counts[k] for k in keys]) @ thr)
        else:
            self.objective = float((thr / self._norm[at]).min())
        return out

    def _solve(
        self, counts: dict[tuple, int], problem: AllocProblem
    ) -> tuple[dict[int, np.ndarray], dict[tuple[int, int], np.ndarray], dict[tuple, int]]:
        """The LP's values for these class counts: per class of the universe (its index)
        and per class pair, and the universe's index; built again when a class is new or
        the cluster changed, re-solved only for counts not met before."""
        new = [k for k in counts if k not in self.keys]
        if new or self._built_for != (problem.types, tuple(problem.gpus.values())):
            self.keys += new
            self._build(problem, self.policy == "max_min_fairness")
            self._index = {k: i for i, k in enumerate(self.keys)}
        n = tuple(counts.get(k, 0) for k in self.keys)
        if n not in self._memo:  # the same counts make the same LP: solve it once
            self._update(list(n))
            outcome = self.model.resolve()
            if outcome.status is not Status.OPTIMAL:
                raise RuntimeError(f"allocation LP of {self.policy} ended {outcome.status.value}")
            flat = np.clip(self.model.values(self._flat), 0, None)
            nt = len(problem.types)
            values = dict(enumerate(flat[: nt * len(self.keys)].reshape(len(self.keys), nt)))
            rest = flat[nt * len(self.keys) :].reshape(-1, nt)
            pairs = dict(zip(self.pairs, rest))
            self._memo[n] = (values, pairs)
        values, pairs = self._memo[n]
        return values, pairs, self._index

    def _build(self, problem: AllocProblem, agnostic: bool) -> None:
        from ..solvers.mathopt import MathOptModel

        m = new_model("round", SolveOptions(extra={"solver": self.solver}), integer=False)
        assert isinstance(m, MathOptModel)
        self.model = m
        types = problem.types

        self.universe = [
            Class([], k[1], k[2], k[0], allowed_row(types, k[3]) * np.array([
                1.0 if agnostic else problem.single(k[0], k[1], t) for t in types
            ]), allowed_row(types, k[3]) if k[3] else None)
            for k in self.keys
        ]  # fmt: skip
        classes = self.universe
        g = equal_share(problem)
        self.norm = [cl.weight * float(cl.throughput @ g) / cl.scale for cl in classes]
        self._norm = np.array(self.norm)
        self._thr = np.array([cl.throughput for cl in classes])
        self.s = [[m.continuous(f"s{c}_{t}") for t in types] for c in range(len(classes))]
        self.pairs: dict[tuple[int, int], list[Any]] = {}
        self.rates: dict[tuple[int, int], np.ndarray] = {}
        if self.policy == "max_min_fairness_packed":
            for c, one in enumerate(classes):
                for d, other in enumerate(classes):
                    if one.scale != other.scale:
                        continue
                    rc, rd = pair_rates(problem, one, other), pair_rates(problem, other, one)
                    if (rc > 0).any() or (rd > 0).any():
                        self.rates[(c, d)] = rc
                        self.pairs[(c, d)] = [
                            m.continuous(f"p{c}_{d}_{t}", hi=1.0 if rc[k] or rd[k] else 0.0)
                            for k, t in enumerate(types)
                        ]
        self.hi = {key: [v.upper_bound for v in xs] for key, xs in self.pairs.items()}
        self._flat = [v for row in self.s for v in row] + [
            v for xs in self.pairs.values() for v in xs
        ]  # every class's and pair's variables, read in one call
        self.consistency = {}
        for (c, d), xs in self.pairs.items():
            if c < d:
                ys = self.pairs[(d, c)]
                self.consistency[(c, d)] = [
                    m.constraint(xs[k] - ys[k] == 0) for k in range(len(types))
                ]
        for c in range(len(classes)):
            terms = list(self.s[c])
            terms += [v for (first, _), xs in self.pairs.items() if first == c for v in xs]
            m.add(m.total(terms) <= 1.0)
        self.capacity = [
            m.constraint(
                m.total(self.s[c][k] for c in range(len(classes))) <= float(problem.gpus[t])
            )
            for k, t in enumerate(types)
        ]
        thr = []
        for c, cl in enumerate(classes):
            terms = [float(cl.throughput[k]) * v for k, v in enumerate(self.s[c])]
            for (first, d), xs in self.pairs.items():
                if first == c:
                    terms += [float(self.rates[(c, d)][k]) * v for k, v in enumerate(xs)]
            thr.append(m.total(terms))
        if self.policy == "max_sum_throughput":
            self.z = None
            m.maximize(m.total(thr))
            self.thr_vars = thr
        else:
            self.z = m.continuous("z")
            self.fair = [
                m.constraint(thr[c] - self.norm[c] * self.z >= 0) for c in range(len(classes))
            ]
            m.maximize(self.z)
        self._built_for = (problem.types, tuple(problem.gpus.values()))
        self._n: list[int | None] = []
        self._memo: dict[
            tuple[int, ...], tuple[dict[int, np.ndarray], dict[tuple[int, int], np.ndarray]]
        ] = {}

    def _update(self, n: list[int]) -> None:
        """Set the coefficients that depend on the class counts ``n``, for the classes
        whose count changed since the last round (all of them after a build)."""
        m, classes, nt = self.model, self.universe, len(self.capacity)
        old = self._n if len(getattr(self, "_n", ())) == len(n) else [None] * len(n)
        changed = {c for c in range(len(n)) if n[c] != old[c]}
        self._n = list(n)
        for c in changed:
            cl = classes[c]
            for k in range(nt):
                m.set_coefficient(self.capacity[k], self.s[c][k], float(cl.scale * n[c]))
            if self.z is not None:  # an absent class's row never binds
                m.set_coefficient(self.fair[c], self.z, -self.norm[c] if n[c] else 0.0)
            else:
                for k, v in enumerate(self.s[c]):
                    m.set_objective_coefficient(v, float(n[c] * cl.throughput[k]))
        for (c, d), xs in self.pairs.items():
            if c not in changed and d not in changed:
                continue
            for k in range(nt):
                if c < d:
                    m.set_coefficient(self.capacity[k], xs[k], float(classes[c].scale * n[c]))
                    m.set_coefficient(self.consistency[(c, d)][k], xs[k], float(n[c]))
                    m.set_coefficient(
                        self.consistency[(c, d)][k], self.pairs[(d, c)][k], -float(n[d])
                    )
                elif c == d:
                    m.set_coefficient(self.capacity[k], xs[k], float(classes[c].scale * n[c]) / 2)
                    m.set_upper(xs[k], self.hi[(c, d)][k] if n[c] >= 2 else 0.0)
                if self.z is None:
                    m.set_objective_coefficient(xs[k], float(n[c] * self.rates[(c, d)][k]))
