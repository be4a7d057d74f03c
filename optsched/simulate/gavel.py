"""``--semantics gavel``: Gavel's simulator, reproduced so that results compare with Gavel's.

The default semantics (:mod:`.engine`) count locality, restarts and exact GPU
sets. These do what Gavel's simulator does (stanford-futuredata/gavel,
``scheduler/scheduler.py`` ``simulate``), read from its source:

* **Rounds.** Jobs run in rounds of ``round_seconds`` (360 s). A round runs
  ``int(throughput x 360)`` iterations of each scheduled job (fewer if it has
  fewer left), so it lasts until the last of its jobs stops: up to 360 s, a
  little less because of the integer truncation, and less when every job
  finishes early. The clock then jumps to that time, or, when nothing ran, to
  the next arrival.
* **Arrivals** join at the end of the round in which they arrive.
* **Type-level placement**: a job runs on GPU types, never on concrete GPUs;
  its throughput is the consolidated one of Gavel's measured table. No
  locality, no interference for single jobs, **no restart cost**.
* **Allocation resets.** A policy's allocation is recomputed only when jobs
  came or went *and* at least ``reset_seconds`` (1,920 s, Gavel's
  ``minimum_time_between_allocation_resets``) passed since the last
  recomputation, or no job ran in the last round while none is left to arrive.
  Until then new jobs wait and freed GPUs stay idle.
* **FIFO** (Gavel's base ``fifo``, ``policies/fifo.py``): jobs in arrival
  order; the queue's head takes the GPU type of a job that completed, if it
  fits; the queue then takes types while some type has room, stopping at the
  first job that fits none. A job keeps its type until it completes. As the
  code runs (not as its comments say), the type is the *last* open type in
  sorted order (``v100`` while it has room, then ``p100``, then ``k80``); the
  random draw (``random.Random`` seeded with ``seed``) only picks which entry
  leaves the open list when a type runs out, so a full type can stay open and
  be over-allocated, and its extra jobs wait. Reproduced as it runs, since the
  point is to compare with Gavel's numbers.

Each difference from the default semantics is listed in
``docs/simulator.md``. The timeline it returns has a start event per job and
round (type-level: ``gpus`` are the first free GPU ids of the type, for the
record) and is checked by the same checker, with throughputs fixed to the
consolidated ones.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import InputError
from ..model.topology import Cluster
from ..throughput.measured import gavel_table
from .workload import SimJob, Workload

GAVEL_ROUND = 360.0
GAVEL_RESET = 1920.0
#: Gavel's worker types, in its sorted order.
GAVEL_TYPES = ("k80", "p100", "v100")


@dataclass
class GavelRun:
    """One job's completion under Gavel's semantics."""

    job: str
    completion: float
    rounds: int
    seconds_by_type: dict[str, float]


@dataclass
class GavelResult:
    completions: dict[str, GavelRun]
    rounds: int
    end: float


class _Fifo:
    """Gavel's base-mode FIFO allocation: a GPU type per job, kept until it completes."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random()
        self.rng.seed(seed)
        self.alloc: dict[int, str] = {}

    def allocate(
        self,
        active: Mapping[int, SimJob],
        rates: Mapping[int, Mapping[str, float]],
        capacity: Mapping[str, int],
    ) -> dict[int, str]:
        available = dict(capacity)
        queue = [k for k in sorted(active) if k not in self.alloc]
        for k in sorted(self.alloc):
            t = self.alloc[k]
            if k not in active:  # completed: the head of the queue may take its type
                if queue:
                    head = queue[0]
                    if active[head].num_gpus <= available[t] and rates[head][t] > 0:
                        queue.pop(0)
                        self.alloc[head] = t
                        available[t] -= active[head].num_gpus
                del self.alloc[k]
            else:
                available[t] -= active[k].num_gpus
        open_types = sorted(t for t in available if available[t] > 0)
        while queue and open_types:
            k = queue.pop(0)
            need = active[k].num_gpus
            fits = [i for i, t in enumerate(open_types) if available[t] >= need]
            if not fits:
                break
            drawn = fits[self.rng.randrange(len(fits))]
            # Gavel draws a type at random but then uses the last open type in
            # sorted order (its loop variable), and on exhausting a type removes
            # the drawn position from the open list. Reproduced as it runs.
            t = open_types[-1]
            if rates[k][t] > 0:
                self.alloc[k] = t
                available[t] -= need
                if available[t] == 0:
                    open_types.pop(drawn)
        return dict(self.alloc)


