"""The linear layer: every back-end on models whose optimum is derived by hand."""

import math

import pytest

from optsched.core import Status, Unsupported
from optsched.errors import InputError
from optsched.solvers import linear
from optsched.solvers.common import SolveOptions
from optsched.solvers.cpsat import CpSatModel

MIP = list(linear.MIP_SOLVERS)
LP = [*MIP, "glop", "pdlp"]


def opts(solver, **kw):
    return SolveOptions(time_limit=30, workers=1, seed=0, extra={"solver": solver}, **kw)


def knapsack(lm):
    # max 5x + 4y + 3z + w + 2 with 2x + 3y + z <= 5 (x, y, z binary) and w <= 1.5:
    # {x, y} weighs 5 and is worth 9; {x, z} 8; {y, z} 7; all three weigh 6 > 5. So 9,
    # plus w = 1.5 and the constant 2: the optimum is 12.5.
    x, y, z = lm.binary("x"), lm.binary("y"), lm.binary("z")
    w = lm.continuous("w", 0, 2)
    lm.add(lm.total([2 * x, 3 * y, z]) <= 5)
    lm.add(w <= 1.5)
    lm.add(lm.total([]) <= 1)  # a constant that holds is skipped
    lm.maximize(lm.total([5 * x, 4 * y, 3 * z, w]) + 2)
    return x, y, z, w


@pytest.mark.parametrize("solver", MIP)
def test_milp_optimum_and_bound_on_every_back_end(solver):
    lm = linear.new_model("knapsack", opts(solver))
    x, y, z, w = knapsack(lm)
    lm.start(x, 1)
    out = lm.solve(opts(solver))
    assert out.status is Status.OPTIMAL
    assert out.bound == pytest.approx(12.5, rel=1e-6)
    assert [round(lm.value(v)) for v in (x, y, z)] == [1, 1, 0]
    assert lm.value(w) == pytest.approx(1.5)
    assert lm.solver.startswith(linear.SOLVERS[solver][1])


@pytest.mark.parametrize("solver", MIP)
def test_infeasible_model_on_every_back_end(solver):
    lm = linear.new_model("infeasible", opts(solver))
    a, b = lm.binary("a"), lm.binary("b")
    lm.add(a + b >= 3)  # two binaries never sum to 3
    lm.minimize(a + b)
    assert lm.solve(opts(solver)).status is Status.INFEASIBLE


@pytest.mark.parametrize("solver", LP)
def test_lp_on_every_solver(solver):
    # max x + y, x + 2y <= 1.5, 0 <= x, y <= 1: x = 1 and y = 0.25, so 1.25
    lm = linear.new_model("lp", opts(solver), integer=False)
    x, y = lm.continuous("x", 0, 1), lm.continuous("y", 0, 1)
    lm.add(x + 2 * y <= 1.5)
    lm.maximize(x + y)
    out = lm.solve(opts(solver))
    assert out.status is Status.OPTIMAL
    # PDLP is first-order: exact to its tolerance only; CBC's bound is widened by its gap
    tol = 1e-4 if solver == "pdlp" else 1e-8
    assert out.bound == pytest.approx(1.25, rel=tol)
    assert lm.value(x) + lm.value(y) == pytest.approx(1.25, rel=tol)


@pytest.mark.parametrize("solver", ["glop", "pdlp"])
def test_lp_solvers_refuse_integer_models(solver):
    with pytest.raises(InputError, match="solves LPs only"):
        linear.new_model("m", opts(solver))


def test_unknown_solver_is_bad_input():
    with pytest.raises(InputError, match="solver must be one of cbc, highs, scip"):
        linear.new_model("m", opts("gurobi"))


