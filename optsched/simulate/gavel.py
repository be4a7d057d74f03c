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
  its throughput is the consolidated one: Gavel's measured table where it
  has the entry, the throughput model's consolidated value elsewhere (other
  GPU types, such as Philly's P40s, and gang sizes Gavel did not measure). No
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
  sorted order (``v100`` while it has room, then ``p100``, then ``k80``;
  Gavel sorts its worker types by name, and so do these semantics on any
  cluster); the
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

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np

from ..errors import InputError
from ..model.topology import Cluster
from ..throughput.model import ThroughputModel
from .engine import Event
from .gavel_ledger import Key, Ledger
from .workload import SimJob, Workload

GAVEL_ROUND = 360.0
GAVEL_RESET = 1920.0


@dataclass
class GavelResult:
    """Each completed job's completion time, the rounds run, the end, the timeline; the
    checker recomputes everything else from the timeline."""

    completions: dict[str, float]
    rounds: int
    end: float
    events: list[Event]


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


def _fifo_packed(
    active: Mapping[int, SimJob],
    rates: Mapping[Key, Mapping[str, Any]],
    capacity: Mapping[str, int],
    threshold: float = 1.5,
) -> dict[Key, dict[str, float]]:
    """Gavel's FIFO with packing (``FIFOPolicyWithPacking``): in arrival order each job
    takes its fastest GPU type with room (the first job that fits nowhere ends the
    pass and is left out); then the queue, in order, packs each job with the placed
    job of its gang size whose pair has the largest normalised co-located
    throughput on that job's type, when above ``threshold``; the first job that
    packs with none ends it (no job jumps the queue). Allocation 1 on the type."""
    available = dict(capacity)
    placed: dict[Key, str] = {}
    queue = sorted(active)
    open_types = sorted(t for t in available if available[t] > 0)
    while queue and open_types:
        k = queue.pop(0)
        need = active[k].num_gpus
        fits = [t for t in open_types if available[t] >= need]
        if not fits:
            break
        best, top = fits[0], -1.0
        for t in fits:
            if rates[k][t] > top:
                best, top = t, rates[k][t]
        if rates[k][best] > 0.0:
            placed[k] = best
            available[best] -= need
            if available[best] == 0:
                open_types.remove(best)
    while queue:
        k = queue.pop(0)
        gain, partner = threshold, None
        for other, wt in placed.items():
            if isinstance(other, tuple) or active[other].num_gpus != active[k].num_gpus:
                continue
            pair = (min(other, k), max(other, k))
            together = rates[pair][wt]
            norm = sum(r / rates[m][wt] for m, r in zip(pair, together) if r > 0.0)
            if norm > gain:
                gain, partner = norm, other
        if partner is None:
            break
        wt = placed.pop(partner)
        placed[(min(partner, k), max(partner, k))] = wt
    return {key: {wt: 1.0} for key, wt in placed.items()}


