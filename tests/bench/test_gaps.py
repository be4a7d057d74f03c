"""Gap tables and their summaries."""

import math

import pytest

from optsched.bench import gap_table, summarize
from optsched.io import read_instance


def test_gap_table_and_summary(examples):
    insts = [
        read_instance(examples / "cerebro_fig5.json"),
        read_instance(examples / "saturn_fig4.json"),
    ]
    df = gap_table(insts, "randomized", time_limit=30)
    assert list(df["reference"]) == [7.0, 108000.0]
    assert all(df["feasible"])
    s = summarize(df)
    assert s["n"] == 2 and s["max"] == pytest.approx(df["gap"].max())
    assert s["within_0.1%"] == int((df["gap"] <= 1e-3).sum())
    assert s["geomean"] <= s["mean"] + 1e-12


def test_gap_against_a_method_is_signed(examples):
    inst = read_instance(examples / "placement_small.json")
    df = gap_table([inst], "first_fit", against="greedy")
    assert df["gap"][0] > 0  # first-fit is worse than the density greedy here
    df = gap_table([inst], "greedy", against="first_fit")
    assert df["gap"][0] < 0  # negative: better than the reference method


def test_summary_without_finite_gaps():
    import pandas as pd

    s = summarize(pd.DataFrame({"gap": [math.inf, math.nan]}))
    assert s["n"] == 2 and s["no_gap"] == 2 and s["mean"] is None
