"""Placement baselines: the rules published schedulers use to place a round's jobs.

All share one bookkeeping class; each rule decides the job order, the GPU
type and which free GPUs to take. Rules that ignore the throughput model
(first-fit, best-fit, scattered, random) pick GPU types in the job's pool
order; the others use the model.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Iterable

from ...model.state import ClusterState
from ...solvers.common import heuristic, seeded
from .instance import Job, PlacementInstance
from .solution import PlacementSolution


class Placer(ClusterState):
    """The cluster's free GPUs (:class:`~optsched.model.state.ClusterState`) while one
    round's jobs are placed, with each job's assignment and co-location partner."""

    def __init__(self, instance: PlacementInstance) -> None:
        super().__init__(instance.cluster)
        self.inst = instance
        self.partner: dict[str, str] = {}

    @property
    def assignment(self) -> dict[str, tuple[int, ...]]:
        return self.held

    def place(self, job: Job, picks: dict[int, int]) -> None:
        """Give ``job`` ``picks[s]`` free GPUs of each server ``s``."""
        self.take(job.id, picks)

    def solution(self) -> PlacementSolution:
        solution: PlacementSolution = self.inst.annotate(self.held)
        return solution


def _place_in_order(
    instance: PlacementInstance,
    jobs: Iterable[Job],
    choose: Callable[[Placer, int, str], dict[int, int] | None],
    types: Callable[[Placer, Job], list[str]] | None = None,
) -> Placer:
    placer = Placer(instance)
    for job in jobs:
        pools = types(placer, job) if types else list(instance.pools[job.id])
        for t in pools:
            picks = choose(placer, job.num_gpus, t)
            if picks:
                placer.place(job, picks)
                break
    return placer


def _fastest_types(placer: Placer, job: Job) -> list[str]:
    inst = placer.inst
    return sorted(
        inst.pools[job.id], key=lambda t: -inst.model.consolidated(job.job_type, t, job.num_gpus)
    )


def first_fit(instance: PlacementInstance) -> PlacementSolution:
    """First-fit: jobs in order; the first server that fits, else GPUs across servers."""

    def choose(p: Placer, need: int, t: str) -> dict[int, int] | None:
        return p.first_server(need, t) or p.spread_in_order(need, t)

    return _place_in_order(instance, instance.jobs, choose).solution()


def best_fit(instance: PlacementInstance) -> PlacementSolution:
    """Best-fit consolidation (Blox "consolidated", Tiresias for skewed models).

    Jobs in order; a job takes one server, an exact fit first, else the server
    left fullest; a job that fits no single server waits. Blox's fallback has a
    variable-name typo that makes only exact fits succeed; the intended rule
    is implemented here.
    """
    return _place_in_order(instance, instance.jobs, Placer.exact_or_smallest).solution()


def scattered(instance: PlacementInstance) -> PlacementSolution:
    """Scattered (Blox): free GPUs first-fit across servers, ignoring locality."""
    return _place_in_order(instance, instance.jobs, Placer.spread_in_order).solution()


def random_placement(instance: PlacementInstance, seed: int) -> PlacementSolution:
    """Random: jobs in random order, a random allowed type with room, random free GPUs."""
    rng = _random.Random(seed)
    placer = Placer(instance)
    for job in rng.sample(list(instance.jobs), len(instance.jobs)):
        types = [t for t in instance.pools[job.id] if placer.free_count(t) >= job.num_gpus]
        if not types:
            continue
        t = rng.choice(types)
        pool = [(s, g) for s in placer.servers(t) for g in placer.free[s]]
        chosen = rng.sample(pool, job.num_gpus)
        placer.take_gpus(job.id, [g for _, g in chosen])
    return placer.solution()


def gavel_round(instance: PlacementInstance) -> PlacementSolution:
    """Gavel's round placement: largest jobs first, each on the fewest servers.

    Gavel's mechanism places the jobs its policy chose for a round, largest
    scale factor first, on the servers with the most free GPUs of the type
    assigned. Here the type is the job's fastest allowed type with room
    (Gavel's heterogeneity-aware policies decide it with an LP over rounds).
    """
    jobs = sorted(instance.jobs, key=lambda j: (-j.num_gpus, instance.job_index[j.id]))
    return _place_in_order(instance, jobs, Placer.fewest_servers, _fastest_types).solution()


class _Rates:
    """An instance's throughputs and interference factors, each computed once: they
    depend on jobs only through their types, and pairing looks at every placed job
    for every job left over (Philly's 3,000-job round asks 1.9 million times)."""

    def __init__(self, inst: PlacementInstance) -> None:
        self.inst = inst
        self.thr: dict[tuple[str, tuple[int, ...], str | None], float] = {}
        self.factors: dict[tuple[str, str, str, int], float | None] = {}

    def value(self, job: Job, gpus: tuple[int, ...], partner: Job | None = None) -> float:
        """``job``'s weighted normalised throughput on ``gpus`` beside ``partner``."""
        key = (job.job_type, gpus, partner.job_type if partner else None)
        if key not in self.thr:
            self.thr[key] = self.inst.model.throughput(*key)
        return job.weight * self.thr[key] / self.inst.reference[job.id]

    def interference(self, job_type: str, partner: str, gpu_type: str, k: int) -> float | None:
        key = (job_type, partner, gpu_type, k)
        if key not in self.factors:
            self.factors[key] = self.inst.model.interference(*key)
        return self.factors[key]


def density_greedy(instance: PlacementInstance) -> PlacementSolution:
    """Greedy by weighted throughput density: value per GPU, highest first.

    A job's density is ``w_j / g_j`` times its best normalised throughput (1).
    Each job, densest first, takes the candidate placement of highest value
    among its allowed types: one server (best fit) or, failing that, the
    fewest servers. With space sharing, a job that no longer fits joins the
    placed job of the same size whose pairing adds the most value, if any does.
    """
    inst = instance
    jobs = sorted(inst.jobs, key=lambda j: (-j.weight / j.num_gpus, inst.job_index[j.id]))
    placer = Placer(inst)
    placed: dict[str, Job] = {}
    rates = _Rates(inst)
    for job in jobs:
        best: tuple[float, dict[int, int]] | None = None
        for t in inst.pools[job.id]:
            picks = placer.consolidated(job.num_gpus, t)
            if not picks:
                continue
            gpus = tuple(g for s, k in picks.items() for g in placer.free[s][:k])
            v = rates.value(job, gpus)
            if best is None or v > best[0]:
                best = (v, picks)
        if best is not None:
            placer.place(job, best[1])
            placed[job.id] = job
        elif inst.space_sharing:
            _join_best(rates, placer, placed, job)
    return placer.solution()


def _join_best(rates: _Rates, placer: Placer, placed: dict[str, Job], job: Job) -> bool:
    """Co-locate ``job`` with the placed, unpaired job where the pair adds most value."""
    inst = rates.inst
    best: tuple[float, str] | None = None
    for other_id, other in placed.items():
        if other_id in placer.partner or other.num_gpus != job.num_gpus:
            continue
        gpus = placer.assignment[other_id]
        t = inst.cluster.gpu2type[gpus[0]]
        if t not in inst.pools[job.id]:
            continue
        fa = rates.interference(job.job_type, other.job_type, t, job.num_gpus)
        fb = rates.interference(other.job_type, job.job_type, t, job.num_gpus)
        if fa is None or fb is None:
            continue
        gain = (
            rates.value(job, gpus, other) + rates.value(other, gpus, job) - rates.value(other, gpus)
        )
        if gain > 0 and (best is None or gain > best[0]):
            best = (gain, other_id)
    if best is None:
        return False
    other_id = best[1]
    placer.assignment[job.id] = placer.assignment[other_id]
    placer.partner[job.id], placer.partner[other_id] = other_id, job.id
    placed[job.id] = job
    return True


def gandiva(instance: PlacementInstance) -> PlacementSolution:
    """Gandiva packing: place jobs alone while GPUs last, then pack when it pays.

    Jobs in order take their fastest type, on one server where possible (best
    fit) else the fewest servers. When demand exceeds capacity and space
    sharing is on, each job left over joins a placed job of the same size
    whose measured pair throughput pays: summed normalised throughput of the
    pair above 1 (Gandiva dissolves pairs below 1), choosing the largest gain.
    Deviation: Gandiva pairs at random and undoes bad pairs after measuring;
    with the measurements known up front, this picks the best pair directly.
    """
    inst = instance
    placer = Placer(inst)
    placed: dict[str, Job] = {}
    for job in inst.jobs:
        for t in _fastest_types(placer, job):
            picks = placer.consolidated(job.num_gpus, t)
            if picks:
                placer.place(job, picks)
                placed[job.id] = job
                break
    if inst.space_sharing:
        rates = _Rates(inst)
        for job in inst.jobs:
            if job.id not in placed:
                _join_best(rates, placer, placed, job)
    return placer.solution()


# Methods (declared in the family record, ``optsched/problems/placement/__init__.py``).
first_fit_method = heuristic(first_fit)
best_fit_method = heuristic(best_fit)
scattered_method = heuristic(scattered)
gavel_method = heuristic(gavel_round)
gandiva_method = heuristic(gandiva)
greedy_method = heuristic(density_greedy)
random_method = seeded(random_placement)
