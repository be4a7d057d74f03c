"""MILP (PuLP) model for placement; the constraint families live in :mod:`.formulation`.

Same variables and constraint families as the CP-SAT model, with exact real
coefficients; ``q = u AND p`` and ``w = x P`` use the standard linearisations.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pulp

from ...solvers import milp
from ...solvers.common import MethodOutput, SolveOptions
from .formulation import Formulation, Pair, PlacementModel
from .heuristics import density_greedy
from .instance import PlacementInstance, PlacementObjective


class _MilpModel(PlacementModel):
    def __init__(self, f: Formulation) -> None:
        self.m = pulp.LpProblem("placement", pulp.LpMaximize)
        super().__init__(f)

    def binary(self, name: str) -> Any:
        return pulp.LpVariable(name, cat="Binary")

    def integer(self, name: str, lo: int, hi: int) -> Any:
        return pulp.LpVariable(name, lo, hi, cat="Integer")

    def add(self, constraint: Any) -> None:
        self.m += constraint

    def total(self, items: Iterable[Any]) -> Any:
        return pulp.lpSum(items)

    def link_pair(self, q: Pair, v: Any, s: int) -> Any:
        g = self.cap[q.a, s]
        self.m += self.x[q.a, s] - self.x[q.b, s] <= g * (1 - v)
        self.m += self.x[q.b, s] - self.x[q.a, s] <= g * (1 - v)
        w = pulp.LpVariable(f"w_{q.a}_{q.b}_{s}", 0, g)
        self.m += w <= self.x[q.a, s]
        self.m += w <= g * v
        self.m += w >= self.x[q.a, s] - g * (1 - v)
        return w

    def conjunction(self, a: Any, b: Any, name: str) -> Any:
        both = pulp.LpVariable(name, cat="Binary")
        self.m += both <= a
        self.m += both <= b
        self.m += both >= a + b - 1
        return both

    def start(self, var: Any, value: int) -> None:
        var.setInitialValue(value)

    def objective(self) -> None:
        inst = self.inst
        if inst.objective is PlacementObjective.GPUS_USED:
            self.m += pulp.lpSum(self.gpus_in_use())
            return
        terms = self.value_terms()
        if inst.objective is PlacementObjective.WEIGHTED_THROUGHPUT:
            self.m += pulp.lpSum(
                inst.jobs[j].weight * c * v for j in self.jobs for c, v in terms[j]
            )
            return
        tau = pulp.LpVariable("tau", 0)
        for j in self.jobs:
            self.m += tau <= pulp.lpSum(c * v for c, v in terms[j])
        self.m += tau


def solve_milp(instance: PlacementInstance, options: SolveOptions) -> MethodOutput:
    f = Formulation(instance)
    model = _MilpModel(f)
    model.objective()
    start = options.warm_start or density_greedy(instance)
    model.hint(*f.from_solution(start))
    out = milp.solve(model.m, options, warm=True)
    params = {"solver": milp.solver_name(options)}
    if not out.status.has_solution:
        return out.output(params, start=start)
    counts = {k: int(round(v.value() or 0)) for k, v in model.x.items() if round(v.value() or 0)}
    partner: dict[int, int] = {}
    for q, v in zip(f.pairs, model.p):
        if (v.value() or 0) > 0.5:
            partner[q.a], partner[q.b] = q.b, q.a
    single_type = {
        j: t for (j, t, _), v in model.u.items() if j in f.single and (v.value() or 0) > 0.5
    }
    solution = f.to_solution(counts, partner, single_type)
    return out.output(params, solution)
