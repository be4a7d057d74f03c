"""CP-SAT model for timeslot; the constraint families live in :mod:`.formulation`.

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
from typing import Any

from ortools.sat.python import cp_model

from ...registry import register
from ...result import Status
from ...solvers import cpsat
from ...solvers.common import MethodOutput, SolveOptions
from . import formulation as F
from .bounds import min_slots
from .heuristics import greedy_srtf
from .instance import FAMILY, TimeslotInstance, TimeslotObjective

WORK_UNITS = 10**9
SCALE = 10**9


class _Cp(F.Backend):
    def __init__(self) -> None:
        self.m = cp_model.CpModel()

    def binary(self, name: str) -> Any:
        return self.m.new_bool_var(name)

    def add(self, constraint: Any) -> None:
        self.m.add(constraint)


def _objective(be: _Cp, instance: TimeslotInstance, done: dict) -> tuple[float, float]:
    """Adds the objective; returns (scale to seconds or ratio, bound widening)."""
    jobs, H, delta = instance.jobs, instance.num_slots, instance.slot_seconds
    m = be.m
    if instance.objective is TimeslotObjective.MAKESPAN:
        low = min_slots(instance)
        cmax = m.new_int_var(max(job.release + low[job.id] for job in jobs), H, "makespan")
        for j in done:
            m.add(cmax >= done[j])
        m.minimize(cmax)
        return delta, 0.0
    if instance.objective is TimeslotObjective.WEIGHTED_COMPLETION:
        m.minimize(sum(round(job.weight * SCALE) * (done[j] - job.release)
                       for j, job in enumerate(jobs)))
        widen = H * sum(abs(job.weight * SCALE - round(job.weight * SCALE)) for job in jobs)
        return delta / SCALE, widen
    rho = m.new_int_var(0, 10**15, "rho")
    widen = 0.0
    for j, job in enumerate(jobs):
        exact = delta / instance.ideal_time[job.id] * SCALE
        m.add(rho >= round(exact) * (done[j] - job.release))
        widen = max(widen, abs(exact - round(exact)) * H)
    m.minimize(rho)
    return 1.0 / SCALE, widen


@register(FAMILY, "cpsat", "exact", "CP-SAT time-indexed model (slot x GPU type)")
def solve_cpsat(instance: TimeslotInstance, options: SolveOptions) -> MethodOutput:
    F.check_supported(instance)
    jobs = instance.jobs
    delta, o = instance.slot_seconds, instance.restart_overhead
    be = _Cp()
    r, f = F.variables(be, instance)
    F.complete(be, instance, f)
    F.no_run_after(be, instance, r, f)
    F.capacity(be, instance, r)

    def gain(j: int, t: str) -> int:
        return math.ceil(instance.rate(jobs[j].id, t) * delta / jobs[j].work * WORK_UNITS)

    def loss(j: int, t: str) -> int:
        return math.floor(instance.rate(jobs[j].id, t) * o / jobs[j].work * WORK_UNITS)

    F.work(be, instance, r, gain, loss, lambda j: WORK_UNITS)
    to_real, widen = _objective(be, instance, F.completion_slots(instance, f))
    warm = options.warm_start or greedy_srtf(instance)
    runs, finish = F.from_solution(instance, warm)
    complete = len(finish) == len(jobs)
    if complete:
        for key, v in r.items():
            be.m.add_hint(v, key in runs)
        for (j, k), v in f.items():
            be.m.add_hint(v, finish[j] == k)

    solver, status = cpsat.run(be.m, options)
    params = cpsat.parameters(options, work_units=WORK_UNITS, objective_scale=1 / to_real,
                              scaling_rule="work scaled to 1e9 units per job, progress rounded "
                                           "up; objective coefficients x 1e9 rounded, bound "
                                           "lowered by the rounding error")
    bound = None
    if status.has_solution:
        bound = max(0.0, (solver.best_objective_bound - widen) * to_real)
    if not status.has_solution:
        if status is Status.TIME_LIMIT and complete:  # the start stands
            return MethodOutput(Status.FEASIBLE, warm, bound, cpsat.VERSION, params,
                                "no better solution within the limit; start returned")
        return MethodOutput(status, None, bound, cpsat.VERSION, params)
    on = [key for key, v in r.items() if solver.value(v)]
    return MethodOutput(status, F.to_solution(instance, on), bound, cpsat.VERSION, params)
