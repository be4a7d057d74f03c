import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optsched.core import Sense, Status
from optsched.result import Result, gap


@pytest.mark.parametrize(
    "objective, bound, sense, expected",
    [
        (7.0, 7.0, "min", 0.0),
        (110.0, 100.0, "min", 0.10),  # 10% above the lower bound
        (90.0, 100.0, "max", 0.10),  # 10% of the upper bound not reached
        (0.0, 0.0, "min", 0.0),  # zero objective, zero bound
        (0.0, 0.0, "max", 0.0),
        (5.0, 0.0, "min", math.inf),  # a zero bound proves nothing relative
        (-90.0, -100.0, "min", 0.10),  # negative objectives use |bound|
        (None, 5.0, "min", math.inf),  # no solution
        (math.inf, 5.0, "min", math.inf),
        (5.0, None, "min", math.inf),  # no bound
        (5.0, -math.inf, "min", math.inf),
        (5.0, math.inf, "max", math.inf),
        (7.0, 7.0 + 7e-10, "min", 0.0),  # crossing within rounding is 0
    ],
)
def test_gap_edge_cases(objective, bound, sense, expected):
    assert gap(objective, bound, sense) == pytest.approx(expected)


def test_gap_signals_an_invalid_bound():
    assert gap(90.0, 100.0, Sense.MIN) == pytest.approx(-0.1)
    assert gap(110.0, 100.0, Sense.MAX) == pytest.approx(-0.1)


def test_result_gap_and_dict():
    r = Result("hopper", "x", "m", Sense.MIN, Status.FEASIBLE, 8.0, 7.0, 0.1)
    assert r.gap == pytest.approx(1 / 7)
    d = r.to_dict()
    assert d["status"] == "feasible" and d["gap"] == pytest.approx(1 / 7)
    none = Result("hopper", "x", "m", Sense.MIN, Status.TIME_LIMIT, math.inf, 7.0, 1.0)
    assert none.gap == math.inf and none.to_dict()["objective"] is None
    inf = Result("hopper", "x", "m", Sense.MIN, Status.INFEASIBLE, math.inf, math.inf, 1.0)
    assert math.isnan(inf.gap) and inf.to_dict()["gap"] is None
    assert Status.OPTIMAL.has_solution and not Status.TIME_LIMIT.has_solution


def test_sense_comparisons():

    assert Sense.MIN.better(1, 2) and Sense.MAX.better(2, 1)
    assert Sense.MIN.best([3, None, float("nan"), 1]) == 1 and Sense.MAX.best([]) == -math.inf
    assert Sense.MIN.tightest([1, 2, None]) == 2 and Sense.MAX.tightest([1, 2]) == 1
    assert Sense.MIN.tightest([]) == -math.inf and Sense.MAX.worst == -math.inf
    # a lower bound above the objective crosses it; within tolerance it is rounding
    assert Sense.MIN.crosses(10.0, 10.5) and not Sense.MIN.crosses(10.0, 10.0 + 1e-9, 1e-6)
    assert Sense.MAX.crosses(10.5, 10.0) and not Sense.MAX.crosses(9.0, 10.0)


@given(
    st.floats(min_value=1e-3, max_value=1e6),
    st.floats(min_value=0, max_value=10),
)
def test_gap_properties(bound, excess):
    # against a valid bound the gap is the relative excess, never negative, in both senses
    objective = bound * (1 + excess)
    assert gap(objective, bound, Sense.MIN) == pytest.approx(excess, rel=1e-9, abs=1e-12)
    assert gap(bound, objective, Sense.MAX) == pytest.approx(excess / (1 + excess), abs=1e-9)
    assert gap(objective, bound, Sense.MIN) >= 0


def test_result_summary_is_one_paragraph(examples):
    from optsched.io import read_instance
    from optsched.solve import solve

    inst = read_instance(examples / "cerebro_fig5.json")
    text = str(solve(inst, "cpsat", workers=1))
    assert "\n" not in text
    assert text.startswith("cpsat on hopper instance 'cerebro_fig5': optimal (cp-sat")
    assert "objective 7 (minimise); proven lower bound 7; gap 0.0000%" in text
    assert text.endswith("checker: feasible.")
    refused = solve(inst.fully_replicated(), "milp")
    assert refused.status is Status.UNSUPPORTED and "unsupported; proven lower bound 7" in str(
        refused
    )
    assert str(refused).endswith("cpsat models replicas.")
