"""Named workloads: real traces from ``$OPTSCHED_DATA`` and Gavel-style generated streams.

* ``philly``, ``helios``, ``itp``, ``alibaba``: every job of the trace (Philly:
  82,247 jobs; Alibaba: the openb pods that use whole GPUs, with their allowed
  GPU types, and lifetimes as durations, see :func:`optsched.sources.openb_jobs`),
  with its real arrival and gang size (up to 128 GPUs). Traces do not name job
  types, so each job draws one of Gavel's measured types for its size (seeded;
  :func:`optsched.problems.common.typed`). Its work is its trace duration at
  that type's consolidated rate on the cluster's reference GPU type (the type
  with most GPUs), so that a job alone on such GPUs takes its recorded time.
* ``gavel-generated:LAM:N``: N single-GPU jobs with Poisson arrivals of mean
  gap LAM seconds, job types uniform over Gavel's measured single-GPU types,
  durations drawn from Gavel's Philly-derived distribution
  (``gavel/philly_job_distribution.csv``, shipped with optsched), work at the V100 rate (Gavel's
  generator's convention).
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

from .. import sources
from ..errors import InputError
from ..model.topology import Cluster
from ..problems.common import trace, typed
from ..throughput.jobtypes import default_catalog
from ..throughput.model import ThroughputModel
from .workload import SimJob, Workload

TRACES = ("philly", "helios", "itp", "alibaba")


def alibaba_cluster() -> Cluster:
    """Alibaba openb's GPU nodes of disclosed models (625 nodes, 1,508 GPUs: T4, P100,
    V100, A10), racks of 16 alike nodes (the trace gives no rack layout)."""
    from ..model.builders import from_nodes

    nodes, _ = sources.openb()
    return from_nodes("alibaba-openb", nodes)


def reference_type(cluster: Cluster) -> str:
    return max(cluster.gpu_types, key=lambda t: (cluster.capacity(t), t))


def trace_workload(
    name: str, cluster: Cluster, seed: int = 0, variant: str | None = None
) -> Workload:
    """Every job of a real trace, typed and sized for ``cluster`` (see the module);
    ``variant`` picks Alibaba's pod list (``default``, ``gpuspec33``, ``multigpu50``)."""
    if name not in TRACES:
        raise InputError(f"workload must be one of {', '.join(TRACES)} or a file, got {name!r}")
    if variant is not None and name != "alibaba":
        raise InputError(f"only the alibaba workload has variants, got {name}:{variant}")
    raw = trace(name, variant, seed)
    rng = np.random.default_rng(seed)
    model = ThroughputModel(cluster)
    ref = reference_type(cluster)
    t0 = raw[0].arrival if raw else 0.0
    jobs = []
    present = set(cluster.gpu_types)
    for k, tj in enumerate(raw):
        jt = typed(tj, rng)
        rate = model.consolidated(jt, ref, tj.num_gpus)
        work = max(tj.duration, 1.0) * rate
        allowed = tuple(t for t in tj.gpu_types if t in present)
        if tj.gpu_types and not allowed:
            raise InputError(
                f"job j{k}: may use only {', '.join(tj.gpu_types)} GPUs, which cluster "
                f"{cluster.name!r} has none of"
            )
        jobs.append(SimJob(f"j{k}", jt, tj.num_gpus, work, tj.arrival - t0, 1.0, allowed))
    source = f"trace:{name}"
    if name == "alibaba":
        c = sources.openb_counts(variant or "default")
        source += (
            f" ({c['kept']} whole-GPU pods of {c['pods']}; left out: {c['fractional']} "
            f"fractional, {c['no_gpu']} without GPU, {c['no_life']} without a lifetime)"
        )
    return Workload(name, tuple(jobs), source=source)


def philly_durations() -> np.ndarray:
    """Gavel's Philly-derived job durations (seconds), one per row of its CSV: the copy
    in ``$OPTSCHED_DATA`` where there is one, else the one shipped with optsched."""
    path = Path(__file__).resolve().parent.parent / "throughput" / "data" / SHIPPED_DURATIONS
    try:
        found = sources.data_dir() / "gavel" / "philly_job_distribution.csv"
        if found.is_file():
            path = found
    except InputError:  # no trace data: the shipped copy
        pass
    return _durations(path)


SHIPPED_DURATIONS = "gavel_philly_job_distribution.csv"


@lru_cache(maxsize=4)
def _durations(path: Path) -> np.ndarray:
    try:
        with open(path) as fh:
            values = [float(r["duration_seconds"]) for r in csv.DictReader(fh)]
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (Gavel's job distribution)") from None
    except (KeyError, ValueError):
        raise InputError(f"{path}: expected a numeric duration_seconds column") from None
    out = np.array([v for v in values if v > 0])
    if out.size == 0:
        raise InputError(f"{path}: no durations")
    out.setflags(write=False)
    return out


def gavel_generated(lam: float, n: int, seed: int = 0) -> Workload:
    """``n`` single-GPU jobs, Poisson arrivals with mean gap ``lam`` s (see the module)."""
    if not lam > 0 or n < 1:
        raise InputError(f"gavel-generated needs LAM > 0 and N >= 1, got {lam}:{n}")
    rng = np.random.default_rng(seed)
    table = default_catalog().table
    types = sorted({k[0] for k in table.isolated if k[2] == 1 and k[1] == "v100"})
    durations = philly_durations()
    t, jobs = 0.0, []
    for k in range(n):
        jt = types[int(rng.integers(len(types)))]
        d = float(durations[int(rng.integers(durations.size))])
        jobs.append(SimJob(f"j{k}", jt, 1, d * table.isolated[(jt, "v100", 1)], t))
        t += float(rng.exponential(lam))
    return Workload(f"gavel-generated-{lam:g}-{n}", tuple(jobs), source="gavel-generated")
