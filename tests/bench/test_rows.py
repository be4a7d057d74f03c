"""The row type, its serializer, and gap tables that compare methods honestly."""

import json
import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optsched.bench import Row, frame, jsonable, load_results, summary_table
from optsched.core import Sense, Status
from optsched.result import Result


def _result(objective, bound, status=Status.FEASIBLE, sense=Sense.MIN):
    return Result(
        "hopper",
        "i",
        "greedy",
        sense,
        status,
        objective,
        bound,
        0.5,
        parameters={"seed": 3, "time_limit": 10.0, "workers": 2, "params": {"a": 1}},
    )


def test_row_from_result_and_round_trip(tmp_path):
    row = Row.from_result(
        _result(11.0, 10.0),
        reference=8.0,
        reference_kind="stored bound",
        best_known=10.0,
        cell="16x8",
    )
    assert row.gap == pytest.approx(11 / 8 - 1) and row.gap_to_best_known == pytest.approx(0.1)
    assert (row.seed, row.time_limit, row.workers, row.params) == (3, 10.0, 2, {"a": 1})
    line = json.dumps(row.to_dict(), allow_nan=False)
    assert json.loads(line)["cell"] == "16x8"  # extra columns sit beside the others
    assert Row.from_dict(json.loads(line)) == row


def test_no_solution_serializes_as_null_and_loads_as_nan(tmp_path):
    row = Row.from_result(_result(math.inf, -math.inf, Status.TIME_LIMIT))
    data = row.to_dict()
    assert data["objective"] is None and data["bound"] is None and data["gap"] is None
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(data) + "\n" + '{"instance": "cut sh')  # a line cut by a kill
    (back,) = load_results(path)
    assert math.isnan(back.objective) and math.isnan(back.gap) and back.status == "time_limit"


def test_results_of_the_first_version_still_load(tmp_path):
    old = {
        "suite": "s",
        "file": "f",
        "instance": "i",
        "family": "hopper",
        "method": "cpsat",
        "seed": 0,
        "status": "optimal",
        "objective": 7.0,
        "bound": 7.0,
        "best_bound": 7.0,
        "best_known": 7.0,
        "gap": 0.0,
        "gap_to_best_known": 0.0,
        "time": 0.1,
        "feasible": True,
        "solver": "cp-sat",
        "time_limit": 10.0,
        "workers": 1,
        "message": "",
    }
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(old) + "\n")
    (row,) = load_results(path)
    assert row.reference == 7.0 and row.reference_kind == "best bound"


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_jsonable_never_emits_non_finite_numbers(x):
    text = json.dumps(jsonable({"x": x, "xs": [x, (x,)]}), allow_nan=False)
    back = json.loads(text)
    assert back["x"] == (x if math.isfinite(x) else None)


def _df(rows):
    return pd.DataFrame(
        [
            {
                "family": "f",
                "instance": i,
                "seed": 0,
                "method": m,
                "status": "feasible",
                "gap": g,
                "feasible": not math.isnan(g),
                "time": 1.0,
            }
            for i, m, g in rows
        ]
    )


def test_methods_are_compared_on_common_instances():
    # A solves i1 and i2 with 2% gaps and fails on the hard i3; B solves all three,
    # with 1% on i1 and i2 and 40% on i3. Over each method's own solved runs A (2%)
    # looks better than B (14%); on the instances both solved B is better (1% vs 2%).
    df = _df(
        [
            ("i1", "A", 0.02),
            ("i2", "A", 0.02),
            ("i3", "A", math.nan),
            ("i1", "B", 0.01),
            ("i2", "B", 0.01),
            ("i3", "B", 0.40),
        ]
    )
    t = summary_table(df, ["family", "method"]).set_index("method")
    assert t.loc["A", "common"] == t.loc["B", "common"] == 2
    assert t.loc["A", "mean_gap"] == pytest.approx(2.0)
    assert t.loc["B", "mean_gap"] == pytest.approx(1.0)
    assert (t.loc["A", "unsolved"], t.loc["B", "unsolved"]) == (1, 0)
    assert (t.loc["A", "solved"], t.loc["B", "solved"]) == (2, 3)


def test_readable_headers_have_units_and_display_names():
    df = _df([("i1", "randomized", 0.1), ("i1", "cpsat", 0.0)])
    df["family"] = "hopper"
    t = summary_table(df, ["family", "method"], readable=True)
    assert "mean gap, common (%)" in t.columns and "mean time (s)" in t.columns
    assert set(t["method"]) == {"Cerebro randomized", "CP-SAT"}


def test_frame_flattens_extra_columns():
    rows = [Row.from_result(_result(2.0, 1.0), cell=c) for c in ("a", "b")]
    df = frame(rows)
    assert list(df["cell"]) == ["a", "b"] and list(df["gap"]) == [1.0, 1.0]


def test_a_method_that_solves_nothing_does_not_empty_the_comparison():
    df = _df([("i1", "A", 0.02), ("i2", "A", 0.04), ("i1", "C", math.nan), ("i2", "C", math.nan)])
    t = summary_table(df, ["family", "method"]).set_index("method")
    assert t.loc["A", "common"] == 2 and t.loc["A", "mean_gap"] == pytest.approx(3.0)
    assert t.loc["C", "common"] == 0 and t.loc["C", "unsolved"] == 2
