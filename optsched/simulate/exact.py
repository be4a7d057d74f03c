"""Exact placement in the loop: the placement family's CP-SAT model solved every round.

Each round, :class:`ExactPlacement` builds the placement instance of the
released jobs on the whole cluster, with the simulator's own throughput model
(GPU type, locality and, with ``space_sharing``, interference between the two
jobs of a shared GPU set), and maximises the round's weighted normalised
progress

    ``sum_j w_j n_j - sum_j w_j (o_j / R) n^iso_j [j starts on new GPUs]``

``n_j`` the job's normalised throughput (the placement objective), ``o_j`` its
restart overhead and ``R`` the round: a job that starts on new GPUs makes no
progress for ``o_j`` of the round (the charge is taken at its isolated rate).
A job *keeps* its GPUs when the model gives it the same number of GPUs on the
same servers as it holds now; the policy then hands it back exactly the GPUs
it holds (GPUs of one server are interchangeable in the throughput model), so
it runs on without a restart. Jobs still paying their restart overhead keep
their GPUs (:func:`.placing.restarting`).

Weights. ``las`` (default): ``w_j = weight_j / (1 + a_j / (g_j R))``, ``a_j``
the GPU-seconds the job has attained, so a job's claim falls as it is served,
as in least-attained-service, and a waiting gang's claim eventually beats the
small jobs around it. ``weight``: the jobs' own weights only (the plain
placement objective; large jobs may wait for ever behind small ones).
Weights are divided by the largest, which changes nothing but the scale.

Each round is warm-started from the previous round's placement (the GPUs held
now) with the waiting jobs added greedily in weight order, and solved with
one CP-SAT worker, the run's seed and a per-round time limit in CP-SAT's
deterministic time (:func:`round_options`), so that a run repeats exactly. The plan is
re-checked by the placement checker; if the solver's plan is worse than its
warm start, the warm start is used. Every round is recorded (``solves``):
its objective, CP-SAT's proven upper bound and the gap between them, so the
timeline says how far from the round's optimum each decision was.

Rounds with more than ``max_jobs`` released jobs solve over the running jobs
and the waiting ones of largest weight up to that many; the bound is then the
bound of that round problem, not of one over every job.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core import Sense, Status, Unsupported
from ..errors import InputError
from ..model.state import RULES, ClusterState
from ..problems.placement.checker import check as check_placement
from ..problems.placement.cpsat import SCALE, _CpModel
from ..problems.placement.formulation import Formulation
from ..problems.placement.instance import Job, PlacementInstance
from ..problems.placement.solution import PlacementSolution
from ..result import gap
from ..solvers import cpsat
from ..solvers.common import SolveOptions
from .engine import JobView, View
from .placing import fill, restarting

WEIGHTINGS = ("las", "weight")
#: The wall-clock cap of a round's solve, as a multiple of its time limit.
WALL_FACTOR = 10.0


def check_round_options(time_limit: float, rule: str) -> None:
    """A round solver's time limit and its placement rule, or a one-line error."""
    if not (math.isfinite(time_limit) and time_limit > 0):
        raise InputError(f"round time limit must be a number of seconds > 0, got {time_limit!r}")
    if rule not in RULES:
        raise InputError(f"placement rule must be one of {', '.join(RULES)}, got {rule!r}")


def round_options(time_limit: float, seed: int, warm_start: Any = None) -> SolveOptions:
    """One CP-SAT worker, the run's seed, and the round's time limit in CP-SAT's
    *deterministic* time (about seconds, but the same on every machine and run), so
    that a simulation repeats exactly; wall-clock time is capped at
    ``WALL_FACTOR`` times the limit."""
    return SolveOptions(
        time_limit=WALL_FACTOR * time_limit,
        workers=1,
        seed=seed,
        warm_start=warm_start,
        params={"max_deterministic_time": time_limit},
    )


