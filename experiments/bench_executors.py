"""The runner's overhead per cell: the default gap grid (every family's small suite x
cpsat, milp, greedy; 10 s, one worker per cell) run bare (``solve`` in a loop) and
through ``optsched run`` on the serial executor, a local pool of 1 and of 2 CPUs,
and a local Ray instance of 2 CPUs, each into a fresh store.

    python experiments/bench_executors.py [--out paper_figures/experiments/executors.md]

Overhead per cell is ``(wall x CPUs - bare total) / cells``: the CPU-seconds a cell
costs beyond its solve (process start, pickling, the store's commit, Ray's task
dispatch). Run it on a quiet machine: it is a timing benchmark.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from optsched.bench import DEFAULT_SUITES, save_table
from optsched.bench.suites import find_suite, load, suite_files
from optsched.solve import solve

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("cpsat", "milp", "greedy")
LIMIT = 10.0

GRID = f"""
name = "executors"
[[grid]]
kind = "solve"
suites = {list(DEFAULT_SUITES)!r}
methods = {list(METHODS)!r}
time_limit = {LIMIT}
workers = 1
"""


def bare() -> tuple[float, int]:
    """Every cell's solve in this process, one after another: (seconds, cells)."""
    total, cells = 0.0, 0
    for name in DEFAULT_SUITES:
        for f in suite_files(find_suite(name)):
            inst, _ = load(str(f))
            for m in METHODS:
                start = time.perf_counter()
                solve(inst, m, time_limit=LIMIT, workers=1, seed=0)
                total += time.perf_counter() - start
                cells += 1
    return total, cells


def through(executor: str, jobs: int, folder: Path) -> float:
    """Wall seconds of ``optsched run`` on a fresh store, process start included."""
    exp = folder / "executors.toml"
    exp.write_text(GRID)
    store = folder / f"{executor}-{jobs}.sqlite"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "optsched", "run", str(exp), "-e", executor, "-j", str(jobs),
         "--store", str(store), "--json"],
        check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "paper_figures" / "experiments")
    args = ap.parse_args(argv)
    total, cells = bare()
    rows = [
        {"executor": "bare solve loop", "CPUs": 1, "wall (s)": total, "overhead per cell (s)": 0.0}
    ]
    print(rows[-1], flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for executor, jobs in (("serial", 1), ("local", 1), ("local", 2), ("ray", 2)):
            wall = through(executor, jobs, Path(tmp))
            rows.append(
                {
                    "executor": executor,
                    "CPUs": jobs,
                    "wall (s)": wall,
                    "overhead per cell (s)": (wall * jobs - total) / cells,
                }
            )
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    df["speed-up vs bare (x)"] = total / df["wall (s)"]
    note = (
        f"The default gap grid ({cells} cells: {', '.join(DEFAULT_SUITES)} x "
        f"{', '.join(METHODS)}; {LIMIT:g} s, 1 worker per cell), bare and through `optsched "
        "run` into a fresh store (process start, imports and, for Ray, starting a local "
        "instance included). Overhead per cell = (wall x CPUs - bare total) / cells."
    )
    print(save_table(args.out, "executors", df, note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