@pytest.mark.parametrize(
    "solver, params, message",
    [
        ("cbc", {"noSuchOption": 1}, "CBC rejected an option"),
        ("highs", {"no_such_option": 1}, "HiGHS has no option 'no_such_option'"),
        ("scip", {"no/such": 1}, "scip rejects parameter no/such=1"),
        ("mathopt:highs", {"no_such_option": 1}, "highs rejects parameter no_such_option=1"),
    ],
)
def test_rejected_solver_parameters_are_bad_input(solver, params, message):
    lm = linear.new_model("m", opts(solver))
    a = lm.binary("a")
    lm.minimize(a)
    with pytest.raises(InputError, match=message):
        lm.solve(opts(solver, params=params))


def test_cpsat_behind_the_protocol():
    from optsched.solvers.cpsat import run

    lm = CpSatModel()
    a, b = lm.binary("a"), lm.integer("b", 0, 4)
    lm.add(a + b <= 3)
    lm.maximize(2 * a + b)  # a = 1, b = 2: 4
    solver, status = run(lm.m, SolveOptions(workers=1))
    assert status is Status.OPTIMAL and solver.best_objective_bound == 4
    assert (solver.value(a), solver.value(b)) == (1, 2)
    with pytest.raises(Unsupported, match="continuous"):
        lm.continuous("c")
    with pytest.raises(ValueError, match="does not hold"):
        lm.add(math.inf < 0)


def test_unbounded_model_is_an_error_not_infeasible():
    for solver in MIP:
        lm = linear.new_model("unbounded", opts(solver))
        x, y = lm.continuous("x", 0), lm.integer("y", 0, 3)
        lm.add(x - y >= 0)
        lm.maximize(x + y)  # x grows without limit
        out = lm.solve(opts(solver))
        assert out.status is Status.ERROR and "unbounded" in out.message, solver


def _small_model() -> tuple:
    lm = CpSatModel()
    a, b = lm.binary("a"), lm.integer("b", 0, 4)
    lm.add(a + b <= 3)
    lm.maximize(2 * a + b)
    return lm.m, 4  # 2 variables + 1 constraint; optimum 4


@pytest.mark.parametrize(
    "limit, params, skipped",
    [
        (2.0, {}, True),  # 3 s of presolve expected, more than half of 2 s
        (10.0, {}, False),  # half of 10 s covers it
        (None, {}, False),  # no limit to overrun
        (2.0, {"cp_model_presolve": "true"}, False),  # an explicit choice is obeyed
    ],
)
def test_presolve_is_skipped_only_where_it_would_outlast_the_limit(
    monkeypatch, limit, params, skipped
):
    from optsched.solvers import cpsat

    # CP-SAT's presolve of a model with millions of constraints runs tens of seconds
    # past a limit; scaled down here so that 3 items stand for 3 s of presolve
    monkeypatch.setattr(cpsat, "PRESOLVE_S_PER_ITEM", 1.0)
    monkeypatch.setattr(cpsat, "PRESOLVE_SKIP_S", 3.0)
    model, optimum = _small_model()
    options = SolveOptions(time_limit=limit, workers=1, params=params)
    assert cpsat.skip_presolve(model, options) is skipped
    solver, status = cpsat.run(model, options)
    assert status is Status.OPTIMAL and solver.objective_value == optimum
    assert solver.parameters.cp_model_presolve is not skipped
    recorded = cpsat.parameters(options, solver).get("presolve")
    assert recorded == (cpsat.PRESOLVE_SKIPPED if skipped else None)


def test_a_family_records_a_skipped_presolve(monkeypatch):
    from optsched.problems.hopper.generate import dense_open_shop
    from optsched.solve import solve
    from optsched.solvers import cpsat

    inst = dense_open_shop(3, 0.0, 0)  # optimum 1087 (hopper_dense)
    assert "presolve" not in solve(inst, "cpsat", time_limit=10.0).parameters
    monkeypatch.setattr(cpsat, "PRESOLVE_S_PER_ITEM", 1.0)
    r = solve(inst, "cpsat", time_limit=10.0)
    assert r.parameters["presolve"] == cpsat.PRESOLVE_SKIPPED
    assert r.status is Status.OPTIMAL and r.objective == 1087
