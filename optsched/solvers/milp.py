"""Solving PuLP models with CBC (default) or HiGHS, and reading back a proven bound.

PuLP does not expose CBC's best bound, so CBC writes a log that is parsed:
its last ``best possible`` value (CBC minimises internally, so the sign is
flipped for maximisation), widened outward by ``1e-7`` relative to absorb the
log's print precision. HiGHS (through ``highspy``) reports ``mip_dual_bound``.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulp

from ..core import Status
from ..errors import InputError
from .common import MethodOutput, SolveOptions

SOLVERS = ("cbc", "highs")
_BEST_POSSIBLE = re.compile(r"best possible (-?[0-9.eE+-]+)")


@dataclass
class MilpOutcome:
    status: Status
    bound: float | None
    solver: str
    message: str = ""

    def output(
        self, params: dict[str, Any], solution: Any = None, start: Any = None
    ) -> MethodOutput:
        """The method's answer: this outcome with the extracted solution (or its start)."""
        return MethodOutput(
            self.status, solution, self.bound, self.solver, params, self.message, start=start
        )


def solver_name(options: SolveOptions) -> str:
    name = str(options.extra.get("solver", "cbc")).lower()
    if name not in SOLVERS:
        raise InputError(f"milp: solver must be one of {', '.join(SOLVERS)}, got {name!r}")
    return name


def solve(prob: pulp.LpProblem, options: SolveOptions, warm: bool = False) -> MilpOutcome:
    """Solve ``prob`` in place; values stay on its variables.

    The objective's constant term is taken out while solving (solvers differ
    in whether their bounds include it) and added back to the bound.
    """
    name = solver_name(options)
    maximise = prob.sense == pulp.LpMaximize
    constant = float(prob.objective.constant)
    prob.objective.constant = 0.0
    try:
        out = (
            _solve_highs(prob, options, maximise)
            if name == "highs"
            else _solve_cbc(prob, options, maximise, warm)
        )
    finally:
        prob.objective.constant = constant
    if out.bound is not None:
        out.bound += constant
    return out


def _solve_cbc(
    prob: pulp.LpProblem, options: SolveOptions, maximise: bool, warm: bool
) -> MilpOutcome:
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
        cbc_options = [f"randomSeed {options.seed + 1}", f"randomCbcSeed {options.seed + 1}"]
        solver = pulp.PULP_CBC_CMD(
            msg=False,
            timeLimit=options.time_limit,
            threads=max(1, options.workers),
            logPath=log_path,
            warmStart=warm,
            options=cbc_options,
            gapRel=1e-9,
            gapAbs=1e-9,
        )
        try:
            prob.solve(solver)
        except pulp.PulpSolverError:
            if watchdog is not None and not watchdog.is_alive():
                return MilpOutcome(
                    Status.TIME_LIMIT, None, version, "CBC overran its time limit and was stopped"
                )
            raise
        with open(log_path, errors="replace") as fh:
            log = fh.read()
    finally:
        if watchdog is not None:
            watchdog.cancel()
        os.unlink(log_path)
    if prob.status == pulp.LpStatusInfeasible:
        return MilpOutcome(Status.INFEASIBLE, None, version)
    if prob.status not in (pulp.LpStatusOptimal,) or prob.sol_status not in (1, 2):
        return MilpOutcome(
            Status.TIME_LIMIT, _cbc_bound(log, maximise), version, "no integer solution found"
        )
    objective = pulp.value(prob.objective)
    if prob.sol_status == 1:
        return MilpOutcome(Status.OPTIMAL, float(objective or 0.0), version)
    return MilpOutcome(Status.FEASIBLE, _cbc_bound(log, maximise), version)


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


def _cbc_bound(log: str, maximise: bool) -> float | None:
    found = _BEST_POSSIBLE.findall(log)
    if not found:
        return None
    internal = float(found[-1])
    value = -internal if maximise else internal
    slack = 1e-7 * max(1.0, abs(value))
    return value + slack if maximise else value - slack


def _solve_highs(prob: pulp.LpProblem, options: SolveOptions, maximise: bool) -> MilpOutcome:
    try:
        import highspy  # noqa: F401
    except ImportError:
        raise InputError(
            "milp: solver 'highs' needs highspy>=1.14,<1.15 (pip install 'optsched[highs]')"
        ) from None
    params: dict[str, Any] = {"random_seed": options.seed}
    solver = pulp.HiGHS(
        msg=False,
        timeLimit=options.time_limit,
        gapRel=1e-9,
        gapAbs=1e-9,
        threads=max(1, options.workers),
        **params,
    )
    prob.solve(solver)
    model = prob.solverModel
    info = model.getInfo()
    version = f"highs (pulp {pulp.__version__})"
    if prob.status == pulp.LpStatusInfeasible:
        return MilpOutcome(Status.INFEASIBLE, None, version)
    # PuLP hands HiGHS a maximisation as the minimisation of the negated objective.
    raw = float(info.mip_dual_bound) * (-1.0 if maximise else 1.0)
    bound = raw if math.isfinite(raw) else None
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if not has_solution:
        return MilpOutcome(Status.TIME_LIMIT, bound, version, "no integer solution found")
    status = (
        Status.OPTIMAL
        if prob.status == pulp.LpStatusOptimal
        and model.getModelStatus() == highspy.HighsModelStatus.kOptimal
        else Status.FEASIBLE
    )
    return MilpOutcome(status, bound, version)
