"""Simulator benchmarks (issue: online simulator): the cells and tables of
``experiments/simulate.toml``. Run them with::

    optsched paper --only simulate        # or: optsched run experiments/simulate.toml

``gavel_fifo`` replays the job streams of ``$OPTSCHED_DATA/gavel/generated/``
(Gavel's own runs on this machine, 36:36:36, seed 0; their README gives Gavel's
results and wall times) and reports optsched's average JCT and makespan beside
Gavel's, with the wall-time ratio. ``philly_full`` runs all 82,247 Philly jobs on
its real 2,490-GPU cluster under fifo and 2D-LAS; ``philly_semantics`` runs
Philly's FIFO under both semantics, to show what locality and restarts change;
``loop`` runs a window of Philly on a slice of its cluster under the
exact-in-the-loop policies and Gavel's ``max_min_fairness_perf`` LP (default
semantics, so locality and restarts count). Wall times: ``wall_s`` is the
simulation, ``check_s`` the independent check of its timeline; peak memory is
the worker process's maximum resident set after the run. Output:
``paper_figures/simulate/``.
"""

from __future__ import annotations

import resource
from dataclasses import replace
from typing import Any

import pandas as pd

from optsched.model import Cluster, gavel, philly
from optsched.model.builders import from_nodes
from optsched.simulate import POLICIES, Workload, simulate
from optsched.simulate.sources import trace_workload
from optsched.throughput import ThroughputModel

#: What Gavel's simulator reported on this machine (../shared/data/gavel/generated/README.md):
#: (avg JCT h, makespan h, wall s; the 300-job trace's wall is the middle of 2.7-3.2 s).
GAVEL = {
    "300-job trace": (2.83, 25.30, 2.95),
    "continuous, jobs 0-299": (15.49, 232.1, 11.0),
    "continuous, jobs 0-999": (16.42, 485.2, 29.5),
}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def gavel_fifo(stream: str, seed: int) -> dict[str, Any]:
    """One of Gavel's fifo streams under Gavel's semantics, beside Gavel's own run."""
    from bench_allocate import beside_gavel, run_stream

    res = run_stream("fifo", stream, seed)
    row = beside_gavel(res.summary, res.wall_s, stream, GAVEL[stream])
    return {**row, "check (s)": res.summary["check_s"]}


def philly_full(policy: str, seed: int) -> dict[str, Any]:
    """All of Philly on its real cluster under ``policy``, default semantics."""
    cluster = philly()
    w = trace_workload("philly", cluster, seed=seed)
    res = simulate(w, cluster, policy, seed=seed)
    s = res.summary
    return {
        "policy": policy,
        "jobs": s["jobs"],
        "avg JCT (h)": s["avg_jct_s"] / 3600,
        "p99 JCT (h)": s["p99_jct_s"] / 3600,
        "makespan (h)": s["makespan_s"] / 3600,
        "restarts": s["restarts"],
        "wall (s)": res.wall_s,
        "check (s)": s["check_s"],
        "peak memory (MB)": peak_mb(),
    }


SEMANTICS = {
    "gavel (type-level, rounds, no restart cost)": ("gavel", 0.0, False),
    "default, locality off (consolidated rates)": ("default", 0.0, True),
    "default (GPU sets, locality)": ("default", 0.0, False),
    "default + 30 s per start": ("default", 30.0, False),
}


def philly_semantics(semantics: str, seed: int) -> dict[str, Any]:
    """FIFO on the full Philly trace under one of :data:`SEMANTICS`: Gavel's, or the
    default ones (exact GPU sets and locality; then a restart cost on every start)."""
    cluster = philly()
    w = trace_workload("philly", cluster, seed=seed)
    name, overhead, packed = SEMANTICS[semantics]
    model = ThroughputModel(cluster, locality=False) if packed else None
    res = simulate(
        w, cluster, "fifo", semantics=name, overhead=overhead or None, model=model, seed=seed
    )
    s = res.summary
    return {
        "semantics": semantics,
        "avg JCT (h)": s["avg_jct_s"] / 3600,
        "median JCT (h)": s["median_jct_s"] / 3600,
        "p99 JCT (h)": s["p99_jct_s"] / 3600,
        "avg queueing (h)": s["avg_queueing_s"] / 3600,
        "makespan (h)": s["makespan_s"] / 3600,
        "wall (s)": res.wall_s,
        "check (s)": s["check_s"],
    }


def semantics_table(df: pd.DataFrame) -> pd.DataFrame:
    """In :data:`SEMANTICS` order, with each row's average JCT against Gavel's."""
    order = list(SEMANTICS)
    df = df.assign(_o=[order.index(x) for x in df["semantics"]]).sort_values("_o")
    df = df[[c for c in df.columns if c in PHILLY_SEMANTICS]].reset_index(drop=True)
    base = df["avg JCT (h)"].iloc[0]
    df["avg JCT vs gavel (%)"] = 100 * (df["avg JCT (h)"] / base - 1)
    return df


PHILLY_SEMANTICS = ("semantics", "avg JCT (h)", "median JCT (h)", "p99 JCT (h)",
                    "avg queueing (h)", "makespan (h)", "wall (s)", "check (s)")  # fmt: skip


