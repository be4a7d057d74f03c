"""Metrics of a simulation, recomputed by the checker from the timeline alone.

Per job: arrival, first start, completion, JCT (completion - arrival),
queueing delay (first start - arrival), restarts (starts - 1), GPU-hours and
finish-time fairness ``rho = JCT / T_iso``, with ``T_iso`` the job's time alone
on its gang at its best consolidated rate (its share of a dedicated cluster;
Themis' ``rho`` against that share). Over the measured jobs: mean, median,
p95 and p99 JCT, makespan (when the last measured job finished), mean
queueing delay, restarts, GPU-hours, ``rho`` mean, p99 and max, and the
utilisation of each GPU type (busy GPU-seconds over capacity x the time the
last job of the whole run finished).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..model.topology import Cluster
from ..throughput.model import ThroughputModel
from .bounds import type_rates
from .checker import JobRecord
from .workload import Workload


def job_table(
    workload: Workload,
    records: Mapping[str, JobRecord],
    cluster: Cluster,
    model: ThroughputModel,
    *,
    rounds: bool = False,
) -> pd.DataFrame:
    """One row per job. ``rounds``: runs are rounds (Gavel's semantics), so a restart
    is a move to other GPUs, not every start."""
    k, end = workload.measure
    rows = []
    for idx, job in enumerate(workload.jobs):
        r = records[job.id]
        rates = type_rates(job, cluster, model)
        t_iso = job.work / max(rates.values()) if rates else math.inf
        jct = r.completion - r.arrival
        rows.append(
            {
                "job": job.id,
                "job_type": job.job_type,
                "num_gpus": job.num_gpus,
                "arrival_s": job.arrival,
                "start_s": r.first_start,
                "completion_s": r.completion,
                "jct_s": jct,
                "queueing_s": r.first_start - r.arrival,
                "restarts": r.moves if rounds else max(0, r.starts - 1),
                "gpu_hours": r.gpu_seconds / 3600.0,
                "rho": jct / t_iso if t_iso > 0 else math.nan,
                "measured": k <= idx < end,
            }
        )
    return pd.DataFrame(rows)


def summary(
    jobs: pd.DataFrame, records: Mapping[str, JobRecord], cluster: Cluster
) -> dict[str, Any]:
    m = jobs[jobs["measured"]]
    jct = m["jct_s"].to_numpy(dtype=float)
    rho = m["rho"].to_numpy(dtype=float)
    end = float(jobs["completion_s"].max()) if len(jobs) else 0.0
    per_type = dict.fromkeys(cluster.gpu_types, 0.0)  # busy GPU-seconds
    for r in records.values():
        for t, seconds in r.seconds_by_type.items():
            per_type[t] += seconds * r.gang
    utilisation = {
        t: (per_type[t] / (cluster.capacity(t) * end) if end > 0 else 0.0)
        for t in cluster.gpu_types
    }

    def pct(values: np.ndarray, q: float) -> float:
        return float(np.percentile(values, q)) if values.size else math.nan

    return {
        "jobs": int(len(jobs)),
        "measured_jobs": int(len(m)),
        "avg_jct_s": float(jct.mean()) if jct.size else math.nan,
        "median_jct_s": pct(jct, 50),
        "p95_jct_s": pct(jct, 95),
        "p99_jct_s": pct(jct, 99),
        "makespan_s": float(m["completion_s"].max()) if len(m) else math.nan,
        "avg_queueing_s": float(m["queueing_s"].mean()) if len(m) else math.nan,
        "restarts": int(m["restarts"].sum()),
        # busy GPU-hours: a GPU set two jobs share counts once
        "gpu_hours": sum(
            sum(records[jid].seconds_by_type.values()) * records[jid].gang for jid in m["job"]
        )
        / 3600.0,
        "rho_mean": float(rho.mean()) if rho.size else math.nan,
        "rho_p99": pct(rho, 99),
        "rho_max": float(rho.max()) if rho.size else math.nan,
        "utilisation": utilisation,
    }
