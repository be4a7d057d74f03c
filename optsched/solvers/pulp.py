"""The PuLP back-end of the linear layer: CBC (default) or HiGHS through highspy.

PuLP does not expose CBC's best bound, so CBC writes a log that is parsed:
its last ``best possible`` value (CBC minimises internally, so the sign is
flipped for maximisation), widened outward by ``1e-7`` relative to absorb the
log's print precision. This is the one back-end whose bound comes from a log;
HiGHS (through ``highspy``) reports ``mip_dual_bound`` through its API.

Solver parameters (``--params``) go verbatim to the solver: CBC takes them as
command-line options (``key value``), HiGHS as ``setOptionValue(key, value)``.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pulp

from ..core import Status
from ..errors import InputError
from .common import SolveOptions
from .linear import GAP_TOLERANCE, Outcome, check_constraint

_BEST_POSSIBLE = re.compile(r"best possible (-?[0-9.eE+-]+)")


class PulpModel:
    """A :class:`~optsched.solvers.linear.LinearModel` on a ``pulp.LpProblem``."""

    def __init__(self, name: str, solver: str = "cbc") -> None:
        self.prob = pulp.LpProblem(name, pulp.LpMinimize)
        self.which = solver
        self.solver = f"{solver} (pulp {pulp.__version__})"
        self._started = False

    def binary(self, name: str) -> Any:
        return pulp.LpVariable(name, cat="Binary")

    def integer(self, name: str, lo: int, hi: int) -> Any:
        return pulp.LpVariable(name, lo, hi, cat="Integer")

    def continuous(self, name: str, lo: float = 0.0, hi: float = math.inf) -> Any:
        return pulp.LpVariable(
            name, lo if math.isfinite(lo) else None, hi if math.isfinite(hi) else None
        )

    def add(self, constraint: Any) -> None:
        if check_constraint(constraint):
            self.prob += constraint

    def total(self, items: Iterable[Any]) -> Any:
        return pulp.lpSum(items)

    def minimize(self, expr: Any) -> None:
        self.prob.sense = pulp.LpMinimize
        self.prob.setObjective(pulp.lpSum([expr]))

    def maximize(self, expr: Any) -> None:
        self.prob.sense = pulp.LpMaximize
        self.prob.setObjective(pulp.lpSum([expr]))

    def start(self, var: Any, value: float) -> None:
        var.setInitialValue(value)
        self._started = True

    def value(self, var: Any) -> float:
        return float(var.value() or 0.0)

    def solve(self, options: SolveOptions) -> Outcome:
        """Solve in place; values stay on the variables.

        The objective's constant term is taken out while solving (solvers differ
        in whether their bounds include it) and added back to the bound.
        """
        prob = self.prob
        maximise = prob.sense == pulp.LpMaximize
        constant = float(prob.objective.constant)
        prob.objective.constant = 0.0
        try:
            if self.which == "highs":
                out = _solve_highs(prob, options, maximise)
            else:
                out = _solve_cbc(prob, options, maximise, self._started)
        finally:
            prob.objective.constant = constant
        if out.bound is not None:
            out.bound += constant
        return out


def _solve_cbc(prob: pulp.LpProblem, options: SolveOptions, maximise: bool, warm: bool) -> Outcome:
    fd, log_path = tempfile.mkstemp(prefix="optsched-cbc-", suffix=".log")
    os.close(fd)
    version = f"cbc (pulp {pulp.__version__})"
    # CBC checks its limit only between phases; on large models its preprocessing
    # or root relaxation can overrun it. A watchdog stops CBC a little after the limit.
    watchdog = None
    if options.time_limit is not None:
        watchdog = threading.Timer(options.time_limit * 1.05 + 2.0, _stop_children, ("cbc",))
        watchdog.daemon = True
        watchdog.start()
    try:
        _check_cbc_params(options.params)
        cbc_options = [f"randomSeed {options.seed + 1}", f"randomCbcSeed {options.seed + 1}"]
        cbc_options += [f"{key} {_cbc_value(value)}" for key, value in options.params.items()]
        solver = pulp.PULP_CBC_CMD(
            msg=False,
            timeLimit=options.time_limit,
            threads=max(1, options.workers),
            logPath=log_path,
            warmStart=warm,
            options=cbc_options,
            gapRel=GAP_TOLERANCE,
            gapAbs=GAP_TOLERANCE,
        )
        try:
            prob.solve(solver)
        except pulp.PulpSolverError:
            if watchdog is not None and not watchdog.is_alive():
                return Outcome(
                    Status.TIME_LIMIT, None, version, "CBC overran its time limit and was stopped"
                )
            raise
        with open(log_path, errors="replace") as fh:
            log = fh.read()
        if options.log:
            sys.stdout.write(log)
            sys.stdout.flush()
        if options.params and _rejected_option(log):
            raise InputError(f"--params: CBC rejected an option ({_rejected_option(log)})")
    finally:
        if watchdog is not None:
            watchdog.cancel()
        os.unlink(log_path)
    if prob.status == pulp.LpStatusInfeasible:
        return Outcome(Status.INFEASIBLE, None, version)
    if prob.status == pulp.LpStatusUnbounded:
        return Outcome(Status.ERROR, None, version, "model is unbounded")
    if prob.status not in (pulp.LpStatusOptimal,) or prob.sol_status not in (1, 2):
        return Outcome(
            Status.TIME_LIMIT, _cbc_bound(log, maximise), version, "no integer solution found"
        )
    objective = float(pulp.value(prob.objective) or 0.0)
    if prob.sol_status == 1:
        # CBC stops at a relative gap of GAP_TOLERANCE (or that much absolute): the
        # optimum lies within it, so the objective widened by it is a proven bound.
        slack = GAP_TOLERANCE * max(1.0, abs(objective))
        return Outcome(
            Status.OPTIMAL, objective + slack if maximise else objective - slack, version
        )
    return Outcome(Status.FEASIBLE, _cbc_bound(log, maximise), version)


def _stop_children(name: str) -> None:
    """Kill this process's child processes whose command name starts with ``name``."""
    me = os.getpid()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        ppid = int(text[text.rindex(")") + 2 :].split()[1])
        if ppid == me and comm.startswith(name):
            with contextlib.suppress(OSError):  # it may have ended by itself
                os.kill(int(stat.parent.name), signal.SIGKILL)


