"""Solver-free spase schedules: earliest-finish greedy, GPU assignment, re-timing."""

from __future__ import annotations

from collections.abc import Sequence

from ...core import FLOAT_EPS
from ...solvers.common import heuristic, seeded
from .instance import SpaseInstance
from .solution import SpaseSolution, TaskPlan


def earliest_finish(
    instance: SpaseInstance, durations: Sequence[Sequence[float]] | None = None
) -> SpaseSolution:
    """Longest task first; each takes the (configuration, server) that finishes first.

    A task starts when the ``G`` earliest-free GPUs of its server are free
    (no backfilling). ``durations[t][k]`` overrides the runtimes (used by the
    exact models on their scaled times).
    """
    c = instance.cluster
    dur = durations or [[cfg.runtime for cfg in t.configs] for t in instance.tasks]
    free = [0.0] * c.num_gpus
    order = sorted(range(len(instance.tasks)), key=lambda i: -min(dur[i]))
    plans: dict[str, TaskPlan] = {}
    for i in order:
        task = instance.tasks[i]
        best: tuple[float, int, int, int] | None = None  # finish, gpus, server, config
        for k, cfg in enumerate(task.configs):
            for s, server in enumerate(c.servers):
                if cfg.num_gpus > server.num_gpus:
                    continue
                gpus = sorted(c.server_gpus(s), key=lambda g: (free[g], g))[: cfg.num_gpus]
                key = (max(free[g] for g in gpus) + dur[i][k], cfg.num_gpus, s, k)
                if best is None or key < best:
                    best = key
        assert best is not None  # the instance guarantees some configuration fits
        finish, need, s, k = best
        gpus = sorted(c.server_gpus(s), key=lambda g: (free[g], g))[:need]
        start = max(free[g] for g in gpus)
        for g in gpus:
            free[g] = finish
        plans[task.id] = TaskPlan(k, tuple(gpus), start)
    return SpaseSolution(plans)


def assign_gpus(
    instance: SpaseInstance, choice: dict[str, tuple[int, int, float, float]]
) -> dict[str, list[int]]:
    """GPUs for tasks placed by (config, server, start, end) satisfying capacity per server.

    Taking tasks by start time and giving each any free GPUs of its server
    always succeeds when no server is over capacity at any moment: at a
    task's start, the GPUs held by tasks still running plus its own fit.
    """
    c = instance.cluster
    tasks = {t.id: t for t in instance.tasks}
    free_at = [0.0] * c.num_gpus
    out: dict[str, list[int]] = {}
    for tid in sorted(choice, key=lambda t: (choice[t][2], choice[t][3], t)):
        k, s, start, end = choice[tid]
        need = tasks[tid].configs[k].num_gpus
        ready = [g for g in c.server_gpus(s) if free_at[g] <= start + FLOAT_EPS * max(1.0, start)]
        if len(ready) < need:
            raise RuntimeError(f"server {s} over capacity at {start} for task {tid!r}")
        gpus = ready[:need]
        for g in gpus:
            free_at[g] = end
        out[tid] = gpus
    return out


def retime(
    instance: SpaseInstance, plans: dict[str, tuple[int, list[int], float]]
) -> SpaseSolution:
    """Semi-active schedule on exact runtimes, keeping each GPU's task order.

    ``plans[task] = (config, gpus, start in the solver's time)``.
    """
    tasks = {t.id: t for t in instance.tasks}
    free = [0.0] * instance.cluster.num_gpus
    out: dict[str, TaskPlan] = {}
    for tid in sorted(plans, key=lambda t: (plans[t][2], t)):
        k, gpus, _ = plans[tid]
        start = max((free[g] for g in gpus), default=0.0)
        end = start + tasks[tid].configs[k].runtime
        for g in gpus:
            free[g] = end
        out[tid] = TaskPlan(k, tuple(gpus), start)
    return SpaseSolution(out)


