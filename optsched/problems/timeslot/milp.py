"""MILP (PuLP) model for timeslot; the constraints are stated in :mod:`.formulation`.

Same skeleton as the CP-SAT model with exact real coefficients.
"""

from __future__ import annotations

import pulp

from ...registry import register
from ...result import Status
from ...solvers import milp
from ...solvers.common import MethodOutput, SolveOptions
from .bounds import lower_bound
from .formulation import check_supported, from_solution, keys, to_solution
from .heuristics import greedy_srtf
from .instance import FAMILY, TimeslotInstance, TimeslotObjective


@register(FAMILY, "milp", "exact", "MILP time-indexed model (PuLP; CBC, or HiGHS with "
          "--solver highs)")
def solve_milp(instance: TimeslotInstance, options: SolveOptions) -> MethodOutput:
    check_supported(instance)
    jobs, H = instance.jobs, instance.num_slots
    delta, o = instance.slot_seconds, instance.restart_overhead
    prob = pulp.LpProblem("timeslot", pulp.LpMinimize)
    K = keys(instance)
    r = {k: pulp.LpVariable(f"r_{k[0]}_{k[1]}_{k[2]}", cat="Binary") for k in K}
    f = {(j, k): pulp.LpVariable(f"f_{j}_{k}", cat="Binary") for j, job in enumerate(jobs)
         for k in range(job.release, H)}
    for j, job in enumerate(jobs):  # complete, no_run_after, one_type
        prob += pulp.lpSum(f[j, k] for k in range(job.release, H)) == 1
        for k in range(job.release, H):
            alive = pulp.lpSum(f[j, kk] for kk in range(k, H))
            prob += pulp.lpSum(r[j, t, k] for t in instance.pools[job.id]) <= alive
    for t in instance.cluster.gpu_types:  # capacity
        for k in range(H):
            load = [jobs[j].num_gpus * v for (j, tt, kk), v in r.items() if tt == t and kk == k]
            if load:
                prob += pulp.lpSum(load) <= instance.cluster.capacity(t)
    for j, job in enumerate(jobs):  # restart and work
        terms = []
        for t in instance.pools[job.id]:
            rate = instance.rate(job.id, t)
            for k in range(job.release, H):
                terms.append(rate * delta * r[j, t, k])
                if o > 0:
                    b = pulp.LpVariable(f"b_{j}_{t}_{k}", cat="Binary")
                    prev = r[j, t, k - 1] if k > job.release else 0
                    prob += b >= r[j, t, k] - prev
                    terms.append(-rate * o * b)
        prob += pulp.lpSum(terms) >= job.work
    done = {j: delta * pulp.lpSum((k + 1) * f[j, k] for k in range(job.release, H))
            for j, job in enumerate(jobs)}
    if instance.objective is TimeslotObjective.MAKESPAN:
        cmax = pulp.LpVariable("makespan", lower_bound(instance))
        for j in done:
            prob += cmax >= done[j]
        prob += cmax
    elif instance.objective is TimeslotObjective.WEIGHTED_COMPLETION:
        prob += pulp.lpSum(job.weight * (done[j] - job.release * delta)
                           for j, job in enumerate(jobs))
    else:
        rho = pulp.LpVariable("rho", lower_bound(instance))
        for j, job in enumerate(jobs):
            prob += rho >= (done[j] - job.release * delta) * (1.0 / instance.ideal_time[job.id])
        prob += rho
    warm = options.warm_start or greedy_srtf(instance)
    runs, finish = from_solution(instance, warm)
    use_warm = len(finish) == len(jobs)
    if use_warm:
        for key, v in r.items():
            v.setInitialValue(int(key in runs))
        for (j, k), v in f.items():
            v.setInitialValue(int(finish[j] == k))

    out = milp.solve(prob, options, warm=use_warm)
    params = {"solver": milp.solver_name(options)}
    if not out.status.has_solution:
        if out.status is Status.TIME_LIMIT and use_warm:  # the start stands
            return MethodOutput(Status.FEASIBLE, warm, out.bound, out.solver, params,
                                "no better solution within the limit; start returned")
        return MethodOutput(out.status, None, out.bound, out.solver, params, out.message)
    on = [key for key, v in r.items() if (v.value() or 0) > 0.5]
    return MethodOutput(out.status, to_solution(instance, on), out.bound, out.solver, params,
                        out.message)