class _Gandiva:
    """Gavel's Gandiva policy (``GandivaPolicy``): when the jobs' GPUs fit the cluster,
    every job gets an equal time share of each type; otherwise jobs not yet paired
    are paired at random (Gavel's seeded draws of two, same gang size), a pair is
    kept while its normalised co-located throughput summed over the types is at
    least 1, and every job or pair gets an equal share."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random()
        self.rng.seed(seed)
        self.assigned: dict[int, tuple[Key, int | None]] = {}

    def _gain(self, key: Key, rates: Mapping[Key, Any], types: Sequence[str]) -> float:
        if not isinstance(key, tuple):
            return 0.0
        total = 0.0
        for wt in types:
            for m, r in zip(key, rates[key][wt]):
                if r <= 0.0:
                    return 0.0
                total += r / rates[m][wt]
        return total

    def allocate(
        self,
        active: Mapping[int, SimJob],
        combos: Sequence[Key],
        rates: Mapping[Key, Mapping[str, Any]],
        capacity: Mapping[str, int],
    ) -> dict[Key, dict[str, float]]:
        types = sorted(capacity)
        drop: list[int | None] = []
        for k, (key, other) in self.assigned.items():
            gone = k not in active or (other is not None and other not in active)
            if gone or self._gain(key, rates, types) < 1.0:
                drop += [k, other]
        for gone_id in drop:
            if gone_id is not None:
                self.assigned.pop(gone_id, None)
        singles = sorted(active)
        if sum(active[k].num_gpus for k in singles) <= sum(capacity.values()):
            chosen: Sequence[Key] = singles
        else:
            loose = [k for k in singles if k not in self.assigned]
            n, i = len(loose), 0
            while len(loose) > 1 and i < n:
                i += 1
                a, b = self.rng.sample(loose, 2)
                if active[a].num_gpus != active[b].num_gpus:
                    continue
                loose.remove(a)
                loose.remove(b)
                pair = (min(a, b), max(a, b))
                self.assigned[a], self.assigned[b] = (pair, b), (pair, a)
            for k in loose:
                self.assigned[k] = (k, None)
            chosen = list(dict.fromkeys(key for key, _ in self.assigned.values()))
        m = len(chosen)
        out: dict[Key, dict[str, float]] = {key: dict.fromkeys(types, 0.0) for key in combos}
        for key in chosen:
            g = active[key[0] if isinstance(key, tuple) else key].num_gpus
            x = [capacity[wt] / m / g for wt in types]
            row = max(sum(x), 1.0)
            out[key] = {wt: v / row for wt, v in zip(types, x)}
        return out


def _choose(
    active: Mapping[int, SimJob],
    alloc: Mapping[int, Mapping[str, float]],
    capacity: Mapping[str, int],
    job_time: Mapping[int, Mapping[str, float]],
    worker_time: Mapping[str, float],
    deficit: Mapping[int, Mapping[str, float]],
    rates: Mapping[int, Mapping[str, float]],
    order: Sequence[str],
    fifo: bool,
    given: Mapping[str, Sequence[tuple[int, float]]] | None = None,
) -> list[tuple[int, str]]:
    """The (job, type) runs of this round (``_schedule_jobs_on_workers_helper``).

    Per type, in ``order``, every active job with its priority on the type: its
    allocation there over its share of the type's time since the last reset
    (allocation x 1e9 before it ran there; 0 without allocation or throughput).
    Each type's entries in decreasing (priority, deficit, allocation), equal keys
    in arrival order; the types' lists one after the other. A job runs once, on
    the first entry whose type still has room for its gang; FIFO skips entries
    of priority 0.

    ``given``: per type, the jobs of the allocation with time and throughput there,
    in arrival order, with their allocation (:func:`_given`; made from ``alloc``
    when None). Entries of priority 0 without throughput can never run, so they
    are left out; those with throughput are sorted only when a type still has
    room after the others (their deficits, fixed between resets, order them).
    """
    if given is None:
        given = _given(alloc, rates, order)
    rank = itemgetter(0, 1, 2)
    left = dict(capacity)
    room = sum(left.values())
    chosen: list[tuple[int, str]] = []
    seen: set[int] = set()
    for wt in order:
        cap = left[wt]
        if cap == 0:
            continue
        total = worker_time[wt]
        pos = []
        for k, a in given[wt]:
            if k in active:
                share = job_time[k][wt] / total if total > 0 else 0.0
                prio = a / share if share > 0 else a * 1e9  # FIFO's allocation is 1
                pos.append((prio, deficit[k][wt], a, k))
        pos.sort(key=rank, reverse=True)
        for stage in (0, 1):
            if stage == 0:
                queue: Any = [e[3] for e in pos]
            elif fifo:  # FIFO never runs an entry of priority 0
                break
            else:
                has = {e[3] for e in pos}
                queue = [k for k in active if k not in has and rates[k][wt] > 0]
                queue.sort(key=lambda k: deficit[k][wt], reverse=True)
            for k in queue:
                if k in seen:
                    continue
                need = active[k].num_gpus
                if need <= cap:
                    cap -= need
                    room -= need
                    seen.add(k)
                    if k in alloc:
                        chosen.append((k, wt))
                    # else: a job that came after the last allocation holds its place in
                    # this round's count but is never given workers (Gavel assigns workers
                    # only to jobs in the allocation), so those GPUs idle for the round
                    if cap == 0:
                        break
            if cap == 0:
                break
        left[wt] = cap
        if room == 0:
            break
    return chosen


def _given(
    alloc: Mapping[int, Mapping[str, float]],
    rates: Mapping[int, Mapping[str, float]],
    types: Sequence[str],
) -> dict[str, list[tuple[int, float]]]:
    """Per type, the jobs (in arrival order) with allocation and throughput there, and
    their allocation: the entries of positive priority of :func:`_choose`."""
    out: dict[str, list[tuple[int, float]]] = {wt: [] for wt in types}
    for k in sorted(alloc):  # job indices are in arrival order
        row, rk = alloc[k], rates[k]
        for wt, a in row.items():
            if a != 0.0 and rk[wt] != 0.0:
                out[wt].append((k, a))
    return out


def _idle(key: Key, rate: Any) -> bool:
    """Whether a job (rate) or a pair (both rates) has no throughput on a type."""
    return (rate[0] <= 0.0 or rate[1] <= 0.0) if isinstance(key, tuple) else rate <= 0.0


#: Gavel's scheduler walks its worker types in this order (``_schedule_jobs_on_workers``);
#: other types follow, by name.
GAVEL_ORDER = ("v100", "p100", "k80")
#: Policies that run under these semantics: FIFO and the allocation LPs.
GAVEL_POLICIES = (
    "fifo",
    "fifo_packed",
    "gandiva",
    "max_min_fairness",
    "max_min_fairness_perf",
    "max_min_fairness_packed",
    "max_sum_throughput",
    "min_total_duration",
    "finish_time_fairness",
)
#: What the policies that run only under these semantics do, and have no LP.
GAVEL_ONLY = {
    "fifo_packed": "Gavel's FIFO with packing: fastest free type in arrival order, then "
    "queued jobs packed onto placed ones (normalised throughput > 1.5)",
}
#: The policies with space sharing: Gavel gives them an entry per pair of jobs.
GAVEL_PACKING = ("fifo_packed", "gandiva", "max_min_fairness_packed")


def _lp_allocation(
    policy: str,
    active: Mapping[int, SimJob],
    make_round: Any,
    left: Mapping[int, float],
    t: float,
    clock: Any,
    incremental: Any = None,
    ledger: Ledger | None = None,
) -> dict[Key, dict[str, float]]:
    """The policy's allocation of the active jobs (``_compute_allocation``), from the LPs
    of :mod:`optsched.allocation`, clipped to [0, 1] as Gavel clips its solver's. The
    packed policy's, per job and per pair, goes straight into ``ledger``."""
    from ..allocation import AllocJob, allocate

    keys = list(active)
    if not keys:
        return {}
    jobs = tuple(
        AllocJob(
            str(k), active[k].job_type, active[k].num_gpus, active[k].weight, left[k],
            t - active[k].arrival, clock.advance(k, left[k]), active[k].gpu_types,
        )
        for k in keys
    )  # fmt: skip
    problem = make_round(jobs, "round")
    a = incremental.allocate(problem) if incremental is not None else allocate(problem, policy)
    if policy == "finish_time_fairness":
        clock.allocated(problem, keys)
    if policy == "max_min_fairness_packed":
        assert ledger is not None
        ledger.set_alloc_rows(_packed_rows(a, keys, ledger))
        return {}
    out: dict[Key, dict[str, float]] = {}
    for i, k in enumerate(keys):
        share = a.share(i)
        out[k] = {wt: min(1.0, max(0.0, v)) for wt, v in share.items()}
    return out