def stream_policy(policy: str, seed: int) -> dict[str, Any]:
    """A built-in policy on Gavel's 300-job stream, on a cluster small enough to queue
    (12 V100 + 12 P100 + 12 K80, 4 per server), 30 s per start."""
    from bench_allocate import streams

    w = streams()["300-job trace"]
    cluster = gavel({"v100": 12, "p100": 12, "k80": 12})
    res = simulate(w, cluster, policy, overhead=30.0, seed=seed)
    s = res.summary
    return {
        "policy": policy,
        "avg JCT (h)": s["avg_jct_s"] / 3600,
        "p99 JCT (h)": s["p99_jct_s"] / 3600,
        "makespan (h)": s["makespan_s"] / 3600,
        "avg queueing (h)": s["avg_queueing_s"] / 3600,
        "restarts": s["restarts"],
        "rho max": s["rho_max"],
        "wall (s)": res.wall_s,
    }


def in_policy_order(df: pd.DataFrame) -> pd.DataFrame:
    order = list(POLICIES)
    df = df.assign(_o=[order.index(p) for p in df["policy"]]).sort_values("_o")
    return df[[c for c in df.columns if not c.startswith("_") and c in KEEP]].reset_index(drop=True)


KEEP = ("policy", "stream", "jobs", "avg JCT (h)", "p99 JCT (h)", "makespan (h)",
        "avg queueing (h)", "restarts", "rho max", "wall (s)", "check (s)",
        "peak memory (MB)", "avg JCT gap to bound", "round solves", "proven optimal",
        "mean round gap")  # fmt: skip


def gavel_table(df: pd.DataFrame) -> pd.DataFrame:
    order = list(GAVEL)
    df = df.assign(_o=[order.index(x) for x in df["stream"]]).sort_values("_o")
    return df[[c for c in df.columns if c == "stream" or "(" in c]].reset_index(drop=True)


def philly_window(start: int = 20000, n: int = 150) -> tuple[Workload, Cluster]:
    """``n`` consecutive Philly jobs of at most 8 GPUs from job ``start`` on (arrivals from
    0), on a slice of Philly: 16 two-GPU P100 servers and 8 eight-GPU P40 servers."""
    nodes = [(f"p100-{i}", 2, "p100") for i in range(16)]
    nodes += [(f"p40-{i}", 8, "p40") for i in range(8)]
    cluster = from_nodes("philly-slice", nodes)
    full = trace_workload("philly", cluster)
    jobs = [j for j in full.jobs[start:] if j.num_gpus <= 8][:n]
    t0 = jobs[0].arrival
    jobs = [replace(j, arrival=j.arrival - t0) for j in jobs]
    return Workload(f"philly[{start}:+{n}]", tuple(jobs), source="trace:philly"), cluster


LOOP_POLICIES = ("max_min_fairness_perf", "las", "srtf", "exact_placement", "rolling_timeslot")


def loop(policy: str, seed: int) -> dict[str, Any]:
    """Exact placement each round against Gavel's _perf LP and the heuristics, on a
    Philly window, default semantics (locality, exact GPU sets), 30 s per start."""
    w, cluster = philly_window()
    res = simulate(w, cluster, policy, overhead=30.0, seed=seed, bound=True)
    s = res.summary
    return {
        "policy": policy,
        "avg JCT (h)": s["avg_jct_s"] / 3600,
        "makespan (h)": s["makespan_s"] / 3600,
        "avg JCT gap to bound": s["avg_jct_gap"],
        "restarts": s["restarts"],
        "round solves": s.get("solves", 0),
        "proven optimal": s.get("solves_optimal", 0),
        "mean round gap": s.get("solve_gap_mean", float("nan")),
        "wall (s)": res.wall_s,
    }


def loop_table(df: pd.DataFrame) -> pd.DataFrame:
    order = list(LOOP_POLICIES)
    df = df.assign(_o=[order.index(p) for p in df["policy"]]).sort_values("_o")
    df = df[[c for c in df.columns if c in KEEP]].reset_index(drop=True)
    base = df["avg JCT (h)"].iloc[0]
    df["avg JCT vs _perf (%)"] = 100 * (df["avg JCT (h)"] / base - 1)
    return df


def sweep_wall(df: pd.DataFrame) -> pd.DataFrame:
    """Per policy of a JCT-vs-load sweep: its cells, the days they simulated, optsched's
    wall time, and Gavel's at its own speed on this machine (seconds per simulated
    day of its continuous stream, jobs 0-999: its wall time over its makespan)."""
    from bench_allocate import GAVEL_RUNS

    rows = []
    for policy, part in df.groupby("policy", sort=True):
        days = float(part["makespan_s"].sum()) / 86400
        wall = float(part["wall_s"].sum() + part["check_s"].sum())
        gavel = {**GAVEL_RUNS, "fifo": GAVEL}.get(policy, {}).get("continuous, jobs 0-999")
        per_day = gavel[2] / (gavel[1] / 24) if gavel else float("nan")
        rows.append(
            {
                "policy": policy,
                "cells": len(part),
                "simulated days": days,
                "optsched wall (s)": wall,
                "Gavel s per simulated day": per_day,
                "Gavel wall, estimated (s)": per_day * days,
                "speed-up (x)": per_day * days / wall,
            }
        )
    return pd.DataFrame(rows)
