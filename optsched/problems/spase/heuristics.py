"""Solver-free spase schedules: earliest-finish greedy, GPU assignment, re-timing."""

from __future__ import annotations

from collections.abc import Sequence

from .instance import SpaseInstance
from .solution import SpaseSolution, TaskPlan


def earliest_finish(instance: SpaseInstance, durations: Sequence[Sequence[float]] | None = None
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


def assign_gpus(instance: SpaseInstance, choice: dict[str, tuple[int, int, float, float]]
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
        ready = [g for g in c.server_gpus(s) if free_at[g] <= start + 1e-9 * max(1.0, start)]
        if len(ready) < need:
            raise RuntimeError(f"server {s} over capacity at {start} for task {tid!r}")
        gpus = ready[:need]
        for g in gpus:
            free_at[g] = end
        out[tid] = gpus
    return out


def retime(instance: SpaseInstance, plans: dict[str, tuple[int, list[int], float]]
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