def _packed_rows(a: Any, keys: Sequence[int], ledger: Ledger) -> np.ndarray:
    """Gavel's packed allocation per job and per pair, a row per live entry of the
    ledger: a job's time alone, and a pair's time together (the class LP's pair time
    spread evenly over the partners, :meth:`~optsched.allocation.lp.Allocation.pair_share`),
    clipped to [0, 1]."""
    cols = [a.problem.types.index(t) for t in ledger.types]
    index = np.full(len(ledger.seen), -1)
    index[list(keys)] = np.arange(len(keys))
    live = ledger.live()
    first, second = index[ledger.first[live]], index[ledger.second[live]]
    C, T = len(a.classes), len(cols)
    together = np.zeros((C, C, T))
    if a.shared:
        c, d = (np.array(side) for side in zip(*a.shared))
        size = np.array([cl.n for cl in a.classes], dtype=float)
        frac = np.clip(np.array(list(a.shared.values())), 0.0, None)
        together[c, d] = np.minimum(1.0, frac / (size[d] - (c == d))[:, None])[:, cols]
    rows = together[a.class_of[first], a.class_of[second]]
    alone = first == second
    rows[alone] = np.clip(a.single[first[alone]][:, cols], 0.0, 1.0)
    return rows


def _class_allocation(
    round_lp: Any,
    active: Mapping[int, SimJob],
    class_key: Mapping[int, tuple],
    make_round: Any,
    types: Sequence[str],
) -> dict[Key, dict[str, float]]:
    """:func:`_lp_allocation` for the LPs that treat a class's jobs alike (max-min
    fairness, its perf form, max sum throughput): the LP over the classes' counts,
    checked by class (``RoundLP.rows``), each job given its class's row."""
    from ..allocation import AllocJob

    if not active:
        return {}
    counts: dict[tuple, int] = {}
    for k in active:
        counts[class_key[k]] = counts.get(class_key[k], 0) + 1
    some = next(iter(active.values()))
    probe = make_round((AllocJob(some.id, some.job_type, some.num_gpus),), "round")
    rows = round_lp.rows(counts, probe)
    share = {key: dict(zip(types, np.minimum(row, 1.0).tolist())) for key, row in rows.items()}
    return {k: share[class_key[k]] for k in active}


