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
    p = Path(path)
    try:
        lines = p.read_text().splitlines()
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read ({exc.__class__.__name__})") from None
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


def from_jobs(name: str, jobs: Iterable[SimJob], measure: Sequence[int] = (0, -1)) -> Workload:
    return Workload(name, tuple(jobs), (int(measure[0]), int(measure[1])))


def isolated_time(job: SimJob, rate: float) -> float:
    """Seconds the job needs alone at ``rate`` iterations per second."""
    return job.work / rate if rate > 0 else math.inf
