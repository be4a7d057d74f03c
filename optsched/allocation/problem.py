"""One allocation round: the active jobs, the GPUs per type, and their throughputs.

An :class:`AllocProblem` is what Gavel's policies see at a round: each job's
type, gang size (``scale``), priority weight, steps left and time since it
arrived, the GPUs of each type, and throughputs per GPU type, alone and next
to a partner (for space sharing). :func:`gavel_input` makes the inputs of
Gavel's ``sweep_policy_runtimes.py`` (its seeds 2, 3, 4, ...), job for job.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..errors import InputError
from ..throughput.measured import gavel_table

#: Gavel's job table (``scheduler/job_table.py``), in its order: ``rng.choice`` draws
#: from this list, so the order is part of the generator.
GAVEL_JOB_TABLE = (
    *(f"ResNet-18 (batch size {b})" for b in (16, 32, 64, 128, 256)),
    *(f"ResNet-50 (batch size {b})" for b in (16, 32, 64, 128)),
    *(f"Transformer (batch size {b})" for b in (16, 32, 64, 128, 256)),
    *(f"LM (batch size {b})" for b in (5, 10, 20, 40, 80)),
    *(f"Recommendation (batch size {b})" for b in (512, 1024, 2048, 4096, 8192)),
    "A3C",
    "CycleGAN",
)


@dataclass(frozen=True)
class AllocJob:
    id: str
    job_type: str
    scale: int = 1
    weight: float = 1.0
    steps_left: float = 0.0
    elapsed: float = 0.0  # seconds since it arrived
    done_isolated: float = 0.0  # seconds its progress would have taken on its isolated share
    gpu_types: tuple[str, ...] = ()  # the types it may use (empty: any)


#: Throughput of (job type, scale, GPU type) alone, iterations per second.
Single = Callable[[str, int, str], float]
#: Throughputs of (a, b, scale, GPU type) sharing GPUs: (a's, b's); (0, 0) if they may not.
Pair = Callable[[str, str, int, str], tuple[float, float]]


@dataclass
class AllocProblem:
    """The jobs of one round and the cluster, by GPU type."""

    jobs: tuple[AllocJob, ...]
    gpus: Mapping[str, int]  # GPUs per type
    single: Single
    pair: Pair | None = None
    name: str = "round"
    #: Memo of :func:`~optsched.allocation.lp.pair_rates` (``a``'s co-located throughput
    #: next to ``b`` per type, by ``(a, b, scale)``); rounds on one cluster share it.
    pair_rows: dict[tuple[str, str, int], np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.jobs:
            raise InputError("allocation: no jobs")
        if not self.gpus or any(g < 0 for g in self.gpus.values()):
            raise InputError(f"allocation: GPUs per type must be >= 0, got {dict(self.gpus)}")
        ids = [j.id for j in self.jobs]
        if len(set(ids)) != len(ids):
            raise InputError("allocation: duplicate job ids")

    @cached_property
    def types(self) -> tuple[str, ...]:
        """GPU types, sorted by name (Gavel's worker-type order)."""
        return tuple(sorted(self.gpus))

    @cached_property
    def allowed(self) -> np.ndarray:
        """``A[m, t]``: 1 if job ``m`` may use GPU type ``t`` (its ``gpu_types``), else 0."""
        return np.array([allowed_row(self.types, j.gpu_types) for j in self.jobs])

    @cached_property
    def throughputs(self) -> np.ndarray:
        """``T[m, t]``: job ``m`` alone on GPU type ``t`` (0 on types it may not use)."""
        rates = np.array(
            [[self.single(j.job_type, j.scale, t) for t in self.types] for j in self.jobs]
        )
        return rates * self.allowed

    def pair_throughput(self, a: str, b: str, scale: int, t: str) -> tuple[float, float]:
        if self.pair is None:
            return (0.0, 0.0)
        return self.pair(a, b, scale, t)


def allowed_row(types: Sequence[str], gpu_types: Sequence[str]) -> np.ndarray:
    """1 for each of ``types`` a job limited to ``gpu_types`` may use (empty: all)."""
    return np.array([float(not gpu_types or t in gpu_types) for t in types])


def gavel_throughputs() -> tuple[Single, Pair]:
    """Gavel's measured table as ``single`` and ``pair`` functions (0 where unmeasured)."""
    table = gavel_table()

    def single(job_type: str, scale: int, t: str) -> float:
        return float(table.isolated.get((job_type, t, scale), 0.0))

    def pair(a: str, b: str, scale: int, t: str) -> tuple[float, float]:
        got = table.colocated.get((a, b, t, scale))
        return (float(got[0]), float(got[1])) if got else (0.0, 0.0)

    return single, pair


def gavel_input(n: int, seed: int = 2) -> AllocProblem:
    """The allocation input of Gavel's ``sweep_policy_runtimes.py`` for ``n`` jobs.

    As its ``generate_input``: ``n // 4`` GPUs each of V100, P100 and K80, and ``n``
    single-GPU jobs from ``utils.generate_job`` with ``random.Random(seed)``: a
    scale-factor draw (discarded: no multi-GPU jobs), a duration (Philly-like:
    ``60 x 10^U(3,4)`` s with probability 0.2, else ``60 x 10^U(1.5,3)``), then a
    job type from Gavel's job table; steps at the V100 rate; weight 1.
    """
    if n < 4:
        raise InputError(f"--gavel-input needs at least 4 jobs (n // 4 GPUs per type), got {n}")
    rng = random.Random(seed)
    single, pair = gavel_throughputs()
    jobs = []
    for i in range(n):
        rng.uniform(0, 1)  # the scale factor's draw
        if rng.random() >= 0.8:
            run_time = 60 * (10 ** rng.uniform(3, 4))
        else:
            run_time = 60 * (10 ** rng.uniform(1.5, 3))
        job_type = rng.choice(GAVEL_JOB_TABLE)
        steps = run_time * single(job_type, 1, "v100")
        jobs.append(AllocJob(f"j{i}", job_type, 1, 1.0, steps, 0.0))
    gpus = {"v100": n // 4, "p100": n // 4, "k80": n // 4}
    return AllocProblem(tuple(jobs), gpus, single, pair, f"gavel-input-{n}-s{seed}")


def from_jobs(
    jobs: Sequence[AllocJob],
    gpus: Mapping[str, int],
    model: object,
    name: str = "round",
) -> AllocProblem:
    """A round on a cluster of the throughput model: consolidated throughputs alone, and
    the model's co-located ones for pairs (0 where the model forbids sharing)."""
    return rounds_on(gpus, model)(jobs, name)


def rounds_on(
    gpus: Mapping[str, int], model: object
) -> Callable[[Sequence[AllocJob], str], AllocProblem]:
    """A maker of rounds on one cluster that remembers every throughput it looked up
    (a simulator asks for one round after another)."""
    from ..throughput.model import ThroughputModel

    assert isinstance(model, ThroughputModel)
    gpus = dict(gpus)
    memo: dict[tuple[str, int, str], float] = {}
    pairs: dict[tuple[str, str, int, str], tuple[float, float]] = {}

    def single(job_type: str, scale: int, t: str) -> float:
        key = (job_type, scale, t)
        if key not in memo:
            fits = model.runs_on(job_type, t) and gpus.get(t, 0) >= scale
            memo[key] = model.consolidated(job_type, t, scale) if fits else 0.0
        return memo[key]

    def pair(a: str, b: str, scale: int, t: str) -> tuple[float, float]:
        key = (a, b, scale, t)
        if key not in pairs:
            fa, fb = model.interference(a, b, t, scale), model.interference(b, a, t, scale)
            ok = fa is not None and fb is not None
            pairs[key] = (single(a, scale, t) * fa, single(b, scale, t) * fb) if ok else (0.0, 0.0)  # type: ignore[operator]
        return pairs[key]

    rows: dict[tuple[str, str, int], np.ndarray] = {}

    def make(jobs: Sequence[AllocJob], name: str = "round") -> AllocProblem:
        return AllocProblem(tuple(jobs), gpus, single, pair, name, rows)

    return make


def equal_share(problem: AllocProblem) -> np.ndarray:
    """Gavel's proportional allocation: every job gets ``G_t / sum(G)`` of each type
    (``ProportionalPolicy``), so its throughput is ``sum_t T_mt G_t / G``."""
    g = np.array([problem.gpus[t] for t in problem.types], dtype=float)
    return g / g.sum() if g.sum() > 0 else g


def isolated_share(problem: AllocProblem) -> np.ndarray:
    """Gavel's isolated allocation (``IsolatedPolicy``): ``G_t / n`` of each type over the
    job's scale, scaled down so that a job's row sums to at most 1."""
    n = len(problem.jobs)
    g = np.array([problem.gpus[t] for t in problem.types], dtype=float)
    scale = np.array([j.scale for j in problem.jobs], dtype=float)[:, None]
    x = (g[None, :] / n) / scale
    return x / np.maximum(x.sum(axis=1, keepdims=True), 1.0)


class IsolatedClock:
    """Finish-time fairness's ``c_m``, kept as Gavel keeps it from one allocation to the
    next: the isolated time a job's progress would have taken, i.e. the steps done
    since the last allocation over the job's isolated throughput at that allocation."""

    def __init__(self) -> None:
        self.done: dict[Hashable, float] = {}
        self._last: dict[Hashable, tuple[float, float]] = {}  # (steps left, isolated rate)

    def advance(self, key: Hashable, steps_left: float) -> float:
        """``key``'s isolated time so far, now that it has ``steps_left``."""
        if key in self._last:
            before, rate = self._last[key]
            self.done[key] = self.done.get(key, 0.0) + (before - steps_left) / rate
        return self.done.get(key, 0.0)

    def allocated(self, problem: AllocProblem, keys: Sequence[Hashable]) -> None:
        """Record each job's steps left and isolated rate at this allocation."""
        iso = (problem.throughputs * isolated_share(problem)).sum(axis=1)
        self._last = {k: (problem.jobs[i].steps_left, float(iso[i])) for i, k in enumerate(keys)}
