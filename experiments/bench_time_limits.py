"""Time limits kept (issue: reliability): every exact method on the largest suite
instances at limits of 2, 5 and 10 s, and how far past its limit each came back.

The cells and tables of ``experiments/time_limits.toml``; run them with::

    optsched paper --only time_limits

The promise is back within the limit plus 2 s, model building included, with the
best solution and bound found. Each run is ``optsched solve`` in a fresh process
(so the interpreter and imports are not counted, and a solver that ignored its
limit could not hide behind another run), timed from outside; ``runtime`` is
optsched's own count. Output: ``paper_figures/time_limits/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from optsched.bench import suite_files
from optsched.io import read_instance
from optsched.registry import methods

ROOT = Path(__file__).resolve().parent.parent
SUITES = ("hopper-large", "placement-large", "spase-large", "timeslot-large")


def one(path: Path, method: str, limit: float, solver: str | None) -> dict:
    argv = [sys.executable, "-m", "optsched", "solve", str(path), "-m", method,
            "--time-limit", str(limit), "--workers", "1", "--json"]  # fmt: skip
    if solver:
        argv += ["--solver", solver]
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=limit + 600)
    wall = time.perf_counter() - start
    got = json.loads(done.stdout.splitlines()[0]) if done.stdout else {}
    return {
        "instance": path.stem,
        "method": method + (f" ({solver})" if solver else ""),
        "limit (s)": limit,
        "status": got.get("status", f"exit {done.returncode}"),
        "runtime (s)": got.get("runtime", float("nan")),
        "overrun (s)": got.get("runtime", float("nan")) - limit,
        "process wall (s)": wall,
        "objective": got.get("objective"),
        "bound": got.get("bound"),
    }


def time_limit_cell(suite: str, limit: float, solver: str, seed: int) -> list[dict]:
    """Every exact method on every instance of ``suite`` at ``limit``, each in a fresh
    process (the MILP under ``solver``)."""
    rows = []
    for path in suite_files(ROOT / "instances" / suite):
        fam = read_instance(path).family
        for m in methods(fam):
            if m.kind == "exact":
                rows.append(one(path, m.name, limit, solver if m.name == "milp" else None))
    return rows


COLUMNS = ["instance", "method", "limit (s)", "status", "runtime (s)", "overrun (s)",
           "process wall (s)", "objective", "bound"]  # fmt: skip


def runs(df: pd.DataFrame) -> pd.DataFrame:
    order = {s: k for k, s in enumerate(SUITES)}
    df = df.assign(_s=[order.get(s, len(order)) for s in df["param_suite"]])
    df = df.sort_values(["_s", "instance", "method", "limit (s)"], kind="stable")
    return df[COLUMNS].reset_index(drop=True)


def worst(df: pd.DataFrame) -> pd.DataFrame:
    """Per method, the worst overrun of its limit and where it happened."""
    rows = []
    for method, part in runs(df).groupby("method", sort=True):
        part = part[part["overrun (s)"].notna()]
        if len(part):
            w = part.loc[part["overrun (s)"].idxmax()]
            rows.append(
                {"method": method, "runs": len(part), "worst overrun (s)": w["overrun (s)"],
                 "instance": w["instance"], "limit (s)": w["limit (s)"]}
            )  # fmt: skip
    return pd.DataFrame(rows)
