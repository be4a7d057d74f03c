import json
import math

import pytest

from optsched.cli import main
from optsched.core import Status
from optsched.errors import InputError
from optsched.io import read_instance, read_solution
from optsched.solve import solve

BROKEN = '''
from optsched.problems.hopper import HopperSolution


def overlapping(instance, options):
    """Starts every unit at 0: violates both no-overlap families."""
    n, p = instance.num_configs, instance.num_workers
    return HopperSolution(tuple((0.0,) * p for _ in range(n)))


def timed_out(instance, options):
    """Stops at its limit with nothing found, after building a start schedule."""
    from optsched.core import Status
    from optsched.solvers.common import MethodOutput

    return MethodOutput(Status.TIME_LIMIT, None, 6.5, start=serial(instance, options))


def serial(instance, options):
    """Runs units one after another: feasible, far from optimal."""
    t, rows = 0.0, []
    for row in instance.times:
        starts = []
        for d in row:
            starts.append(t)
            t += d
        rows.append(tuple(starts))
    return HopperSolution(tuple(rows))


def crossing(instance, options):
    """A feasible schedule with a 'proven' bound above it: a bug the front door catches."""
    from optsched.core import Status
    from optsched.solvers.common import MethodOutput

    return MethodOutput(Status.FEASIBLE, serial(instance, options), bound=1e9)


def forty_two(instance, options):
    return 42


def a_hopper_schedule(instance, options):
    return HopperSolution(((0.0,),))
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    (tmp_path / "my_methods.py").write_text(BROKEN)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_methods"


def test_checker_failure_is_reported_as_error(examples, plugin):
    inst = read_instance(examples / "cerebro_fig5.json")
    result = solve(inst, f"{plugin}:overlapping")
    assert result.status is Status.ERROR
    assert "checker rejected" in result.message and "worker_overlap" in result.message
    assert math.isinf(result.objective) and result.bound == 7.0


def test_plugin_heuristic_gets_the_solver_free_bound(examples, plugin):
    inst = read_instance(examples / "cerebro_fig5.json")
    result = solve(inst, f"{plugin}:serial")
    assert result.status is Status.FEASIBLE
    assert result.objective == 21.0 and result.bound == 7.0
    assert result.gap == pytest.approx(2.0)  # 21 is 200% above 7


def test_time_limit_without_solution_returns_the_start(examples, plugin):
    inst = read_instance(examples / "cerebro_fig5.json")
    result = solve(inst, f"{plugin}:timed_out")
    # the start (all units in a row: 21) is checked and returned; the bound is the
    # better of the method's 6.5 and the solver-free 7
    assert result.status is Status.FEASIBLE and result.objective == 21.0
    assert result.bound == 7.0 and "start returned" in result.message


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"time_limit": 0}, "time_limit must be a finite number > 0"),
        ({"time_limit": float("inf")}, "time_limit must be a finite number > 0"),
        ({"workers": 0}, "workers must be an integer >= 1"),
        (
            {"solver": "gurobi"},
            "milp: solver must be one of cbc, highs, scip, mathopt:highs, got 'gurobi'",
        ),
    ],
)
def test_bad_solve_options(examples, kwargs, message):
    inst = read_instance(examples / "cerebro_fig5.json")
    with pytest.raises(InputError, match=message):
        solve(inst, "milp", **kwargs)


def test_unknown_method_and_plugin(examples):
    inst = read_instance(examples / "cerebro_fig5.json")
    with pytest.raises(InputError, match="unknown method 'nope' for family 'hopper'"):
        solve(inst, "nope")
    with pytest.raises(InputError, match="cannot import 'no_such_module'"):
        solve(inst, "no_such_module:f")


def test_cli_solve_writes_a_checkable_solution(capsys, examples, tmp_path):
    out = tmp_path / "sol.json"
    code = main(
        [
            "solve",
            str(examples / "saturn_fig4.json"),
            "--method",
            "cpsat",
            "--time-limit",
            "30",
            "--workers",
            "1",
            "--seed",
            "3",
            "--out",
            str(out),
            "--json",
        ]
    )
    row = json.loads(capsys.readouterr().out)
    assert code == 0 and row["status"] == "optimal" and row["objective"] == 108000.0
    assert row["parameters"]["seed"] == 3
    assert read_solution(out).family == "spase"
    assert main(["check", str(examples / "saturn_fig4.json"), str(out)]) == 0


def test_cli_solve_bad_input(capsys, examples):
    code = main(["solve", str(examples / "timeslot_small.json"), "--method", "nope"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "unknown method" in err
    assert main(["solve", str(examples / "timeslot_small.json"), "--time-limit", "-1"]) == 2


def test_cli_methods_lists_both_exact_methods_per_family(capsys):
    assert main(["methods", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for fam in ("placement", "timeslot", "hopper", "spase"):
        assert {r["name"] for r in rows if r["family"] == fam} >= {"cpsat", "milp"}


def test_bound_crossing_is_an_error_without_a_gap(examples, plugin, capsys):
    inst = read_instance(examples / "cerebro_fig5.json")
    result = solve(inst, f"{plugin}:crossing")
    assert result.status is Status.ERROR and "crosses the checked objective" in result.message
    assert math.isnan(result.gap) and result.to_dict()["gap"] is None
    # gap keeps the row, gives it no number and says the run failed (exit 1)
    assert (
        main(["gap", str(examples / "cerebro_fig5.json"), "-m", f"{plugin}:crossing", "--json"])
        == 1
    )
    row, summary = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    assert row["status"] == "error" and row["gap"] is None
    assert summary["summary"]["no_gap"] == 1 and summary["summary"]["mean"] is None


def test_a_plugin_returning_no_solution_is_an_error_that_says_so(examples, plugin):
    inst = read_instance(examples / "cerebro_fig5.json")
    result = solve(inst, f"{plugin}:forty_two")
    assert result.status is Status.ERROR
    assert (
        result.message
        == f"{plugin}:forty_two returned int 42, not a HopperSolution or MethodOutput"
    )
    placement = read_instance(examples / "placement_small.json")
    wrong = solve(placement, f"{plugin}:a_hopper_schedule")
    assert wrong.status is Status.ERROR and "not a PlacementSolution" in wrong.message


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"solver": "scip"}, "solver applies to method milp only, not 'greedy'"),
        ({"params": {"alpha": 1}}, "method 'greedy' takes no parameters, got 'alpha'"),
    ],
)
def test_options_a_method_does_not_take_are_refused(examples, kwargs, message):
    with pytest.raises(InputError, match=message):
        solve(read_instance(examples / "cerebro_fig5.json"), "greedy", **kwargs)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"ratioGap": 0.05}, "CBC option 'ratioGap' is set by optsched"),
        ({"threads": 4}, "CBC option 'threads' is set by optsched"),
        ({"maxNodes": "abc"}, "CBC rejected an option"),
    ],
)
def test_cbc_options_that_would_break_proofs_or_are_illegal(examples, params, message):
    with pytest.raises(InputError, match=message):
        solve(read_instance(examples / "saturn_fig4.json"), "milp", params=params)


def test_cli_param_values_must_be_finite_scalars(capsys, examples):
    fig5 = str(examples / "cerebro_fig5.json")
    for bad in ("x=inf", "x=[1,2]", "x=nan"):
        assert main(["solve", fig5, "--params", bad]) == 2
        assert capsys.readouterr().err.count("\n") == 1
