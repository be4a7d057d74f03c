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
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from typing import Any

import pulp

from ..core import Status
from ..errors import InputError, sigterm_raises
from .common import SolveOptions
from .linear import GAP_TOLERANCE, Growing, Outcome, check_constraint

_BEST_POSSIBLE = re.compile(r"best possible (-?[0-9.eE+-]+)")


class PulpModel(Growing):
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
        self.grow()
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
    version = f"cbc (pulp {pulp.__version__})"
    left = options.remaining()  # what model building left of the limit
    if left is not None and left <= 0.0:
        return Outcome(Status.TIME_LIMIT, None, version, "time limit reached building the model")
    _check_cbc_params(options.params)
    work = tempfile.mkdtemp(prefix="optsched-cbc-")  # PuLP's files and CBC's log: ours
    log_path = os.path.join(work, "cbc.log")
    try:
        cbc_options = [f"randomSeed {options.seed + 1}", f"randomCbcSeed {options.seed + 1}"]
        cbc_options += [f"{key} {_cbc_value(value)}" for key, value in options.params.items()]
        solver = pulp.PULP_CBC_CMD(
            msg=False,
            timeLimit=left,
            threads=max(1, options.workers),
            logPath=log_path,
            warmStart=warm,
            options=cbc_options,
            gapRel=GAP_TOLERANCE,
            gapAbs=GAP_TOLERANCE,
        )
        solver.tmpDir = work
        with _owned_cbc(left) as stopped:
            try:
                prob.solve(solver)
            except pulp.PulpSolverError:
                if stopped.is_set():
                    why = "CBC overran its time limit and was stopped"
                    return Outcome(Status.TIME_LIMIT, None, version, why)
                if options.remaining() == 0.0:  # CBC 2.10 can die at its limit
                    why = "CBC ended abnormally at its time limit"
                    return Outcome(Status.TIME_LIMIT, None, version, why)
                raise
        with open(log_path, errors="replace") as fh:
            log = fh.read()
        if options.log:
            sys.stdout.write(log)
            sys.stdout.flush()
        if options.params and _rejected_option(log):
            raise InputError(f"--params: CBC rejected an option ({_rejected_option(log)})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
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


#: After its limit CBC gets SIGINT (it stops and writes its best solution), and
#: SIGKILL this much later if it is still running.
CBC_GRACE = 1.0
_POPEN_LOCK = threading.Lock()


@contextlib.contextmanager
def _owned_cbc(limit: float | None) -> Any:
    """Run PuLP's CBC call as a process this one owns: PuLP starts it through the
    ``subprocess`` module its CBC interface imported, which is swapped for the length
    of the call for one that records the process. CBC checks its limit only between
    phases, so a watchdog sends it SIGINT a little after the limit and SIGKILL
    :data:`CBC_GRACE` later (the event yielded is set if it had to); an exception
    here (Ctrl-C, SIGTERM) kills it, so no CBC outlives its solve."""
    from pulp.apis import coin_api

    started: list[subprocess.Popen[Any]] = []

    class Recording:
        def __getattr__(self, name: str) -> Any:
            return getattr(subprocess, name)

        @staticmethod
        def Popen(*args: Any, **kwargs: Any) -> subprocess.Popen[Any]:  # noqa: N802
            proc = subprocess.Popen(*args, **kwargs)
            started.append(proc)
            return proc

    stopped, done = threading.Event(), threading.Event()

    def watch() -> None:
        assert limit is not None
        if done.wait(limit + 0.5):
            return
        interrupted: dict[int, float] = {}  # CBC may start only now (PuLP writes first)
        while not done.is_set():
            for proc in list(started):
                since = interrupted.get(proc.pid)
                if since is None:
                    interrupted[proc.pid] = time.perf_counter()
                    with contextlib.suppress(OSError):
                        proc.send_signal(signal.SIGINT)
                elif time.perf_counter() - since > CBC_GRACE and proc.poll() is None:
                    stopped.set()
                    with contextlib.suppress(OSError):
                        proc.kill()
            done.wait(0.05)

    with _POPEN_LOCK, sigterm_raises():
        saved = coin_api.subprocess
        coin_api.subprocess = Recording()  # type: ignore[assignment]
        watchdog = threading.Thread(target=watch, daemon=True) if limit is not None else None
        if watchdog is not None:
            watchdog.start()
        try:
            yield stopped
        finally:
            done.set()
            coin_api.subprocess = saved
            for proc in started:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if watchdog is not None:
                watchdog.join()


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
    left = options.remaining()  # what model building left of the limit
    if left is not None and left <= 0.0:
        version = f"highs (pulp {pulp.__version__})"
        return Outcome(Status.TIME_LIMIT, None, version, "time limit reached building the model")
    solver = pulp.HiGHS(
        msg=options.log,
        timeLimit=left,
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
