"""Schedules built without a solver: a dense greedy and semi-active re-timing.

Both work on any non-negative unit times, so the exact models also use them
for warm starts and horizons (on their integer-scaled times).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def dense_greedy(times: Sequence[Sequence[float]]) -> list[list[float]]:
    """Dense open-shop list schedule, most-remaining-work first.

    Whenever a worker is free it starts, among the configs that are idle and
    still owe it a unit, the one with the most remaining work in total (ties
    to the lowest index). A worker idles only when no such config exists, so
    the schedule is dense (Gonzalez and Sahni's greedy bound: at most twice
    optimal). Runs in ``O(|S| p (|S| + p))`` with numpy.
    """
    T = np.asarray(times, dtype=float)
    n, p = T.shape
    starts = np.zeros((n, p))
    todo = np.ones((n, p), dtype=bool)
    left = T.sum(axis=1)
    ready = np.zeros(n)  # when each config is next idle
    free = np.zeros(p)  # when each worker is next free
    remaining = n * p
    while remaining:
        j = int(np.argmin(free))
        t = free[j]
        cand = todo[:, j]
        avail = cand & (ready <= t)
        if avail.any():
            prio = np.where(avail, left, -1.0)
            i = int(np.argmax(prio))
            starts[i, j] = t
            ready[i] = t + T[i, j]
            free[j] = t + T[i, j]
            left[i] -= T[i, j]
            todo[i, j] = False
            remaining -= 1
        elif cand.any():
            free[j] = float(ready[cand].min())
        else:
            free[j] = math.inf
    return starts.tolist()


def retime(times: Sequence[Sequence[float]], order_starts: Sequence[Sequence[float]],
           order_ends: Sequence[Sequence[float]] | None = None) -> list[list[float]]:
    """Semi-active schedule: start every unit as early as the order allows.

    Units are taken in order of ``order_starts`` (ties by ``order_ends``), which
    fixes the sequence on every worker and every config; each unit then starts
    when both its worker and its config are free, using the exact ``times``.
    Turns a schedule found on rounded times into an exactly feasible one.
    """
    T = np.asarray(times, dtype=float)
    S = np.asarray(order_starts, dtype=float)
    E = np.asarray(order_ends, dtype=float) if order_ends is not None else S + T
    n, p = T.shape
    order = np.lexsort((E.ravel(), S.ravel()))
    worker_free = np.zeros(p)
    config_free = np.zeros(n)
    out = np.zeros((n, p))
    for flat in order:
        i, j = divmod(int(flat), p)
        s = max(worker_free[j], config_free[i])
        out[i, j] = s
        worker_free[j] = config_free[i] = s + T[i, j]
    return out.tolist()


def makespan(times: Sequence[Sequence[float]], starts: Sequence[Sequence[float]]) -> float:
    return float((np.asarray(starts) + np.asarray(times)).max(initial=0.0))
