"""Placement instances: Gavel's measured job types on Gavel-style clusters, and one
round's jobs from real traces (Philly, Microsoft ITP, Helios, Gavel's traces,
Alibaba openb). Deterministic in the seed.

Job sizes outside Gavel's measured scale factors (1, 2, 4, 8) are kept as
they are; their throughput follows rule 4 of :mod:`optsched.throughput.model`.
Jobs larger than every pool of the cluster are dropped from trace windows.
"""

from __future__ import annotations

import numpy as np

from ... import sources
from ...errors import InputError, check_positive_int
from ...model import Cluster, Rack, Server, gavel, philly
from ...throughput.model import INTERFERENCE_MODES
from ..common import gavel_jobs, trace, typed, types_for, window
from .instance import Job, PlacementInstance, PlacementObjective

DEFAULT_COUNTS = {"v100": 24, "p100": 24, "k80": 16}


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
    largest_pool = max(cluster.capacity(t) for t in cluster.gpu_types)  # a job uses one type
    jobs = tuple(
        Job(f"j{i}", jt, g, float(rng.integers(1, 5)))
        for i, (jt, g) in enumerate(gavel_jobs(rng, num_jobs, largest_pool))
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
        return alibaba_placement(
            num_jobs, seed, counts or {"nodes": 24}, space_sharing, locality, objective
        )
    if source == "philly":
        cluster = philly_cluster(int((counts or {}).get("servers", 16)))
    else:
        cluster = gavel(counts or DEFAULT_COUNTS)
    biggest = max(cluster.capacity(t) for t in cluster.gpu_types)
    picked = window(trace(source, vc, seed), num_jobs, biggest, rng)
    jobs = tuple(
        Job(f"j{i}", typed(j, rng), j.num_gpus, float(rng.integers(1, 5)))
        for i, j in enumerate(picked.jobs)
    )
    return PlacementInstance(
        f"{source}-place-{num_jobs}j-s{seed}",
        cluster,
        jobs,
        PlacementObjective(objective),
        space_sharing,
        locality,
        origin={
            "source": source,
            "vc": vc,
            "seed": seed,
            "jobs_dropped": picked.dropped,
            "gpu_time_dropped": picked.gpu_time_dropped,
            "dropped_because": f"larger than the largest GPU type's {biggest} GPUs",
        },
    )


def philly_cluster(servers_per_size: int) -> Cluster:
    """The first ``servers_per_size`` 2-GPU and 8-GPU servers of Philly's machine list (all
    of a size that has fewer): 321 or more keeps the whole cluster, 552 servers and
    2,490 GPUs."""
    full = philly()
    most = max(sum(s.num_gpus == size for s in full.servers) for size in (2, 8))
    if not 1 <= servers_per_size <= most:
        raise InputError(
            f"--servers must be in [1, {most}] for the philly source (its machine list has "
            f"{most} servers of its commoner size), got {servers_per_size}"
        )
    if servers_per_size == most:
        return full
    keep = [
        s
        for size in (2, 8)
        for s in [x for x in full.servers if x.num_gpus == size][:servers_per_size]
    ]
    racks = tuple(r for r in full.racks if any(s.rack == r.id for s in keep))
    return Cluster(f"philly-{servers_per_size}+{servers_per_size}", racks, tuple(keep))


def alibaba_placement(
    num_jobs: int,
    seed: int,
    counts: dict[str, int],
    space_sharing: bool,
    locality: bool,
    objective: str,
) -> PlacementInstance:
    """Pods of Alibaba's openb trace on ``counts['nodes']`` of its GPU nodes."""
    rng = np.random.default_rng(seed)
    nodes, pods = sources.openb()
    want = int(counts.get("nodes", 24))
    if not 1 <= want <= len(nodes):
        raise InputError(
            f"--servers must be in [1, {len(nodes)}] for the alibaba source (its GPU nodes), "
            f"got {want}"
        )
    pick = sorted(rng.choice(len(nodes), size=want, replace=False))
    servers = tuple(Server(nodes[i][0], "r0", nodes[i][2], nodes[i][1]) for i in pick)
    cluster = Cluster(f"openb-{len(servers)}", (Rack("r0"),), servers)
    present = set(cluster.gpu_types)
    jobs: list[Job] = []
    no_type = too_big = 0
    for k in rng.permutation(len(pods)):
        g, spec = pods[int(k)]
        allowed = tuple(t for t in spec if t in present) if spec else ()
        if spec and not allowed:
            no_type += 1
            continue
        pool = allowed or cluster.gpu_types
        if (
            max(cluster.max_server_gpus(t) for t in pool) < g
            and max(cluster.capacity(t) for t in pool) < g
        ):
            too_big += 1
            continue
        types = types_for(g)
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
        origin={
            "source": "alibaba",
            "seed": seed,
            "pods_drawn": len(jobs) + no_type + too_big,
            "dropped_gpu_type_absent": no_type,
            "dropped_too_large": too_big,
        },
    )


# ---------------------------------------------------------------- sources
def synthetic(
    seed: int,
    *,
    num_jobs: int = 48,
    counts: dict[str, int] | None = None,
    objective: str = "weighted_throughput",
    locality: bool = True,
    sharing: bool = True,
    interference: str = "fitted",
    spread: str = "measured",
    strategy: str = "ring",
    spare_cpu: int = 0,
) -> PlacementInstance:
    inst = gavel_placement(
        num_jobs,
        counts or DEFAULT_COUNTS,
        seed,
        space_sharing=sharing,
        locality=locality,
        objective=objective,
    )
    return _model_options(inst, interference, spread, strategy, spare_cpu)


def _model_options(
    inst: PlacementInstance, interference: str, spread: str, strategy: str, spare_cpu: int
) -> PlacementInstance:
    """The throughput model's options, from the command line's text."""
    value: float | str = interference
    if interference not in INTERFERENCE_MODES:
        try:
            value = float(interference)
        except ValueError:
            value = -1.0
        if not 0 < value <= 1:
            raise InputError(
                f"--interference must be fitted, forbid or a factor in (0, 1], got {interference!r}"
            )
    return inst.replace(
        unmeasured_interference=value,
        spread=spread,
        strategy=strategy,
        spare_cpu_servers=spare_cpu,
    )


def from_trace(
    source: str,
    seed: int,
    *,
    num_jobs: int = 48,
    counts: dict[str, int] | None = None,
    servers: int | None = None,
    vc: str | None = None,
    objective: str = "weighted_throughput",
    locality: bool = True,
    sharing: bool = True,
    interference: str = "fitted",
    spread: str = "measured",
    strategy: str = "ring",
    spare_cpu: int = 0,
) -> PlacementInstance:
    if source == "philly" and servers:
        counts = {"servers": servers}
    if source == "alibaba" and servers:
        counts = {"nodes": servers}
    inst = trace_placement(
        source,
        num_jobs,
        seed,
        vc=vc,
        counts=counts,
        space_sharing=sharing,
        locality=locality,
        objective=objective,
    )
    return _model_options(inst, interference, spread, strategy, spare_cpu)
