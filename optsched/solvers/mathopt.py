"""The OR-Tools MathOpt back-end of the linear layer: SCIP and HiGHS for MILP, GLOP
and PDLP for LP.

These solvers ship inside the ``ortools`` wheel, so they need no extra
dependency (and avoid the ``highspy`` conflict). The proven bound is MathOpt's
``termination.objective_bounds.dual_bound``, read through the API; PDLP's is a
first-order estimate, valid to its convergence tolerance only.

Solver parameters (``--params``) go verbatim to the solver's own parameter set:
SCIP's (``limits/gap=0.01``; the value's type picks bool, int, real or string),
HiGHS's options, or GLOP's and PDLP's protobuf fields. Starting values reach
SCIP as a solution hint; HiGHS behind MathOpt gets none (it fails internally
on some), so a method's own start is what it returns at a limit.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import sys
from collections.abc import Iterable, Iterator
from importlib.metadata import version
from typing import Any

from ortools.math_opt.python import mathopt

from ..core import Status
from ..errors import InputError
from .common import SolveOptions
from .linear import GAP_TOLERANCE, Growing, Outcome, check_constraint

_SOLVERS = {
    "scip": mathopt.SolverType.GSCIP,
    "highs": mathopt.SolverType.HIGHS,
    "glop": mathopt.SolverType.GLOP,
    "pdlp": mathopt.SolverType.PDLP,
}
_T = mathopt.TerminationReason
_OPTIMAL = _T.OPTIMAL.value  # the proto's enum value


class MathOptModel(Growing):
    """A :class:`~optsched.solvers.linear.LinearModel` on a ``mathopt.Model``."""

    def __init__(self, name: str, solver: str = "scip") -> None:
        self.model = mathopt.Model(name=name)
        self.which = solver
        self.solver = f"{solver} (ortools {version('ortools')} mathopt)"
        self._hint: dict[Any, float] = {}
        self._result: Any = None
        self._values_by_id: dict[int, float] | None = None
        self._values: Any = None

    def binary(self, name: str) -> Any:
        return self.model.add_binary_variable(name=name)

    def integer(self, name: str, lo: int, hi: int) -> Any:
        return self.model.add_integer_variable(lb=lo, ub=hi, name=name)

    def continuous(self, name: str, lo: float = 0.0, hi: float = math.inf) -> Any:
        return self.model.add_variable(lb=lo, ub=hi, name=name)

    def add(self, constraint: Any) -> None:
        self.grow()
        if check_constraint(constraint):
            self.model.add_linear_constraint(constraint)

    def total(self, items: Iterable[Any]) -> Any:
        return mathopt.fast_sum(items)

    def minimize(self, expr: Any) -> None:
        self.model.minimize(expr)

    def maximize(self, expr: Any) -> None:
        self.model.maximize(expr)

    def start(self, var: Any, value: float) -> None:
        self._hint[var] = float(value)

    def value(self, var: Any) -> float:
        return float(self._result.variable_values(var))

    # ------------------------------------------------------ incremental use
    # A model solved again and again with a few coefficients changed (an allocation
    # each round): the solver keeps its state, and GLOP warm-starts its simplex
    # from the previous basis.
    def constraint(self, constraint: Any) -> Any:
        """Add a constraint and return its handle (``set_coefficient`` changes it)."""
        return self.model.add_linear_constraint(constraint)

    @staticmethod
    def set_coefficient(handle: Any, var: Any, value: float) -> None:
        handle.set_coefficient(var, value)

    @staticmethod
    def set_upper(var: Any, value: float) -> None:
        var.upper_bound = value

    def set_objective_coefficient(self, var: Any, value: float) -> None:
        self.model.objective.set_linear_coefficient(var, value)

    def resolve(self) -> Outcome:
        """Solve again after changes, from the solver's last state."""
        if getattr(self, "_incremental", None) is None:
            self._incremental = mathopt.IncrementalSolver(self.model, _SOLVERS[self.which])
            nothing = mathopt.SparseVectorFilter(filtered_items=set())
            self._only_values = mathopt.ModelSolveParameters(  # skip duals: parsing costs
                dual_values_filter=nothing, reduced_costs_filter=nothing
            )
        fast = _solve_raw(self._incremental, self._only_values)
        if fast is not None:  # optimal: read the primal values straight from the proto
            self._values_by_id = fast
            self._values = None
            return Outcome(Status.OPTIMAL, None, self.solver)
        result = self._incremental.solve(model_params=self._only_values)
        self._result = result
        self._values_by_id = None
        self._values = result.variable_values() if result.has_primal_feasible_solution() else {}
        return _outcome(result, self.solver)

    def values(self, variables: Iterable[Any]) -> list[float]:
        """Values of ``variables`` in the last :meth:`resolve`'s solution."""
        if self._values_by_id is not None:
            by_id = self._values_by_id
            return [by_id.get(v.id, 0.0) for v in variables]
        return [float(self._values[v]) for v in variables]

    def _solve(self, params: Any, model_params: Any) -> Any:
        return mathopt.solve(
            self.model, _SOLVERS[self.which], params=params, model_params=model_params
        )

    def solve(self, options: SolveOptions) -> Outcome:
        params = mathopt.SolveParameters(enable_output=options.log)
        if self.which != "pdlp":  # PDLP takes no seed
            params.random_seed = int(options.seed)
        if self.which in ("scip", "highs"):
            params.relative_gap_tolerance = GAP_TOLERANCE
            params.absolute_gap_tolerance = GAP_TOLERANCE
        left = options.remaining()  # what model building left of the limit
        if left is not None:
            params.time_limit = datetime.timedelta(seconds=max(0.0, left))
        if self.which == "scip":
            params.threads = max(1, int(options.workers))  # HiGHS takes threads only globally
        _solver_params(self.which, params, options.params)
        model_params = None
        # HiGHS behind MathOpt fails internally on some hints (seen on Saturn's
        # Figure 4 started from its 54 h plan), so only SCIP gets them.
        if self._hint and self.which == "scip":
            model_params = mathopt.ModelSolveParameters(
                solution_hints=[mathopt.SolutionHint(variable_values=self._hint)]
            )
        try:
            result = self._solve(params, model_params)
        except Exception as exc:  # MathOpt raises on parameters the solver rejects
            if options.params:
                raise InputError(
                    f"--params: {self.which} rejected the parameters ({_reason(exc)})"
                ) from None
            raise
        self._result = result
        return _outcome(result, self.solver)


