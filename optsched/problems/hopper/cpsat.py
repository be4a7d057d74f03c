"""CP-SAT model for hopper: the open-shop model with interval variables.

Variables, constraints and objective, in the same order as the MILP:

* ``x[i,j]``: start of unit ``(i, j)``; interval ``[x_ij, x_ij + d_ij)``.
* Worker exclusivity: ``NoOverlap({[x_ij, x_ij + d_ij) : i})`` for each worker ``j``.
* Model isolation: ``NoOverlap({[x_ij, x_ij + d_ij) : j})`` for each config ``i``.
* Makespan: ``C = max_ij (x_ij + d_ij)``, with ``C >= LB`` (the solver-free bound).
* Precedences (redundant, up to :data:`MAX_PAIRS` pairs): a literal per pair of
  units sharing a worker or a config, ``b => x_u + d_u <= x_v`` and
  ``not b => x_v + d_v <= x_u``. The no-overlap constraints alone leave
  CP-SAT's bound at the load bound on dense open shops (a 4 x 3 Cerebro cell
  stayed unproven after 60 s); branching on orders proves it in milliseconds.

Integer scaling: durations are ``d_ij = T_ij * s``, with ``s`` from
:func:`optsched.solvers.cpsat.time_scale` (exact for decimal times and for
ratios with small denominators, such as Cerebro's cost / capacity). When ``s`` is not exact the
durations are rounded **down**, which relaxes the problem, so
``bound / s`` stays a valid lower bound; the schedule is then re-timed on the
exact times in the solver's order (:func:`~.heuristics.retime`).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from ortools.sat.python import cp_model

from ...core import Status, Unsupported
from ...solvers import cpsat
from ...solvers.common import MethodOutput, SolveOptions
from .heuristics import dense_greedy, makespan, retime
from .instance import HopperInstance, lower_bound
from .solution import HopperSolution


def scaled_durations(instance: HopperInstance) -> tuple[list[list[int]], float, bool]:
    s, exact = cpsat.time_scale(t for row in instance.times for t in row)
    d = [[cpsat.floor_scaled(t, s, exact) for t in row] for row in instance.times]
    return d, s, exact


def worker_exclusivity(model: cp_model.CpModel, iv: list[list[Any]]) -> None:
    """``NoOverlap({[x_ij, x_ij + d_ij) : i})`` for every worker ``j``."""
    for j in range(len(iv[0])):
        model.add_no_overlap([row[j] for row in iv])


def model_isolation(model: cp_model.CpModel, iv: list[list[Any]]) -> None:
    """``NoOverlap({[x_ij, x_ij + d_ij) : j})`` for every config ``i``."""
    for row in iv:
        model.add_no_overlap(row)


def makespan_var(
    model: cp_model.CpModel, x: list[list[Any]], d: list[list[int]], lb: int, horizon: int
) -> Any:
    """``C = max_ij (x_ij + d_ij)`` with ``LB <= C <= horizon``."""
    c = model.new_int_var(lb, horizon, "makespan")
    model.add_max_equality(c, [x[i][j] + d[i][j] for i in range(len(x)) for j in range(len(x[0]))])
    return c


#: The most precedence literals the model adds (``p C(n, 2) + n C(p, 2)``); a 100 x 100
#: open shop has 990,000, a 1024-config scale-up far more.
MAX_PAIRS = 200_000


def precedences(model: cp_model.CpModel, x: list[list[Any]], d: list[list[int]]) -> int:
    """Order literals for every pair of units on one worker or of one config; returns
    how many (none when there would be more than :data:`MAX_PAIRS`)."""
    n, p = len(x), len(x[0])
    count = p * n * (n - 1) // 2 + n * p * (p - 1) // 2
    if count > MAX_PAIRS:
        return 0
    pairs = [((a, j), (b, j)) for j in range(p) for a, b in combinations(range(n), 2)]
    pairs += [((i, a), (i, b)) for i in range(n) for a, b in combinations(range(p), 2)]
    for (ia, ja), (ib, jb) in pairs:
        first = model.new_bool_var(f"o{ia}_{ja}_{ib}_{jb}")
        model.add(x[ia][ja] + d[ia][ja] <= x[ib][jb]).only_enforce_if(first)
        model.add(x[ib][jb] + d[ib][jb] <= x[ia][ja]).only_enforce_if(~first)
    return count


#: The most units (configs x workers, times holders when replicated) the CP-SAT model
#: builds: one interval each, in Python (the largest suite instance has 65,536).
MAX_UNITS = 200_000


def solve_cpsat(instance: HopperInstance, options: SolveOptions) -> MethodOutput:
    n, p = instance.num_configs, instance.num_workers
    units = sum(len(instance.holders(j)) for j in range(p)) * n
    if units > MAX_UNITS:
        raise Unsupported(
            f"cpsat: {n:,} configs x {p} workers make {units:,} intervals, more than the "
            f"CP-SAT model builds here ({MAX_UNITS:,}); use greedy"
        )
    if instance.replicated:
        return _solve_replicated(instance, options)
    d, s, exact = scaled_durations(instance)
    # Hint and horizon: the warm start if given, else the dense greedy, on scaled times.
    if options.warm_start is not None:
        hint = retime(d, [[x * s for x in row] for row in options.warm_start.starts])
    else:
        hint = dense_greedy(d)
    horizon = int(round(makespan(d, hint)))
    lb = max(max(sum(d[i][j] for i in range(n)) for j in range(p)), max(map(sum, d)))
    # The start, re-timed on exact times, is the answer if CP-SAT finds nothing better.
    fallback = retime(instance.times, hint)
    start = HopperSolution(tuple(map(tuple, fallback)))
    params = {
        "time_scale": s,
        "scaling_exact": exact,
        "scaling_rule": "durations x time_scale, rounded down; bound / time_scale; "
        "schedule re-timed on exact times",
    }
    if makespan(instance.times, fallback) <= lower_bound(instance):
        return MethodOutput(
            Status.OPTIMAL,
            start,
            lower_bound(instance),
            "none (start meets the bound)",
            params,
        )
    if options.remaining() == 0.0:  # the start took the whole limit: it is the answer
        return MethodOutput(Status.TIME_LIMIT, None, None, cpsat.VERSION, params, start=start)
    model = cp_model.CpModel()
    x = [[model.new_int_var(0, horizon - d[i][j], f"x{i}_{j}") for j in range(p)] for i in range(n)]
    iv = [
        [model.new_fixed_size_interval_var(x[i][j], d[i][j], f"u{i}_{j}") for j in range(p)]
        for i in range(n)
    ]
    worker_exclusivity(model, iv)
    model_isolation(model, iv)
    params["precedence_literals"] = precedences(model, x, d)
    c = makespan_var(model, x, d, lb, horizon)
    model.minimize(c)
    cpsat.add_hints(model, ((x[i][j], round(hint[i][j])) for i in range(n) for j in range(p)))
    model.add_hint(c, horizon)

    solver, status = cpsat.run(model, options)
    params = cpsat.parameters(options, solver, **params)
    if not status.has_solution:
        return MethodOutput(status, None, None, cpsat.VERSION, params, start=start)
    order = [[solver.value(x[i][j]) for j in range(p)] for i in range(n)]
    ends = [[order[i][j] + d[i][j] for j in range(p)] for i in range(n)]
    found = retime(instance.times, order, ends)
    best = (
        start
        if makespan(instance.times, fallback) < makespan(instance.times, found)
        else HopperSolution(tuple(map(tuple, found)))
    )
    return MethodOutput(status, best, solver.best_objective_bound / s, cpsat.VERSION, params)


def _solve_replicated(instance: HopperInstance, options: SolveOptions) -> MethodOutput:
    """Replica-aware MOP: unit ``(i, j)`` runs on one worker ``w`` holding partition ``j``.

    One optional interval ``[x_ij, x_ij + d_iw)`` per holder ``w`` with presence
    ``b_ijw``; ``sum_w b_ijw = 1``; ``NoOverlap`` per worker over its present
    intervals and per config over all of its intervals; ``C >= x_ij + d_iw`` where
    ``b_ijw``. Scaling, re-timing and the start schedule as in the unreplicated model
    (the start is Cerebro's randomized scheduler, replica-aware).
    """
    from .heuristics import randomized

    n, p = instance.num_configs, instance.num_workers
    T = instance.times
    s, exact = cpsat.time_scale(t for row in T for t in row)
    d = [[cpsat.floor_scaled(t, s, exact) for t in row] for row in T]
    start = options.warm_start or randomized(instance, options.seed)

    def real_makespan(sol: HopperSolution) -> float:
        return max(sol.starts[i][j] + T[i][sol.worker(i, j)] for i in range(n) for j in range(p))

    horizon = int(real_makespan(start) * s) + 1
    least = [[min(d[i][w] for w in instance.holders(j)) for j in range(p)] for i in range(n)]
    lb = max(max(map(sum, least)), -(-sum(map(sum, least)) // p))

    model = cp_model.CpModel()
    x = [[model.new_int_var(0, horizon, f"x{i}_{j}") for j in range(p)] for i in range(n)]
    cmax = model.new_int_var(lb, horizon, "makespan")
    pres: dict[tuple[int, int, int], Any] = {}
    by_worker: dict[int, list[Any]] = {w: [] for w in range(p)}
    by_config: dict[int, list[Any]] = {i: [] for i in range(n)}
    for i in range(n):
        for j in range(p):
            for w in instance.holders(j):
                b = model.new_bool_var(f"b{i}_{j}_{w}")
                iv = model.new_optional_fixed_size_interval_var(
                    x[i][j], d[i][w], b, f"u{i}_{j}_{w}"
                )
                pres[i, j, w] = b
                by_worker[w].append(iv)
                by_config[i].append(iv)
                model.add(cmax >= x[i][j] + d[i][w]).only_enforce_if(b)
            model.add_exactly_one(pres[i, j, w] for w in instance.holders(j))
    for ivs in (*by_worker.values(), *by_config.values()):
        model.add_no_overlap(ivs)
    model.minimize(cmax)
    for i in range(n):
        for j in range(p):
            model.add_hint(x[i][j], int(start.starts[i][j] * s))
            for w in instance.holders(j):
                model.add_hint(pres[i, j, w], start.worker(i, j) == w)

    solver, status = cpsat.run(model, options)
    params = cpsat.parameters(options, solver, time_scale=s, scaling_exact=exact, replicated=True)
    if not status.has_solution:
        return MethodOutput(status, None, None, cpsat.VERSION, params, start=start)
    where = [
        [next(w for w in instance.holders(j) if solver.value(pres[i, j, w])) for j in range(p)]
        for i in range(n)
    ]
    order = [[solver.value(x[i][j]) for j in range(p)] for i in range(n)]
    ends = [[order[i][j] + d[i][where[i][j]] for j in range(p)] for i in range(n)]
    starts = retime(T, order, ends, where)
    found = HopperSolution(tuple(map(tuple, starts)), tuple(map(tuple, where)))
    best = found if real_makespan(found) <= real_makespan(start) else start
    return MethodOutput(status, best, solver.best_objective_bound / s, cpsat.VERSION, params)
