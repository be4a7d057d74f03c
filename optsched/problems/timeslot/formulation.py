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

With ``locality`` on, ``r[j,t,k]`` becomes a sum over spread levels of
per-slot placement choices (:func:`locality`), and runs name their GPUs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...core import Unsupported
from ...solvers.linear import ModelBuilder
from .instance import TimeslotInstance
from .solution import Run, TimeslotSolution


def keys(instance: TimeslotInstance) -> list[tuple[int, str, int]]:
    return [
        (j, t, k)
        for j, job in enumerate(instance.jobs)
        for t in instance.pools[job.id]
        for k in range(job.release, instance.num_slots)
    ]


def to_solution(instance: TimeslotInstance, on: list[tuple[int, str, int]]) -> TimeslotSolution:
    return TimeslotSolution(tuple(Run(instance.jobs[j].id, k, t) for j, t, k in on))


def from_solution(
    instance: TimeslotInstance, sol: TimeslotSolution
) -> tuple[set[tuple[int, str, int]], dict[int, int]]:
    """Runs as keys and each job's completion slot, recomputed by the checker."""
    from .checker import check

    report = check(instance, sol)
    done = {
        instance.job_index[j]: int(round(c / instance.slot_seconds)) - 1
        for j, c in report.details["completion"].items()
    }
    runs = {
        (instance.job_index[r.job], r.gpu_type, r.slot)
        for r in sol.runs
        if r.job in instance.job_index and r.slot <= done.get(instance.job_index[r.job], -1)
    }
    return runs, done


# --------------------------------------------------------------- constraint families
# Written once against the linear layer's protocol: every MILP back-end and
# CP-SAT (solvers.cpsat.CpSatModel) take these constraints as they are.


#: The most terms of the exact models' "no run after completion" rows (quadratic in
#: the slots): beyond it building alone would take minutes.
MAX_TERMS = 20_000_000


def build(
    be: ModelBuilder,
    instance: TimeslotInstance,
    progress: Callable[[int, float, float, bool], Any],
    need: Callable[[int], Any],
) -> tuple[dict, dict, LocalityVars | None]:
    """Variables and every constraint family, in order; returns ``r``, ``f`` and the
    locality variables (``None`` without locality).

    ``progress(j, rate, seconds, up)`` is the coefficient of ``rate`` iterations/s
    over ``seconds`` in job ``j``'s work constraint (``up``: round up when scaled),
    ``need(j)`` its right-hand side.
    """
    H = instance.num_slots
    terms = sum((H - job.release) ** 2 for job in instance.jobs) // 2
    if terms > MAX_TERMS:  # "no run after completion" sums every later slot, per slot
        raise Unsupported(
            f"timeslot exact models: {len(instance.jobs)} jobs x {H:,} slots make about "
            f"{terms:,} terms, more than they build ({MAX_TERMS:,}); use fewer, longer slots "
            "or a heuristic"
        )
    lv = None
    if instance.locality:
        check_locality(instance)
        f = completion_vars(be, instance)
        r, lv = locality(be, instance)
    else:
        r, f = variables(be, instance)
    complete(be, instance, f)
    no_run_after(be, instance, r, f)
    capacity(be, instance, r)
    delta, o = instance.slot_seconds, instance.restart_overhead
    if lv is not None:
        locality_work(be, instance, lv, lambda j, rate: progress(j, rate, delta, True), need)
    else:
        work(
            be,
            instance,
            r,
            lambda j, t: progress(j, instance.rate(instance.jobs[j].id, t), delta, True),
            lambda j, t: progress(j, instance.rate(instance.jobs[j].id, t), o, False),
            need,
        )
    return r, f, lv


def hint(
    be: ModelBuilder, instance: TimeslotInstance, r: dict, f: dict, warm_start: Any
) -> TimeslotSolution | None:
    """Start from ``warm_start`` or the greedy schedule; returns it if it was usable.

    The greedy schedule names no GPUs, so with locality only a warm start could
    help, and the time-indexed variables cannot take it either: no start then.
    """
    from .heuristics import greedy_srtf

    if instance.locality:
        return None
    start = warm_start or greedy_srtf(instance)
    runs, finish = from_solution(instance, start)
    if len(finish) < len(instance.jobs):
        return None  # it does not finish every job within the horizon
    for key, v in r.items():
        be.start(v, int(key in runs))
    for (j, k), v in f.items():
        be.start(v, int(finish[j] == k))
    return start