def _cbc_value(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


#: CBC options that optsched sets itself: the gap tolerances its proofs rely on
#: (an "optimal" CBC stopped at a looser gap would prove a wrong bound), the
#: time limit, threads and seeds (use --time-limit, --workers, --seed).
_CBC_RESERVED = {
    "ratio": "ratioGap", "ratiogap": "ratioGap", "allow": "allowableGap",
    "allowablegap": "allowableGap", "sec": "seconds", "seconds": "seconds",
    "threads": "threads", "randomseed": "randomSeed", "randomcbcseed": "randomCbcSeed",
}  # fmt: skip


def _check_cbc_params(params: Any) -> None:
    for key in params:
        if key.lower() in _CBC_RESERVED:
            raise InputError(
                f"--params: CBC option {key!r} is set by optsched (its proofs rely on the gap "
                "tolerances; use --time-limit, --workers and --seed for the others)"
            )


def _rejected_option(log: str) -> str | None:
    """The first line where CBC says it did not understand an option or a value."""
    for line in log.splitlines():
        if "No match for" in line or "illegal" in line:
            return line.strip()
    return None


def _cbc_bound(log: str, maximise: bool) -> float | None:
    found = _BEST_POSSIBLE.findall(log)
    if not found:
        return None
    internal = float(found[-1])
    value = -internal if maximise else internal
    slack = 1e-7 * max(1.0, abs(value))
    return value + slack if maximise else value - slack


def _solve_highs(prob: pulp.LpProblem, options: SolveOptions, maximise: bool) -> Outcome:
    try:
        import highspy  # noqa: F401
    except ImportError:
        raise InputError(
            "milp: solver 'highs' needs highspy>=1.14,<1.15 (pip install 'optsched[highs]')"
        ) from None
    params: dict[str, Any] = {"random_seed": options.seed}
    for key, value in options.params.items():
        probe = highspy.Highs()
        probe.setOptionValue("output_flag", False)
        if probe.setOptionValue(key, value) == highspy.HighsStatus.kError:
            raise InputError(f"--params: HiGHS has no option {key!r} taking {value!r}")
        params[key] = value
    solver = pulp.HiGHS(
        msg=options.log,
        timeLimit=options.time_limit,
        gapRel=GAP_TOLERANCE,
        gapAbs=GAP_TOLERANCE,
        threads=max(1, options.workers),
        **params,
    )
    # PuLP has no status for some HiGHS stops (a solution or node limit); it has set
    # the variables' values by then, and the model's own status tells the rest.
    with contextlib.suppress(KeyError):
        prob.solve(solver)
    model = prob.solverModel
    info = model.getInfo()
    version = f"highs (pulp {pulp.__version__})"
    model_status = model.getModelStatus()
    if model_status == highspy.HighsModelStatus.kInfeasible:
        return Outcome(Status.INFEASIBLE, None, version)
    if model_status in (
        highspy.HighsModelStatus.kUnbounded,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    ):
        what = (
            "unbounded"
            if model_status == highspy.HighsModelStatus.kUnbounded
            else ("unbounded or infeasible")
        )
        return Outcome(Status.ERROR, None, version, f"model is {what}")
    if prob.isMIP():
        # PuLP hands HiGHS a maximisation as the minimisation of the negated objective.
        raw = float(info.mip_dual_bound) * (-1.0 if maximise else 1.0)
    else:  # an LP solved to optimality proves its objective, to HiGHS's tolerances
        optimal = model_status == highspy.HighsModelStatus.kOptimal
        raw = float(pulp.value(prob.objective) or 0.0) if optimal else math.nan
    bound = raw if math.isfinite(raw) else None
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if not has_solution:
        return Outcome(Status.TIME_LIMIT, bound, version, "no integer solution found")
    status = (
        Status.OPTIMAL
        if prob.status == pulp.LpStatusOptimal and model_status == highspy.HighsModelStatus.kOptimal
        else Status.FEASIBLE
    )
    return Outcome(status, bound, version)
