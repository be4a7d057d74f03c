"""The linear-model layer: one protocol that every MILP and LP formulation is written
against, and the choice of back-end by name.

A formulation asks a :class:`LinearModel` for variables, adds constraints built
with ``+ * <= >= ==`` (every back-end's expressions support them), sets the
objective, gives starting values, solves and reads values back. It never
imports a solver. Back-ends:

=================  ========================  ============================================
name               back-end                  notes
=================  ========================  ============================================
``cbc``            PuLP, CBC                 the default; bound read from CBC's log
``highs``          PuLP, HiGHS (highspy)     needs ``optsched[highs]``
``scip``           OR-Tools MathOpt, SCIP    ships with ``ortools``
``mathopt:highs``  OR-Tools MathOpt, HiGHS   ships with ``ortools``
``glop``           OR-Tools MathOpt, GLOP    LP only
``pdlp``           OR-Tools MathOpt, PDLP    LP only; first-order, bounds to tolerance
=================  ========================  ============================================

``pulp:cbc``, ``pulp:highs`` and ``mathopt:scip`` name the same back-ends in
full. Every back-end reads the proven bound from the solver's API except
CBC, whose bound PuLP does not expose (see :mod:`optsched.solvers.pulp`).
``docs/dev/adding-a-back-end.md`` says how to add one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..core import SOLVER_GAP_TOL, Status
from ..errors import InputError
from .common import MethodOutput, SolveOptions

#: Solver names and the (back-end, solver) they stand for.
SOLVERS: dict[str, tuple[str, str]] = {
    "cbc": ("pulp", "cbc"),
    "highs": ("pulp", "highs"),
    "scip": ("mathopt", "scip"),
    "mathopt:highs": ("mathopt", "highs"),
    "glop": ("mathopt", "glop"),
    "pdlp": ("mathopt", "pdlp"),
    "pulp:cbc": ("pulp", "cbc"),
    "pulp:highs": ("pulp", "highs"),
    "mathopt:scip": ("mathopt", "scip"),
    "mathopt:glop": ("mathopt", "glop"),
    "mathopt:pdlp": ("mathopt", "pdlp"),
}
#: Solvers that take integer variables; the others solve LPs only.
MIP_SOLVERS = ("cbc", "highs", "scip", "mathopt:highs")
LP_ONLY = ("glop", "pdlp")
#: Back-end classes by name, imported on first use.
BACKENDS = {
    "pulp": "optsched.solvers.pulp:PulpModel",
    "mathopt": "optsched.solvers.mathopt:MathOptModel",
}
#: The gap tolerance every MILP solver gets (see :data:`optsched.core.SOLVER_GAP_TOL`).
GAP_TOLERANCE = SOLVER_GAP_TOL


@dataclass
class Outcome:
    """How a solve ended, before the solution is read back.

    ``bound`` is proven (lower for minimisation, upper for maximisation) in
    the objective's units, constant term included, or ``None``.
    """

    status: Status
    bound: float | None
    solver: str
    message: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)

    def output(
        self, params: dict[str, Any], solution: Any = None, start: Any = None
    ) -> MethodOutput:
        """The method's answer: this outcome with the extracted solution (or its start)."""
        return MethodOutput(
            self.status,
            solution,
            self.bound,
            self.solver,
            {**self.parameters, **params},
            self.message,
            start=start,
        )


class ModelBuilder(Protocol):
    """What a linear formulation needs to build a model.

    Variables and expressions are the back-end's own; they support ``+``,
    ``*`` by a number, and ``<=``, ``>=``, ``==`` to make constraints. CP-SAT
    (:class:`optsched.solvers.cpsat.CpSatModel`) builds the formulations that
    it shares with the MILP this way, on integer-scaled coefficients.
    """

    def binary(self, name: str) -> Any: ...

    def integer(self, name: str, lo: int, hi: int) -> Any: ...

    def continuous(self, name: str, lo: float = 0.0, hi: float = math.inf) -> Any: ...

    def add(self, constraint: Any) -> None:
        """Add a constraint; a constant one that holds (``True``) is skipped."""
        ...

    def total(self, items: Iterable[Any]) -> Any:
        """The sum of ``items`` (variables, expressions, numbers), built in linear time."""
        ...

    def minimize(self, expr: Any) -> None: ...

    def maximize(self, expr: Any) -> None: ...

    def start(self, var: Any, value: float) -> None:
        """A starting value (MIP start, solution hint); back-ends may ignore it."""
        ...


class LinearModel(ModelBuilder, Protocol):
    """A MILP or LP back-end: builds, solves and reads values back."""

    #: The solver's name and version, for results.
    solver: str

    def solve(self, options: SolveOptions) -> Outcome: ...

    def value(self, var: Any) -> float:
        """The value of ``var`` in the solution found (after :meth:`solve`)."""
        ...


def solver_name(options: SolveOptions, default: str = "cbc") -> str:
    """The ``solver`` option, checked against :data:`SOLVERS`."""
    name = str(options.extra.get("solver") or default).lower()
    if name not in SOLVERS:
        raise InputError(f"milp: solver must be one of {', '.join(MIP_SOLVERS)}, got {name!r}")
    return name


def new_model(name: str, options: SolveOptions, *, integer: bool = True) -> LinearModel:
    """An empty model on the back-end that ``options`` names (default CBC).

    ``integer=False`` marks an LP; asking an LP-only solver for a model with
    integers is a bad argument (``InputError``).
    """
    from ..problems.record import load_target

    solver = solver_name(options)
    backend, which = SOLVERS[solver]
    if integer and which in LP_ONLY:
        raise InputError(
            f"milp: solver {which!r} solves LPs only; use one of {', '.join(MIP_SOLVERS)}"
        )
    model: LinearModel = load_target(BACKENDS[backend])(name, which)
    model.deadline = options  # type: ignore[attr-defined]
    return model


class Growing:
    """What every back-end's ``add`` does first: every :data:`CHECK_EVERY` constraints,
    stop the build (:class:`~optsched.core.TimeLimitReached`) once the time limit
    has passed, so that building counts against it."""

    deadline: Any = None  # the SolveOptions whose deadline applies
    _added = 0

    def grow(self) -> None:
        self._added += 1
        if self._added % CHECK_EVERY == 0 and self.deadline is not None:
            self.deadline.check_time()


#: Constraints added between two looks at the clock while building.
CHECK_EVERY = 64


def check_constraint(constraint: Any) -> bool:
    """``False`` if ``constraint`` is a constant that holds (skip it); raises if it fails."""
    if isinstance(constraint, bool):
        if not constraint:
            raise ValueError("a constant constraint does not hold: the model is infeasible")
        return False
    return True
