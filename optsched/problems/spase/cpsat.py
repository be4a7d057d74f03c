"""CP-SAT model for spase: optional intervals, cumulative per server.

Same skeleton as the MILP:

* ``S_t``: start of task ``t``; ``b[t,k,n]``: task ``t`` runs configuration
  ``k`` on server ``n`` (only where the configuration fits), each with an
  optional interval ``[S_t, S_t + d_tk)`` present iff ``b``.
* One choice per task: ``sum_{k,n} b[t,k,n] = 1``.
* GPU capacity: ``Cumulative({(interval, G_tk)}, GPU_n)`` on every server.
* Makespan: ``C >= S_t + d_tk`` where ``b[t,k,n]``; ``C >= LB``.
* Symmetry: servers with the same GPU count are interchangeable (runtimes do not
  depend on the server), so they are numbered in the order of their first task:
  task ``t`` may use the class's server ``n`` only if a task before ``t`` uses the
  class's previous server (value precedence, :func:`server_precedence`). Any plan
  has such a numbering, so the optimum and the bound are unchanged; the hint is
  renumbered the same way.

GPU ids are assigned after solving: taking tasks by start time, any free
GPUs of the server will do, since the cumulative constraint leaves room at
every start (:func:`~.heuristics.assign_gpus`). Runtimes are scaled as in the
hopper model (rounded down when not exact, so ``bound / s`` stays valid) and
the plan is re-timed on the exact runtimes keeping each GPU's task order.
"""

from __future__ import annotations

import math

from ortools.sat.python import cp_model

from ...solvers import cpsat
from ...solvers.common import MethodOutput, SolveOptions
from .heuristics import assign_gpus, earliest_finish, makespan, retime
from .instance import SpaseInstance, area_time_bound


def server_classes(instance: SpaseInstance) -> list[list[int]]:
    """The servers grouped by GPU count (each group in index order): the servers that
    any plan can swap without changing a task's runtime."""
    groups: dict[int, list[int]] = {}
    for n, server in enumerate(instance.cluster.servers):
        groups.setdefault(server.num_gpus, []).append(n)
    return list(groups.values())


def canonical_servers(classes: list[list[int]], servers: list[int]) -> list[int]:
    """``servers[t]`` (task ``t``'s server) renumbered within each class in the order of
    the servers' first task, so that the plan meets :func:`server_precedence`."""
    of = {n: k for k, cls in enumerate(classes) for n in cls}
    unused = [list(cls) for cls in classes]
    rename: dict[int, int] = {}
    for n in servers:
        if n not in rename:
            rename[n] = unused[of[n]].pop(0)
    return [rename[n] for n in servers]


def server_precedence(
    model: cp_model.CpModel,
    classes: list[list[int]],
    uses: list[dict[int, list[cp_model.IntVar]]],
) -> int:
    """Task ``t`` uses server ``n`` of a class only if a task before ``t`` uses the
    class's server before ``n``: ``use(t, n) <= sum_{u < t} use(u, prev)``, where
    ``uses[t][n]`` are the literals placing task ``t`` on server ``n``. Returns how
    many constraints."""
    count = 0
    for cls in classes:
        for prev, n in zip(cls, cls[1:]):
            earlier: list[cp_model.IntVar] = []
            for by_server in uses:  # tasks in order
                here = by_server.get(n, [])
                if here:
                    model.add(sum(here) <= sum(earlier))
                    count += 1
                earlier += by_server.get(prev, [])
    return count


