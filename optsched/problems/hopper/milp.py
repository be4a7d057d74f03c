"""Cerebro's big-M MILP for hopper (Section 5.1, Eq. 1-2), over unordered pairs.

Same skeleton as the CP-SAT model:

* ``X[i,j] >= 0``: start of unit ``(i, j)``; ``C``: makespan.
* Model isolation, for ``j < j'``, with binary ``Y[i,j,j']`` (1: ``(i,j)`` after ``(i,j')``):
  ``X_ij >= X_ij' + T_ij' - V Y_ijj'`` and ``X_ij' >= X_ij + T_ij - V (1 - Y_ijj')``.
* Worker exclusivity, for ``i < i'``, with binary ``Z[i,i',j]``:
  ``X_ij >= X_i'j + T_i'j - V Z_ii'j`` and ``X_i'j >= X_ij + T_ij - V (1 - Z_ii'j)``.
* Makespan: ``C >= X_ij + T_ij``, ``LB <= C <= UB``.

The paper quantifies over all pairs, which with ``i = i'`` is infeasible;
one binary per unordered pair is the intended model with half the binaries.
``V = UB``, the makespan of the warm start (or the dense greedy), is a valid
big-M because every start lies in ``[0, UB]``.
"""

from __future__ import annotations

import pulp

from ...errors import InputError
from ...registry import register
from ...result import Status
from ...solvers import milp
from ...solvers.common import MethodOutput, SolveOptions
from .heuristics import dense_greedy, makespan, retime
from .instance import FAMILY, HopperInstance, lower_bound
from .solution import HopperSolution


@register(FAMILY, "milp", "exact", "Cerebro's big-M MILP (PuLP; CBC, or HiGHS with "
          "--solver highs)")
def solve_milp(instance: HopperInstance, options: SolveOptions) -> MethodOutput:
    T = instance.times
    n, p = instance.num_configs, instance.num_workers
    if instance.replicated:
        raise InputError("hopper exact models handle unreplicated partitions only "
                         "(each unit on its partition's worker)")
    if options.warm_start is not None:
        start = retime(T, options.warm_start.starts)
    else:
        start = dense_greedy(T)
    ub = makespan(T, start)
    lb = lower_bound(instance)
    if ub <= lb:  # the starting schedule meets the solver-free bound: nothing to search
        return MethodOutput(Status.OPTIMAL, HopperSolution(tuple(map(tuple, start))), lb,
                            "none (start meets the bound)", {"solver": milp.solver_name(options)})
    V = ub

    prob = pulp.LpProblem("hopper", pulp.LpMinimize)
    X = [[pulp.LpVariable(f"X_{i}_{j}", 0, ub) for j in range(p)]
         for i in range(n)]
    C = pulp.LpVariable("C", lb, ub)
    prob += C
    for i in range(n):  # model isolation
        for j in range(p):
            for k in range(j + 1, p):
                y = pulp.LpVariable(f"Y_{i}_{j}_{k}", cat="Binary")
                prob += X[i][j] >= X[i][k] + T[i][k] - V * y
                prob += X[i][k] >= X[i][j] + T[i][j] - V * (1 - y)
                y.setInitialValue(1 if start[i][j] >= start[i][k] else 0)
    for j in range(p):  # worker exclusivity
        for i in range(n):
            for k in range(i + 1, n):
                z = pulp.LpVariable(f"Z_{i}_{k}_{j}", cat="Binary")
                prob += X[i][j] >= X[k][j] + T[k][j] - V * z
                prob += X[k][j] >= X[i][j] + T[i][j] - V * (1 - z)
                z.setInitialValue(1 if start[i][j] >= start[k][j] else 0)
    for i in range(n):
        for j in range(p):
            prob += C >= X[i][j] + T[i][j]
            X[i][j].setInitialValue(start[i][j])
    C.setInitialValue(ub)

    out = milp.solve(prob, options, warm=True)
    params = {"solver": milp.solver_name(options), "big_m": V}
    if not out.status.has_solution:
        if out.status is Status.TIME_LIMIT:  # the starting schedule stands
            return MethodOutput(Status.FEASIBLE, HopperSolution(tuple(map(tuple, start))),
                                out.bound, out.solver, params,
                                "no better solution within the limit; start returned")
        return MethodOutput(out.status, None, out.bound, out.solver, params, out.message)
    raw = [[X[i][j].value() or 0.0 for j in range(p)] for i in range(n)]
    starts = retime(T, raw)
    return MethodOutput(out.status, HopperSolution(tuple(map(tuple, starts))), out.bound,
                        out.solver, params, out.message)
