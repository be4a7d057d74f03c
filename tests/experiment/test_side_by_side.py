"""``experiments/bench_allocate.side_by_side``: optsched and Gavel's simulator in one
cell. Gavel itself is not installed here, so a stand-in driver at Gavel's path prints
what Gavel's trace driver prints; the test checks what the cell reads from it."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import have_data

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiments"))

import bench_allocate  # noqa: E402

#: Prints, for every job of the trace (or of the window), a JCT of 100 s plus its index.
DRIVER = textwrap.dedent(
    """
    import argparse
    p = argparse.ArgumentParser()
    for a in ("-t", "-p", "--throughputs_file", "-c", "--seed", "--solver", "-s", "-e"):
        p.add_argument(a)
    a = p.parse_args()
    n = len(open(a.t).read().splitlines())
    jobs = range(int(a.s), int(a.e)) if a.e else range(n)
    for j in jobs:
        print(f"Job {j}: {100 + j:.3f}")
    print(f"Average job completion time: {sum(100 + j for j in jobs) / len(jobs):.3f} seconds")
    """
)


def test_without_gavel_the_cell_fails_saying_what_to_set(monkeypatch):
    monkeypatch.delenv("GAVEL_DIR", raising=False)
    with pytest.raises(RuntimeError, match="GAVEL_DIR=None: set it to a checkout of Gavel"):
        bench_allocate.side_by_side("max_min_fairness_perf", "300-job trace", 0)


@pytest.mark.skipif(not have_data(), reason="needs $OPTSCHED_DATA (Gavel's streams)")
def test_the_cell_reads_gavels_completions_and_times_both(tmp_path, monkeypatch):
    (tmp_path / "scheduler" / "scripts" / "drivers").mkdir(parents=True)
    (tmp_path / "scheduler" / "scheduler.py").write_text("")
    driver = tmp_path / "scheduler" / "scripts" / "drivers" / "simulate_scheduler_with_trace.py"
    driver.write_text(DRIVER)
    monkeypatch.setenv("GAVEL_DIR", str(tmp_path))
    monkeypatch.setenv("GAVEL_PYTHON", sys.executable)
    row = bench_allocate.side_by_side("max_min_fairness_perf", "300-job trace", 0)
    trace = (
        bench_allocate.sources.data_dir() / "gavel" / "generated" / "gen_n300_lam240_seed0.trace"
    )
    arrival = [float(line.split("\t")[-1]) for line in trace.read_text().splitlines()]
    assert row["Gavel avg JCT (h)"] == pytest.approx((100 + 149.5) / 3600)
    assert row["Gavel makespan (h)"] == pytest.approx(
        max(t + 100 + j for j, t in enumerate(arrival)) / 3600
    )
    # optsched's side is the real simulation: Gavel's published JCT to 0.1%
    assert row["optsched avg JCT (h)"] == pytest.approx(2.65, rel=1e-3)
    assert 0 < row["optsched wall (s)"] < row["optsched process (s)"]
    assert row["speed-up (x)"] == pytest.approx(row["Gavel wall (s)"] / row["optsched wall (s)"])
