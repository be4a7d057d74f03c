"""A rolling-horizon policy on the timeslot model.

At each decision, :class:`RollingHorizon` writes the released jobs as a
timeslot instance that starts now: slots of one round, each job's remaining
work, release slot 0, objective ``weighted_completion`` (the window's
weighted JCT from now), type-level throughputs and the largest restart
overhead among them. It solves that instance with the timeslot family's
CP-SAT model (one worker, the run's seed, a per-round time limit in
deterministic time: :func:`.exact.round_options`) and applies
its first slot: the type each job runs on now. The capacity the window leaves
goes to the other jobs in shortest-remaining-time order (work-conserving), by
capacity per type as the preemptive baselines choose; a job that runs on the
type it holds keeps its GPUs and the others are placed by the placement rule.
The next decision solves again over what is left.

The window. Jobs enter shortest remaining time first, up to ``max_jobs``, and
only while the greedy shortest-remaining-time schedule of the window finishes
them within ``max_slots`` slots; the instance's horizon is that schedule's
makespan, so it is always feasible. Longer jobs wait for the leftovers until
they are short enough to enter. The model needs each job's remaining work: the
policy is clairvoyant.

Warm start: the previous round's schedule shifted one slot earlier, when it
is still feasible and better than the greedy schedule; otherwise the greedy
schedule. The solution is re-checked by the timeslot checker. Each solve is
recorded (``solves``): its objective (seconds), the proven lower bound and
the gap, for the window's jobs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core import Sense
from ..errors import InputError
from ..model.state import RULES
from ..problems.timeslot.bounds import lower_bound
from ..problems.timeslot.checker import check as check_timeslot
from ..problems.timeslot.cpsat import solve_cpsat
from ..problems.timeslot.heuristics import greedy_srtf
from ..problems.timeslot.instance import TimeslotInstance, TimeslotJob, TimeslotObjective
from ..problems.timeslot.solution import Run, TimeslotSolution
from ..result import gap
from .engine import JobView, View
from .exact import check_round_options, round_options
from .placing import best_rate, fastest_types, replan, type_rate


@dataclass
class RollingHorizon:
    """The timeslot CP-SAT model over a rolling window of rounds (see the module)."""

    time_limit: float = 1.0
    max_jobs: int = 24
    max_slots: int = 32
    rule: str = "consolidated"
    name: str = "rolling_timeslot"
    preemptive: bool = True
    clairvoyant: bool = True
    solves: list[dict[str, Any]] = field(default_factory=list)
    _last: tuple[float, TimeslotSolution] | None = None

    def __post_init__(self) -> None:
        check_round_options(self.time_limit, self.rule)
        if self.max_jobs < 1 or self.max_slots < 1:
            raise InputError("rolling horizon: max_jobs and max_slots must be >= 1")

    def reset(self) -> None:
        self.solves = []
        self._last = None

    def with_rule(self, rule: str) -> RollingHorizon:
        return RollingHorizon(self.time_limit, self.max_jobs, self.max_slots, rule, self.name)

    def with_time_limit(self, seconds: float) -> RollingHorizon:
        return RollingHorizon(seconds, self.max_jobs, self.max_slots, self.rule, self.name)

    def schedule(self, view: View) -> Mapping[str, tuple[int, ...]]:
        delta = view.round_seconds
        if not delta:
            raise InputError("rolling_timeslot needs rounds (--round): its slots are rounds")
        jobs = [j for j in view.jobs if best_rate(view, j) > 0]
        alone = {j.id: (j.remaining or 0.0) / best_rate(view, j) for j in jobs}
        order = sorted(jobs, key=lambda j: (alone[j.id], j.arrival))
        t0 = time.perf_counter()
        window = self._window(view, order, delta)
        types: dict[str, str] = {}
        if window is not None:
            inst, start = window
            sol, report = self._solve(view, inst, start)
            types = {r.job: r.gpu_type for r in sol.runs if r.slot == 0}
            report.update(t=view.time, jobs=len(inst.jobs), solve_s=time.perf_counter() - t0)
            self.solves.append(report)
        return self._place(view, order, types)

    # --------------------------------------------------------------- window
    def _instance(
        self, view: View, jobs: list[JobView], delta: float, slots: int
    ) -> TimeslotInstance:
        o = max(view.overhead(j.id) for j in jobs)
        # a job's last sliver of work (float residue) stays at least 1e-3 of a slot's
        # progress: the model's per-job scaling would otherwise blow up its coefficients
        least = {j.id: 1e-3 * best_rate(view, j) * delta for j in jobs}
        return TimeslotInstance(
            f"window@{view.time:g}",
            view.cluster,
            tuple(
                TimeslotJob(
                    j.id,
                    j.job_type,
                    j.num_gpus,
                    max(j.remaining or 0.0, least[j.id]),
                    0,
                    j.weight,
                    fastest_types(view, j),
                )
                for j in jobs
            ),  # fmt: skip
            slots,
            delta,
            TimeslotObjective.WEIGHTED_COMPLETION,
            False,
            min(o, 0.5 * delta),
        )

    def _window(
        self, view: View, order: list[JobView], delta: float
    ) -> tuple[TimeslotInstance, TimeslotSolution] | None:
        """The window's instance, with the greedy schedule that bounds its horizon."""
        picked = [j for j in order if (j.remaining or 0.0) > 0][: self.max_jobs]
        while picked:
            inst = self._instance(view, picked, delta, self.max_slots)
            greedy = greedy_srtf(inst)
            report = check_timeslot(inst, greedy)
            if report.feasible:
                ends = report.details["completion"].values()
                slots = max(1, round(max(ends) / delta))
                inst = inst.replace(num_slots=slots)
                return inst, greedy
            picked.pop()  # the longest goes back to the leftovers
        return None

    def _solve(
        self, view: View, inst: TimeslotInstance, greedy: TimeslotSolution
    ) -> tuple[TimeslotSolution, dict[str, Any]]:
        start, value = greedy, float(check_timeslot(inst, greedy).objective)
        shifted = self._shifted(view, inst)
        if shifted is not None:
            report = check_timeslot(inst, shifted)
            if report.feasible and report.objective < value:
                start, value = shifted, float(report.objective)
        out = solve_cpsat(inst, round_options(self.time_limit, view.seed, start))
        best = start
        if out.status.has_solution and out.solution is not None:
            report = check_timeslot(inst, out.solution)
            if report.feasible and report.objective <= value:
                best, value = out.solution, float(report.objective)
        bound = max(out.bound if out.bound is not None else -math.inf, lower_bound(inst))
        bound = min(bound, value)
        self._last = (view.time, best)
        g = gap(value, bound, Sense.MIN)
        status = "optimal" if g <= 1e-6 else "feasible"
        return best, {"status": status, "objective": value, "bound": bound, "gap": g}

    def _shifted(self, view: View, inst: TimeslotInstance) -> TimeslotSolution | None:
        """The last schedule from the slot that starts now on, if it was one round ago."""
        if self._last is None:
            return None
        then, sol = self._last
        k = round((view.time - then) / inst.slot_seconds)
        if k < 1 or abs(view.time - then - k * inst.slot_seconds) > 1e-6 * inst.slot_seconds:
            return None
        runs = tuple(
            Run(r.job, r.slot - k, r.gpu_type)
            for r in sol.runs
            if r.slot >= k and r.slot - k < inst.num_slots and r.job in inst.job_index
        )
        return TimeslotSolution(runs)

    # ---------------------------------------------------------------- place
    def _place(
        self, view: View, order: list[JobView], types: Mapping[str, str]
    ) -> dict[str, tuple[int, ...]]:
        """The first slot's jobs on the types the model chose, then every other job in
        shortest-remaining order on what is left (:func:`.placing.replan`: winners by
        capacity per type; a winner that runs on the type it wins keeps its GPUs)."""
        c = view.cluster
        # a running job the model moves to a type no faster than its own stays on its
        # own (the model sees types, not the restart that moving costs)
        chosen = dict(types)
        for j in order:
            if j.id in chosen and j.gpus:
                own = c.gpu2type[j.gpus[0]]
                if type_rate(view, j, own) >= type_rate(view, j, chosen[j.id]):
                    chosen[j.id] = own
        types = chosen
        first = [j for j in order if j.id in types]
        rest = [j for j in order if j.id not in types]
        return replan(view, [*first, *rest], RULES[self.rule], upgrades=True, types=types)


def rolling_policies() -> dict[str, tuple[Any, str]]:
    return {
        "rolling_timeslot": (
            RollingHorizon(),
            "timeslot CP-SAT over a rolling window of rounds (weighted JCT), first slot "
            "applied; warm-started, per-round gap",
        )
    }
