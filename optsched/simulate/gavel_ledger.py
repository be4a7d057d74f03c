"""Gavel's accounts of its packing policies, in arrays.

With space sharing Gavel keeps an entry for every active job and for every
pair of active jobs of one gang size: their allocation per GPU type, the time
they ran there since the last allocation reset, and their deficit. Each round
it ranks all of them per type (:meth:`Ledger.choose` states the rule).
A stream keeps a hundred or more jobs active, so ten thousand entries and
more, and the ranking is the simulation's inner loop. :class:`Ledger` holds the
entries in arrays, one row (slot) per entry in the order Gavel creates them,
and ranks them with one stable sort per type. It computes exactly what the
rule says, with the same floating-point operations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: A job (its index) or a pair of jobs sharing GPUs (their indices, in arrival order).
Key = Any


class Ledger:
    """Every entry's allocation, time run and deficit per GPU type, by slot."""

    def __init__(self, types: Sequence[str], half: float, jobs: int) -> None:
        self.types = list(types)
        self.index = {t: i for i, t in enumerate(self.types)}
        self.half = half
        self.keys: list[Key] = []
        self.slot: dict[Key, int] = {}
        self.seen = np.zeros(jobs, dtype=bool)
        self._grow(1024)
        self._live: np.ndarray | None = None

    def _grow(self, size: int) -> None:
        T = len(self.types)
        old = len(self.keys)

        def more(a: np.ndarray | None, shape: tuple[int, ...], dtype: Any, fill: Any) -> Any:
            out = np.full(shape, fill, dtype=dtype)
            if a is not None:
                out[:old] = a[:old]
            return out

        get = self.__dict__.get
        self.first = more(get("first"), (size,), np.int64, 0)
        self.second = more(get("second"), (size,), np.int64, 0)
        self.gang = more(get("gang"), (size,), np.int64, 0)
        self.alive = more(get("alive"), (size,), bool, False)
        self.in_alloc = more(get("in_alloc"), (size,), bool, False)
        self.idle = more(get("idle"), (size, T), bool, True)
        self.time = more(get("time"), (size, T), float, 0.0)
        self.deficit = more(get("deficit"), (size, T), float, 0.0)
        self.alloc = more(get("alloc"), (size, T), float, 0.0)

    # ------------------------------------------------------------ entries
    def add(self, key: Key, gang: int, idle: Sequence[bool], time: float) -> None:
        """A new entry (a job, or a pair ``(a, b)``) with ``time`` run on every type."""
        s = len(self.keys)
        if s == len(self.alive):
            self._grow(2 * s)
        a, b = key if isinstance(key, tuple) else (key, key)
        self.first[s], self.second[s], self.gang[s] = a, b, gang
        self.alive[s] = True
        self.idle[s] = idle
        self.time[s] = time
        self.keys.append(key)
        self.slot[key] = s
        self._live = None

    def remove(self, key: Key) -> None:
        s = self.slot.pop(key, None)
        if s is not None:
            self.alive[s] = False
            self.in_alloc[s] = False
            self._live = None

    def __contains__(self, key: Key) -> bool:
        return key in self.slot

    def live(self) -> np.ndarray:
        """The live slots, in creation order."""
        if self._live is None:
            self._live = np.flatnonzero(self.alive[: len(self.keys)])
        return self._live

    def live_keys(self) -> list[Key]:
        return [self.keys[s] for s in self.live().tolist()]

    def ran(self, key: Key, wt: str, seconds: float) -> None:
        self.time[self.slot[key], self.index[wt]] += seconds

    # ------------------------------------------------------------ allocation
    def set_alloc(self, alloc: Mapping[Key, Mapping[str, float]]) -> None:
        """A policy's new allocation (``{key: {type: fraction}}``); live entries it leaves
        out get 0 and are not in it."""
        live = self.live()
        self.alloc[live] = 0.0
        self.in_alloc[live] = False
        for s in live.tolist():
            row = alloc.get(self.keys[s])
            if row is not None:
                self.in_alloc[s] = True
                self.alloc[s] = [row.get(t, 0.0) for t in self.types]

    def set_alloc_rows(self, rows: np.ndarray) -> None:
        """A new allocation of every live entry, one row per live slot in order."""
        live = self.live()
        self.alloc[live] = rows
        self.in_alloc[live] = True

    def reset(self, elapsed: float, worker_time: dict[str, float]) -> None:
        """Gavel's ``_reset_time_run_so_far`` on the allocation in force: each entry's
        deficit grows by what it should have run less what it ran, its time restarts
        at half a round, and so does each type's total (half a round per entry)."""
        live, half = self.live(), self.half
        should = self.alloc[live] * elapsed
        self.deficit[live] += should - (self.time[live] - half)
        self.time[live] = half
        total = sum([half] * len(live))  # Gavel adds half a round per entry
        for wt in self.types:
            worker_time[wt] = total

    # ------------------------------------------------------------ a round
    def choose(
        self,
        order: Sequence[str],
        capacity: Mapping[str, int],
        worker_time: Mapping[str, float],
        fifo: bool,
    ) -> list[tuple[Key, str]]:
        """This round's (entry, type) runs (``_schedule_jobs_on_workers_helper``).

        Per type, in ``order``, each entry's priority is its allocation there over
        its share of the type's time since the last reset (allocation x 1e9 before
        it ran there; 0 without allocation). The entries are ranked by decreasing
        (priority, deficit, allocation), ties in creation order, and walked until
        the type is full: an entry runs when none of its jobs runs yet and its gang
        fits what is left; one that came after the last allocation holds its place
        but does not run. FIFO skips entries of priority 0. Entries without
        throughput on the type, or with a job already running, would be skipped by
        the walk, so they are left out of the sort."""
        live = self.live()
        seen = self.seen
        taken: list[int] = []
        left = dict(capacity)
        chosen: list[tuple[Key, str]] = []
        keys = self.keys
        for wt in order:
            cap = left[wt]
            if cap == 0:
                continue
            k = self.index[wt]
            sel = live[~self.idle[live, k]]
            if taken:
                sel = sel[~(seen[self.first[sel]] | seen[self.second[sel]])]
            a = self.alloc[sel, k]
            if fifo:  # FIFO never runs an entry of priority 0
                keep = a != 0.0
                sel, a = sel[keep], a[keep]
            if not len(sel):
                continue
            total = worker_time[wt]
            if total > 0:
                share = self.time[sel, k] / total
                with np.errstate(divide="ignore", invalid="ignore"):
                    prio = np.where(share > 0, a / share, a * 1e9)
            else:
                prio = a * 1e9
            rank = np.lexsort((-a, -self.deficit[sel, k], -prio))  # stable: ties by slot
            ordered = sel[rank]
            walk = zip(
                ordered.tolist(),
                self.first[ordered].tolist(),
                self.second[ordered].tolist(),
                self.gang[ordered].tolist(),
            )
            inside = self.in_alloc
            running: set[int] = set()
            for s, f, o, need in walk:
                if f in running or o in running:
                    continue
                if need <= cap:
                    cap -= need
                    running.add(f)
                    running.add(o)
                    if inside[s]:  # others hold their place, idle (as Gavel)
                        chosen.append((keys[s], wt))
                    if cap == 0:
                        break
            left[wt] = cap
            if running:
                got = list(running)
                seen[got] = True
                taken += got
        seen[taken] = False
        return chosen