def makespan(instance: SpaseInstance, solution: SpaseSolution) -> float:
    tasks = {t.id: t for t in instance.tasks}
    return max(p.start + tasks[t].configs[p.config].runtime for t, p in solution.plans.items())


# ---------------------------------------------------------------- baselines
# Saturn's simulation baselines (VLDB'24, Section 4.3). All pick, for the GPU
# count they allocate, the fastest configuration with exactly that many GPUs
# (the "profiler-best parallelism"), or the fastest with fewer when none has
# exactly that many.


def best_config(task, gpus: int) -> int | None:  # type: ignore[no-untyped-def]
    """Index of the fastest configuration using at most ``gpus`` GPUs, preferring exactly."""
    exact = [k for k, c in enumerate(task.configs) if c.num_gpus == gpus]
    fewer = [k for k, c in enumerate(task.configs) if c.num_gpus <= gpus]
    pool = exact or fewer
    return min(pool, key=lambda k: (task.configs[k].runtime, k)) if pool else None


def _list_schedule(
    instance: SpaseInstance, picks: list[tuple[str, int, int | None]]
) -> SpaseSolution:
    """Run ``(task, config, server)`` picks in order, each at the earliest time its GPU
    count is free on its server (no backfilling), on the earliest-free GPUs. Server
    ``None``: the fitting server where that count frees first."""
    c = instance.cluster
    tasks = {t.id: t for t in instance.tasks}
    free = [0.0] * c.num_gpus
    plans = {}

    def ready(s: int, need: int) -> float:
        return sorted(free[g] for g in c.server_gpus(s))[need - 1]

    for tid, k, server in picks:
        need = tasks[tid].configs[k].num_gpus
        s = (
            server
            if server is not None
            else min(
                (s for s, srv in enumerate(c.servers) if srv.num_gpus >= need),
                key=lambda s: (ready(s, need), s),
            )
        )
        gpus = sorted(c.server_gpus(s), key=lambda g: (free[g], g))[:need]
        start = max(free[g] for g in gpus)
        for g in gpus:
            free[g] = start + tasks[tid].configs[k].runtime
        plans[tid] = TaskPlan(k, tuple(gpus), start)
    return SpaseSolution(plans)


def max_heuristic(instance: SpaseInstance) -> SpaseSolution:
    """Max-Heuristic: each task gets a whole server, one task per server at a time.

    Longest task first, each on the server that frees first, with its fastest
    configuration that fits the server; the rest of the server idles.
    """
    c = instance.cluster
    free_at = [0.0] * len(c.servers)
    order = sorted(instance.tasks, key=lambda t: -min(cfg.runtime for cfg in t.configs))
    picks = []
    for t in order:
        options = []
        for s, server in enumerate(c.servers):
            k = best_config(t, server.num_gpus)
            if k is not None:
                options.append((free_at[s] + t.configs[k].runtime, s, k))
        _, s, k = min(options)
        picks.append((t.id, k, s))
        free_at[s] += t.configs[k].runtime
    return _whole_server(instance, picks)


def _whole_server(instance: SpaseInstance, picks: list[tuple[str, int, int]]) -> SpaseSolution:
    c = instance.cluster
    tasks = {t.id: t for t in instance.tasks}
    free_at = [0.0] * len(c.servers)
    plans = {}
    for tid, k, s in picks:
        cfg = tasks[tid].configs[k]
        plans[tid] = TaskPlan(k, tuple(c.server_gpus(s))[: cfg.num_gpus], free_at[s])
        free_at[s] += cfg.runtime
    return SpaseSolution(plans)


