"""MILP for placement on the linear layer; the constraint families live in
:mod:`.formulation`.

Same variables and constraint families as the CP-SAT model, with exact real
coefficients; ``q = u AND p`` and ``w = x P`` use the standard linearisations.
Any MILP back-end of :mod:`optsched.solvers.linear` solves it (``--solver``).
"""

from __future__ import annotations

from ...solvers import linear
from ...solvers.common import MethodOutput, SolveOptions, starting_from
from .formulation import Formulation, PlacementModel
from .heuristics import density_greedy
from .instance import PlacementInstance


def solve_milp(instance: PlacementInstance, options: SolveOptions) -> MethodOutput:
    f = Formulation(instance)
    lm = linear.new_model("placement", options)
    start = options.warm_start or density_greedy(instance)
    with starting_from(start):
        model = PlacementModel(f, lm)
        model.objective()
    model.hint(*f.from_solution(start))
    out = lm.solve(options)
    params = {"solver": linear.solver_name(options)}
    if not out.status.has_solution:
        return out.output(params, start=start)
    counts = {k: int(round(lm.value(v))) for k, v in model.x.items() if round(lm.value(v))}
    partner: dict[int, int] = {}
    for q, v in zip(f.pairs, model.p):
        if lm.value(v) > 0.5:
            partner[q.a], partner[q.b] = q.b, q.a
    single_type = {j: t for (j, t, _), v in model.u.items() if j in f.single and lm.value(v) > 0.5}
    return out.output(params, f.to_solution(counts, partner, single_type))
