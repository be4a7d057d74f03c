"""Schedules built without a solver: a dense greedy and semi-active re-timing.

Both work on any non-negative unit times, so the exact models also use them
for warm starts and horizons (on their integer-scaled times).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ...core import Status, Unsupported
from ...errors import InputError
from ...solvers.common import MethodOutput, SolveOptions, heuristic, seeded

if TYPE_CHECKING:
    from .instance import HopperInstance


def dense_greedy(times: Sequence[Sequence[float]]) -> list[list[float]]:
    """Dense open-shop list schedule, most-remaining-work first.

    Whenever a worker is free (the earliest free one; ties to the lowest index) it
    starts, among the configs that are idle and still owe it a unit, the one with
    the most remaining work in total (ties to the lowest index). A worker idles
    only when no such config exists, so the schedule is dense (Gonzalez and
    Sahni's greedy bound: at most twice optimal).

    Each worker keeps a heap of the configs that owe it a unit, keyed by their
    remaining work when pushed; remaining work only falls, so an entry whose key
    is out of date is pushed again with the right one when it comes to the top
    (lazy deletion), and the busy configs met on the way (at most one per
    worker) are set aside and put back. ``O(|S| p (p + log |S|))``: a 100,000 x 8
    shop in seconds.
    """
    T = np.asarray(times, dtype=float)
    n, p = T.shape
    starts = np.zeros((n, p))
    rows = T.tolist()
    left = T.sum(axis=1).tolist()
    ready = [0.0] * n  # when each config is next idle
    first = sorted((-left[i], i) for i in range(n))  # a sorted list is a heap
    owed = [list(first) for _ in range(p)]
    free = [(0.0, j) for j in range(p)]  # when each worker is next free
    push, pop = heapq.heappush, heapq.heappop
    while free:
        t, j = pop(free)
        heap, aside, chosen = owed[j], [], -1
        while heap:
            key, i = heap[0]
            if -key != left[i]:  # remaining work fell since the push
                heapq.heapreplace(heap, (-left[i], i))
            elif ready[i] > t:  # busy elsewhere
                aside.append(pop(heap))
            else:
                chosen = pop(heap)[1]
                break
        for entry in aside:
            push(heap, entry)
        if chosen >= 0:
            d = rows[chosen][j]
            starts[chosen, j] = t
            ready[chosen] = t + d
            left[chosen] -= d
            push(free, (t + d, j))
        elif heap:  # every config that owes this worker is busy: wait for the first
            push(free, (min(ready[i] for _, i in heap), j))
    return starts.tolist()


def retime(
    times: Sequence[Sequence[float]],
    order_starts: Sequence[Sequence[float]],
    order_ends: Sequence[Sequence[float]] | None = None,
    where: Sequence[Sequence[int]] | None = None,
) -> list[list[float]]:
    """Semi-active schedule: start every unit as early as the order allows.

    Units are taken in order of ``order_starts`` (ties by ``order_ends``), which
    fixes the sequence on every worker and every config; each unit then starts
    when both its worker and its config are free, using the exact ``times``.
    Turns a schedule found on rounded times into an exactly feasible one.
    ``where[i][j]`` is the worker of unit ``(i, j)`` (default ``j``); the unit
    then takes ``times[i][where[i][j]]``.
    """
    T = np.asarray(times, dtype=float)
    n, p = T.shape
    W = np.asarray(where, dtype=int) if where is not None else np.tile(np.arange(p), (n, 1))
    D = T[np.arange(n)[:, None], W]
    S = np.asarray(order_starts, dtype=float)
    E = np.asarray(order_ends, dtype=float) if order_ends is not None else S + D
    order = np.lexsort((E.ravel(), S.ravel()))
    worker_free = np.zeros(p)
    config_free = np.zeros(n)
    out = np.zeros((n, p))
    for flat in order:
        i, j = divmod(int(flat), p)
        w = W[i, j]
        s = max(worker_free[w], config_free[i])
        out[i, j] = s
        worker_free[w] = config_free[i] = s + D[i, j]
    return out.tolist()


def makespan(times: Sequence[Sequence[float]], starts: Sequence[Sequence[float]]) -> float:
    return float((np.asarray(starts) + np.asarray(times)).max(initial=0.0))


# ---------------------------------------------------------------- baselines
def _as_solution(starts, workers=None):  # type: ignore[no-untyped-def]
    from .solution import HopperSolution

    ws = None if workers is None else tuple(tuple(int(w) for w in r) for r in workers)
    return HopperSolution(tuple(tuple(float(s) for s in r) for r in starts), ws)


#: How the randomized scheduler visits idle workers at a decision: in index order (the
#: method's protocol), in a fresh random order each time, or in one random order drawn
#: once per run.
WORKER_ORDERS = ("index", "random", "shuffled_once")


def randomized(instance, seed: int, order: str = "index"):  # type: ignore[no-untyped-def]
    """Cerebro's randomized scheduler (Algorithm 1, VLDB'20), simulated.

    Whenever workers are idle, each idle worker takes a unit chosen uniformly
    at random among those it may run (its partition, or a replica it holds)
    whose config is idle; then time advances to the next completion. Idle
    workers are visited in ``order`` (:data:`WORKER_ORDERS`): the order decides
    which worker gets first pick, and it moves the makespan by several percent
    on small dense grids. Deviation: the paper polls every ``WAIT_TIME`` and its
    code shuffles once per epoch; here decisions happen exactly at completions
    and the choice is uniform at every decision, which is what Algorithm 1's
    per-attempt shuffle amounts to.
    """
    if order not in WORKER_ORDERS:
        raise InputError(f"order must be one of {', '.join(WORKER_ORDERS)}, got {order!r}")
    rng = np.random.default_rng(seed)
    T = np.asarray(instance.times, dtype=float)
    n, p = T.shape
    todo = np.ones((n, p), dtype=bool)
    can = np.zeros((p, p), dtype=bool)  # can[w, j]: worker w holds partition j
    for j in range(p):
        can[list(instance.holders(j)), j] = True
    starts = np.zeros((n, p))
    where = np.tile(np.arange(p), (n, 1))
    config_free = np.zeros(n)
    worker_free = np.zeros(p)
    t, left = 0.0, n * p
    visit = rng.permutation(p) if order == "shuffled_once" else np.arange(p)
    while left:
        for w in rng.permutation(p) if order == "random" else visit:
            if worker_free[w] > t:
                continue
            idle = config_free <= t
            if instance.replicated:
                eligible = np.argwhere(todo & can[w][None, :] & idle[:, None])
            else:  # only worker w's own partition: one column, same order as above
                rows = np.flatnonzero(todo[:, w] & idle)
                eligible = np.column_stack([rows, np.full(len(rows), w)])
            if len(eligible) == 0:
                continue
            i, j = eligible[rng.integers(len(eligible))]
            starts[i, j], where[i, j] = t, w
            todo[i, j] = False
            left -= 1
            config_free[i] = worker_free[w] = t + T[i, w]
        future = np.concatenate([worker_free[worker_free > t], config_free[config_free > t]])
        if left and len(future) == 0:
            raise RuntimeError("randomized scheduler stalled")
        t = float(future.min()) if len(future) else t
    return _as_solution(starts, where if instance.replicated else None)


def task_parallel(instance):  # type: ignore[no-untyped-def]
    """Task parallelism: every config trains whole epochs on one worker (LPT).

    Needs every partition on every worker (full replication, ``p`` copies of
    the data). Configs in decreasing order of their shortest epoch
    ``min_w p T_iw`` go to the worker where they finish first, and run their
    ``p`` partitions back to back there. On identical workers this is Graham's
    LPT rule (at most 4/3 of the task-parallel optimum).
    """
    T = np.asarray(instance.times, dtype=float)
    n, p = T.shape
    if any(len(instance.holders(j)) < p for j in range(p)):
        raise Unsupported(
            "task_parallel needs every partition on every worker (full "
            "replication); use HopperInstance.fully_replicated()"
        )
    epoch = T * p  # epoch[i, w]: whole epoch of config i on worker w
    free = np.zeros(p)
    starts = np.zeros((n, p))
    where = np.zeros((n, p), dtype=int)
    for i in sorted(range(n), key=lambda i: (-epoch[i].min(), i)):
        w = int(np.argmin(free + epoch[i]))
        starts[i] = free[w] + T[i, w] * np.arange(p)
        where[i] = w
        free[w] += epoch[i, w]
    return _as_solution(starts, where)


# Methods (declared in the family record, ``optsched/problems/hopper/__init__.py``).
def greedy_method(instance: HopperInstance, options: SolveOptions) -> MethodOutput:
    if instance.replicated:
        raise Unsupported(
            "greedy: the dense greedy handles unreplicated partitions only; randomized and "
            "cpsat take replicas"
        )
    return MethodOutput(Status.FEASIBLE, _as_solution(dense_greedy(instance.times)))


randomized_method = seeded(randomized)
task_parallel_method = heuristic(task_parallel)
