"""Running CP-SAT with explicit workers, seed and time limit."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from fractions import Fraction
from importlib.metadata import version
from typing import Any

from ortools.sat.python import cp_model

from ..core import FLOAT_EPS, Status, Unsupported
from ..errors import InputError
from .common import SolveOptions
from .linear import Growing, check_constraint

VERSION = f"cp-sat (ortools {version('ortools')})"


def make_solver(options: SolveOptions) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.num_workers = max(1, int(options.workers))
    params.random_seed = int(options.seed)
    left = options.remaining()  # what model building left of the limit
    if left is not None:
        params.max_time_in_seconds = max(0.0, left)
    params.log_search_progress = options.log
    if options.log:
        params.log_to_stdout = True
    for key, value in options.params.items():
        set_parameter(params, key, value)
    return solver


def set_parameter(params: Any, key: str, value: Any) -> None:
    """Set the ``SatParameters`` field ``key`` from a string, number or bool, verbatim.

    The pair is parsed as protobuf text (``key: value``), so enum fields take
    their names (``search_branching=FIXED_SEARCH``); a field that does not
    exist or a value of the wrong type is a one-line ``InputError``.
    """
    from google.protobuf import text_format
    from ortools.sat import sat_parameters_pb2

    text = f"{key}: {str(value).lower() if isinstance(value, bool) else value}"
    try:
        text_format.Parse(text, sat_parameters_pb2.SatParameters())
    except text_format.ParseError as exc:
        reason = str(exc).split(":", 2)[-1].strip()
        raise InputError(f"--params: CP-SAT parameter {key}={value!r}: {reason}") from None
    params.merge_text_format(text)


#: Seconds of CP-SAT presolve per variable or constraint, measured on the largest
#: models here: a 400-job placement round on Philly's cluster (1.19M variables, 3.1M
#: constraints) presolved for 45 s, checking its time limit only between steps.
PRESOLVE_S_PER_ITEM = 1e-5
#: Presolve expected to take at least this long, and more than half of the time left,
#: is skipped: CP-SAT would overrun the limit inside it.
PRESOLVE_SKIP_S = 5.0
#: What :func:`parameters` records when :func:`run` skipped presolve.
PRESOLVE_SKIPPED = "off: expected to overrun the time left"


def skip_presolve(model: cp_model.CpModel, options: SolveOptions) -> bool:
    """Whether CP-SAT's presolve of ``model`` would likely outlast the time limit.

    CP-SAT checks its limit between presolve steps, and one step of a model with
    millions of constraints takes tens of seconds, so it returns long after the
    limit. Skipping presolve keeps the limit; an explicit ``cp_model_presolve``
    parameter is obeyed as given.
    """
    left = options.remaining()
    if left is None or "cp_model_presolve" in options.params:
        return False
    expected = PRESOLVE_S_PER_ITEM * (len(model.proto.variables) + len(model.proto.constraints))
    return expected >= PRESOLVE_SKIP_S and expected > left / 2


def run(
    model: cp_model.CpModel, options: SolveOptions, enough: float | None = None
) -> tuple[cp_model.CpSolver, Status]:
    """Solve; map CP-SAT's status to ours (``feasible`` covers a limit with a solution).

    Callers read ``best_objective_bound`` only when a solution exists: stopped
    before finding one (for instance inside presolve), CP-SAT may report a
    bound that proves nothing, so the family's solver-free bound stands.
    ``enough``: stop at the first solution whose objective reaches it (in the
    model's units, in the model's direction), a value the caller has proven it
    cannot beat. Presolve is skipped where it would outlast the limit
    (:func:`skip_presolve`; :func:`parameters` records it).
    """
    solver = make_solver(options)
    left = options.remaining()
    if left is not None and left <= 0.0:  # building took the whole limit
        return solver, Status.TIME_LIMIT
    if skip_presolve(model, options):
        solver.parameters.cp_model_presolve = False
    if enough is not None:
        code = solver.solve(model, _StopAt(enough, model.proto.objective.scaling_factor < 0))
    else:
        code = solver.solve(model)
    status = {
        cp_model.OPTIMAL: Status.OPTIMAL,
        cp_model.FEASIBLE: Status.FEASIBLE,
        cp_model.INFEASIBLE: Status.INFEASIBLE,
        cp_model.MODEL_INVALID: Status.ERROR,
    }.get(code, Status.TIME_LIMIT)
    return solver, status


class _StopAt(cp_model.CpSolverSolutionCallback):
    """Stops the search at a solution as good as ``target``."""

    def __init__(self, target: float, maximise: bool) -> None:
        super().__init__()
        self.target, self.maximise = target, maximise

    def on_solution_callback(self) -> None:
        got = self.objective_value
        if (got >= self.target) if self.maximise else (got <= self.target):
            self.stop_search()


def parameters(
    options: SolveOptions, solver: cp_model.CpSolver | None = None, **more: Any
) -> dict[str, Any]:
    """The result's ``parameters``: the options, ``more``, and whether :func:`run`
    skipped presolve for ``solver``."""
    out: dict[str, Any] = {
        "time_limit": options.time_limit,
        "workers": options.workers,
        "seed": options.seed,
        "warm_start": options.warm_start is not None,
    }
    ours = "cp_model_presolve" not in options.params  # not the caller's own choice
    if solver is not None and ours and not solver.parameters.cp_model_presolve:
        out["presolve"] = PRESOLVE_SKIPPED
    out.update(more)
    return out


def add_hints(model: cp_model.CpModel, pairs: Iterable[tuple[Any, int]]) -> None:
    for var, value in pairs:
        model.add_hint(var, int(value))


#: Largest scaled time :func:`time_scale` accepts for an exact (rational) scale.
EXACT_SCALE_MAX = 10**9
#: Largest denominator tried when reading a time as a fraction.
MAX_DENOMINATOR = 10**6


def time_scale(values: Iterable[float], target: float = 1e6) -> tuple[float, bool]:
    """Factor ``s`` that turns times into integers for CP-SAT, and whether it is exact.

    Times that are integers after multiplying by 1, 10, 100 or 1000 keep that
    exact factor. Times that are fractions with small denominators to float
    precision (Cerebro's cost / capacity ratios such as 80/113) get the least
    common multiple of their denominators, if the largest then stays within
    :data:`EXACT_SCALE_MAX` units. Otherwise ``s = target / max(values)``: the
    largest time becomes about ``target`` units, and models round so that
    bounds stay valid.
    """
    vals = [float(v) for v in values]
    top = max(vals, default=0.0)
    for s in (1.0, 10.0, 100.0, 1000.0):
        integral = all(abs(v * s - round(v * s)) <= FLOAT_EPS * max(1.0, v * s) for v in vals)
        if integral and top * s <= 1e12:
            return s, True
    lcm = _common_denominator(vals, EXACT_SCALE_MAX / top if top > 0 else 1.0)
    if lcm is not None:
        return float(lcm), True
    return (target / top if top > 0 else 1.0), False


def _common_denominator(vals: list[float], most: float) -> int | None:
    """The least common multiple of the values' denominators as fractions (each equal
    to its value to float precision), if at most ``most``; else ``None``."""
    lcm = 1
    for v in set(vals):
        f = Fraction(v).limit_denominator(MAX_DENOMINATOR)
        if abs(float(f) - v) > 4 * sys.float_info.epsilon * max(1.0, abs(v)):
            return None
        lcm = lcm * f.denominator // math.gcd(lcm, f.denominator)
        if lcm > most:
            return None
    # the scaled values must round to the exact integers
    if any(abs(v * lcm - round(v * lcm)) > FLOAT_EPS * max(1.0, v * lcm) for v in vals):
        return None
    return lcm


def floor_scaled(v: float, s: float, exact: bool) -> int:
    return int(round(v * s)) if exact else int(math.floor(v * s))


class CpSatModel(Growing):
    """CP-SAT behind the linear layer's :class:`~optsched.solvers.linear.ModelBuilder`,
    for the formulations it shares with the MILP.

    Coefficients must be integers: a formulation that serves both scales them
    first (each family's ``cpsat`` module states its rule). ``continuous``
    refuses, since CP-SAT has no continuous variables. The family solves
    ``self.m`` with :func:`run` and converts CP-SAT's scaled bound itself.
    """

    def __init__(self) -> None:
        self.m = cp_model.CpModel()

    def binary(self, name: str) -> Any:
        return self.m.new_bool_var(name)

    def integer(self, name: str, lo: int, hi: int) -> Any:
        return self.m.new_int_var(lo, hi, name)

    def continuous(self, name: str, lo: float = 0.0, hi: float = math.inf) -> Any:
        raise Unsupported(f"cpsat: variable {name!r} is continuous; CP-SAT needs integers")

    def add(self, constraint: Any) -> None:
        self.grow()
        if check_constraint(constraint):
            self.m.add(constraint)

    def total(self, items: Iterable[Any]) -> Any:
        return sum(items)

    def minimize(self, expr: Any) -> None:
        self.m.minimize(expr)

    def maximize(self, expr: Any) -> None:
        self.m.maximize(expr)

    def start(self, var: Any, value: float) -> None:
        self.m.add_hint(var, int(value))