def min_heuristic(instance: SpaseInstance) -> SpaseSolution:
    """Min-Heuristic: one GPU per task (spilling); leftover GPUs split evenly.

    Every task gets ``a = max(1, G // T)`` GPUs (``G`` GPUs, ``T`` tasks), capped
    by the largest server, and its fastest configuration with at most ``a``
    GPUs (or its smallest if none); tasks then run in order, each on the server
    where its GPUs free first.
    """
    c = instance.cluster
    a = max(1, c.num_gpus // len(instance.tasks))
    a = min(a, max(s.num_gpus for s in c.servers))
    picks: list[tuple[str, int, int | None]] = []
    for t in instance.tasks:
        k = best_config(t, a)
        if k is None:
            k = min(
                range(len(t.configs)), key=lambda k: (t.configs[k].num_gpus, t.configs[k].runtime)
            )
        picks.append((t.id, k, None))
    return _list_schedule(instance, picks)


def optimus_greedy(instance: SpaseInstance) -> SpaseSolution:
    """Optimus*-Greedy (Saturn's Algorithm 1), one server at a time.

    Tasks are dealt to servers longest first, each to the server with the
    least assigned work per GPU. On each server every task starts at its
    smallest configuration; one more GPU at a time goes to the task whose
    runtime drops most, ``R_t(l_t) - R_t(l_t + 1)`` with ``R_t(l)`` its fastest
    runtime on at most ``l`` GPUs, while the server's GPUs last. Tasks of a
    server then run in order of decreasing runtime, each as soon as its GPUs
    are free. Deviation: with more tasks than GPUs the allocation cannot start
    every task at once; the list schedule then runs them in waves.
    """
    c = instance.cluster
    work = [0.0] * len(c.servers)
    groups: dict[int, list] = {s: [] for s in range(len(c.servers))}
    for t in sorted(instance.tasks, key=lambda t: -min(cfg.runtime for cfg in t.configs)):
        smallest = min(cfg.num_gpus for cfg in t.configs)
        fits = [s for s, srv in enumerate(c.servers) if srv.num_gpus >= smallest]
        s = min(fits, key=lambda s: (work[s] / c.servers[s].num_gpus, s))
        groups[s].append(t)
        work[s] += min(cfg.runtime for cfg in t.configs)
    picks: list[tuple[str, int, int | None]] = []
    for s, ts in groups.items():
        cap = c.servers[s].num_gpus

        def runtime(t, lv):  # type: ignore[no-untyped-def]
            k = best_config(t, lv)
            return float("inf") if k is None else t.configs[k].runtime

        alloc = {t.id: min(cfg.num_gpus for cfg in t.configs) for t in ts}
        used = sum(alloc.values())
        while used < cap:
            gains = [
                (runtime(t, alloc[t.id]) - runtime(t, alloc[t.id] + 1), t.id)
                for t in ts
                if alloc[t.id] < cap
            ]
            gains = [g for g in gains if g[0] > 0]
            if not gains:
                break
            _, tid = max(gains, key=lambda g: (g[0], g[1]))
            alloc[tid] += 1
            used += 1
        for t in sorted(ts, key=lambda t: -runtime(t, alloc[t.id])):
            k = best_config(t, alloc[t.id])
            assert k is not None
            picks.append((t.id, k, s))
    return _list_schedule(instance, picks)


def randomized(instance: SpaseInstance, seed: int) -> SpaseSolution:
    """Randomized: random fitting configuration and server per task, random order."""
    import random

    rng = random.Random(seed)
    c = instance.cluster
    picks: list[tuple[str, int, int | None]] = []
    for t in rng.sample(list(instance.tasks), len(instance.tasks)):
        options = [
            (k, s)
            for k, cfg in enumerate(t.configs)
            for s, srv in enumerate(c.servers)
            if cfg.num_gpus <= srv.num_gpus
        ]
        k, s = rng.choice(options)
        picks.append((t.id, k, s))
    return _list_schedule(instance, picks)


# Methods (declared in the family record, ``optsched/problems/spase/__init__.py``).
max_heuristic_method = heuristic(max_heuristic)
min_heuristic_method = heuristic(min_heuristic)
optimus_greedy_method = heuristic(optimus_greedy)
greedy_method = heuristic(earliest_finish)
randomized_method = seeded(randomized)
