"""What every method receives and returns before the front door checks it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..core import Status, TimeLimitReached


@dataclass(frozen=True)
class SolveOptions:
    """Options shared by all methods.

    Attributes
    ----------
    time_limit
        Seconds for the whole method, model building included (``None``: no
        limit); ``deadline`` is when they end (``time.perf_counter()``), set by
        the front door, and :meth:`remaining` what is left for a solver.
    workers
        CP-SAT search workers / MILP threads.
    seed
        Random seed (CP-SAT ``random_seed``, heuristic generators).
    warm_start
        A solution of the same instance to start from (CP-SAT hints, MILP
        initial values), or ``None``.
    extra
        Method options, e.g. ``{"solver": "scip"}`` for ``milp``.
    params
        Solver parameters passed verbatim: CP-SAT ``SatParameters`` fields for
        ``cpsat``, the back-end's own options for ``milp``, hyper-parameters
        for a plug-in. Recorded in the result.
    log
        Show the solver's log (on stdout).
    """

    time_limit: float | None = None
    workers: int = 1
    seed: int = 0
    warm_start: Any = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    log: bool = False
    deadline: float | None = None

    def remaining(self) -> float | None:
        """Seconds left of the time limit (all of it without a deadline); ``None`` without
        a limit."""
        if self.time_limit is None:
            return None
        if self.deadline is None:
            return float(self.time_limit)
        return max(0.0, self.deadline - time.perf_counter())

    def check_time(self) -> None:
        """Raise :class:`~optsched.core.TimeLimitReached` once the deadline has passed."""
        if self.deadline is not None and time.perf_counter() > self.deadline:
            limit = f"{self.time_limit:g}"
            raise TimeLimitReached(f"time limit of {limit} s reached building the model")


@dataclass
class MethodOutput:
    """A method's raw answer; the front door adds the check, objective and runtime.

    ``bound`` is in the instance's objective units and must be proven (lower
    for minimisation, upper for maximisation), or ``None``. ``start`` is a
    solution the method started from (its warm start or its own heuristic);
    when the method stops at its time limit without a solution, the front door
    returns ``start`` as the best solution known.
    """

    status: Status
    solution: Any = None
    bound: float | None = None
    solver: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    start: Any = None


I = TypeVar("I")  # noqa: E741
S = TypeVar("S")

Method = Callable[[I, SolveOptions], MethodOutput]


def heuristic(rule: Callable[[I], Any]) -> Method[I]:
    """A method from a solver-free rule ``rule(instance) -> solution``: feasible,
    nothing proven (the front door adds the family's bound)."""
    return lambda instance, options: MethodOutput(Status.FEASIBLE, rule(instance))


def seeded(rule: Callable[[I, int], Any]) -> Method[I]:
    """A method from a randomised rule ``rule(instance, seed) -> solution``; marked
    ``randomised`` (its result is a sample: claims about it need many seeds)."""

    def method(instance: I, options: SolveOptions) -> MethodOutput:
        return MethodOutput(Status.FEASIBLE, rule(instance, options.seed))

    method.randomised = True  # type: ignore[attr-defined]
    return method


@contextmanager
def starting_from(start: Any) -> Iterator[None]:
    """Build a model knowing its start: if the time limit ends the build, the start is
    the answer (it rides on the :class:`~optsched.core.TimeLimitReached`)."""
    try:
        yield
    except TimeLimitReached as exc:
        exc.start = start
        raise
