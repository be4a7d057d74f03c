"""MILP for timeslot on the linear layer; the constraint families live in :mod:`.formulation`.

Same skeleton as the CP-SAT model (variables, constraint families, objective,
start, extraction), with exact real coefficients. Any MILP back-end of
:mod:`optsched.solvers.linear` solves it (``--solver``).
"""

from __future__ import annotations

from typing import Any

from ...core import Status
from ...solvers import linear
from ...solvers.common import MethodOutput, SolveOptions
from ...solvers.linear import LinearModel
from . import formulation as F
from .bounds import beyond_horizon, lower_bound
from .instance import TimeslotInstance, TimeslotObjective


def objective(be: LinearModel, instance: TimeslotInstance, done: dict[int, Any]) -> None:
    """Makespan ``C >= Delta done_j``; ``sum_j w_j Delta (done_j - r_j)``; or
    ``rho >= (done_j - r_j) Delta / T^id_j``. ``done_j`` is ``C_j / Delta``."""
    jobs, delta = instance.jobs, instance.slot_seconds
    if instance.objective is TimeslotObjective.MAKESPAN:
        cmax = be.continuous("makespan", lower_bound(instance))
        for j in done:
            be.add(cmax >= delta * done[j])
        be.minimize(cmax)
    elif instance.objective is TimeslotObjective.WEIGHTED_COMPLETION:
        be.minimize(
            be.total(job.weight * delta * (done[j] - job.release) for j, job in enumerate(jobs))
        )
    else:
        rho = be.continuous("rho", lower_bound(instance))
        for j, job in enumerate(jobs):
            be.add(rho >= (done[j] - job.release) * (delta / instance.ideal_time[job.id]))
        be.minimize(rho)


def solve_milp(instance: TimeslotInstance, options: SolveOptions) -> MethodOutput:
    why = beyond_horizon(instance)
    if why is not None:  # proven by the bound alone: no model needed
        return MethodOutput(Status.INFEASIBLE, None, None, "none (bound)", message=why)
    jobs = instance.jobs
    be = linear.new_model("timeslot", options)
    r, f, lv = F.build(be, instance, lambda j, rate, sec, up: rate * sec, lambda j: jobs[j].work)
    objective(be, instance, F.completion_slots(be, instance, f))
    start = F.hint(be, instance, r, f, options.warm_start)

    out = be.solve(options)
    params = {"solver": linear.solver_name(options)}
    if not out.status.has_solution:
        return out.output(params, start=start)
    if lv is not None:
        return out.output(params, F.locality_solution(instance, lv, be.value))
    on = [key for key, v in r.items() if be.value(v) > 0.5]
    return out.output(params, F.to_solution(instance, on))