def packed_model(cluster: Cluster) -> ThroughputModel:
    """Throughputs under these semantics: the consolidated one, whatever the GPU set, and
    only measured pairs may share (Gavel packs no other)."""
    return ThroughputModel(cluster, locality=False, unmeasured_interference="forbid")


def run_gavel(
    workload: Workload,
    cluster: Cluster,
    policy: str = "fifo",
    *,
    seed: int = 0,
    round_seconds: float = GAVEL_ROUND,
    reset_seconds: float = GAVEL_RESET,
) -> GavelResult:
    """Simulate under Gavel's semantics until the measured jobs complete (Gavel stops
    there too); each completed job's completion time."""
    if policy not in GAVEL_POLICIES:
        raise InputError(
            f"--semantics gavel runs policies {', '.join(GAVEL_POLICIES)}, got {policy!r}"
        )
    types = tuple(sorted(cluster.gpu_types))  # Gavel's worker types, sorted by name
    order = [t for t in GAVEL_ORDER if t in types] + [t for t in types if t not in GAVEL_ORDER]
    # Gavel shuffles the worker types each round for policies whose name has neither
    # "Perf" nor "Packing": among these, fifo and the agnostic max-min fairness
    shuffle = random.Random(seed + 5) if policy == "max_min_fairness" else None
    from ..allocation.centre import CentralPacked
    from ..allocation.lp import RoundLP
    from ..allocation.problem import IsolatedClock, rounds_on

    # packed: Gavel's interior-point solution (its rounds depend on which optimum)
    round_lp: Any = RoundLP(policy) if policy in RoundLP.INCREMENTAL else None
    if policy == "max_min_fairness_packed":
        round_lp = CentralPacked()
    # the LPs whose jobs of a class get one row: allocated by class counts alone
    by_class = policy in RoundLP.INCREMENTAL and policy != "max_min_fairness_packed"
    agnostic = policy == "max_min_fairness"
    class_key = {
        k: ("" if agnostic else j.job_type, j.num_gpus, j.weight, j.gpu_types)
        for k, j in enumerate(workload.jobs)
    }
    capacity = {t: cluster.capacity(t) for t in types}
    model = packed_model(cluster)
    make_round = rounds_on(capacity, model)
    jobs = workload.jobs
    rates: dict[Key, Any] = {}  # per job (and pair): throughput per GPU type
    for k, job in enumerate(jobs):
        rates[k] = {
            t: model.consolidated(job.job_type, t, job.num_gpus)
            if model.runs_on(job.job_type, t)
            and capacity[t] >= job.num_gpus
            and (not job.gpu_types or t in job.gpu_types)
            else 0.0
            for t in types
        }
        if not any(r > 0 for r in rates[k].values()):
            raise InputError(
                f"job {job.id!r}: {job.num_gpus} GPU(s) of {job.job_type!r} fit no GPU type "
                f"of cluster {cluster.name!r}"
            )
    packing = policy in GAVEL_PACKING
    gandiva = _Gandiva(seed)
    # with packing, Gavel's entries: every job and every pair of active jobs of one
    # gang size, in the order it creates them; a pair's rates are its co-located ones
    ledger = Ledger(types, round_seconds / 2.0, len(jobs)) if packing else None
    pairs_of: dict[int, list[tuple[int, int]]] = {}
    pair_rates = _pair_rates(model, capacity, types)
    steps = {k: float(job.work) for k, job in enumerate(jobs)}
    done = dict.fromkeys(steps, 0.0)
    fifo = _Fifo(seed)
    active: dict[int, SimJob] = {}
    # (finish, job or pair, type, ((job, steps, its finish), ...))
    last_round: list[tuple[float, Key, str, tuple[tuple[int, float, float], ...]]] = []
    completions: dict[str, float] = {}
    nxt, t = 0, jobs[0].arrival if jobs else 0.0
    need_update, last_reset = False, 0.0
    alloc: dict[Key, dict[str, float]] = {}
    given: dict[str, list[tuple[int, float]]] | None = None
    clock = IsolatedClock()  # finish-time fairness's isolated time of the progress
    rounds, idle = 0, 0
    events: list[Event] = []
    held: dict[Key, tuple[int, ...]] = {}
    # Gavel's priorities: time each job ran per type since the last reset (starting
    # at half a round), time per type, and deficits, as in ``_update_priorities``
    half = round_seconds / 2.0
    job_time: dict[Key, dict[str, float]] = {}
    worker_time = dict.fromkeys(types, 0.0)
    deficit: dict[Key, dict[str, float]] = {}
    round_start: float | None = None
    round_end: float | None = None
    by_type = {t: list(cluster.type2gpus.get(t, ())) for t in types}
    gpu_type = cluster.gpu2type
    batch: list[Event] = []  # stops, completions and arrivals since the last round began
    # Gavel stops once the measured jobs are done (``is_done(jobs_to_complete)``)
    measured = {j.id for j in workload.measured}
    left_to_measure = len(measured)
    new = tuple.__new__  # an Event without its keyword wrapper: there are many
    ids = [job.id for job in jobs]
    while left_to_measure:
        if nxt >= len(jobs) and not last_round:
            last_reset = 0.0  # nothing ran and nothing comes: Gavel forces a reset
        if last_round:
            start = t
            t = max(f for f, *_ in last_round)
            if round_end is not None:
                round_start = round_end
            round_end = t
            for finish, key, wt, runs in last_round:
                # Gavel times a run from the start of its round record, which an
                # idle gap before the round leaves behind: reproduced
                ran = finish - (round_start if round_start is not None else start)
                if ledger is not None:
                    ledger.ran(key, wt, ran)
                else:
                    job_time[key][wt] += ran
                worker_time[wt] += ran
                for k, n, end in runs:
                    done[k] += n
                    if steps[k] - done[k] <= 0:
                        completions[jobs[k].id] = end
                        left_to_measure -= jobs[k].id in measured
                        batch.append(new(Event, (end, "complete", ids[k], ())))
                        del active[k]
                        if ledger is not None:
                            ledger.remove(k)
                            for pair in pairs_of.pop(k, ()):  # its pairs go with it
                                ledger.remove(pair)
                        else:
                            del job_time[k], deficit[k]
                        need_update = True
                    else:
                        batch.append(new(Event, (end, "stop", ids[k], ())))
            last_round = []
        elif nxt < len(jobs):
            t = max(t, jobs[nxt].arrival)
        while nxt < len(jobs) and jobs[nxt].arrival <= t:
            if ledger is not None:  # ``_populate_job_combination_metadata``, ``_add_to_priorities``
                gang = jobs[nxt].num_gpus
                ledger.add(nxt, gang, [_idle(nxt, rates[nxt][wt]) for wt in types], half)
                for o in active:
                    if jobs[o].num_gpus == gang:
                        pair = (o, nxt)
                        rates[pair] = pair_rates(jobs[o], jobs[nxt], rates[o], rates[nxt])
                        idle_on = [_idle(pair, rates[pair][wt]) for wt in types]
                        ledger.add(pair, gang, idle_on, 0.0)  # not half: Gavel's
                        pairs_of.setdefault(o, []).append(pair)
                        pairs_of.setdefault(nxt, []).append(pair)
            else:
                job_time[nxt] = dict.fromkeys(types, half)
                deficit[nxt] = dict.fromkeys(types, 0.0)
            active[nxt] = jobs[nxt]
            batch.append(new(Event, (jobs[nxt].arrival, "arrive", ids[nxt], ())))
            nxt += 1
            need_update = True
        if need_update and (t - last_reset >= reset_seconds or last_reset == 0.0):
            elapsed = t - last_reset
            if ledger is not None:  # ``_reset_time_run_so_far``, on the old allocation
                ledger.reset(elapsed, worker_time)
            else:
                for wt in types:
                    worker_time[wt] = 0.0
                    for k in job_time:
                        should = alloc.get(k, {}).get(wt, 0.0) * elapsed
                        deficit[k][wt] += should - (job_time[k][wt] - half)
                        job_time[k][wt] = half
                        worker_time[wt] += half
            last_reset = t
            if policy == "fifo":
                alloc = {k: {wt: 1.0} for k, wt in fifo.allocate(active, rates, capacity).items()}
            elif policy == "fifo_packed":
                alloc = _fifo_packed(active, rates, capacity)
            elif policy == "gandiva":
                assert ledger is not None
                alloc = gandiva.allocate(active, ledger.live_keys(), rates, capacity)
            elif by_class:
                alloc = _class_allocation(round_lp, active, class_key, make_round, types)
            else:
                left = {k: steps[k] - done[k] for k in active}
                alloc = _lp_allocation(policy, active, make_round, left, t, clock, round_lp, ledger)
            if ledger is not None and policy != "max_min_fairness_packed":
                ledger.set_alloc(alloc)
            need_update = False
            given = None if packing else _given(alloc, rates, types)
        walk = list(order)  # Gavel shuffles a fresh list each round
        if shuffle is not None:
            shuffle.shuffle(walk)
        if ledger is not None:
            picks = ledger.choose(walk, capacity, worker_time, policy == "fifo_packed")
        else:
            picks = _choose(
                active, alloc, capacity, job_time, worker_time, deficit, rates, walk,
                policy == "fifo", given,
            )  # fmt: skip
        chosen = [k for k, _ in picks]
        ran_on = dict(picks)
        free = {wt: set(ids) for wt, ids in by_type.items()}
        moved = []
        for k in chosen:  # lease extensions first: a job keeps last round's GPUs
            gpus, wt = held.get(k), ran_on[k]
            if gpus and gpu_type[gpus[0]] == wt and free[wt].issuperset(gpus):
                free[wt].difference_update(gpus)
            else:
                moved.append(k)
        pool: dict[str, list[int]] = {}  # free GPUs of a type, ascending, for the moved
        for k in moved:
            wt = ran_on[k]
            if wt not in pool:
                pool[wt] = [g for g in by_type[wt] if g in free[wt]]
            need = jobs[k[0] if isinstance(k, tuple) else k].num_gpus
            held[k] = tuple(pool[wt][:need])
            del pool[wt][:need]
        held = {k: held[k] for k in chosen if k in held}  # leases of the last round only
        batch.sort(key=_when)
        events.extend(batch)
        batch = []
        for k in sorted(chosen, key=_first) if packing else sorted(chosen):
            wt = ran_on[k]
            if packing and isinstance(k, tuple):
                runs = _pair_round(k, rates[k][wt], rates, wt, steps, done, t, round_seconds)
                last_round.append((max(r[2] for r in runs), k, wt, runs))
                for m in k:
                    events.append(new(Event, (t, "start", ids[m], held[k])))
                continue
            rate = rates[k][wt]
            n = min(float(int(rate * round_seconds)), steps[k] - done[k])
            end = t + n / rate
            last_round.append((end, k, wt, ((k, n, end),)))
            events.append(new(Event, (t, "start", ids[k], held[k])))
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
    batch.sort(key=_when)
    events.extend(batch)
    end = max(completions.values(), default=0.0)
    return GavelResult(completions, rounds, end, events)


