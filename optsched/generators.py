"""Deterministic instance generators (same seed, same instance).

* :func:`cerebro_fig6`: Cerebro's Figure 6 scheduler study (VLDB'20, Section 5.4).
* :func:`gavel_placement`, :func:`gavel_timeslot`: jobs of Gavel's measured
  types with Gavel's job-size distribution on a Gavel-style cluster.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError, check_positive_int
from .model import gavel
from .problems.hopper import HopperInstance
from .problems.placement import Job, PlacementInstance, PlacementObjective
from .problems.timeslot import TimeslotInstance, TimeslotJob, TimeslotObjective
from .throughput import default_catalog

#: Compute cost (MFLOPs per example) of 35 popular CNNs, Cerebro tech report
#: Table 7 (from albanie/convnet-burden); "2G" entries are 2000 MFLOPs as printed.
CEREBRO_CNN_MFLOPS: dict[str, float] = {
    "AlexNet": 727, "CaffeNet": 724, "SqueezeNet1-0": 837, "SqueezeNet1-1": 360,
    "VGG-f": 727, "VGG-m": 2000, "VGG-s": 3000, "VGG-m-2048": 2000, "VGG-m-1024": 2000,
    "VGG-m-128": 2000, "VGG-vd-16-atrous": 16000, "VGG-vd-16": 16000, "VGG-vd-19": 20000,
    "GoogleNet": 2000, "ResNet18": 2000, "ResNet34": 4000, "ResNet50": 4000,
    "ResNet101": 8000, "ResNet152": 11000, "ResNext-50-32x4d": 4000,
    "ResNext-101-32x4d": 8000, "ResNext-101-64x4d": 16000, "Inception-V3": 6000,
    "SE-ResNet-50": 4000, "SE-ResNet-101": 8000, "SE-ResNet-152": 11000,
    "SE-ResNeXt-50-32x4d": 4000, "SE-ResNeXt-101-32x4d": 8000, "SENet": 21000,
    "SE-BN-Inception": 2000, "DenseNet121": 3000, "DenseNet161": 8000, "DenseNet169": 3000,
    "DenseNet201": 4000, "MobileNet": 579,
}
#: Worker compute capacities (TFLOPS) Cerebro samples: Titan Xp, K80, GTX 1080, P100.
CEREBRO_WORKER_TFLOPS = (12.1, 5.6, 11.3, 18.7)

#: Gavel's parametric job-size distribution (scheduler/utils.py): GPUs -> probability.
GAVEL_SCALE_PROBS = {1: 0.70, 2: 0.10, 4: 0.15, 8: 0.05}


def cerebro_fig6(num_configs: int, num_workers: int, heterogeneous: bool, seed: int
                 ) -> HopperInstance:
    """One cell of Cerebro's Figure 6 grid.

    ``T_ij = cost_i / capacity_j``. Homogeneous: every cost and capacity is 1,
    so ``T_ij = 1``. Heterogeneous: costs sampled with replacement from
    :data:`CEREBRO_CNN_MFLOPS` (in GFLOPs), capacities from
    :data:`CEREBRO_WORKER_TFLOPS`; times are then in milliseconds per example
    (GFLOPs / TFLOPS).
    """
    check_positive_int(num_configs, "num_configs", "cerebro_fig6")
    check_positive_int(num_workers, "num_workers", "cerebro_fig6")
    rng = np.random.default_rng(seed)
    if heterogeneous:
        names = sorted(CEREBRO_CNN_MFLOPS)
        picks = rng.choice(len(names), size=num_configs, replace=True)
        cost = np.array([CEREBRO_CNN_MFLOPS[names[i]] / 1000.0 for i in picks])
        cap = rng.choice(np.array(CEREBRO_WORKER_TFLOPS), size=num_workers, replace=True)
        configs = tuple(f"{names[i]}#{k}" for k, i in enumerate(picks))
    else:
        cost, cap = np.ones(num_configs), np.ones(num_workers)
        configs = tuple(f"c{k}" for k in range(num_configs))
    times = tuple(tuple(float(c / w) for w in cap) for c in cost)
    kind = "het" if heterogeneous else "hom"
    return HopperInstance(f"cerebro-{kind}-{num_configs}x{num_workers}-s{seed}", configs,
                          tuple(f"w{j}" for j in range(num_workers)), times)


def _gavel_jobs(rng: np.random.Generator, num_jobs: int, max_gpus: int) -> list[tuple[str, int]]:
    table = default_catalog().table
    out = []
    sizes = [s for s in GAVEL_SCALE_PROBS if s <= max_gpus]
    probs = np.array([GAVEL_SCALE_PROBS[s] for s in sizes])
    probs /= probs.sum()
    for _ in range(num_jobs):
        g = int(rng.choice(sizes, p=probs))
        types = sorted({k[0] for k in table.isolated if k[2] == g})
        out.append((types[int(rng.integers(len(types)))], g))
    return out


def gavel_placement(num_jobs: int, counts: dict[str, int], seed: int, *,
                    gpus_per_server: int = 4, space_sharing: bool = True,
                    locality: bool = True, objective: str = "weighted_throughput"
                    ) -> PlacementInstance:
    """Jobs of Gavel's measured types, sizes from Gavel's distribution, weights 1-4."""
    check_positive_int(num_jobs, "num_jobs", "gavel_placement")
    rng = np.random.default_rng(seed)
    cluster = gavel(counts, gpus_per_server)
    jobs = tuple(Job(f"j{i}", jt, g, float(rng.integers(1, 5)))
                 for i, (jt, g) in enumerate(_gavel_jobs(rng, num_jobs, cluster.num_gpus)))
    label = ":".join(str(c) for c in counts.values())
    return PlacementInstance(f"gavel-place-{label}-{num_jobs}j-s{seed}", cluster, jobs,
                             PlacementObjective(objective), space_sharing, locality)


def gavel_timeslot(num_jobs: int, counts: dict[str, int], num_slots: int, seed: int, *,
                   load: float = 0.8, objective: str = "makespan",
                   restart_overhead: float = 0.0, gpus_per_server: int = 4) -> TimeslotInstance:
    """Jobs of Gavel's types with work for about ``load`` of the cluster's GPU-slots.

    Each job's work is drawn so that, at its best consolidated rate, the jobs
    together fill about ``load`` of ``num_slots`` slots on every GPU; releases
    are uniform over the first third of the horizon.
    """
    if not 0 < load <= 1:
        raise InputError(f"gavel_timeslot: load must be in (0, 1], got {load}")
    rng = np.random.default_rng(seed)
    cluster = gavel(counts, gpus_per_server)
    specs = _gavel_jobs(rng, num_jobs, max(cluster.max_server_gpus(t) for t in cluster.gpu_types))
    table = default_catalog().table
    budget = load * num_slots * cluster.num_gpus  # GPU-slots
    share = rng.dirichlet(np.ones(num_jobs)) * budget
    jobs = []
    for i, ((jt, g), gpu_slots) in enumerate(zip(specs, share)):
        slots = max(0.5, min(gpu_slots / g, num_slots / 2))
        rate = max(table.isolated[(jt, t, g)] for t in cluster.gpu_types
                   if (jt, t, g) in table.isolated)
        release = int(rng.integers(0, max(1, num_slots // 3)))
        jobs.append(TimeslotJob(f"j{i}", jt, g, float(slots * 360.0 * rate), release,
                                float(rng.integers(1, 4))))
    label = ":".join(str(c) for c in counts.values())
    return TimeslotInstance(f"gavel-slots-{label}-{num_jobs}j-{num_slots}h-s{seed}", cluster,
                            tuple(jobs), num_slots, 360.0, TimeslotObjective(objective), False,
                            restart_overhead)
