"""Deterministic instance generators (same seed, same instance).

* :func:`cerebro_fig6`: Cerebro's Figure 6 scheduler study (VLDB'20, Section 5.4).
* :func:`gavel_placement`, :func:`gavel_timeslot`: jobs of Gavel's measured
  types with Gavel's job-size distribution on a Gavel-style cluster.
* :func:`trace_placement`, :func:`trace_timeslot`: windows of real traces
  (Philly, Microsoft ITP, Helios, Gavel's Philly-derived traces, Alibaba openb).
* :func:`saturn_tasks`, :func:`pollux_tasks`: spase tasks, Saturn-style or with
  Pollux's measured step times.

Job sizes outside Gavel's measured scale factors (1, 2, 4, 8) are kept as
they are; their throughput follows rule 4 of :mod:`optsched.throughput.model`
(scaling efficiency interpolated in log2 of the size). Jobs larger than every
pool of the cluster are dropped from trace windows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import sources
from .errors import InputError, check_positive_int
from .model import Cluster, Rack, Server, gavel, homogeneous, philly
from .problems.hopper import HopperInstance
from .problems.placement import Job, PlacementInstance, PlacementObjective
from .problems.spase import SpaseInstance, Task, TaskConfig
from .problems.timeslot import TimeslotInstance, TimeslotJob, TimeslotObjective
from .throughput import ThroughputModel, default_catalog

#: Compute cost (MFLOPs per example) of 35 popular CNNs, Cerebro tech report
#: Table 7 (from albanie/convnet-burden); "2G" entries are 2000 MFLOPs as printed.
CEREBRO_CNN_MFLOPS: dict[str, float] = {
    "AlexNet": 727,
    "CaffeNet": 724,
    "SqueezeNet1-0": 837,
    "SqueezeNet1-1": 360,
    "VGG-f": 727,
    "VGG-m": 2000,
    "VGG-s": 3000,
    "VGG-m-2048": 2000,
    "VGG-m-1024": 2000,
    "VGG-m-128": 2000,
    "VGG-vd-16-atrous": 16000,
    "VGG-vd-16": 16000,
    "VGG-vd-19": 20000,
    "GoogleNet": 2000,
    "ResNet18": 2000,
    "ResNet34": 4000,
    "ResNet50": 4000,
    "ResNet101": 8000,
    "ResNet152": 11000,
    "ResNext-50-32x4d": 4000,
    "ResNext-101-32x4d": 8000,
    "ResNext-101-64x4d": 16000,
    "Inception-V3": 6000,
    "SE-ResNet-50": 4000,
    "SE-ResNet-101": 8000,
    "SE-ResNet-152": 11000,
    "SE-ResNeXt-50-32x4d": 4000,
    "SE-ResNeXt-101-32x4d": 8000,
    "SENet": 21000,
    "SE-BN-Inception": 2000,
    "DenseNet121": 3000,
    "DenseNet161": 8000,
    "DenseNet169": 3000,
    "DenseNet201": 4000,
    "MobileNet": 579,
}
#: Worker compute capacities (TFLOPS) Cerebro samples: Titan Xp, K80, GTX 1080, P100.
CEREBRO_WORKER_TFLOPS = (12.1, 5.6, 11.3, 18.7)

#: Gavel's parametric job-size distribution (scheduler/utils.py): GPUs -> probability.
GAVEL_SCALE_PROBS = {1: 0.70, 2: 0.10, 4: 0.15, 8: 0.05}


def cerebro_fig6(
    num_configs: int, num_workers: int, heterogeneous: bool, seed: int
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
    return HopperInstance(
        f"cerebro-{kind}-{num_configs}x{num_workers}-s{seed}",
        configs,
        tuple(f"w{j}" for j in range(num_workers)),
        times,
    )


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


def gavel_placement(
    num_jobs: int,
    counts: dict[str, int],
    seed: int,
    *,
    gpus_per_server: int = 4,
    space_sharing: bool = True,
    locality: bool = True,
    objective: str = "weighted_throughput",
) -> PlacementInstance:
    """Jobs of Gavel's measured types, sizes from Gavel's distribution, weights 1-4."""
    check_positive_int(num_jobs, "num_jobs", "gavel_placement")
    rng = np.random.default_rng(seed)
    cluster = gavel(counts, gpus_per_server)
    jobs = tuple(
        Job(f"j{i}", jt, g, float(rng.integers(1, 5)))
        for i, (jt, g) in enumerate(_gavel_jobs(rng, num_jobs, cluster.num_gpus))
    )
    label = ":".join(str(c) for c in counts.values())
    return PlacementInstance(
        f"gavel-place-{label}-{num_jobs}j-s{seed}",
        cluster,
        jobs,
        PlacementObjective(objective),
        space_sharing,
        locality,
    )


def gavel_timeslot(
    num_jobs: int,
    counts: dict[str, int],
    num_slots: int,
    seed: int,
    *,
    load: float = 0.8,
    objective: str = "makespan",
    restart_overhead: float = 0.0,
    gpus_per_server: int = 4,
) -> TimeslotInstance:
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
        rate = max(
            table.isolated[(jt, t, g)] for t in cluster.gpu_types if (jt, t, g) in table.isolated
        )
        release = int(rng.integers(0, max(1, num_slots // 3)))
        jobs.append(
            TimeslotJob(
                f"j{i}", jt, g, float(slots * 360.0 * rate), release, float(rng.integers(1, 4))
            )
        )
    label = ":".join(str(c) for c in counts.values())
    return TimeslotInstance(
        f"gavel-slots-{label}-{num_jobs}j-{num_slots}h-s{seed}",
        cluster,
        tuple(jobs),
        num_slots,
        360.0,
        TimeslotObjective(objective),
        False,
        restart_overhead,
    )


# ------------------------------------------------------------------ real traces
#: Distributed Gavel job types (measured at 1, 2, 4 and 8 GPUs).
def _types_for(g: int) -> list[str]:
    table = default_catalog().table
    measured = sorted({k[0] for k in table.isolated if k[2] == g})
    if measured:
        return measured
    return sorted({k[0] for k in table.isolated if k[2] == 8})  # other sizes: rule 4


def _trace(source: str, vc: str | None, seed: int) -> tuple[sources.TraceJob, ...]:
    if source == "philly":
        return sources.philly(vc)
    if source == "itp":
        return sources.itp(vc or "cluster03")
    if source == "helios":
        return sources.helios()
    if source == "gavel":
        return sources.gavel_msr(vc or "6214e9", seed % 5)
    raise InputError(f"unknown trace source {source!r}")


def _window(
    jobs: tuple[sources.TraceJob, ...], n: int, max_gpus: int, rng: np.random.Generator
) -> list[sources.TraceJob]:
    """``n`` consecutive jobs (by arrival) from a random start, dropping jobs larger than
    ``max_gpus`` (no pool could hold them)."""
    fit = [j for j in jobs if j.num_gpus <= max_gpus]
    if len(fit) < n:
        raise InputError(f"trace has only {len(fit)} jobs of at most {max_gpus} GPUs, need {n}")
    start = int(rng.integers(0, len(fit) - n + 1))
    return fit[start : start + n]


def _typed(job: sources.TraceJob, rng: np.random.Generator) -> str:
    if job.job_type is not None:
        return job.job_type
    types = _types_for(job.num_gpus)
    return types[int(rng.integers(len(types)))]


def trace_placement(
    source: str,
    num_jobs: int,
    seed: int,
    *,
    vc: str | None = None,
    counts: dict[str, int] | None = None,
    space_sharing: bool = True,
    locality: bool = True,
    objective: str = "weighted_throughput",
) -> PlacementInstance:
    """One round's jobs from a real trace: ``num_jobs`` consecutive submissions.

    GPU counts come from the trace; job types from the trace where it names
    them (Gavel's traces), otherwise drawn uniformly from Gavel's types
    measured at that size (sizes Gavel never measured, such as 3 or 16, draw
    from the distributed types and get rule 4 of the throughput model).
    Clusters: ``philly`` uses the real machine list (its first
    ``counts['servers']`` servers of each size, default 16), ``alibaba`` the
    openb GPU nodes, the others a Gavel-style cluster (default 24:24:16).
    """
    rng = np.random.default_rng(seed)
    if source == "alibaba":
        return _alibaba_placement(
            num_jobs, seed, counts or {"nodes": 24}, space_sharing, locality, objective
        )
    if source == "philly":
        per = int((counts or {}).get("servers", 16))
        full = philly_cluster(per)
        cluster = full
    else:
        cluster = gavel(counts or {"v100": 24, "p100": 24, "k80": 16})
    biggest = max(cluster.capacity(t) for t in cluster.gpu_types)
    window = _window(_trace(source, vc, seed), num_jobs, biggest, rng)
    jobs = tuple(
        Job(f"j{i}", _typed(j, rng), j.num_gpus, float(rng.integers(1, 5)))
        for i, j in enumerate(window)
    )
    return PlacementInstance(
        f"{source}-place-{num_jobs}j-s{seed}",
        cluster,
        jobs,
        PlacementObjective(objective),
        space_sharing,
        locality,
    )


def philly_cluster(servers_per_size: int) -> Cluster:
    """The first ``servers_per_size`` 2-GPU and 8-GPU servers of Philly's machine list."""
    full = philly()
    keep = [
        s
        for size in (2, 8)
        for s in [x for x in full.servers if x.num_gpus == size][:servers_per_size]
    ]
    racks = tuple(r for r in full.racks if any(s.rack == r.id for s in keep))
    return Cluster(f"philly-{servers_per_size}+{servers_per_size}", racks, tuple(keep))


def _alibaba_placement(
    num_jobs: int,
    seed: int,
    counts: dict[str, int],
    space_sharing: bool,
    locality: bool,
    objective: str,
) -> PlacementInstance:
    rng = np.random.default_rng(seed)
    nodes, pods = sources.openb()
    pick = sorted(rng.choice(len(nodes), size=int(counts.get("nodes", 24)), replace=False))
    servers = tuple(Server(nodes[i][0], "r0", nodes[i][2], nodes[i][1]) for i in pick)
    cluster = Cluster(f"openb-{len(servers)}", (Rack("r0"),), servers)
    present = set(cluster.gpu_types)
    jobs: list[Job] = []
    for k in rng.permutation(len(pods)):
        g, spec = pods[int(k)]
        allowed = tuple(t for t in spec if t in present) if spec else ()
        if spec and not allowed:
            continue
        pool = allowed or cluster.gpu_types
        if (
            max(cluster.max_server_gpus(t) for t in pool) < g
            and max(cluster.capacity(t) for t in pool) < g
        ):
            continue
        types = _types_for(g)
        jobs.append(
            Job(
                f"j{len(jobs)}",
                types[int(rng.integers(len(types)))],
                g,
                float(rng.integers(1, 5)),
                allowed,
            )
        )
        if len(jobs) == num_jobs:
            break
    return PlacementInstance(
        f"alibaba-place-{num_jobs}j-s{seed}",
        cluster,
        tuple(jobs),
        PlacementObjective(objective),
        space_sharing,
        locality,
    )


def trace_timeslot(
    source: str,
    num_jobs: int,
    num_slots: int,
    seed: int,
    *,
    vc: str | None = None,
    counts: dict[str, int] | None = None,
    objective: str = "makespan",
    restart_overhead: float = 0.0,
) -> TimeslotInstance:
    """A window of a real trace as an offline allocation problem.

    ``num_jobs`` consecutive submissions from a random start. Arrivals are
    scaled linearly so the window's jobs arrive within the first third of the
    horizon (inter-arrival ratios kept). Work is the trace's duration times the
    job's consolidated V100 rate (Gavel's convention: durations are V100 time;
    Gavel's own traces give steps directly), capped at what half the horizon
    gives at the job's best rate, so that every job can finish.
    """
    rng = np.random.default_rng(seed)
    cluster = gavel(counts or {"v100": 12, "p100": 12, "k80": 8})
    biggest = max(cluster.max_server_gpus(t) for t in cluster.gpu_types)
    window = _window(_trace(source, vc, seed), num_jobs, biggest, rng)
    t0, span = window[0].arrival, max(window[-1].arrival - window[0].arrival, 1.0)
    model = ThroughputModel(cluster)
    delta = 360.0
    jobs = []
    for i, tj in enumerate(window):
        jt = _typed(tj, rng)
        rates = [model.consolidated(jt, t, tj.num_gpus) for t in cluster.gpu_types]
        v100 = model.consolidated(jt, "v100", tj.num_gpus)
        work = tj.work if tj.work is not None else tj.duration * v100
        work = min(work, max(rates) * delta * num_slots / 2)
        release = int((tj.arrival - t0) / span * (num_slots // 3))
        jobs.append(
            TimeslotJob(
                f"j{i}",
                jt,
                tj.num_gpus,
                float(max(work, 1.0)),
                min(release, num_slots - 1),
                float(rng.integers(1, 4)),
            )
        )
    return TimeslotInstance(
        f"{source}-slots-{num_jobs}j-{num_slots}h-s{seed}",
        cluster,
        tuple(jobs),
        num_slots,
        delta,
        TimeslotObjective(objective),
        False,
        restart_overhead,
    )


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


def uniform_hopper(
    num_configs: int, num_workers: int, seed: int, low: float = 1.0, high: float = 10.0
) -> HopperInstance:
    """Unit times uniform in ``[low, high]`` (synthetic open shop)."""
    rng = np.random.default_rng(seed)
    times = rng.uniform(low, high, size=(num_configs, num_workers)).round(3)
    return HopperInstance.from_matrix(
        f"uniform-{num_configs}x{num_workers}-s{seed}", times.tolist()
    )


SOURCES = {
    "placement": ("synthetic", "gavel", "philly", "helios", "itp", "alibaba"),
    "timeslot": ("synthetic", "gavel", "philly", "helios", "itp"),
    "hopper": ("cerebro", "synthetic"),
    "spase": ("saturn", "pollux"),
}


def generate(
    family: str,
    source: str,
    seed: int,
    *,
    num_jobs: int | None = None,
    num_slots: int | None = None,
    num_configs: int | None = None,
    num_workers: int | None = None,
    num_tasks: int | None = None,
    servers: int | None = None,
    counts: dict[str, int] | None = None,
    vc: str | None = None,
    objective: str | None = None,
    heterogeneous: bool = True,
    locality: bool | None = None,
    space_sharing: bool = True,
) -> Any:
    """One instance of ``family`` from ``source`` (see :data:`SOURCES`), deterministic in
    ``seed``. Unset sizes take each generator's default."""
    if family not in SOURCES:
        raise InputError(f"generate: family must be one of {', '.join(SOURCES)}, got {family!r}")
    if source not in SOURCES[family]:
        raise InputError(
            f"generate: source for {family} must be one of "
            f"{', '.join(SOURCES[family])}, got {source!r}"
        )
    if family == "hopper":
        n, p = num_configs or 16, num_workers or 8
        if source == "cerebro":
            return cerebro_fig6(n, p, heterogeneous, seed)
        return uniform_hopper(n, p, seed)
    if family == "spase":
        if source == "saturn":
            return saturn_tasks(num_tasks or 12, servers or 4, 8, seed)
        return pollux_tasks(num_tasks or 16, servers or 4, seed)
    if family == "placement":
        kw: dict[str, Any] = {
            "objective": objective or "weighted_throughput",
            "space_sharing": space_sharing,
            "locality": True if locality is None else locality,
        }
        if source == "synthetic":
            return gavel_placement(
                num_jobs or 48, counts or {"v100": 24, "p100": 24, "k80": 16}, seed, **kw
            )
        if source == "philly" and servers:
            counts = {"servers": servers}
        if source == "alibaba" and servers:
            counts = {"nodes": servers}
        return trace_placement(source, num_jobs or 48, seed, vc=vc, counts=counts, **kw)
    kw = {"objective": objective or "makespan"}
    if source == "synthetic":
        inst = gavel_timeslot(
            num_jobs or 24,
            counts or {"v100": 12, "p100": 12, "k80": 8},
            num_slots or 24,
            seed,
            **kw,
        )
    else:
        inst = trace_timeslot(
            source, num_jobs or 24, num_slots or 24, seed, vc=vc, counts=counts, **kw
        )
    return inst.replace(locality=bool(locality))