def _solve_raw(inc: Any, model_params: Any) -> dict[int, float] | None:
    """One incremental solve, with only the primal values read from the result proto
    (MathOpt's full parse of bases and statuses costs more than GLOP's warm-started
    solve of a small LP). ``None`` when the solve is not optimal, or when this
    ortools has other internals (then the caller solves again the public way)."""
    try:
        update = inc._update_tracker.export_update()
        if update is not None:
            if not inc._proto_solver.update(update):
                return None  # the public path rebuilds the solver
            inc._update_tracker.advance_checkpoint()
        proto = inc._proto_solver.solve(
            mathopt.SolveParameters().to_proto(),
            model_params.to_proto(),
            None,
            mathopt.CallbackRegistration().to_proto(),
            None,
            None,
        )
    except (AttributeError, TypeError):
        return None
    if proto.termination.reason != _OPTIMAL or not proto.solutions:
        return None
    values = proto.solutions[0].primal_solution.variable_values
    return dict(zip(values.ids, values.values))


def _reason(exc: BaseException) -> str:
    # ortools 9.15 fails while translating the solver's status into an exception;
    # the status itself is the context of that failure.
    inner = exc.__context__ if isinstance(exc, AttributeError) and exc.__context__ else exc
    text = str(inner) or inner.__class__.__name__
    return text.splitlines()[0]


def _outcome(result: Any, solver: str) -> Outcome:
    reason = result.termination.reason
    raw = float(result.termination.objective_bounds.dual_bound)
    bound = raw if math.isfinite(raw) else None
    has = result.has_primal_feasible_solution()
    detail = result.termination.detail or ""
    if reason == _T.INFEASIBLE:
        return Outcome(Status.INFEASIBLE, None, solver, detail)
    if reason in (_T.UNBOUNDED, _T.INFEASIBLE_OR_UNBOUNDED):
        return Outcome(Status.ERROR, None, solver, f"model is {reason.name.lower()}")
    if reason in (_T.IMPRECISE, _T.NUMERICAL_ERROR, _T.OTHER_ERROR):
        return Outcome(Status.ERROR, None, solver, f"{reason.name.lower()}: {detail}".strip())
    if not has:
        return Outcome(Status.TIME_LIMIT, bound, solver, "no solution found")
    if reason == _T.OPTIMAL:
        return Outcome(Status.OPTIMAL, bound, solver)
    return Outcome(Status.FEASIBLE, bound, solver)


def _solver_params(which: str, params: Any, given: Any) -> None:
    """Copy ``given`` (key -> value) into the solver's own parameter message.

    SCIP and HiGHS parameters are typed by their values (bool, int, float,
    string); each is tried alone on an empty model first, so that a key the
    solver rejects is named (SCIP's long integers, such as ``limits/nodes``,
    are told apart from its ints this way).
    """
    if not given:
        return
    if which in ("scip", "highs"):
        for key, value in given.items():
            for table in _tables(which, value):
                trial = mathopt.SolveParameters()
                getattr(_solver_part(which, trial), table)[key] = value
                if _accepted(which, trial):
                    getattr(_solver_part(which, params), table)[key] = value
                    break
            else:
                raise InputError(f"--params: {which} rejects parameter {key}={value!r}")
        return
    from google.protobuf import text_format

    message = params.glop if which == "glop" else params.pdlp
    for key, value in given.items():
        text = f"{key}: {str(value).lower() if isinstance(value, bool) else value}"
        try:
            text_format.Merge(text, message)
        except text_format.ParseError as exc:
            reason = str(exc).split(":", 2)[-1].strip()
            raise InputError(f"--params: {which} parameter {key}={value!r}: {reason}") from None


def _tables(which: str, value: Any) -> list[str]:
    """The parameter maps a value of this type may go to, in the order to try."""
    if which == "scip":
        if isinstance(value, bool):
            return ["bool_params"]
        if isinstance(value, int):
            return ["int_params", "long_params"]
        if isinstance(value, float):
            return ["real_params"]
        return ["string_params", "char_params"] if len(str(value)) == 1 else ["string_params"]
    if isinstance(value, bool):
        return ["bool_options"]
    if isinstance(value, int):
        return ["int_options", "double_options"]
    if isinstance(value, float):
        return ["double_options"]
    return ["string_options"]


def _solver_part(which: str, params: Any) -> Any:
    return params.gscip if which == "scip" else params.highs


def _accepted(which: str, trial: Any) -> bool:
    """Whether the solver takes ``trial`` on an empty model (its C errors silenced)."""
    model = mathopt.Model(name="probe")
    model.add_binary_variable()
    with _quiet_stderr():
        try:
            mathopt.solve(model, _SOLVERS[which], params=trial)
        except Exception:
            return False
    return True


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2, where SCIP prints its C-level errors."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
