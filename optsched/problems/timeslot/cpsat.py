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

from ...core import Status
from ...solvers import cpsat
from ...solvers.common import MethodOutput, SolveOptions
from ...solvers.cpsat import CpSatModel
from . import formulation as F
from .bounds import beyond_horizon, min_slots
from .instance import TimeslotInstance, TimeslotObjective

WORK_UNITS = 10**9
SCALE = 10**9


def _objective(be: CpSatModel, instance: TimeslotInstance, done: dict) -> tuple[float, float]:
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
        m.minimize(
            sum(round(job.weight * SCALE) * (done[j] - job.release) for j, job in enumerate(jobs))
        )
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


def solve_cpsat(instance: TimeslotInstance, options: SolveOptions) -> MethodOutput:
    why = beyond_horizon(instance)
    if why is not None:  # proven by the bound alone: no model needed
        return MethodOutput(Status.INFEASIBLE, None, None, "none (bound)", message=why)
    jobs = instance.jobs
    be = CpSatModel()
    be.deadline = options  # building counts against the time limit

    def progress(j: int, rate: float, seconds: float, up: bool) -> int:
        units = rate * seconds / jobs[j].work * WORK_UNITS
        return math.ceil(units) if up else math.floor(units)

    r, f, lv = F.build(be, instance, progress, lambda j: WORK_UNITS)
    to_real, widen = _objective(be, instance, F.completion_slots(be, instance, f))
    start = F.hint(be, instance, r, f, options.warm_start)

    solver, status = cpsat.run(be.m, options)
    params = cpsat.parameters(
        options,
        solver,
        work_units=WORK_UNITS,
        objective_scale=1 / to_real,
        scaling_rule="work scaled to 1e9 units per job, progress rounded "
        "up; objective coefficients x 1e9 rounded, bound "
        "lowered by the rounding error",
    )
    if not status.has_solution:
        return MethodOutput(status, None, None, cpsat.VERSION, params, start=start)
    bound = max(0.0, (solver.best_objective_bound - widen) * to_real)
    if lv is not None:
        return MethodOutput(
            status, F.locality_solution(instance, lv, solver.value), bound, cpsat.VERSION, params
        )
    on = [key for key, v in r.items() if solver.value(v)]
    return MethodOutput(status, F.to_solution(instance, on), bound, cpsat.VERSION, params)