@dataclass
class ExactPlacement:
    """The placement family's CP-SAT model solved each round (see the module)."""

    time_limit: float = 1.0
    space_sharing: bool = False
    weighting: str = "las"
    max_jobs: int = 200
    rule: str = "consolidated"  # of the warm start's greedy part
    name: str = "exact_placement"
    preemptive: bool = True
    clairvoyant: bool = False
    solves: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_round_options(self.time_limit, self.rule)
        if self.weighting not in WEIGHTINGS:
            raise InputError(
                f"weighting must be one of {', '.join(WEIGHTINGS)}, got {self.weighting!r}"
            )
        if self.max_jobs < 1:
            raise InputError(f"max_jobs must be >= 1, got {self.max_jobs!r}")

    def reset(self) -> None:
        self.solves = []

    def with_rule(self, rule: str) -> ExactPlacement:
        return ExactPlacement(
            self.time_limit, self.space_sharing, self.weighting, self.max_jobs, rule, self.name
        )

    def with_time_limit(self, seconds: float) -> ExactPlacement:
        return ExactPlacement(
            seconds, self.space_sharing, self.weighting, self.max_jobs, self.rule, self.name
        )

    # ------------------------------------------------------------------ round
    def weights(self, view: View, jobs: list[JobView]) -> dict[str, float]:
        r = view.round_seconds or 3600.0
        if self.weighting == "weight":
            raw = {j.id: j.weight for j in jobs}
        else:
            raw = {j.id: j.weight / (1.0 + j.attained / (j.num_gpus * r)) for j in jobs}
        top = max(raw.values())
        return {k: v / top for k, v in raw.items()}

    def schedule(self, view: View) -> Mapping[str, tuple[int, ...]]:
        jobs = list(view.jobs)
        if not jobs:
            return {}
        w = self.weights(view, jobs)
        running = [j for j in jobs if j.gpus]
        waiting = sorted((j for j in jobs if not j.gpus), key=lambda j: (-w[j.id], j.arrival))
        cands = running + waiting[: max(0, self.max_jobs - len(running))]
        order = sorted(cands, key=lambda j: (-w[j.id], j.arrival))
        start = _warm_start(view, order, self.rule)
        rnd = _Round(view, cands, w, self.space_sharing)
        t0 = time.perf_counter()
        plan, report = rnd.solve(start, self.time_limit, view.seed)
        report.update(t=view.time, jobs=len(cands), solve_s=time.perf_counter() - t0)
        self.solves.append(report)
        return plan


def _warm_start(view: View, order: list[JobView], rule: str) -> dict[str, tuple[int, ...]]:
    """The previous round's placement (every running job keeps its GPUs) with the
    waiting jobs added in ``order`` where they fit."""
    state = view.state()
    plan = {j.id: j.gpus for j in order if j.gpus}
    for j in view.running:
        if j.id not in plan:
            state.release(j.id)
    return fill(view, order, state, plan, RULES[rule])