def _first(key: Key) -> int:
    return int(key[0]) if isinstance(key, tuple) else int(key)


def _pair_rates(model: ThroughputModel, capacity: Mapping[str, int], types: Sequence[str]) -> Any:
    """The co-located throughputs of two jobs per GPU type (0, 0 where they cannot share
    or either cannot run), memoised by job types and gang."""
    memo: dict[tuple[str, str, int], dict[str, tuple[float, float]]] = {}

    def rates(a: SimJob, b: SimJob, ra: Mapping[str, float], rb: Mapping[str, float]) -> Any:
        key = (a.job_type, b.job_type, a.num_gpus)
        if key not in memo or a.gpu_types or b.gpu_types:
            out = {}
            for t in types:
                fa = model.interference(a.job_type, b.job_type, t, a.num_gpus)
                fb = model.interference(b.job_type, a.job_type, t, a.num_gpus)
                ok = fa is not None and fb is not None and ra[t] > 0 and rb[t] > 0
                out[t] = (ra[t] * fa, rb[t] * fb) if ok else (0.0, 0.0)  # type: ignore[operator]
            if a.gpu_types or b.gpu_types:
                return out
            memo[key] = out
        return memo[key]

    return rates


def _pair_round(
    pair: tuple[int, int],
    together: tuple[float, float],
    rates: Mapping[Key, Any],
    wt: str,
    steps: Mapping[int, float],
    done: Mapping[int, float],
    t: float,
    round_seconds: float,
) -> tuple[tuple[int, float, float], ...]:
    """A pair's round: each job runs Gavel's ``int(co-located rate x round)`` steps (fewer
    if it has fewer left) at its co-located rate, and the pair returns when the later
    one is done: a job that completes first completes then, with its partner (Gavel
    dates both at the pair's end). A job that is done first without completing
    stops when done, and its partner runs the rest of its steps (less than one
    iteration's time: both ran a full round) alone, at its isolated rate, so that
    the timeline stays physical."""
    n = [min(float(int(r * round_seconds)), steps[m] - done[m]) for m, r in zip(pair, together)]
    alone = [n[i] / together[i] for i in (0, 1)]
    first = 0 if alone[0] <= alone[1] else 1
    other = 1 - first
    finish = [0.0, 0.0]
    if n[first] >= steps[pair[first]] - done[pair[first]]:  # completes: leaves with the pair
        finish[first] = finish[other] = t + alone[other]
    else:
        f = alone[first]
        rest = n[other] - together[other] * f
        finish[first], finish[other] = t + f, t + f + rest / rates[pair[other]][wt]
    return ((pair[0], n[0], finish[0]), (pair[1], n[1], finish[1]))


#: Events at one instant: stops and completions free GPUs before starts take them.
_ORDER = {"arrive": 0, "stop": 1, "complete": 1, "start": 2}


def _when(e: Event) -> tuple[float, int]:
    return (e.time, _ORDER[e.kind])
