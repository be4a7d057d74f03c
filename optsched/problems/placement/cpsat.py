"""CP-SAT model for placement; the constraint families live in :mod:`.formulation`.

Integer scaling: objective coefficients (``w_j thr/ref``) are multiplied by
``SCALE = 10^9`` and rounded. A solution has at most two objective terms per
job (its choice and its co-location), each off by at most ``0.5 / SCALE``,
so the proven bound is widened by ``num_jobs / SCALE`` (``1 / SCALE`` per
job's ``n_j`` for ``min_throughput``) to stay valid for the exact objective.
"""

from __future__ import annotations

from typing import Any

from ...solvers import cpsat
from ...solvers.common import MethodOutput, SolveOptions, starting_from
from ...solvers.cpsat import CpSatModel
from .formulation import Formulation, Pair, PlacementModel
from .heuristics import density_greedy
from .instance import PlacementInstance, PlacementObjective

SCALE = 10**9


class _CpModel(PlacementModel):
    """The shared formulation with CP-SAT's own linking and scaled coefficients."""

    def __init__(self, f: Formulation, deadline: SolveOptions | None = None) -> None:
        self.cp = CpSatModel()
        self.cp.deadline = deadline  # building counts against the time limit
        self.m = self.cp.m
        super().__init__(f, self.cp)

    def link_pair(self, q: Pair, v: Any, s: int) -> Any:
        self.cp.grow()
        self.m.add(self.x[q.a, s] == self.x[q.b, s]).only_enforce_if(v)
        w = self.m.new_int_var(0, self.cap[q.a, s], f"w_{q.a}_{q.b}_{s}")
        self.m.add(w == self.x[q.a, s]).only_enforce_if(v)
        self.m.add(w == 0).only_enforce_if(~v)
        return w

    def conjunction(self, a: Any, b: Any, name: str) -> Any:
        self.cp.grow()
        both = self.m.new_bool_var(name)
        self.m.add_bool_and([a, b]).only_enforce_if(both)
        self.m.add_bool_or([~a, ~b, both])
        return both

    def coef(self, value: float) -> Any:
        return round(value * SCALE)

    def scaled_objective(self) -> int:
        """Adds the objective; returns the bound's widening in scaled units."""
        inst = self.inst
        if inst.objective is PlacementObjective.GPUS_USED:
            self.m.maximize(sum(self.gpus_in_use()))
            return 0
        terms = self.value_terms()
        if inst.objective is PlacementObjective.WEIGHTED_THROUGHPUT:
            self.m.maximize(
                sum(self.coef(inst.jobs[j].weight * c) * v for j in self.jobs for c, v in terms[j])
            )
            return len(inst.jobs)
        tau = self.m.new_int_var(0, 100 * SCALE, "tau")
        for j in self.jobs:
            self.m.add(tau <= sum(self.coef(c) * v for c, v in terms[j]))
        self.m.maximize(tau)
        return 1


def solve_cpsat(
    instance: PlacementInstance, options: SolveOptions, enough: float | None = None
) -> MethodOutput:
    """``enough``: a proven upper bound of the objective; the search stops at a
    placement within the scaling's rounding of it."""
    f = Formulation(instance)
    start = options.warm_start or density_greedy(instance)
    with starting_from(start):
        model = _CpModel(f, options)
        widen = model.scaled_objective()
    model.hint(*f.from_solution(start))
    scale = 1 if instance.objective is PlacementObjective.GPUS_USED else SCALE
    target = None if enough is None else enough * scale - widen
    solver, status = cpsat.run(model.m, options, target)
    params = cpsat.parameters(
        options,
        solver,
        objective_scale=scale,
        scaling_rule="objective coefficients x 1e9, rounded; bound "
        "widened by 0.5e-9 per objective term",
    )
    if not status.has_solution:
        return MethodOutput(status, None, None, cpsat.VERSION, params, start=start)
    bound = (solver.best_objective_bound + widen) / scale
    counts = {k: solver.value(v) for k, v in model.x.items() if solver.value(v)}
    partner: dict[int, int] = {}
    for q, v in zip(f.pairs, model.p):
        if solver.value(v):
            partner[q.a], partner[q.b] = q.b, q.a
    single_type = {j: t for (j, t, _), v in model.u.items() if j in f.single and solver.value(v)}
    solution = f.to_solution(counts, partner, single_type)
    return MethodOutput(status, solution, bound, cpsat.VERSION, params)
