"""The shared vocabulary: senses, statuses, violations, check reports, tolerances.

This module is the bottom of the package: it imports nothing of optsched, so
that any module (a family, a back-end, the front door) can use these words
without dragging the families in. The typed protocols :class:`Instance`,
:class:`Solution` and :class:`Checker` let mypy follow an instance from the
front door into its family's checker.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, TypeVar, runtime_checkable

# ---------------------------------------------------------------- tolerances
#: Relative tolerance of checkers when they compare times and work.
CHECK_TOL = 1e-6
#: Relative tolerance under which objective and bound count as equal (optimal);
#: MILP solvers work to feasibility tolerances of about this size.
OPTIMAL_TOL = 1e-6
#: Relative slack below which a bound crossing the objective is rounding, not a bug.
GAP_TOL = 1e-9
#: A gap smaller than this is floating-point noise and reported as 0.
GAP_NOISE = 1e-12
#: Relative (and absolute) tolerance when a stored reference is re-scored by the checker.
REFERENCE_TOL = 1e-6
REFERENCE_ABS_TOL = 1e-9
#: Relative and absolute gap tolerance given to every MILP solver: optsched decides
#: "optimal" itself, at ``OPTIMAL_TOL``, so solvers must not stop early.
SOLVER_GAP_TOL = 1e-9
#: Relative floating-point noise below which heuristics treat two values as equal
#: (work left, idle times, integrality of scaled times).
FLOAT_EPS = 1e-9
#: "Within 0.1%" in gap summaries.
WITHIN = 1e-3


class Sense(str, Enum):
    """Objective sense, and the comparisons that depend on it."""

    MIN = "min"
    MAX = "max"

    @property
    def worst(self) -> float:
        """The objective of "no solution": ``inf`` (min) or ``-inf`` (max)."""
        return math.inf if self is Sense.MIN else -math.inf

    @property
    def no_bound(self) -> float:
        """The bound that proves nothing: ``-inf`` (min) or ``inf`` (max)."""
        return -math.inf if self is Sense.MIN else math.inf

    def better(self, a: float, b: float) -> bool:
        """``a`` is strictly better than ``b``."""
        return a < b if self is Sense.MIN else a > b

    def best(self, values: Iterable[float | None]) -> float:
        """The best of ``values`` (``None`` and ``nan`` skipped); :attr:`worst` if none."""
        vals = [v for v in values if v is not None and not math.isnan(v)]
        if not vals:
            return self.worst
        return min(vals) if self is Sense.MIN else max(vals)

    def tightest(self, bounds: Iterable[float | None]) -> float:
        """The tightest of several proven bounds (max for min, min for max);
        :attr:`no_bound` if none."""
        vals = [v for v in bounds if v is not None and not math.isnan(v)]
        if not vals:
            return self.no_bound
        return max(vals) if self is Sense.MIN else min(vals)

    def crosses(self, objective: float, bound: float, rel_tol: float = 0.0) -> bool:
        """``bound`` lies beyond ``objective`` (an invalid bound) by more than
        ``rel_tol * max(1, |bound|)``."""
        slack = rel_tol * max(1.0, abs(bound))
        if self is Sense.MIN:
            return bound - objective > slack
        return objective - bound > slack


class Status(str, Enum):
    """How a method ended.

    * ``optimal``: a solution proven optimal (objective equals the bound).
    * ``feasible``: a solution, not proven optimal (heuristics, or an exact
      method stopped by its time limit with a solution).
    * ``infeasible``: proven that no solution exists.
    * ``time_limit``: stopped by the time limit without any solution.
    * ``unsupported``: the method does not take this instance (a model too
      large to build, a feature it does not model); the message says why.
    * ``no_solution``: a heuristic ran to its end without a feasible solution
      (its rule left jobs unfinished at the horizon); nothing is proven, and it
      is no failure of the method.
    * ``error``: the method failed, or its solution failed the checker.
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    TIME_LIMIT = "time_limit"
    UNSUPPORTED = "unsupported"
    NO_SOLUTION = "no_solution"
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


class TimeLimitReached(Exception):
    """Raised while a model is still being built when its time limit has passed; the
    front door makes it a ``time_limit`` result (building counts against the limit),
    with ``start`` (the solution the method started from, if any) as the best known."""

    start: Any = None


class Unsupported(Exception):
    """Raised by a method that does not take an instance; becomes a result.

    The front door turns it into a :class:`Status` ``unsupported`` result whose
    message is ``str(exc)``. Bad user arguments raise ``InputError`` instead.
    """


# ---------------------------------------------------------------- serializing
def jsonable(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (recursively)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return jsonable(value.item())
    return value


# ---------------------------------------------------------------- checking
@dataclass(frozen=True)
class Violation:
    """One violated constraint.

    Attributes
    ----------
    kind
        Constraint kind, e.g. ``"worker_overlap"``.
    size
        How much it is violated by, in the constraint's own unit (seconds of
        overlap, GPUs over capacity, ...); always > 0.
    where
        Which entities are involved, for humans.
    """

    kind: str
    size: float
    where: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "size": self.size, "where": self.where}


@dataclass(frozen=True)
class CheckReport:
    """What an independent checker says of a solution.

    ``objective`` is recomputed from the solution alone; it is ``nan`` when a
    violation makes it meaningless (e.g. a GPU index out of range).
    """

    family: str
    objective: float
    violations: tuple[Violation, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return not self.violations

    def by_kind(self) -> dict[str, tuple[int, float]]:
        """``kind -> (count, total size)``."""
        out: dict[str, tuple[int, float]] = {}
        for v in self.violations:
            n, s = out.get(v.kind, (0, 0.0))
            out[v.kind] = (n + 1, s + v.size)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "feasible": self.feasible,
            "objective": jsonable(self.objective),
            "violations": [v.to_dict() for v in self.violations],
            "violations_by_kind": {
                k: {"count": n, "size": s} for k, (n, s) in self.by_kind().items()
            },
            "details": dict(self.details),
        }


class Violations:
    """Collects violations while a checker walks a solution."""

    def __init__(self) -> None:
        self.items: list[Violation] = []

    def add(self, kind: str, size: float, where: str) -> None:
        if size > 0:
            self.items.append(Violation(kind, float(size), where))

    def __bool__(self) -> bool:
        return bool(self.items)

    def freeze(self) -> tuple[Violation, ...]:
        return tuple(self.items)


# ---------------------------------------------------------------- protocols
@runtime_checkable
class Instance(Protocol):
    """What every family's instance type offers the front door."""

    family: str

    @property
    def name(self) -> str: ...

    @property
    def sense(self) -> Sense: ...

    def to_dict(self) -> dict[str, Any]: ...

    def summary(self) -> dict[str, Any]: ...


@runtime_checkable
class Solution(Protocol):
    """What every family's solution type offers the front door."""

    family: str

    def to_dict(self, instance_name: str = "") -> dict[str, Any]: ...


I = TypeVar("I", bound=Instance, contravariant=True)  # noqa: E741
S = TypeVar("S", bound=Solution, contravariant=True)


class Checker(Protocol[I, S]):
    """A family's independent checker: recomputes the objective from the solution alone."""

    def __call__(self, instance: I, solution: S, /) -> CheckReport: ...
