"""Online forms of published schedulers: Gandiva, Themis, AlloX and Optimus.

Each is a policy of the simulator's protocol (:class:`~.engine.Policy`) and
places through the shared rules (:mod:`.placing`). Where a published system
decides something the rigid-gang, event-driven setting does not have, the
docstring says what stands in for it.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..model.state import RULES
from .engine import JobView, View
from .placing import Plan, best_rate, can_share, fastest_types, replan, type_rate


# ---------------------------------------------------------------- Themis
def _themis(job: JobView, view: View) -> tuple:
    """Themis' finish-time fairness estimate, largest first:
    ``rho = (elapsed + remaining time) / T_iso``, at the job's best consolidated
    rate. (``T_iso`` times Themis' contention factor, common to all jobs at a
    decision, does not change the order.)"""
    assert job.remaining is not None and job.work is not None
    rate = best_rate(view, job)
    rho = (view.time - job.arrival + job.remaining / rate) / (job.work / rate)
    return (-rho, job.arrival, job.id)


# ---------------------------------------------------------------- Optimus
def _optimus(job: JobView, view: View) -> tuple:
    """Optimus' marginal gain with rigid gangs: a job's gang buys its whole remaining
    time, so the gain per GPU is largest for the smallest remaining GPU-time
    ``g x remaining / rate`` (Optimus' convergence estimate taken as exact)."""
    assert job.remaining is not None
    return (job.num_gpus * job.remaining / best_rate(view, job), job.arrival, job.id)


# ---------------------------------------------------------------- Gandiva
@dataclass
class Gandiva:
    """Gandiva (Xiao et al., OSDI'18): packing plus time slicing, in rounds.

    * When every released job fits the cluster, nothing is packed, and pairs
      packed before come apart (the later one moves to free GPUs).
    * Otherwise jobs are paired, as Gavel's Gandiva policy does, at random
      (seeded) among jobs of one gang size; a pair forms only if the model lets
      the two share GPUs and their normalised packed throughput
      ``f(a|b) + f(b|a)`` (co-located over isolated, on the fastest type they
      share) exceeds 1, Gandiva's test that packing pays. Pairs last until a
      member completes. Each job looks at up to ``candidates`` others.
    * Time slicing: units (pairs and single jobs) take the cluster in order of
      least time run, so that, round after round, every unit gets its turn.
      Units that keep running keep their GPUs; the rest are placed by the rule.
    """

    rule: str = "consolidated"
    candidates: int = 32
    name: str = "gandiva"
    preemptive: bool = True
    clairvoyant: bool = False
    pairs: dict[str, str] = field(default_factory=dict)
    _rng: random.Random | None = None  # seeded from the run's seed at the first decision

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise InputError(f"placement rule must be one of {', '.join(RULES)}, got {self.rule!r}")

    def reset(self) -> None:
        """Forget the last run (pairs, the random stream)."""
        self.pairs.clear()
        self._rng = None

    def with_rule(self, rule: str) -> Gandiva:
        return Gandiva(rule, self.candidates)

    def schedule(self, view: View) -> Mapping[str, tuple[int, ...]]:
        if self._rng is None:
            self._rng = random.Random(view.seed)
        jobs = {j.id: j for j in view.jobs}
        self.pairs = {a: b for a, b in self.pairs.items() if a in jobs and b in jobs}
        rule = RULES[self.rule]
        if sum(j.num_gpus for j in jobs.values()) <= view.cluster.num_gpus:
            self.pairs.clear()  # room for all: no packing
            return replan(view, sorted(jobs.values(), key=_by_arrival), rule)
        self._pair(view, [j for j in view.jobs if j.id not in self.pairs])
        leaders: dict[str, JobView] = {}
        for a, b in self.pairs.items():
            first, second = sorted((jobs[a], jobs[b]), key=_by_arrival)
            leaders[first.id] = second
        followers = {f.id for f in leaders.values()}

        def turn(job: JobView) -> tuple:
            mate = leaders.get(job.id)
            ran = min(job.executed, mate.executed) if mate is not None else job.executed
            return (ran, job.arrival, job.id)

        order = sorted((j for j in jobs.values() if j.id not in followers), key=turn)
        return replan(view, order, rule, leaders)

    def _pair(self, view: View, unpaired: list[JobView]) -> None:
        assert self._rng is not None
        self._rng.shuffle(unpaired)
        by_gang: dict[int, list[JobView]] = defaultdict(list)
        for job in unpaired:
            by_gang[job.num_gpus].append(job)
        taken: set[str] = set()
        for job in unpaired:
            if job.id in taken:
                continue
            looked = 0
            for other in by_gang[job.num_gpus]:
                if other.id == job.id or other.id in taken:
                    continue
                looked += 1
                if _packing_pays(view, job, other):
                    taken |= {job.id, other.id}
                    self.pairs[job.id], self.pairs[other.id] = other.id, job.id
                    break
                if looked >= self.candidates:
                    break


def _packing_pays(view: View, a: JobView, b: JobView) -> bool:
    common = [t for t in fastest_types(view, a) if t in fastest_types(view, b)]
    if not common or not can_share(view, a, b, common[0]):
        return False
    t, k, m = common[0], a.num_gpus, view.model
    fa = m.interference(a.job_type, b.job_type, t, k)
    fb = m.interference(b.job_type, a.job_type, t, k)
    assert fa is not None and fb is not None
    return fa + fb > 1.0


def _by_arrival(job: JobView) -> tuple:
    return (job.arrival, job.id)


# ---------------------------------------------------------------- AlloX
@dataclass
class AlloX:
    """AlloX (Le et al., EuroSys'20), as Gavel's ``allox`` policy: non-preemptive
    min-cost matching of waiting jobs to (GPU type, position).

    At each decision the ``alpha`` fraction of longest-waiting jobs (at least as
    many as there are free GPUs) are matched to slots ``(t, lane, k)``: lane
    ``l`` of the free GPUs of type ``t``, ``k``-th from the end of its queue,
    at cost ``k x p_jt`` with ``p_jt`` the job's remaining GPU-time on ``t``
    (``g x remaining / rate``: a gang of ``g`` counts as ``g`` lanes' worth of
    time, the exact AlloX cost for single-GPU jobs). ``linear_sum_assignment``
    minimises the total completion time, and each lane's first job starts, in
    order of its cost, where the rule finds room for its gang. It reads
    remaining work: clairvoyant, as AlloX's throughput-and-length estimates.
    """

    rule: str = "consolidated"
    alpha: float = 1.0
    name: str = "allox"
    preemptive: bool = False
    clairvoyant: bool = True

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise InputError(f"placement rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        if not 0 < self.alpha <= 1:
            raise InputError(f"allox alpha must be in (0, 1], got {self.alpha!r}")

    def with_rule(self, rule: str) -> AlloX:
        return AlloX(rule, self.alpha)

    def schedule(self, view: View) -> Mapping[str, tuple[int, ...]]:
        from scipy.optimize import linear_sum_assignment

        state = view.state()
        plan: Plan = dict(state.held)
        lanes = {t: state.free_count(t) for t in view.cluster.gpu_types}
        n = sum(lanes.values())
        if n == 0 or not view.waiting:
            return plan
        queue = sorted(view.waiting, key=_by_arrival)
        queue = queue[: max(int(self.alpha * len(queue)), min(n, len(queue)))]
        m = len(queue)
        # Columns (t, lane, k): per type, min(free, m) alike lanes of k = 1..K positions,
        # enough for all m jobs on that type alone.
        blocks: dict[str, tuple[int, np.ndarray]] = {}  # type -> (first column, k of each)
        width = 0
        for t, free in lanes.items():
            if free:
                per = min(free, m)
                ks = np.tile(np.arange(1, math.ceil(m / per) + 1, dtype=float), per)
                blocks[t] = (width, ks)
                width += ks.size
        big = 1e30
        cost = np.full((m, width), big)
        p = np.full((m, len(view.cluster.gpu_types)), math.inf)
        types = list(view.cluster.gpu_types)
        for i, job in enumerate(queue):
            assert job.remaining is not None
            for t in fastest_types(view, job):
                if t in blocks:
                    start, ks = blocks[t]
                    rate = type_rate(view, job, t)
                    p[i, types.index(t)] = job.num_gpus * job.remaining / rate
                    cost[i, start : start + ks.size] = ks * p[i, types.index(t)]
        rows, picked = linear_sum_assignment(cost)
        first: dict[tuple[str, int], tuple[float, int]] = {}  # lane -> (k, job) run first
        for r, c in zip(rows, picked):
            if cost[r, c] >= big:
                continue
            t = next(t for t, (start, ks) in blocks.items() if start <= c < start + ks.size)
            start, ks = blocks[t]
            k = float(ks[c - start])
            lane = (t, int((c - start) // math.ceil(m / min(lanes[t], m))))
            if lane not in first or k > first[lane][0]:  # larger k runs earlier
                first[lane] = (k, int(r))
        starts = sorted(
            ((p[r, types.index(t)], r, t) for (t, _), (_, r) in first.items()),
            key=lambda x: (x[0], queue[x[1]].arrival, queue[x[1]].id),
        )
        rule = RULES[self.rule]
        for _, r, t in starts:
            job = queue[r]
            picks = rule(state, job.num_gpus, t)
            if picks:  # else its gang does not fit the free GPUs of t yet: it waits
                plan[job.id] = state.take(job.id, picks)
        return plan
