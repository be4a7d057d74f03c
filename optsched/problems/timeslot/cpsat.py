"""CP-SAT model for timeslot; the constraints are stated in :mod:`.formulation`.

Integer scaling: each job's ``work`` constraint is scaled so its work is
``10^9`` units, rounding progress per slot **up** and the overhead **down**.
That relaxes the model by at most ``(H + 1) 10^-9`` of each job's work, inside
the checker's ``10^-6`` tolerance, so solutions pass the checker and bounds
stay valid. Makespan is in whole slots (exact). Weighted completion weights
and fairness coefficients ``Delta / T^id_j`` are multiplied by ``10^9`` and
rounded; the bound is lowered by the largest total rounding error.
"""

from __future__ import annotations

import math

from ortools.sat.python import cp_model

from ...registry import register
from ...result import Status
from ...solvers import cpsat
from ...solvers.common import MethodOutput, SolveOptions
from .bounds import min_slots
from .formulation import check_supported, from_solution, keys, to_solution
from .heuristics import greedy_srtf
from .instance import FAMILY, TimeslotInstance, TimeslotObjective

WORK_UNITS = 10**9
SCALE = 10**9


@register(FAMILY, "cpsat", "exact", "CP-SAT time-indexed model (slot x GPU type)")
def solve_cpsat(instance: TimeslotInstance, options: SolveOptions) -> MethodOutput:
    check_supported(instance)
    jobs, H = instance.jobs, instance.num_slots
    delta, o = instance.slot_seconds, instance.restart_overhead
    m = cp_model.CpModel()
    K = keys(instance)
    r = {k: m.new_bool_var(f"r{k}") for k in K}
    f = {(j, k): m.new_bool_var(f"f{j}_{k}") for j, job in enumerate(jobs)
         for k in range(job.release, H)}
    # complete, no_run_after, one_type
    for j, job in enumerate(jobs):
        m.add_exactly_one(f[j, k] for k in range(job.release, H))
        for k in range(job.release, H):
            alive = sum(f[j, kk] for kk in range(k, H))
            here = [r[j, t, k] for t in instance.pools[job.id]]
            m.add(sum(here) <= alive)
    # capacity
    for t in instance.cluster.gpu_types:
        for k in range(H):
            load = [jobs[j].num_gpus * v for (j, tt, kk), v in r.items() if tt == t and kk == k]
            if load:
                m.add(sum(load) <= instance.cluster.capacity(t))
    # restart and work
    for j, job in enumerate(jobs):
        terms = []
        for t in instance.pools[job.id]:
            rate = instance.rate(job.id, t)
            gain = math.ceil(rate * delta / job.work * WORK_UNITS)
            loss = math.floor(rate * o / job.work * WORK_UNITS)
            for k in range(job.release, H):
                terms.append(gain * r[j, t, k])
                if loss:
                    b = m.new_bool_var(f"b{j}_{t}_{k}")
                    prev = r[j, t, k - 1] if k > job.release else 0
                    m.add(b >= r[j, t, k] - prev)
                    terms.append(-loss * b)
        m.add(sum(terms) >= WORK_UNITS)
    # objective
    done = {j: sum((k + 1) * f[j, k] for k in range(job.release, H)) for j, job in enumerate(jobs)}
    low = min_slots(instance)
    if instance.objective is TimeslotObjective.MAKESPAN:
        cmax = m.new_int_var(max(job.release + low[job.id] for job in jobs), H, "makespan")
        for j in done:
            m.add(cmax >= done[j])
        m.minimize(cmax)
        to_real, widen = delta, 0.0
    elif instance.objective is TimeslotObjective.WEIGHTED_COMPLETION:
        m.minimize(sum(round(job.weight * SCALE) * (done[j] - job.release)
                       for j, job in enumerate(jobs)))
        to_real = delta / SCALE
        widen = H * sum(abs(job.weight * SCALE - round(job.weight * SCALE)) for job in jobs)
    else:
        rho = m.new_int_var(0, 10**15, "rho")
        widen = 0.0
        for j, job in enumerate(jobs):
            exact = delta / instance.ideal_time[job.id] * SCALE
            m.add(rho >= round(exact) * (done[j] - job.release))
            widen = max(widen, abs(exact - round(exact)) * H)
        m.minimize(rho)
        to_real = 1.0 / SCALE
    # hints
    warm = options.warm_start or greedy_srtf(instance)
    runs, finish = from_solution(instance, warm)
    if len(finish) == len(jobs):
        for key, v in r.items():
            m.add_hint(v, key in runs)
        for (j, k), v in f.items():
            m.add_hint(v, finish[j] == k)

    solver, status = cpsat.run(m, options)
    params = cpsat.parameters(options, work_units=WORK_UNITS, objective_scale=1 / to_real,
                              scaling_rule="work scaled to 1e9 units per job, progress rounded "
                                           "up; objective coefficients x 1e9 rounded, bound "
                                           "lowered by the rounding error")
    bound = None
    if status is not Status.INFEASIBLE:
        bound = max(0.0, (solver.best_objective_bound - widen) * to_real)
    if not status.has_solution:
        if status is Status.TIME_LIMIT and len(finish) == len(jobs):  # the start stands
            return MethodOutput(Status.FEASIBLE, warm, bound, cpsat.VERSION, params,
                                "no better solution within the limit; start returned")
        return MethodOutput(status, None, bound, cpsat.VERSION, params)
    on = [key for key, v in r.items() if solver.value(v)]
    return MethodOutput(status, to_solution(instance, on), bound, cpsat.VERSION, params)
