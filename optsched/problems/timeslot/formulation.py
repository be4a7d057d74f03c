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

Each family is one function below, written once for both back-ends.

Locality is not part of these models: with ``locality`` on, runs would have
to name servers, and the exact models refuse such instances.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


# --------------------------------------------------------------- constraint families
# Written once for both back-ends: a back-end gives binary variables and takes
# linear constraints built with + * <= >= ==, which CP-SAT and PuLP share.


class Backend:
    """What the constraint families need from a solver model."""

    def binary(self, name: str) -> Any:
        raise NotImplementedError

    def add(self, constraint: Any) -> None:
        raise NotImplementedError


def variables(be: Backend, instance: TimeslotInstance) -> tuple[dict, dict]:
    """``r[j,t,k]`` (runs) and ``f[j,k]`` (completes in slot k), from each job's release."""
    r = {key: be.binary(f"r_{key[0]}_{key[1]}_{key[2]}") for key in keys(instance)}
    f = {(j, k): be.binary(f"f_{j}_{k}") for j, job in enumerate(instance.jobs)
         for k in range(job.release, instance.num_slots)}
    return r, f


def complete(be: Backend, instance: TimeslotInstance, f: dict) -> None:
    """``sum_k f[j,k] = 1``: every job completes in exactly one slot."""
    for j, job in enumerate(instance.jobs):
        be.add(sum(f[j, k] for k in range(job.release, instance.num_slots)) == 1)


def no_run_after(be: Backend, instance: TimeslotInstance, r: dict, f: dict) -> None:
    """``sum_t r[j,t,k] <= sum_{k' >= k} f[j,k']``: at most one type per slot, and no run
    after the completion slot."""
    H = instance.num_slots
    for j, job in enumerate(instance.jobs):
        for k in range(job.release, H):
            alive = sum(f[j, kk] for kk in range(k, H))
            be.add(sum(r[j, t, k] for t in instance.pools[job.id]) <= alive)


def capacity(be: Backend, instance: TimeslotInstance, r: dict) -> None:
    """``sum_j g_j r[j,t,k] <= G_t`` for every type and slot."""
    load: dict[tuple[str, int], list] = {}
    for (j, t, k), v in r.items():
        load.setdefault((t, k), []).append(instance.jobs[j].num_gpus * v)
    for (t, _), items in load.items():
        be.add(sum(items) <= instance.cluster.capacity(t))


def work(be: Backend, instance: TimeslotInstance, r: dict,
         gain: Callable[[int, str], Any], loss: Callable[[int, str], Any],
         need: Callable[[int], Any]) -> None:
    """``sum_{t,k} (gain_jt r[j,t,k] - loss_jt b[j,t,k]) >= need_j``, with restarts
    ``b[j,t,k] >= r[j,t,k] - r[j,t,k-1]`` where a restart costs anything.

    Exact coefficients are ``gain = rho_jt Delta``, ``loss = rho_jt o`` and
    ``need = w_j``; CP-SAT passes scaled integers (see its module).
    """
    for j, job in enumerate(instance.jobs):
        terms = []
        for t in instance.pools[job.id]:
            g, lo = gain(j, t), loss(j, t)
            for k in range(job.release, instance.num_slots):
                terms.append(g * r[j, t, k])
                if lo:
                    b = be.binary(f"b_{j}_{t}_{k}")
                    prev = r[j, t, k - 1] if k > job.release else 0
                    be.add(b >= r[j, t, k] - prev)
                    terms.append(-lo * b)
        be.add(sum(terms) >= need(j))


def completion_slots(instance: TimeslotInstance, f: dict) -> dict[int, Any]:
    """``C_j / Delta = sum_k (k + 1) f[j,k]``."""
    return {j: sum((k + 1) * f[j, k] for k in range(job.release, instance.num_slots))
            for j, job in enumerate(instance.jobs)}
