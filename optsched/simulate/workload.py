"""Workloads for the simulator: jobs that arrive over time, and where they come from.

A :class:`SimJob` is a training job as a trace records it: a job type of the
throughput model, a gang size (GPUs it needs at once), its total work in
iterations, its arrival time in seconds and a priority weight. A
:class:`Workload` is the jobs in arrival order, with the half-open range
``measure = (k, l)`` of jobs whose metrics count (Gavel's
``--window-start/--window-end``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import InputError, check_positive_int, check_real, check_str, where


@dataclass(frozen=True)
class SimJob:
    """One job of a workload.

    Attributes
    ----------
    id
        Unique name.
    job_type
        A job type of the throughput model (e.g. ``"ResNet-50 (batch size 64)"``).
    num_gpus
        Gang size: GPUs held at once, all of one type.
    work
        Total work, in iterations.
    arrival
        Submission time, seconds from the start of the trace.
    weight
        Priority weight (1 unless the trace says otherwise).
    gpu_types
        GPU types the job may use (empty: any it runs on), as a trace's GPU-type
        constraints say.
    """

    id: str
    job_type: str
    num_gpus: int
    work: float
    arrival: float
    weight: float = 1.0
    gpu_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_str(self.id, "id", "job")
        ctx = where("job", self.id)
        check_str(self.job_type, "job_type", ctx)
        check_positive_int(self.num_gpus, "num_gpus", ctx)
        check_real(self.work, "work", ctx, minimum=0.0, strict=True)
        check_real(self.arrival, "arrival", ctx, minimum=0.0)
        check_real(self.weight, "weight", ctx, minimum=0.0, strict=True)
        object.__setattr__(self, "gpu_types", tuple(self.gpu_types))


@dataclass(frozen=True)
class Workload:
    """Jobs in arrival order (ties by input order) and the measured range of them."""

    name: str
    jobs: tuple[SimJob, ...]
    measure: tuple[int, int] = (0, -1)
    source: str = ""
    index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_str(self.name, "name", "workload")
        jobs = tuple(sorted(self.jobs, key=lambda j: j.arrival))  # sort is stable
        object.__setattr__(self, "jobs", jobs)
        seen: dict[str, int] = {}
        for k, job in enumerate(jobs):
            if job.id in seen:
                raise InputError(f"workload: duplicate job id {job.id!r}")
            seen[job.id] = k
        object.__setattr__(self, "index", seen)
        k, end = self.measure
        end = len(jobs) if end < 0 else end
        if not (0 <= k <= end <= len(jobs)):
            raise InputError(
                f"workload: measure must be K:L with 0 <= K <= L <= {len(jobs)}, got {k}:{end}"
            )
        object.__setattr__(self, "measure", (k, end))

    @property
    def measured(self) -> tuple[SimJob, ...]:
        k, end = self.measure
        return self.jobs[k:end]

    def with_measure(self, k: int, end: int) -> Workload:
        return replace(self, measure=(k, end), index={})

    def head(self, n: int) -> Workload:
        """The first ``n`` jobs, all measured."""
        return Workload(self.name, self.jobs[:n], (0, -1), self.source)


def parse_measure(text: str) -> tuple[int, int]:
    """``K:L`` (half-open, as in Python; ``L`` may be empty for "to the end")."""
    k, sep, end = text.partition(":")
    try:
        first = int(k) if k else 0
        last = int(end) if end else -1
    except ValueError:
        raise InputError(f"--measure must look like K:L, got {text!r}") from None
    if not sep:
        raise InputError(f"--measure must look like K:L, got {text!r}")
    return first, last


# ---------------------------------------------------------------- Gavel's trace format
#: Columns of Gavel's tab-separated trace lines (``utils.parse_trace``).
GAVEL_COLUMNS = (
    "job_type",
    "command",
    "working_dir",
    "num_steps_arg",
    "needs_data_dir",
    "total_steps",
    "scale_factor",
    "priority_weight",
    "SLO",
    "arrival_time",
)


def read_gavel_trace(path: str | Path, *, skip: int = 0, name: str | None = None) -> Workload:
    """A workload from Gavel's 10-column trace (``job_type``, ..., ``total_steps``,
    ``scale_factor``, ``priority_weight``, ``SLO``, ``arrival_time``).

    ``skip`` drops that many leading lines (a window-start dump repeats job 0 on
    its first line). Job ids are ``j<line index>`` after skipping, in file order.
    """
    from ..io import read_text

    p = Path(path)
    lines = read_text(p).splitlines()
    jobs: list[SimJob] = []
    for n, line in enumerate(lines[skip:], skip + 1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) != len(GAVEL_COLUMNS):
            raise InputError(
                f"{p}: line {n} has {len(cols)} tab-separated fields, a Gavel trace has 10"
            )
        try:
            steps, scale = float(cols[5]), int(cols[6])
            weight, arrival = float(cols[7]), float(cols[9])
        except ValueError:
            raise InputError(
                f"{p}: line {n}: total_steps, scale_factor, priority_weight and "
                "arrival_time must be numbers"
            ) from None
        jobs.append(SimJob(f"j{len(jobs)}", cols[0], scale, max(steps, 1.0), arrival, weight))
    if not jobs:
        raise InputError(f"{p}: no jobs")
    return Workload(name or p.stem, tuple(jobs), source=f"gavel-trace:{p.name}")


# ---------------------------------------------------------------- CSV workloads
#: Columns of a CSV workload; ``work`` (iterations) or ``duration`` (seconds alone at
#: the job's best consolidated rate on the cluster) gives its size.
CSV_REQUIRED = ("job_type", "num_gpus", "arrival")
CSV_OPTIONAL = ("id", "work", "duration", "weight", "gpu_types")
WORKLOAD_FORMATS = ("gavel", "csv")


def read_csv_workload(path: str | Path, rate: Any = None, *, name: str | None = None) -> Workload:
    """A workload from a CSV file with a header: ``job_type``, ``num_gpus``,
    ``arrival`` (s), and ``work`` (iterations) or ``duration`` (s); optional ``id``,
    ``weight`` and ``gpu_types`` (``|``-separated). A ``duration`` becomes work
    through ``rate(job_type, num_gpus, gpu_types)``, the iterations per second the
    job would get alone (the caller's model and cluster)."""
    import csv

    from ..io import read_text

    p = Path(path)
    reader = csv.DictReader(read_text(p).splitlines())
    header = reader.fieldnames or []
    missing = [c for c in CSV_REQUIRED if c not in header]
    unknown = [c for c in header if c not in CSV_REQUIRED + CSV_OPTIONAL]
    if missing or unknown or ("work" in header) == ("duration" in header):
        raise InputError(
            f"{p}: a CSV workload has columns {', '.join(CSV_REQUIRED)}, one of work or "
            f"duration, and optionally id, weight, gpu_types; got {', '.join(header) or 'none'}"
        )
    jobs: list[SimJob] = []
    for n, row in enumerate(reader, 2):
        where_ = f"{p}: line {n}"
        try:
            gpus = int(row["num_gpus"])
            arrival = float(row["arrival"])
            weight = float(row["weight"]) if row.get("weight") else 1.0
            size = float(row["work"] if "work" in header else row["duration"])
        except (TypeError, ValueError):
            raise InputError(
                f"{where_}: num_gpus, arrival, weight and work or duration must be numbers"
            ) from None
        if None in row:  # more fields than the header names
            raise InputError(f"{where_}: more fields than the header's {len(header)}")
        if gpus < 1:
            raise InputError(f"{where_}: num_gpus must be >= 1, got {gpus}")
        allowed = tuple(t for t in (row.get("gpu_types") or "").split("|") if t)
        jt = row["job_type"] or ""
        if "duration" in header:
            if rate is None:
                raise InputError(f"{p}: a duration column needs a cluster to turn into work")
            size *= rate(jt, gpus, allowed)
        try:
            jobs.append(
                SimJob(row.get("id") or f"j{len(jobs)}", jt, gpus, size, arrival, weight, allowed)
            )
        except InputError as exc:
            raise InputError(f"{where_}: {exc}") from None
    if not jobs:
        raise InputError(f"{p}: no jobs")
    return Workload(name or p.stem, tuple(jobs), source=f"csv:{p.name}")


def detect_format(path: str | Path) -> str:
    """``csv`` for a file whose first line is a header naming ``job_type``, else ``gavel``."""
    try:
        with open(path, errors="replace") as fh:
            first = fh.readline()
    except OSError:
        return "gavel"  # the reader names the problem
    return "csv" if "job_type" in first.split(",") or Path(path).suffix == ".csv" else "gavel"


def from_jobs(name: str, jobs: Iterable[SimJob], measure: Sequence[int] = (0, -1)) -> Workload:
    return Workload(name, tuple(jobs), (int(measure[0]), int(measure[1])))


def isolated_time(job: SimJob, rate: float) -> float:
    """Seconds the job needs alone at ``rate`` iterations per second."""
    return job.work / rate if rate > 0 else math.inf