def variables(be: ModelBuilder, instance: TimeslotInstance) -> tuple[dict, dict]:
    """``r[j,t,k]`` (runs) and ``f[j,k]`` (completes in slot k), from each job's release."""
    r = {key: be.binary(f"r_{key[0]}_{key[1]}_{key[2]}") for key in keys(instance)}
    return r, completion_vars(be, instance)


def completion_vars(be: ModelBuilder, instance: TimeslotInstance) -> dict:
    return {
        (j, k): be.binary(f"f_{j}_{k}")
        for j, job in enumerate(instance.jobs)
        for k in range(job.release, instance.num_slots)
    }


def complete(be: ModelBuilder, instance: TimeslotInstance, f: dict) -> None:
    """``sum_k f[j,k] = 1``: every job completes in exactly one slot."""
    for j, job in enumerate(instance.jobs):
        be.add(be.total(f[j, k] for k in range(job.release, instance.num_slots)) == 1)


def no_run_after(be: ModelBuilder, instance: TimeslotInstance, r: dict, f: dict) -> None:
    """``sum_t r[j,t,k] <= sum_{k' >= k} f[j,k']``: at most one type per slot, and no run
    after the completion slot."""
    H = instance.num_slots
    for j, job in enumerate(instance.jobs):
        for k in range(job.release, H):
            alive = be.total(f[j, kk] for kk in range(k, H))
            be.add(be.total(r[j, t, k] for t in instance.pools[job.id]) <= alive)


def capacity(be: ModelBuilder, instance: TimeslotInstance, r: dict) -> None:
    """``sum_j g_j r[j,t,k] <= G_t`` for every type and slot."""
    load: dict[tuple[str, int], list] = {}
    for (j, t, k), v in r.items():
        load.setdefault((t, k), []).append(instance.jobs[j].num_gpus * v)
    for (t, _), items in load.items():
        be.add(be.total(items) <= instance.cluster.capacity(t))


def work(
    be: ModelBuilder,
    instance: TimeslotInstance,
    r: dict,
    gain: Callable[[int, str], Any],
    loss: Callable[[int, str], Any],
    need: Callable[[int], Any],
) -> None:
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
        be.add(be.total(terms) >= need(j))


def completion_slots(be: ModelBuilder, instance: TimeslotInstance, f: dict) -> dict[int, Any]:
    """``C_j / Delta = sum_k (k + 1) f[j,k]``."""
    return {
        j: be.total((k + 1) * f[j, k] for k in range(job.release, instance.num_slots))
        for j, job in enumerate(instance.jobs)
    }


# --------------------------------------------------------------- locality
# With ``locality`` on, every slot is a placement round: a job's rate in a slot
# depends on the GPU type and spread level of its GPUs, chosen per slot with
# the placement formulation's variables and constraints (without sharing).


@dataclass
class LocalityVars:
    placement: Any  # the placement Formulation of the jobs on this cluster
    rate: dict[tuple[int, str, int], float]  # (j, t, level) -> iterations/s
    v: dict[tuple[int, str, int, int], Any]  # (j, t, level, slot) -> binary
    x: dict[tuple[int, int, int], Any]  # (j, server, slot) -> GPUs


def check_locality(instance: TimeslotInstance) -> None:
    if instance.locality and instance.restart_overhead > 0:
        raise Unsupported(
            "timeslot exact models with locality need restart_overhead 0 "
            "(a restart depends on the exact GPU set, which they do not track)"
        )


