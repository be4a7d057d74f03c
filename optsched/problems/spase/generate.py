"""Spase instances: Saturn-style model-selection tasks (assumed scaling) and tasks
with Pollux's measured step times. Deterministic in the seed.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from ... import sources
from ...errors import InputError
from ...model import homogeneous
from .instance import SpaseInstance, Task, TaskConfig

#: Saturn-style model-selection workload (VLDB'24, Table 3): two architectures
#: per workload; one-GPU runtime in hours (assumed) and per-technique scaling
#: exponents: ``runtime(g) = T1 / g^alpha`` (assumed, documented, not published).
SATURN_MODELS = {
    "GPT-2": (40.0, {"fsdp": 0.85, "pipelining": 0.75, "spilling": None}),
    "GPT-J": (120.0, {"fsdp": 0.80, "pipelining": 0.70, "spilling": None}),
    "ViT-G": (30.0, {"fsdp": 0.85, "pipelining": 0.75, "ddp": 0.90, "spilling": None}),
    "ResNet-200M": (8.0, {"ddp": 0.92, "fsdp": 0.80, "spilling": None}),
}


def saturn_tasks(num_tasks: int, servers: int, gpus_per_server: int, seed: int) -> SpaseInstance:
    """Saturn-style tasks: models x batch sizes x learning rates, with candidate
    (technique, GPU count) configurations on servers of ``gpus_per_server`` GPUs.

    Spilling runs on one GPU at 1.5x the one-GPU time; other techniques on
    2, 4, ... up to a server, at ``T1 / g^alpha`` (times a batch-size factor
    drawn in [0.8, 1.2] and a learning-rate-independent epoch count of 10).
    """
    rng = np.random.default_rng(seed)
    names = list(SATURN_MODELS)
    tasks = []
    for i in range(num_tasks):
        model = names[i % len(names)]
        t1, techs = SATURN_MODELS[model]
        factor = float(rng.uniform(0.8, 1.2)) * 3600.0
        configs = []
        for tech, alpha in techs.items():
            if alpha is None:
                configs.append(TaskConfig(tech, 1, round(1.5 * t1 * factor)))
                continue
            g = 2
            while g <= gpus_per_server:
                configs.append(TaskConfig(tech, g, round(t1 * factor / g**alpha)))
                g *= 2
        tasks.append(Task(f"{model}-{i}", tuple(configs)))
    cluster = homogeneous(1, servers, gpus_per_server, "a100")
    return SpaseInstance(
        f"saturn-{num_tasks}t-{servers}x{gpus_per_server}-s{seed}", cluster, tuple(tasks)
    )


def pollux_tasks(num_tasks: int, servers: int, seed: int, workload: int = 1) -> SpaseInstance:
    """Spase tasks from Pollux's workload and measurements, on T4 nodes of 4 GPUs.

    Each picked job of Pollux workload ``workload`` (an application and its
    batch size ``B``) gets a data-parallel configuration per GPU count ``g`` of
    1 to 4 on one node, as Pollux's simulator times them:

    * its length is Pollux's iteration count to the application's last epoch
      at batch ``B`` (linear between the batch sizes Pollux validated,
      :func:`pollux_iterations`);
    * a step is Pollux's measured step time of placement ``g`` at local batch
      ``B / g`` (linear between the measured local batches); a local batch above
      the largest measured one accumulates gradients (Pollux's rule: the
      smallest number of micro-steps that fit, the synchronisation paid once).

    Nothing is extrapolated: a local batch outside the measured range (below it,
    or a micro-batch beyond the placement's own measurements) gives no
    configuration (Pollux does not run it either). The instance's ``origin``
    counts the configurations dropped so and those that accumulate.
    """
    rng = np.random.default_rng(seed)
    jobs = list(sources.pollux_workload(workload))
    if not 1 <= num_tasks <= len(jobs):
        raise InputError(
            f"--num-tasks must be in [1, {len(jobs)}] for the pollux source (the jobs of its "
            f"workload {workload!r}), got {num_tasks}"
        )
    picks = sorted(rng.choice(len(jobs), size=num_tasks, replace=False))
    tasks, dropped, accumulated = [], 0, 0
    for i in picks:
        job = jobs[int(i)]
        profile = pollux_profile(job.application)
        iterations = pollux_iterations(job.application, job.batch_size)
        configs = []
        for g in range(1, 5):
            step = profile.step(g, job.batch_size / g)
            if step is None:
                dropped += 1
                continue
            accumulated += step[1] > 0
            configs.append(TaskConfig("data-parallel", g, round(iterations * step[0], 1)))
        if not configs:
            raise InputError(f"pollux job {job.name!r}: no GPU count runs batch {job.batch_size}")
        tasks.append(Task(job.name, tuple(configs)))
    cluster = homogeneous(1, servers, 4, "t4", nic_bandwidth=6.25)
    origin = {
        "source": "pollux",
        "workload": workload,
        "seed": seed,
        "configs_dropped": dropped,
        "dropped_because": "local batch outside Pollux's measured range",
        "configs_accumulating": accumulated,
    }
    return SpaseInstance(f"pollux-{num_tasks}t-{servers}x4-s{seed}", cluster, tuple(tasks), origin)


#: Pollux's simulator caps some applications' local batch below what was measured.
POLLUX_MAX_LOCAL = {"yolov3": 8}


class PolluxProfile:
    """An application's measured step and synchronisation times by placement and local
    batch (``pollux_<app>_placements.csv``)."""

    def __init__(self, application: str) -> None:
        import csv
        from importlib import resources

        path = resources.files("optsched.throughput") / "data"
        points: dict[str, list[tuple[int, float, float]]] = {}
        with (path / f"pollux_{application}_placements.csv").open() as fh:
            for r in csv.DictReader(fh):
                points.setdefault(r["placement"], []).append(
                    (int(r["local_bsz"]), float(r["step_time"]), float(r["sync_time"]))
                )
        self.points = {p: sorted(v) for p, v in points.items()}
        every = [b for v in self.points.values() for b, _, _ in v]
        self.min_local = min(every)
        self.max_local = POLLUX_MAX_LOCAL.get(application, max(every))

    def step(self, g: int, local: float) -> tuple[float, int] | None:
        """Seconds per step of ``g`` GPUs on one node at local batch ``local``, and the
        extra micro-steps it accumulates; None outside the measured range."""
        pts = self.points[str(g)]
        local = math.ceil(local - 1e-8)  # Pollux rounds the local batch up first
        if local < self.min_local:
            return None
        extra = math.ceil(local / self.max_local - 1e-8) - 1
        atomic = math.ceil(local / (extra + 1) - 1e-8)
        bs = [b for b, _, _ in pts]
        if not bs[0] <= atomic <= bs[-1]:
            return None
        step = float(np.interp(atomic, bs, [t for _, t, _ in pts]))
        sync = float(np.interp(atomic, bs, [s for _, _, s in pts]))
        return step + extra * (step - sync), extra


@cache
def pollux_profile(application: str) -> PolluxProfile:
    return PolluxProfile(application)


@cache
def pollux_iterations(application: str, batch_size: int) -> float:
    """Iterations Pollux's simulator trains ``application`` at ``batch_size`` for: to
    its last epoch, linear between the batch sizes Pollux validated
    (``pollux_iterations.csv``)."""
    import csv
    from importlib import resources

    path = resources.files("optsched.throughput") / "data" / "pollux_iterations.csv"
    with path.open() as fh:
        table = sorted(
            (int(r["batch_size"]), float(r["iterations"]))
            for r in csv.DictReader(fh)
            if r["application"] == application
        )
    sizes = [b for b, _ in table]
    if not sizes or not sizes[0] <= batch_size <= sizes[-1]:
        raise InputError(
            f"pollux: {application} was validated at batch sizes {sizes}, not {batch_size}"
        )
    return float(np.interp(batch_size, sizes, [it for _, it in table]))


# ---------------------------------------------------------------- sources
def saturn(seed: int, *, num_tasks: int = 12, servers: int = 4) -> SpaseInstance:
    return saturn_tasks(num_tasks, servers, 8, seed)


def pollux(seed: int, *, num_tasks: int = 16, servers: int = 4) -> SpaseInstance:
    return pollux_tasks(num_tasks, servers, seed)