class _Round:
    """One round's placement instance, model and concrete GPUs."""

    def __init__(
        self, view: View, jobs: list[JobView], w: Mapping[str, float], space_sharing: bool
    ) -> None:
        self.view = view
        self.jobs = jobs
        self.w = w
        pairs = space_sharing or any(j.partner for j in jobs)
        self.inst = PlacementInstance(
            f"round@{view.time:g}",
            view.cluster,
            tuple(Job(j.id, j.job_type, j.num_gpus, w[j.id], j.gpu_types) for j in jobs),
            space_sharing=pairs,
            locality=view.model.locality,
            unmeasured_interference=view.model.unmeasured_interference,
            spread=view.model.spread,
            throughput=view.model,
        )
        r = view.round_seconds
        self.charge = {  # fraction of a round a start loses
            j.id: min(1.0, view.overhead(j.id) / r) if r else 0.0 for j in jobs
        }

    # ----------------------------------------------------------------- value
    def value(self, plan: Mapping[str, tuple[int, ...]]) -> float:
        """The round objective of a plan: checked placement objective less restart charges."""
        sol = PlacementSolution({k: v for k, v in plan.items()})
        report = check_placement(self.inst, sol)
        if not report.feasible:
            kinds = ", ".join(report.by_kind())
            raise AssertionError(f"exact placement produced an infeasible round ({kinds})")
        inst, m = self.inst, self.view.model
        charge = 0.0
        for j in self.jobs:
            gpus = plan.get(j.id)
            if gpus and self.charge[j.id] and tuple(sorted(gpus)) != tuple(sorted(j.gpus)):
                iso = m.isolated(j.job_type, tuple(sorted(gpus))) / inst.reference[j.id]
                charge += self.w[j.id] * self.charge[j.id] * iso
        return float(report.objective) - charge

    # ----------------------------------------------------------------- solve
    def solve(
        self, start: Mapping[str, tuple[int, ...]], time_limit: float, seed: int
    ) -> tuple[dict[str, tuple[int, ...]], dict[str, Any]]:
        try:
            f = Formulation(self.inst)
        except Unsupported as exc:
            raise InputError(f"exact_placement: {exc}") from None
        model = _CpModel(f)
        keep = self._objective(f, model)
        counts, u, paired = f.from_solution(PlacementSolution(dict(start)))
        model.hint(counts, u, paired)
        for j, var in keep.items():
            job = self.jobs[j]
            model.m.add_hint(var, int(bool(job.gpus) and start.get(job.id) == job.gpus))
        solver, status = cpsat.run(model.m, round_options(time_limit, seed))
        best, best_value = dict(start), self.value(start)
        widen = 3 * len(self.jobs)  # at most three rounded terms per job, 0.5 each
        if status.has_solution:
            plan = self._concrete(f, model, solver)
            value = self.value(plan)
            if value >= best_value - 1e-9:
                best, best_value = plan, value
            bound = (solver.best_objective_bound + widen) / SCALE
        else:
            bound = sum(self.w.values())  # n_j <= 1
        bound = max(bound, best_value)
        proven = status is Status.OPTIMAL and gap(best_value, bound, Sense.MAX) <= 1e-6
        report = {
            "status": (Status.OPTIMAL if proven else Status.FEASIBLE).value,
            "objective": best_value,
            "bound": bound,
            "gap": gap(best_value, bound, Sense.MAX),
        }
        return best, report

    def _objective(self, f: Formulation, model: _CpModel) -> dict[int, Any]:
        """Adds the round objective; returns the ``keep`` literal of each job that can keep
        its GPUs and pays a restart charge otherwise."""
        m, inst, c = model.m, self.inst, self.inst.cluster
        terms = model.value_terms()
        obj = []
        for j in model.jobs:
            obj += [model.coef(inst.jobs[j].weight * coef) * v for coef, v in terms[j]]
        keep: dict[int, Any] = {}
        for j, job in enumerate(self.jobs):
            pen = self.w[job.id] * self.charge[job.id]
            pinned = bool(job.gpus) and restarting(self.view, job)
            if pen == 0 and not pinned:
                continue
            if pen:
                for t, lv, var in model.u_of[j]:
                    obj.append(-model.coef(pen * f.options[j, t, lv]) * var)
            if not job.gpus:
                continue
            now = f.key(j, job.gpus)
            k = m.new_bool_var(f"keep_{j}")
            m.add_implication(k, model.u[now])
            if job.num_gpus > 1:
                on = Counter(c.gpu2server[g] for g in job.gpus)
                for s in f.job_servers(j):
                    m.add(model.x[j, s] == on.get(s, 0)).only_enforce_if(k)
            if pinned:
                m.add(k == 1)
            if pen:
                obj.append(model.coef(pen * f.options[now]) * k)
            keep[j] = k
        # partners that both keep their GPUs must stay partners (else both would want
        # the same GPUs back)
        shared: dict[frozenset[int], list[Any]] = {}
        for q, p in zip(f.pairs, model.p):
            shared.setdefault(frozenset((q.a, q.b)), []).append(p)
        index = {job.id: j for j, job in enumerate(self.jobs)}
        for j, job in enumerate(self.jobs):
            mate = index.get(job.partner) if job.partner else None
            if j in keep and mate is not None and mate in keep and j < mate:
                m.add(keep[j] + keep[mate] <= 1 + sum(shared.get(frozenset((j, mate)), [])))
        m.maximize(sum(obj))
        return keep

    def _concrete(self, f: Formulation, model: _CpModel, solver: Any) -> dict[str, tuple[int, ...]]:
        """GPU ids for the solver's counts: a unit (a job, or a pair sharing GPUs) that
        some member can keep takes that member's GPUs back; the others take free GPUs
        of their servers (one-GPU units: of their type)."""
        c, inst = self.inst.cluster, self.inst
        val = solver.value
        partner: dict[int, int] = {}
        for q, v in zip(f.pairs, model.p):
            if val(v):
                partner[q.a], partner[q.b] = q.b, q.a
        units: list[tuple[tuple[int, ...], Counter[int] | str]] = []
        seen: set[int] = set()
        for j in range(len(self.jobs)):
            if j in seen:
                continue
            chosen = [(t, lv) for t, lv, var in model.u_of[j] if val(var)]
            if not chosen:
                continue
            members: tuple[int, ...] = (j, partner[j]) if j in partner else (j,)
            seen.update(members)
            if inst.jobs[j].num_gpus > 1:
                on = Counter(
                    {s: val(model.x[j, s]) for s in f.job_servers(j) if val(model.x[j, s])}
                )
                units.append((members, on))
            else:
                units.append((members, chosen[0][0]))
        state = ClusterState(c)
        plan: dict[str, tuple[int, ...]] = {}

        def give(members: tuple[int, ...], gpus: tuple[int, ...]) -> None:
            for j in members:
                plan[self.jobs[j].id] = gpus

        def held_fits(members: tuple[int, ...], where: Counter[int] | str) -> tuple[int, ...]:
            for j in members:
                held = self.jobs[j].gpus
                if not held or not state.is_free(held):
                    continue
                if isinstance(where, str):
                    if c.gpu2type[held[0]] == where:
                        return held
                elif Counter(c.gpu2server[g] for g in held) == where:
                    return held
            return ()

        multi = [(ms, wh) for ms, wh in units if not isinstance(wh, str)]
        single = [(ms, wh) for ms, wh in units if isinstance(wh, str)]
        moving = []
        # multi-GPU units first (the model counts their GPUs per server), kept ones
        # before moved ones; then one-GPU units on what is left of their type
        for members, where in multi:
            kept = held_fits(members, where)
            if kept:
                state.take_gpus(self.jobs[members[0]].id, kept)
                give(members, kept)  # the tuple the engine holds: a lease kept
            else:
                moving.append((members, where))
        for members, where in moving:
            give(members, state.take(self.jobs[members[0]].id, dict(where)))
        for members, t in single:
            kept = held_fits(members, t)
            if kept:
                state.take_gpus(self.jobs[members[0]].id, kept)
                give(members, kept)
                continue
            s = next(s for s in c.type2servers[t] if state.free[s])
            give(members, state.take(self.jobs[members[0]].id, {s: 1}))
        return plan


def exact_policies() -> dict[str, tuple[Any, str]]:
    """The exact-in-the-loop policies, with their descriptions."""
    return {
        "exact_placement": (
            ExactPlacement(),
            "placement CP-SAT each round: weighted (LAS) normalised throughput with "
            "locality, restart charges; warm-started, per-round gap",
        ),
        "exact_placement_packed": (
            ExactPlacement(space_sharing=True, name="exact_placement_packed"),
            "exact_placement with space sharing: pairs of jobs on one GPU set, with interference",
        ),
    }


__all__ = ["ExactPlacement", "exact_policies"]
