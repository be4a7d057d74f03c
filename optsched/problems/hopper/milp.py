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

from collections.abc import Sequence
from typing import Any

from ...core import Status, Unsupported
from ...solvers import linear
from ...solvers.common import MethodOutput, SolveOptions, starting_from
from ...solvers.linear import LinearModel
from .heuristics import dense_greedy, makespan, retime
from .instance import HopperInstance, lower_bound
from .solution import HopperSolution

#: Largest model the Python back-ends build in reasonable time and memory on a
#: 24 GiB machine.
MAX_BINARIES = 2_000_000

Grid = list[list[Any]]


def _either_order(
    lm: LinearModel, a: Any, ta: float, b: Any, tb: float, V: float, name: str, first_b: bool
) -> None:
    """``a >= b + t_b - V s`` and ``b >= a + t_a - V (1 - s)`` with a new binary ``s``."""
    s = lm.binary(name)
    lm.add(a >= b + tb - V * s)
    lm.add(b >= a + ta - V * (1 - s))
    lm.start(s, 0 if first_b else 1)


def model_isolation(
    lm: LinearModel, X: Grid, T: Sequence[Sequence[float]], V: float, start: Grid
) -> None:
    """Eq. (a)/(b): the units of config ``i`` on workers ``j < j'`` are ordered by
    ``Y[i,j,j']``."""
    for i in range(len(X)):
        for j in range(len(X[0])):
            for k in range(j + 1, len(X[0])):
                _either_order(
                    lm,
                    X[i][j],
                    T[i][j],
                    X[i][k],
                    T[i][k],
                    V,
                    f"Y_{i}_{j}_{k}",
                    start[i][k] <= start[i][j],
                )


def worker_exclusivity(
    lm: LinearModel, X: Grid, T: Sequence[Sequence[float]], V: float, start: Grid
) -> None:
    """Eq. (c)/(d): configs ``i < i'`` on worker ``j`` are ordered by ``Z[i,i',j]``."""
    for j in range(len(X[0])):
        for i in range(len(X)):
            for k in range(i + 1, len(X)):
                _either_order(
                    lm,
                    X[i][j],
                    T[i][j],
                    X[k][j],
                    T[k][j],
                    V,
                    f"Z_{i}_{k}_{j}",
                    start[k][j] <= start[i][j],
                )


def makespan_rows(lm: LinearModel, X: Grid, T: Sequence[Sequence[float]], C: Any) -> None:
    """Eq. (f): ``C >= X_ij + T_ij``."""
    for i in range(len(X)):
        for j in range(len(X[0])):
            lm.add(C >= X[i][j] + T[i][j])


def solve_milp(instance: HopperInstance, options: SolveOptions) -> MethodOutput:
    T = instance.times
    n, p = instance.num_configs, instance.num_workers
    binaries = n * p * (p - 1) // 2 + p * n * (n - 1) // 2
    if binaries > MAX_BINARIES:
        raise Unsupported(
            f"milp: Cerebro's model of this instance has {binaries:,} binaries, "
            f"more than the MILP back-ends build here ({MAX_BINARIES:,}); use cpsat"
        )
    if instance.replicated:
        raise Unsupported(
            "milp: Cerebro's MILP handles unreplicated partitions only (each unit on its "
            "partition's worker); cpsat models replicas"
        )
    solver = linear.solver_name(options)
    if options.warm_start is not None:
        start = retime(T, options.warm_start.starts)
    else:
        start = dense_greedy(T)
    ub = makespan(T, start)
    lb = lower_bound(instance)
    if ub <= lb:  # the starting schedule meets the solver-free bound: nothing to search
        return MethodOutput(
            Status.OPTIMAL,
            HopperSolution(tuple(map(tuple, start))),
            lb,
            "none (start meets the bound)",
            {"solver": solver},
        )
    V = ub

    lm = linear.new_model("hopper", options)
    with starting_from(HopperSolution(tuple(map(tuple, start)))):
        X = [[lm.continuous(f"X_{i}_{j}", 0, ub) for j in range(p)] for i in range(n)]
        C = lm.continuous("C", lb, ub)
        lm.minimize(C)
        model_isolation(lm, X, T, V, start)
        worker_exclusivity(lm, X, T, V, start)
        makespan_rows(lm, X, T, C)
    for i in range(n):
        for j in range(p):
            lm.start(X[i][j], start[i][j])
    lm.start(C, ub)

    out = lm.solve(options)
    params = {"solver": solver, "big_m": V}
    if not out.status.has_solution:
        return out.output(params, start=HopperSolution(tuple(map(tuple, start))))
    raw = [[lm.value(X[i][j]) for j in range(p)] for i in range(n)]
    starts = retime(T, raw)
    return out.output(params, HopperSolution(tuple(map(tuple, starts))))
