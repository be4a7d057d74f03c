"""Time-indexed formulation shared by the timeslot CP-SAT and MILP models.

Variables: ``r[j,t,k]`` job ``j`` runs in slot ``k`` on type ``t`` (slots
from its release); ``f[j,k]`` job ``j`` completes in slot ``k``;
``b[j,t,k]`` it starts (or restarts) on ``t`` in slot ``k`` (only with a
restart overhead ``o > 0``).

* ``complete``: ``sum_k f[j,k] = 1``
* ``no_run_after``: ``r[j,t,k] <= sum_{k' >= k} f[j,k']``
* ``one_type``: ``sum_t r[j,t,k] <= 1``
* ``capacity``: ``sum_j g_j r[j,t,k] <= G_t``
* ``restart``: ``b[j,t,k] >= r[j,t,k] - r[j,t,k-1]``
* ``work``: ``sum_{t,k} rho_jt (Delta r[j,t,k] - o b[j,t,k]) >= w_j``
* ``C_j = Delta sum_k (k + 1) f[j,k]``; objective as in :mod:`.instance`.

Locality is not part of these models: with ``locality`` on, runs would have
to name servers, and the exact models refuse such instances.
"""

from __future__ import annotations

from ...errors import InputError
from .instance import TimeslotInstance
from .solution import Run, TimeslotSolution


def check_supported(instance: TimeslotInstance) -> None:
    if instance.locality:
        raise InputError("timeslot exact models do not model locality; set locality to false "
                         "(runs then name GPU types only)")


def keys(instance: TimeslotInstance) -> list[tuple[int, str, int]]:
    return [(j, t, k) for j, job in enumerate(instance.jobs) for t in instance.pools[job.id]
            for k in range(job.release, instance.num_slots)]


def to_solution(instance: TimeslotInstance, on: list[tuple[int, str, int]]) -> TimeslotSolution:
    return TimeslotSolution(tuple(Run(instance.jobs[j].id, k, t) for j, t, k in on))


def from_solution(instance: TimeslotInstance, sol: TimeslotSolution
                  ) -> tuple[set[tuple[int, str, int]], dict[int, int]]:
    """Runs as keys and each job's completion slot, recomputed by the checker."""
    from .checker import check

    report = check(instance, sol)
    done = {instance.job_index[j]: int(round(c / instance.slot_seconds)) - 1
            for j, c in report.details["completion"].items()}
    runs = {(instance.job_index[r.job], r.gpu_type, r.slot) for r in sol.runs
            if r.job in instance.job_index and r.slot <= done.get(instance.job_index[r.job], -1)}
    return runs, done