def gavel_capacity(cluster: Cluster) -> dict[str, int]:
    """GPUs per Gavel worker type; a cluster with other types cannot run Gavel's semantics."""
    other = [t for t in cluster.gpu_types if t not in GAVEL_TYPES]
    if other:
        raise InputError(
            f"--semantics gavel needs a cluster of {', '.join(GAVEL_TYPES)} GPUs, "
            f"got {other[0]!r}"
        )
    return {t: cluster.capacity(t) for t in GAVEL_TYPES}


def run_gavel(
    workload: Workload,
    cluster: Cluster,
    policy: str = "fifo",
    *,
    seed: int = 0,
    round_seconds: float = GAVEL_ROUND,
    reset_seconds: float = GAVEL_RESET,
) -> GavelResult:
    """Simulate under Gavel's semantics; each job's completion time."""
    if policy != "fifo":
        raise InputError(f"--semantics gavel runs policy fifo so far, got {policy!r}")
    capacity = gavel_capacity(cluster)
    table = gavel_table()
    jobs = workload.jobs
    rates: dict[int, dict[str, float]] = {}
    for k, job in enumerate(jobs):
        rates[k] = {
            t: table.isolated.get((job.job_type, t, job.num_gpus), 0.0) if capacity[t] else 0.0
            for t in GAVEL_TYPES
        }
        if not any(
            r > 0 and capacity[t] >= job.num_gpus for t, r in rates[k].items()
        ):
            raise InputError(
                f"job {job.id!r}: Gavel's table has no throughput of {job.job_type!r} at "
                f"{job.num_gpus} GPU(s) on a type of this cluster with room for it"
            )
    steps = {k: float(int(job.work)) for k, job in enumerate(jobs)}
    done = dict.fromkeys(steps, 0.0)
    fifo = _Fifo(seed)
    active: dict[int, SimJob] = {}
    last_round: list[tuple[float, int, str, float]] = []  # (finish, job, type, steps)
    completions: dict[str, GavelRun] = {}
    seconds: dict[int, dict[str, float]] = {k: {} for k in steps}
    rounds_run = dict.fromkeys(steps, 0)
    nxt, t = 0, jobs[0].arrival if jobs else 0.0
    need_update, last_reset = False, 0.0
    alloc: dict[int, str] = {}
    rounds, idle = 0, 0
    while len(completions) < len(jobs):
        if nxt >= len(jobs) and not last_round:
            last_reset = 0.0  # nothing ran and nothing comes: Gavel forces a reset
        if last_round:
            start = t
            t = max(f for f, *_ in last_round)
            for finish, k, wt, n in last_round:
                done[k] += n
                seconds[k][wt] = seconds[k].get(wt, 0.0) + (finish - start)
                rounds_run[k] += 1
                if steps[k] - done[k] <= 0:
                    completions[jobs[k].id] = GavelRun(
                        jobs[k].id, finish, rounds_run[k], seconds[k]
                    )
                    del active[k]
                    need_update = True
            last_round = []
        elif nxt < len(jobs):
            t = max(t, jobs[nxt].arrival)
        while nxt < len(jobs) and jobs[nxt].arrival <= t:
            active[nxt] = jobs[nxt]
            nxt += 1
            need_update = True
        if need_update and (t - last_reset >= reset_seconds or last_reset == 0.0):
            last_reset = t
            alloc = fifo.allocate(active, rates, capacity)
            need_update = False
        for k in sorted(active):
            wt = alloc.get(k)
            if wt is None:
                continue
            rate = rates[k][wt]
            n = min(float(int(rate * round_seconds)), steps[k] - done[k])
            last_round.append((t + n / rate, k, wt, n))
        if last_round:
            rounds += 1
            idle = 0
        elif nxt >= len(jobs) and active:
            # nothing runs and nothing comes: the next pass must re-allocate
            idle += 1
            if idle > 2:
                stuck = ", ".join(jobs[k].id for k in list(active)[:5])
                raise InputError(f"gavel fifo cannot place {len(active)} job(s): {stuck}")
            need_update = True
    end = max((c.completion for c in completions.values()), default=0.0)
    return GavelResult(completions, rounds, end)


def summary_gavel(workload: Workload, result: GavelResult) -> dict[str, float]:
    """Average JCT and makespan over the measured jobs, as Gavel reports them."""
    measured = workload.measured
    jcts = [result.completions[j.id].completion - j.arrival for j in measured]
    return {
        "avg_jct_s": sum(jcts) / len(jcts) if jcts else math.nan,
        "makespan_s": max(result.completions[j.id].completion for j in measured)
        if measured
        else math.nan,
    }
