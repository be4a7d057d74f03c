"""Spase instances: Saturn-style model-selection tasks (assumed scaling) and tasks
with Pollux's measured step times. Deterministic in the seed.
"""

from __future__ import annotations

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
    """Spase tasks with measured runtimes: Pollux jobs on T4 nodes of 4 GPUs.

    Each job of Pollux workload ``workload`` (application, global batch) gets
    configurations of 1 to 4 GPUs on one node; a configuration's runtime is a
    fixed number of steps times Pollux's step time for that placement at local
    batch ``batch / g``, from a straight line fitted to the placement's measured
    step times over local batch sizes (Pollux's compute model is linear in
    the batch). The step count makes every job one hour long on one GPU.
    """
    import csv
    from importlib import resources

    rng = np.random.default_rng(seed)
    jobs = list(sources.pollux_workload(workload))
    if not 1 <= num_tasks <= len(jobs):
        raise InputError(
            f"--num-tasks must be in [1, {len(jobs)}] for the pollux source (the jobs of its "
            f"workload {workload!r}), got {num_tasks}"
        )
    picks = sorted(rng.choice(len(jobs), size=num_tasks, replace=False))
    base = resources.files("optsched.throughput") / "data"
    profiles: dict[str, dict[tuple[str, int], float]] = {}
    tasks = []
    for i in picks:
        job = jobs[int(i)]
        if job.application not in profiles:
            with (base / f"pollux_{job.application}_placements.csv").open() as fh:
                profiles[job.application] = {
                    (r["placement"], int(r["local_bsz"])): float(r["step_time"])
                    for r in csv.DictReader(fh)
                }
        prof = profiles[job.application]

        def step(g: int, prof=prof, job=job) -> float:
            # Step time is linear in the local batch (Pollux's T_compute = a + b bsz):
            # fit it on this placement's measurements, evaluate at batch / g.
            pts = np.array([(b, t) for (p, b), t in prof.items() if p == str(g)])
            slope, icpt = np.polyfit(pts[:, 0], pts[:, 1], 1)
            return float(max(icpt + slope * job.batch_size / g, pts[:, 1].min()))

        steps = 3600.0 / step(1)
        configs = tuple(
            TaskConfig("data-parallel", g, round(steps * step(g), 1)) for g in range(1, 5)
        )
        tasks.append(Task(job.name, configs))
    cluster = homogeneous(1, servers, 4, "t4", nic_bandwidth=6.25)
    return SpaseInstance(f"pollux-{num_tasks}t-{servers}x4-s{seed}", cluster, tuple(tasks))


# ---------------------------------------------------------------- sources
def saturn(seed: int, *, num_tasks: int = 12, servers: int = 4) -> SpaseInstance:
    return saturn_tasks(num_tasks, servers, 8, seed)


def pollux(seed: int, *, num_tasks: int = 16, servers: int = 4) -> SpaseInstance:
    return pollux_tasks(num_tasks, servers, seed)
