"""Results of a method, and the one definition of the optimality gap."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .core import GAP_NOISE, GAP_TOL, CheckReport, Sense, Status, jsonable


def gap(objective: float | None, bound: float | None, sense: Sense | str) -> float:
    """Relative optimality gap of ``objective`` against a proven ``bound``.

    .. math::

        \\mathrm{gap} = \\frac{|\\mathrm{objective} - \\mathrm{bound}|}{|\\mathrm{bound}|}

    For minimisation the bound is a lower bound and the gap is how far above
    it the objective lies (0.05: 5% above); for maximisation it is an upper
    bound and the gap is the fraction of it not reached. Edge cases:

    * no objective (``None``, ``nan`` or infinite): ``inf``;
    * no bound (``None``, ``nan``, or ``-inf``/``+inf`` for min/max): ``inf``;
    * ``bound == 0``: ``0`` if ``objective == 0``, else ``inf``;
    * bound crossing the objective (``objective < bound`` when minimising,
      ``>`` when maximising) by more than ``1e-9`` relative: the negative
      value is returned, which signals an invalid bound (a bug upstream);
      within that tolerance it is rounding and the gap is 0;
    * ``|gap| < 1e-12`` is floating-point noise and reported as 0.
    """
    sense = Sense(sense)
    if objective is None or not math.isfinite(objective):
        return math.inf
    if bound is None or not math.isfinite(bound):
        return math.inf
    if bound == 0:
        return 0.0 if objective == 0 else math.inf
    signed = (objective - bound) if sense is Sense.MIN else (bound - objective)
    value = signed / abs(bound)
    if -GAP_TOL <= value < GAP_NOISE:
        return 0.0
    return value


@dataclass
class Result:
    """What every method returns; never raised for "no solution".

    Attributes
    ----------
    objective
        The checker's objective of ``solution``; ``inf`` (min) or ``-inf``
        (max) without one.
    bound
        Best proven bound (lower for min, upper for max); ``-inf``/``inf``
        when nothing is proven.
    runtime
        Wall-clock seconds, model building included.
    parameters
        Method parameters as run (time limit, workers, seed, back-end, scaling).
    check
        The independent checker's report on ``solution``.
    """

    family: str
    instance: str
    method: str
    sense: Sense
    status: Status
    objective: float
    bound: float
    runtime: float
    solution: Any = None
    check: CheckReport | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    solver: str = ""
    message: str = ""

    @property
    def gap(self) -> float:
        """:func:`gap` of this result; ``nan`` when proven infeasible (nothing to close)
        or an error (a rejected solution or bound is never a number)."""
        if self.status in (Status.INFEASIBLE, Status.ERROR):
            return math.nan
        return gap(self.objective, self.bound, self.sense)

    def summary(self) -> str:
        """One paragraph for humans: what ran, how it ended, and what is proven."""
        head = f"{self.method} on {self.family} instance {self.instance!r}: {self.status.value}"
        if self.solver:
            head += f" ({self.solver})"
        parts = [head]
        if self.status.has_solution:
            parts.append(f"objective {self.objective:.6g} ({self.sense.value}imise)")
        if math.isfinite(self.bound):
            kind = "lower" if self.sense is Sense.MIN else "upper"
            parts.append(f"proven {kind} bound {self.bound:.6g}")
        gap = self.gap
        if math.isfinite(gap):
            parts.append(f"gap {gap:.4%}")
        parts.append(f"{self.runtime:.2f} s")
        if self.check is not None:
            parts.append("checker: " + ("feasible" if self.check.feasible else "INFEASIBLE"))
        text = "; ".join(parts) + "."
        if self.message:
            text += f" {self.message.rstrip('.')}."
        return text

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self, with_solution: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "family": self.family,
            "instance": self.instance,
            "method": self.method,
            "sense": self.sense.value,
            "status": self.status.value,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "runtime": self.runtime,
            "solver": self.solver,
            "parameters": self.parameters,
            "feasible": None if self.check is None else self.check.feasible,
            "message": self.message,
        }
        if self.check is not None and not self.check.feasible:
            out["violations"] = [v.to_dict() for v in self.check.violations]
        if with_solution and self.solution is not None:
            out["solution"] = self.solution.to_dict(self.instance)
        serial: dict[str, Any] = jsonable(out)
        return serial
