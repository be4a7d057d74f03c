"""Allocation benchmarks (issue: optimisation in the loop): the cells and tables of
``experiments/allocate.toml``. Run them with::

    optsched paper --only allocate        # or: optsched run experiments/allocate.toml

``packed_scale`` runs ``optsched allocate --gavel-input N`` (Gavel's own input
generator, seed 2) in a fresh process per size, so that ``peak_rss_mb`` is that
allocation's, beside Gavel's times and objectives on this machine
(``$OPTSCHED_DATA/gavel/generated/README.md``). ``gavel_stream`` replays one of
Gavel's job streams under ``--semantics gavel`` for an LP policy
(``max_min_fairness``, ``_perf``, ``_packed``) or a packing baseline
(``fifo_packed``, ``gandiva``), beside Gavel's result and wall time from its README.
``side_by_side`` runs optsched and then Gavel's own simulator on the same stream in
one cell, so that both wall times come from one machine at one time: it needs a
checkout of Gavel (``$GAVEL_DIR``, the repository's root) and a Python that runs its
simulator (``$GAVEL_PYTHON``: cvxpy, ECOS and Gavel's compiled RPC stubs). Without
them its cells fail with a message saying so; ``optsched run --retry error`` runs
them once Gavel is there. Output: ``paper_figures/allocate/``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from optsched import sources
from optsched.allocation import allocate, gavel_input
from optsched.model import gavel
from optsched.simulate import read_gavel_trace, simulate

#: Gavel's packed max-min fairness on this machine (its README): seconds, GB, objective.
GAVEL_PACKED = {256: (2.39, None, 1.1060718), 512: (15.7, None, 1.1078288),
                1024: (138.0, 10.6, 1.1050263)}  # fmt: skip
#: Gavel's simulator on its streams (its README): policy -> stream -> (JCT h, makespan h, s).
GAVEL_RUNS = {
    "max_min_fairness": {"300-job trace": (3.54, 26.26, 2.95), "continuous, jobs 0-299":
                         (19.73, 313.7, 22.9), "continuous, jobs 0-999": (21.12, 610.6, 54.8)},
    "max_min_fairness_perf": {"300-job trace": (2.65, 23.90, 2.75), "continuous, jobs 0-299":
                              (14.35, 232.3, 14.7), "continuous, jobs 0-999": (14.68, 487.7, 35.0)},
    "max_min_fairness_packed": {"300-job trace": (2.82, 25.68, 11.4), "continuous, jobs 0-299":
                                (15.14, 232.5, 136.0), "continuous, jobs 0-999":
                                (15.08, 487.2, 285.0)},
    # Gavel's packing policies that are not LPs: Gavel run unmodified on this machine
    # (same streams, 36:36:36, seed 0; its JCT and total duration in s over 3600)
    "fifo_packed": {"300-job trace": (8772.982 / 3600, 86040.445 / 3600, 7.5),
                    "continuous, jobs 0-299": (47447.696 / 3600, 831590.787 / 3600, 56.1),
                    "continuous, jobs 0-999": (50540.721 / 3600, 1747420.793 / 3600, 120.7)},
    "gandiva": {"300-job trace": (9962.793 / 3600, 86040.683 / 3600, 8.4),
                "continuous, jobs 0-299": (54974.086 / 3600, 872269.908 / 3600, 77.7),
                "continuous, jobs 0-999": (56444.661 / 3600, 1801779.027 / 3600, 170.1)},
}  # fmt: skip


def packed_scale(jobs: int, seed: int) -> dict[str, Any]:
    """One packed max-min fairness allocation of Gavel's input of ``jobs`` jobs (input
    seed 2), in a fresh process; beside Gavel's numbers where its README has them."""
    out = subprocess.run(
        [sys.executable, "-m", "optsched", "allocate", "--policy",
         "max_min_fairness_packed", "--gavel-input", str(jobs), "--seed", "2", "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    got = json.loads(out.stdout)
    g_s, g_gb, g_obj = GAVEL_PACKED.get(jobs, (None, None, None))
    return {
        "jobs": jobs,
        "objective": got["objective"],
        "Gavel objective": g_obj,
        "abs diff": abs(got["objective"] - g_obj) if g_obj else None,
        "wall (s)": got["wall_s"],
        "peak memory (MB)": got["peak_rss_mb"],
        "Gavel wall (s)": g_s,
        "Gavel memory (GB)": g_gb,
        "speed-up (x)": g_s / got["wall_s"] if g_s else None,
    }


def pop_loss(policy: str, jobs: int, seed: int) -> list[dict[str, Any]]:
    """POP with k = 2, 4, 8 parts against the exact allocation of Gavel's input."""
    p = gavel_input(jobs, 2)
    exact = allocate(p, policy)
    rows = []
    for k in (2, 4, 8):
        part = allocate(p, policy, pop=k, seed=seed)
        rows.append(
            {
                "policy": policy,
                "jobs": jobs,
                "k": k,
                "exact": exact.objective,
                "POP": part.objective,
                "loss (%)": 100 * (1 - part.objective / exact.objective),
                "exact wall (s)": exact.wall_s,
                "POP wall (s)": part.wall_s,
            }
        )
    return rows


#: Each stream's file, how many leading lines to skip, and its measured window: jobs 0
#: to ``window - 1`` (``None``: every job).
STREAM_FILES = {
    "300-job trace": ("gen_n300_lam240_seed0.trace", 0, None),
    "continuous, jobs 0-299": ("contsingle_lam1200_e1000_seed0_max_min_fairness.trace", 1, 300),
    "continuous, jobs 0-999": ("contsingle_lam1200_e1000_seed0_max_min_fairness.trace", 1, 1000),
}


def streams() -> dict[str, Any]:
    """Gavel's streams of ``$OPTSCHED_DATA/gavel/generated/`` (:data:`STREAM_FILES`):
    the 300-job trace, and the continuous stream (replayed from its second line) with
    two measured windows."""
    folder = sources.data_dir() / "gavel" / "generated"
    out = {}
    for stream, (name, skip, window) in STREAM_FILES.items():
        w = read_gavel_trace(folder / name, skip=skip)
        out[stream] = w if window is None else w.with_measure(0, window)
    return out


def run_stream(policy: str, stream: str, seed: int) -> Any:
    """One of Gavel's streams under ``policy`` and Gavel's semantics, 36:36:36."""
    cluster = gavel({"v100": 36, "p100": 36, "k80": 36})
    return simulate(streams()[stream], cluster, policy, semantics="gavel", seed=seed)


def gavel_stream(policy: str, stream: str, seed: int) -> dict[str, Any]:
    """:func:`run_stream` beside Gavel's own run of it (its README)."""
    res = run_stream(policy, stream, seed)
    gavel_run = GAVEL_RUNS[policy][stream]
    return {"policy": policy, **beside_gavel(res.summary, res.wall_s, stream, gavel_run)}


def beside_gavel(
    s: dict[str, Any], wall_s: float, stream: str, gavel_run: tuple[float, float, float]
) -> dict[str, Any]:
    """A run's average JCT and makespan (its ``summary``) and wall time beside Gavel's
    (h, h, s) on one of its streams, with the differences and the speed-up."""
    jct, makespan, wall = gavel_run
    return {
        "stream": stream,
        "Gavel avg JCT (h)": jct,
        "optsched avg JCT (h)": s["avg_jct_s"] / 3600,
        "JCT diff (%)": 100 * (s["avg_jct_s"] / 3600 / jct - 1),
        "Gavel makespan (h)": makespan,
        "optsched makespan (h)": s["makespan_s"] / 3600,
        "makespan diff (%)": 100 * (s["makespan_s"] / 3600 / makespan - 1),
        "Gavel wall (s)": wall,
        "optsched wall (s)": wall_s,
        "speed-up (x)": wall / wall_s,
    }


_GAVEL_JOB = re.compile(r"^Job (\d+): ([0-9.]+)$", re.M)
_GAVEL_JCT = re.compile(r"^Average job completion time: ([0-9.]+) seconds", re.M)


def side_by_side(policy: str, stream: str, seed: int) -> dict[str, Any]:
    """optsched, then Gavel's own simulator, on one stream under ``policy`` (36:36:36,
    360 s rounds, ECOS): results and the wall times of both, measured back to back.
    Gavel's wall time is its whole process, as in its README; optsched's is the
    simulation's (``SimulationResult.wall_s``) and, beside it, its whole process."""
    root = os.environ.get("GAVEL_DIR")
    if not root or not (Path(root) / "scheduler" / "scheduler.py").is_file():
        raise RuntimeError(f"GAVEL_DIR={root!r}: set it to a checkout of Gavel to run it here")
    python = os.environ.get("GAVEL_PYTHON", sys.executable)
    name, skip, window = STREAM_FILES[stream]
    lines = (sources.data_dir() / "gavel" / "generated" / name).read_text().splitlines()[skip:]
    ours = _optsched_process(policy, stream, seed)
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / name
        trace.write_text("\n".join(lines) + "\n")
        cmd = [python, "scripts/drivers/simulate_scheduler_with_trace.py", "-t", str(trace),
               "-p", policy, "--throughputs_file", "simulation_throughputs.json",
               "-c", "36:36:36", "--seed", str(seed), "--solver", "ECOS"]  # fmt: skip
        if window is not None:
            cmd += ["-s", "0", "-e", str(window)]
        start = time.perf_counter()
        run = subprocess.run(cmd, cwd=Path(root) / "scheduler", capture_output=True, text=True)
        wall = time.perf_counter() - start
    if run.returncode != 0:
        tail = (run.stderr or run.stdout).strip().splitlines()[-1:]
        raise RuntimeError(f"Gavel's simulator failed ({run.returncode}): {' '.join(tail)}")
    arrival = [float(line.split("\t")[-1]) for line in lines]
    done = {int(j): float(t) for j, t in _GAVEL_JOB.findall(run.stdout)}
    avg = _GAVEL_JCT.search(run.stdout)
    if avg is None or not done:
        raise RuntimeError("Gavel's simulator printed no job completion times")
    jct = float(avg.group(1)) / 3600
    makespan = max(arrival[j] + t for j, t in done.items()) / 3600
    return {
        "policy": policy,
        **beside_gavel(ours["summary"], ours["wall_s"], stream, (jct, makespan, wall)),
        "optsched process (s)": ours["process_s"],
        "speed-up, processes (x)": wall / ours["process_s"],
    }


def _optsched_process(policy: str, stream: str, seed: int) -> dict[str, Any]:
    """:func:`run_stream` in a fresh process: its summary, its simulation's wall time
    and the whole process's."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import bench_allocate as b; "
        "r = b.run_stream(sys.argv[2], sys.argv[3], int(sys.argv[4])); "
        "print(json.dumps({'summary': r.summary, 'wall_s': r.wall_s}))"
    )
    here = str(Path(__file__).resolve().parent)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, here, policy, stream, str(seed)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    got = json.loads(out.stdout.splitlines()[-1])
    return {**got, "process_s": time.perf_counter() - start}


def by_stream(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in the order of the policies and streams of :data:`GAVEL_RUNS`."""
    order = {(p, s): k for k, (p, s) in enumerate(
        (p, s) for p, runs in GAVEL_RUNS.items() for s in runs)}  # fmt: skip
    df = df.assign(_o=[order.get((p, s), 0) for p, s in zip(df["policy"], df["stream"])])
    return df.sort_values("_o")[COLUMNS["stream"]].reset_index(drop=True)


def side_by_side_table(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`side_by_side`'s rows by policy (fifo first, then :data:`GAVEL_RUNS`'s
    order) and stream."""
    policies = ["fifo", *GAVEL_RUNS]
    streams = list(STREAM_FILES)
    df = df.assign(_p=[policies.index(p) for p in df["policy"]],
                   _s=[streams.index(s) for s in df["stream"]])  # fmt: skip
    return df.sort_values(["_p", "_s"])[COLUMNS["side"]].reset_index(drop=True)


def by_size(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("jobs")[COLUMNS["scale"]].reset_index(drop=True)


def pop_table(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["policy", "jobs", "k"])[COLUMNS["pop"]].reset_index(drop=True)


COLUMNS = {
    "stream": ["policy", "stream", "Gavel avg JCT (h)", "optsched avg JCT (h)", "JCT diff (%)",
               "Gavel makespan (h)", "optsched makespan (h)", "makespan diff (%)",
               "Gavel wall (s)", "optsched wall (s)", "speed-up (x)"],
    "side": ["policy", "stream", "Gavel avg JCT (h)", "optsched avg JCT (h)", "JCT diff (%)",
             "Gavel makespan (h)", "optsched makespan (h)", "makespan diff (%)",
             "Gavel wall (s)", "optsched wall (s)", "optsched process (s)", "speed-up (x)",
             "speed-up, processes (x)"],
    "scale": ["jobs", "objective", "Gavel objective", "abs diff", "wall (s)",
              "peak memory (MB)", "Gavel wall (s)", "Gavel memory (GB)", "speed-up (x)"],
    "pop": ["policy", "jobs", "k", "exact", "POP", "loss (%)", "exact wall (s)", "POP wall (s)"],
}  # fmt: skip