def solve_cpsat(instance: SpaseInstance, options: SolveOptions) -> MethodOutput:
    c = instance.cluster
    tasks = instance.tasks
    s, exact = cpsat.time_scale(cfg.runtime for t in tasks for cfg in t.configs)
    d = [[cpsat.floor_scaled(cfg.runtime, s, exact) for cfg in t.configs] for t in tasks]
    if options.warm_start is not None:
        hint = options.warm_start
        hint_cfg = {
            tid: (p.config, c.gpu2server[p.gpus[0]] if p.gpus else 0, p.start * s)
            for tid, p in hint.plans.items()
        }
        fallback = retime(
            instance, {t: (p.config, list(p.gpus), p.start) for t, p in hint.plans.items()}
        )
    else:
        greedy = earliest_finish(instance, d)
        hint_cfg = {
            tid: (p.config, c.gpu2server[p.gpus[0]], p.start) for tid, p in greedy.plans.items()
        }
        fallback = retime(
            instance, {t: (p.config, list(p.gpus), p.start) for t, p in greedy.plans.items()}
        )
    horizon = int(
        max(st + d[i][hint_cfg[t.id][0]] for i, t in enumerate(tasks) for st in [hint_cfg[t.id][2]])
        + 1
    )
    fits = {
        (i, k, n)
        for i, t in enumerate(tasks)
        for k, cfg in enumerate(t.configs)
        for n, server in enumerate(c.servers)
        if cfg.num_gpus <= server.num_gpus
    }
    # No task ends before its fastest configuration that fits a server, and the GPU-time
    # of configurations no longer than the makespan fits it (on the scaled runtimes)
    runs = [
        [(d[i][k], tasks[i].configs[k].num_gpus) for k in {kk for (ii, kk, _) in fits if ii == i}]
        for i in range(len(tasks))
    ]
    lb_long = math.ceil(area_time_bound(runs, c.num_gpus))  # integer runtimes: exact

    model = cp_model.CpModel()
    start = [model.new_int_var(0, horizon, f"S{i}") for i in range(len(tasks))]
    b: dict[tuple[int, int, int], cp_model.IntVar] = {}
    by_server: dict[int, list[tuple[cp_model.IntervalVar, int]]] = {}
    for i, k, n in sorted(fits):
        b[i, k, n] = model.new_bool_var(f"b{i}_{k}_{n}")
        iv = model.new_optional_fixed_size_interval_var(
            start[i], d[i][k], b[i, k, n], f"iv{i}_{k}_{n}"
        )
        by_server.setdefault(n, []).append((iv, tasks[i].configs[k].num_gpus))
    for i in range(len(tasks)):
        model.add_exactly_one(v for (ti, _, _), v in b.items() if ti == i)
    for n, items in by_server.items():
        model.add_cumulative([iv for iv, _ in items], [g for _, g in items], c.servers[n].num_gpus)
    classes = server_classes(instance)
    uses: list[dict[int, list[cp_model.IntVar]]] = [{} for _ in tasks]
    for (i, _, n), v in b.items():
        uses[i].setdefault(n, []).append(v)
    symmetry = server_precedence(model, classes, uses)
    cmax = model.new_int_var(lb_long, horizon, "makespan")
    for (i, k, _), v in b.items():
        model.add(cmax >= start[i] + d[i][k]).only_enforce_if(v)
    model.minimize(cmax)
    hint_servers = canonical_servers(classes, [hint_cfg[t.id][1] for t in tasks])
    for i, t in enumerate(tasks):
        k, _, st = hint_cfg[t.id]
        n = hint_servers[i]
        model.add_hint(start[i], int(round(st)))
        for key, v in b.items():
            if key[0] == i:
                model.add_hint(v, key == (i, k, n))

    solver, status = cpsat.run(model, options)
    params = cpsat.parameters(
        options,
        solver,
        time_scale=s,
        scaling_exact=exact,
        scaling_rule="runtimes x time_scale, rounded down; bound / "
        "time_scale; plan re-timed on exact runtimes",
        symmetry_constraints=symmetry,
    )
    if not status.has_solution:
        return MethodOutput(status, None, None, cpsat.VERSION, params, start=fallback)
    bound = solver.best_objective_bound / s
    choice = {}
    for (i, k, n), v in b.items():
        if solver.value(v):
            st = solver.value(start[i])
            choice[tasks[i].id] = (k, n, float(st), float(st + d[i][k]))
    gpus = assign_gpus(instance, choice)
    plans = {tid: (k, gpus[tid], st) for tid, (k, _, st, _) in choice.items()}
    found = retime(instance, plans)
    if makespan(instance, fallback) < makespan(instance, found):
        found = fallback
    return MethodOutput(status, found, bound, cpsat.VERSION, params)
