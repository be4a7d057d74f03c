"""Readers for the real traces optsched derives instances from.

The raw traces are not shipped in the package; they live in a data folder
laid out like the project's shared data (``gavel/``, ``traces/``), found as
``$OPTSCHED_DATA``, else ``../shared/data`` beside the repository. Each
folder there has a README with provenance and licence; the instances in
``instances/`` derived from them carry those notices. Units: seconds, GPUs.
"""

from __future__ import annotations

import csv
import io
import os
import tarfile
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from .errors import InputError


def data_dir() -> Path:
    """Where the raw traces are."""
    env = os.environ.get("OPTSCHED_DATA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [here.parents[2] / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for c in candidates:
        if (c / "traces").is_dir():
            return c
    raise InputError(
        "trace data not found: set OPTSCHED_DATA to the folder holding gavel/ and traces/"
    )


@dataclass(frozen=True)
class TraceJob:
    """One job of a trace: submission (s from the trace's start), duration (s), GPUs.

    ``job_type`` and ``work`` are set where the trace names them (Gavel's traces).
    """

    arrival: float
    duration: float
    num_gpus: int
    job_type: str | None = None
    work: float | None = None
    gpu_types: tuple[str, ...] = ()  # the GPU types it may use, where the trace says


def _sorted(jobs: list[TraceJob]) -> tuple[TraceJob, ...]:
    return tuple(sorted(jobs, key=lambda j: (j.arrival, j.num_gpus, j.duration)))


@lru_cache(maxsize=4)
def philly(vc: str | None = None) -> tuple[TraceJob, ...]:
    """Philly (``traces/philly/philly.csv``): 82k jobs, 15 virtual clusters."""
    rows = []
    with open(data_dir() / "traces" / "philly" / "philly.csv") as fh:
        for r in csv.DictReader(fh):
            if vc is not None and r["cluster"] != vc:
                continue
            t = datetime.strptime(r["timestamp"], "%Y-%m-%d %H:%M:%S").timestamp()
            rows.append((t, float(r["duration"]), int(r["num_gpus"])))
    if not rows:
        raise InputError(f"philly: no jobs for virtual cluster {vc!r}")
    t0 = min(r[0] for r in rows)
    return _sorted([TraceJob(t - t0, d, g) for t, d, g in rows if d > 0 and g > 0])


@lru_cache(maxsize=4)
def itp(cluster: str = "cluster03") -> tuple[TraceJob, ...]:
    """Microsoft ITP (ElasticFlow's raw traces): real submissions, durations, GPUs."""
    path = data_dir() / "traces" / "microsoft-itp-elasticflow" / "raw-traces.tar.gz"
    with tarfile.open(path) as tar:
        names = [n for n in tar.getnames() if n.endswith(f"{cluster}.csv")]
        if not names:
            raise InputError(f"itp: no cluster {cluster!r} (cluster01 to cluster10)")
        fh = tar.extractfile(names[0])
        assert fh is not None
        text = io.TextIOWrapper(fh).read()
    jobs = [
        TraceJob(float(r["submission_time"]), float(r["duration"]), int(r["num_gpu"]))
        for r in csv.DictReader(io.StringIO(text))
    ]
    return _sorted([j for j in jobs if j.duration > 0 and j.num_gpus > 0])


@lru_cache(maxsize=1)
def helios() -> tuple[TraceJob, ...]:
    """Helios (latest 15k jobs; CPU-only jobs dropped); arrivals from cumulative intervals."""
    jobs, t = [], 0.0
    with open(data_dir() / "traces" / "helios" / "helios_data_training.csv") as fh:
        for r in csv.DictReader(fh):
            t += float(r["interval"])
            g, d = int(r["gpu_num"]), float(r["run_time"])
            if g > 0 and d > 0:
                jobs.append(TraceJob(t, d, g))
    return _sorted(jobs)


@lru_cache(maxsize=8)
def gavel_msr(vc: str = "6214e9", seed: int = 0) -> tuple[TraceJob, ...]:
    """Gavel's Philly-derived traces (7-column format): type, steps, arrival, scale factor."""
    path = data_dir() / "gavel" / "traces" / "msr" / f"seed={seed}" / f"{vc}.trace"
    if not path.exists():
        raise InputError(f"gavel: no trace {vc!r} for seed {seed}")
    jobs = []
    for line in path.read_text().splitlines():
        f = line.split("\t")
        if len(f) != 7:
            continue
        jobs.append(TraceJob(float(f[5]), 0.0, int(f[6]), f[0], float(f[4])))
    return _sorted(jobs)


@dataclass(frozen=True)
class PolluxJob:
    name: str
    arrival: float
    application: str
    num_replicas: int
    batch_size: int


@lru_cache(maxsize=8)
def pollux_workload(k: int = 1) -> tuple[PolluxJob, ...]:
    """Pollux's workload-k.csv: 160 jobs over 8 h, six model types (semi-synthetic)."""
    path = data_dir() / "traces" / "pollux" / "workloads" / f"workload-{k}.csv"
    if not path.exists():
        raise InputError(f"pollux: no workload {k} (1 to 8)")
    with open(path) as fh:
        return tuple(
            PolluxJob(
                r["name"],
                float(r["time"]),
                r["application"],
                int(r["num_replicas"]),
                int(r["batch_size"]),
            )
            for r in csv.DictReader(fh)
        )


#: openb GPU models -> optsched GPU types (G1-G3 are undisclosed and dropped).
OPENB_TYPES = {"T4": "t4", "P100": "p100", "V100M16": "v100", "V100M32": "v100", "A10": "a10"}


@lru_cache(maxsize=2)
def openb(
    variant: str = "gpuspec33",
) -> tuple[list[tuple[str, int, str]], list[tuple[int, tuple[str, ...]]]]:
    """Alibaba openb: GPU nodes ``(name, gpus, type)`` and whole-GPU pods ``(gpus, types)``.

    Nodes of undisclosed models are dropped; pods asking for fractional GPUs
    (``gpu_milli < 1000``) or no GPU are dropped; ``gpu_spec`` becomes the
    pod's allowed types (empty: any).
    """
    base = data_dir() / "traces" / "alibaba-gpu-v2023-openb"
    with open(base / "openb_node_list_gpu_node.csv") as fh:
        nodes = [
            (r["sn"], int(r["gpu"]), OPENB_TYPES[r["model"]])
            for r in csv.DictReader(fh)
            if r["model"] in OPENB_TYPES and int(r["gpu"]) > 0
        ]
    pods = []
    with open(base / f"openb_pod_list_{variant}.csv") as fh:
        for r in csv.DictReader(fh):
            g = int(r["num_gpu"])
            if g < 1 or (g == 1 and int(r["gpu_milli"]) < 1000):
                continue
            spec = tuple(
                sorted({OPENB_TYPES[s] for s in r["gpu_spec"].split("|") if s in OPENB_TYPES})
            )
            if r["gpu_spec"] and not spec:
                continue  # only undisclosed models allowed
            pods.append((g, spec))
    return nodes, pods


@lru_cache(maxsize=2)
def openb_jobs(variant: str = "default") -> tuple[TraceJob, ...]:
    """Alibaba openb pods that use whole GPUs, as jobs: arrival at ``creation_time`` (from
    the first), duration ``deletion_time - scheduled_time`` (an approximate lifetime, as
    the data README warns), GPUs ``num_gpu``, and the allowed types of ``gpu_spec``.

    Pods with no GPU or a fraction of one (``gpu_milli < 1000``) are not whole-GPU
    jobs and are left out, as are pods allowed only on undisclosed GPU models and
    pods with no positive lifetime; :func:`openb_counts` says how many of each.
    """
    return _openb_jobs(variant)[0]


def openb_counts(variant: str = "default") -> dict[str, int]:
    """How many pods :func:`openb_jobs` kept and left out, by reason."""
    return dict(_openb_jobs(variant)[1])


@lru_cache(maxsize=2)
def _openb_jobs(variant: str) -> tuple[tuple[TraceJob, ...], tuple[tuple[str, int], ...]]:
    if variant not in ("default", "gpuspec33", "multigpu50"):
        raise InputError(
            f"alibaba: variant must be default, gpuspec33 or multigpu50, got {variant!r}"
        )
    path = data_dir() / "traces" / "alibaba-gpu-v2023-openb" / f"openb_pod_list_{variant}.csv"
    if not path.exists():
        raise InputError(f"alibaba: no pod list {variant!r} ({path.name} not found)")
    counts = dict.fromkeys(("pods", "kept", "no_gpu", "fractional", "undisclosed", "no_life"), 0)
    rows = []
    with open(path) as fh:
        for r in csv.DictReader(fh):
            counts["pods"] += 1
            g = int(r["num_gpu"])
            if g < 1:
                counts["no_gpu"] += 1
                continue
            if g == 1 and int(r["gpu_milli"]) < 1000:
                counts["fractional"] += 1
                continue
            raw_spec = r.get("gpu_spec") or ""  # multigpu50 has no such column
            spec = tuple(sorted({OPENB_TYPES[s] for s in raw_spec.split("|") if s in OPENB_TYPES}))
            if raw_spec and not spec:
                counts["undisclosed"] += 1
                continue
            life = float(r["deletion_time"] or 0) - float(r["scheduled_time"] or 0)
            if life <= 0:
                counts["no_life"] += 1
                continue
            rows.append((float(r["creation_time"]), life, g, spec))
            counts["kept"] += 1
    t0 = min((r[0] for r in rows), default=0.0)
    jobs = _sorted([TraceJob(t - t0, d, g, gpu_types=spec) for t, d, g, spec in rows])
    return jobs, tuple(counts.items())