def locality(be: ModelBuilder, instance: TimeslotInstance) -> tuple[dict, LocalityVars]:
    """Per slot: ``v[j,t,l,k]`` (type ``t``, spread ``l``), GPU counts ``x[j,s,k]``,
    servers ``y`` and racks ``z`` used, with the placement constraints

    ``sum_{s of t} x[j,s,k] = g_j sum_l v[j,t,l,k]``, ``y <= x <= min(g, cap) y``,
    ``y[j,s,k] <= z[j,r(s),k] <= sum_{s in r} y``, the exact level rules, and
    ``sum_j x[j,s,k] <= cap_s`` per server. Returns ``r[j,t,k] = sum_l v[j,t,l,k]``
    (used by the type-level families) and the variables.
    """
    from ..placement.formulation import LEVELS, Formulation
    from ..placement.instance import Job, PlacementInstance

    pinst = PlacementInstance(
        instance.name,
        instance.cluster,
        tuple(Job(j.id, j.job_type, j.num_gpus, 1.0, j.gpu_types) for j in instance.jobs),
        locality=True,
        job_types=instance.job_types,
    )
    pf = Formulation(pinst)
    if pf.split:
        raise Unsupported(
            "timeslot exact models with locality score a job by its spread level; this "
            "cluster's rates also depend on the split over servers (two_server_factor or "
            "contention)"
        )
    rate = {
        (j, t, shape[0]): n * pinst.reference[pinst.jobs[j].id]
        for (j, t, shape), n in pf.options.items()
    }
    c, H = instance.cluster, instance.num_slots
    v: dict[tuple[int, str, int, int], Any] = {}
    x: dict[tuple[int, int, int], Any] = {}
    r: dict[tuple[int, str, int], Any] = {}
    options: dict[int, list[tuple[str, int]]] = {}
    for j, t, lv in rate:
        options.setdefault(j, []).append((t, lv))
    load: dict[tuple[int, int], list[Any]] = {}  # (server, slot) -> GPU counts
    for j, job in enumerate(instance.jobs):
        for k in range(job.release, H):
            for t, lv in options[j]:
                v[j, t, lv, k] = be.binary(f"v_{j}_{t}_{lv}_{k}")
            for t in instance.pools[job.id]:
                r[j, t, k] = be.total(v[j, t, lv, k] for lv in LEVELS if (j, t, lv, k) in v)
            if job.num_gpus == 1:
                continue  # one-GPU jobs: any GPU of the type, counted per type
            servers = pf.job_servers(j)
            y = {s: be.binary(f"y_{j}_{s}_{k}") for s in servers}
            racks = pf.racks_of(servers)
            z = {rk: be.binary(f"z_{j}_{rk}_{k}") for rk in racks}
            for s in servers:
                cap = min(job.num_gpus, c.servers[s].num_gpus)
                x[j, s, k] = be.integer(f"x_{j}_{s}_{k}", 0, cap)
                load.setdefault((s, k), []).append(x[j, s, k])
                be.add(x[j, s, k] >= y[s])
                be.add(x[j, s, k] <= cap * y[s])
                be.add(y[s] <= z[c.server2rack[s]])
            for rk, members in racks.items():
                be.add(z[rk] <= be.total(y[s] for s in members))
            for t in instance.pools[job.id]:
                be.add(be.total(x[j, s, k] for s in pf.servers[t]) == job.num_gpus * r[j, t, k])
            u0, u1, u2 = (
                be.total(v[j, t, lv, k] for t, lv in options[j] if lv == level) for level in LEVELS
            )
            ys, zs = be.total(y.values()), be.total(z.values())
            be.add(ys >= u0 + 2 * u1 + 2 * u2)
            be.add(ys <= u0 + len(servers) * (u1 + u2))
            be.add(zs >= u0 + u1 + 2 * u2)
            be.add(zs <= u0 + u1 + len(racks) * u2)
    for (s, _), counts in load.items():
        be.add(be.total(counts) <= c.servers[s].num_gpus)
    return r, LocalityVars(pf, rate, v, x)


def locality_work(
    be: ModelBuilder,
    instance: TimeslotInstance,
    lv: LocalityVars,
    gain: Callable[[int, float], Any],
    need: Callable[[int], Any],
) -> None:
    """``sum_{t,l,k} gain(rho_jtl) v[j,t,l,k] >= need_j`` (no restart cost: see
    :func:`check_locality`). ``gain`` maps a rate to the slot's progress."""
    terms: dict[int, list[Any]] = {j: [] for j in range(len(instance.jobs))}
    for (j, t, level, _), var in lv.v.items():
        terms[j].append(gain(j, lv.rate[j, t, level]) * var)
    for j, items in terms.items():
        be.add(be.total(items) >= need(j))


def locality_solution(
    instance: TimeslotInstance, lv: LocalityVars, value: Callable[[Any], float]
) -> TimeslotSolution:
    """Runs with GPU sets: per slot, GPUs from the counts as in placement."""
    chosen: dict[int, set[tuple[int, str]]] = {}
    for (j, t, _, k), var in lv.v.items():
        if value(var) > 0.5:
            chosen.setdefault(k, set()).add((j, t))
    counts: dict[int, dict[tuple[int, int], int]] = {}
    for (j, s, k), var in lv.x.items():
        if round(value(var)):
            counts.setdefault(k, {})[j, s] = int(round(value(var)))
    runs = []
    for k in sorted(chosen):
        single = {j: t for j, t in chosen[k] if instance.jobs[j].num_gpus == 1}
        placed = lv.placement.to_solution(counts.get(k, {}), {}, single)
        for j, t in chosen[k]:
            gpus = placed.assignment[instance.jobs[j].id]
            runs.append(Run(instance.jobs[j].id, k, t, gpus))
    return TimeslotSolution(tuple(runs))
