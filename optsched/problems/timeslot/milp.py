"""MILP (PuLP) model for timeslot; the constraint families live in :mod:`.formulation`.

Same skeleton as the CP-SAT model, with exact real coefficients.
"""

from __future__ import annotations

from typing import Any

import pulp

from ...solvers import milp
from ...solvers.common import MethodOutput, SolveOptions
from . import formulation as F
from .bounds import lower_bound
from .instance import TimeslotInstance, TimeslotObjective


class _Lp(F.Backend):
    def __init__(self) -> None:
        self.m = pulp.LpProblem("timeslot", pulp.LpMinimize)

    def binary(self, name: str) -> Any:
        return pulp.LpVariable(name, cat="Binary")

    def add(self, constraint: Any) -> None:
        self.m += constraint

    def integer(self, name: str, lo: int, hi: int) -> Any:
        return pulp.LpVariable(name, lo, hi, cat="Integer")

    def start(self, var: Any, value: int) -> None:
        var.setInitialValue(value)


def _objective(be: _Lp, instance: TimeslotInstance, done: dict) -> None:
    jobs, delta = instance.jobs, instance.slot_seconds
    if instance.objective is TimeslotObjective.MAKESPAN:
        cmax = pulp.LpVariable("makespan", lower_bound(instance))
        for j in done:
            be.m += cmax >= delta * done[j]
        be.m += cmax
    elif instance.objective is TimeslotObjective.WEIGHTED_COMPLETION:
        be.m += pulp.lpSum(
            job.weight * delta * (done[j] - job.release) for j, job in enumerate(jobs)
        )
    else:
        rho = pulp.LpVariable("rho", lower_bound(instance))
        for j, job in enumerate(jobs):
            be.m += rho >= (done[j] - job.release) * (delta / instance.ideal_time[job.id])
        be.m += rho


def solve_milp(instance: TimeslotInstance, options: SolveOptions) -> MethodOutput:
    jobs = instance.jobs
    be = _Lp()
    r, f, lv = F.build(be, instance, lambda j, rate, sec, up: rate * sec, lambda j: jobs[j].work)
    _objective(be, instance, F.completion_slots(instance, f))
    start = F.hint(be, instance, r, f, options.warm_start)

    out = milp.solve(be.m, options, warm=start is not None)
    params = {"solver": milp.solver_name(options)}
    if not out.status.has_solution:
        return out.output(params, start=start)
    if lv is not None:
        solution = F.locality_solution(instance, lv, lambda v: v.value() or 0.0)
        return out.output(params, solution)
    on = [key for key, v in r.items() if (v.value() or 0) > 0.5]
    return out.output(params, F.to_solution(instance, on))
