"""The front door: ``solve(instance, method, ...) -> Result``.

Every solution a method returns is re-checked by the family's independent
checker; the objective reported is the checker's. The bound reported is the
better of the method's proven bound and the family's solver-free bound. A
checker failure is a bug in the method and comes back as status ``error``
with the violations attached, never hidden. A method that does not take the
instance (it raises :class:`~optsched.core.Unsupported`) comes back as status
``unsupported`` with its reason. Only bad arguments raise (``InputError``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from .core import OPTIMAL_TOL, Instance, Sense, Solution, Status, TimeLimitReached, Unsupported
from .errors import InputError
from .problems import bound as solver_free_bound
from .problems import check, family
from .problems.record import keep_traceback
from .registry import get
from .result import Result
from .solvers.common import MethodOutput, SolveOptions

__all__ = ["finish", "solve"]


def solve(
    instance: Instance,
    method: str,
    time_limit: float | None = None,
    workers: int = 1,
    seed: int = 0,
    warm_start: Solution | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    log: bool = False,
    **options: Any,
) -> Result:
    """Run ``method`` on ``instance`` and return a checked :class:`Result`.

    Parameters
    ----------
    method
        A registered name (``cpsat``, ``milp``, a heuristic) or ``module:function``.
    time_limit
        Seconds for the whole method, model building included: it returns within
        about 2 s of it with the best solution and bound found.
    workers, seed
        CP-SAT workers / MILP threads, and the random seed.
    warm_start
        A solution to start from, where the back-end takes hints.
    params
        Solver parameters passed verbatim to the back-end (or a plug-in's
        hyper-parameters); recorded in the result.
    log
        Show the solver's log.
    options
        Method options, e.g. ``solver="scip"`` for ``milp``.
    """
    fam = family(instance.family)
    if time_limit is not None and (
        isinstance(time_limit, bool) or not math.isfinite(time_limit) or time_limit <= 0
    ):
        raise InputError(f"time_limit must be a finite number > 0, got {time_limit!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be an integer >= 1, got {workers!r}")
    if warm_start is not None and getattr(warm_start, "family", None) != instance.family:
        raise InputError("warm_start must be a solution of the same family")
    if warm_start is not None:
        _fits(instance, warm_start)
    m = get(instance.family, method)
    if options.get("solver") is not None and m.name != "milp":
        raise InputError(f"solver applies to method milp only, not {m.name!r}")
    if params and m.origin == "built-in" and m.kind == "heuristic":
        raise InputError(f"method {m.name!r} takes no parameters, got {sorted(params)[0]!r}")
    start = time.perf_counter()
    opts = SolveOptions(
        time_limit, workers, seed, warm_start, dict(options), dict(params or {}), bool(log),
        start + time_limit if time_limit is not None else None,
    )  # fmt: skip
    try:
        out = m.fn(instance, opts)
    except InputError:
        raise
    except TimeLimitReached as exc:  # the model took the whole limit to build
        out = MethodOutput(Status.TIME_LIMIT, message=str(exc), start=exc.start)
    except Unsupported as exc:  # the method does not take this instance: a row, not a crash
        out = MethodOutput(Status.UNSUPPORTED, message=str(exc))
    except SystemExit as exc:  # a plug-in that exits must not end optsched with its code
        out = MethodOutput(Status.ERROR, message=f"{m.name} called sys.exit({exc.code!r})")
    except Exception as exc:  # a failing method still yields a row
        keep_traceback()
        out = MethodOutput(Status.ERROR, message=f"{exc.__class__.__name__}: {exc}")
    runtime = time.perf_counter() - start
    if not isinstance(out, MethodOutput):  # a plug-in returned a bare solution
        out = _bare(fam.solution_type, m.name, out)
    elif out.solution is not None and not isinstance(out.solution, fam.solution_type):
        out = _bare(fam.solution_type, m.name, out.solution)
    start_solution = out.start if out.start is not None else warm_start
    if out.solution is None and out.status is Status.TIME_LIMIT and start_solution is not None:
        # Nothing found within the limit: the start is the best solution known.
        out.solution, out.status = start_solution, Status.FEASIBLE
        out.message = (out.message + "; " if out.message else "") + (
            "no solution found within the limit; start returned"
        )
    return finish(instance, m.name, fam.sense, out, runtime, opts)


#: Checker violations that say a solution has another instance's structure (rows,
#: jobs, GPUs or slots the instance does not have), not merely a bad schedule.
STRUCTURAL = frozenset(
    {  # fmt: skip
        "shape",
        "unknown_job",
        "unknown_task",
        "missing_task",
        "gpu_out_of_range",
        "slot_out_of_range",
        "bad_config",
    }
)


def _fits(instance: Instance, warm_start: Solution) -> None:
    """A warm start may be infeasible (the method repairs or ignores it), but not of
    another shape: that is bad input, named."""
    report = check(instance, warm_start)
    bad = [v for v in report.violations if v.kind in STRUCTURAL]
    if bad:
        raise InputError(
            f"warm_start does not fit instance {instance.name!r}: {bad[0].kind} at {bad[0].where}"
        )


def _bare(kind: type, method: str, value: Any) -> MethodOutput:
    """A plug-in's bare return value as an output: a solution is feasible, anything
    else an error that says what came back."""
    if isinstance(value, kind):
        return MethodOutput(Status.FEASIBLE, value)
    got = "None" if value is None else f"{type(value).__name__} {repr(value)[:60]}"
    return MethodOutput(
        Status.ERROR, message=f"{method} returned {got}, not a {kind.__name__} or MethodOutput"
    )


def finish(
    instance: Instance,
    method: str,
    sense: Sense,
    out: MethodOutput,
    runtime: float,
    opts: SolveOptions,
) -> Result:
    """Check the solution, combine bounds, settle the status."""
    bound = sense.tightest((out.bound, solver_free_bound(instance)))
    params = {
        "time_limit": opts.time_limit,
        "workers": opts.workers,
        "seed": opts.seed,
        **opts.extra,
        **out.parameters,
    }
    if opts.params:
        params["params"] = dict(opts.params)
    result = Result(
        instance.family,
        instance.name,
        method,
        sense,
        out.status,
        sense.worst,
        bound,
        runtime,
        None,
        None,
        params,
        out.solver,
        out.message,
    )
    if out.solution is None:
        if out.status.has_solution:
            result.status = Status.ERROR
            result.message = (
                out.message + "; " if out.message else ""
            ) + "method reported a solution but returned none"
        return result
    report = check(instance, out.solution)
    result.solution = out.solution
    result.check = report
    if not report.feasible or not math.isfinite(report.objective):
        result.status = Status.ERROR
        kinds = ", ".join(f"{k} x{n}" for k, (n, _) in report.by_kind().items())
        result.message = f"checker rejected the solution ({kinds}); this is a bug in {method}"
        return result
    result.objective = report.objective
    if out.status in (
        Status.TIME_LIMIT,
        Status.INFEASIBLE,
        Status.ERROR,
        Status.UNSUPPORTED,
        Status.NO_SOLUTION,
    ):
        result.status = Status.FEASIBLE if out.status is Status.TIME_LIMIT else Status.ERROR
        if out.status is Status.INFEASIBLE:
            result.message = "method said infeasible yet returned a feasible solution"
    # Optimal means proven: the checked objective meets a proven bound.
    close = False
    if math.isfinite(bound):
        crossing = sense.crosses(report.objective, bound)
        close = abs(report.objective - bound) <= OPTIMAL_TOL * max(1.0, abs(bound))
        if crossing and not close:
            result.status = Status.ERROR
            result.message = (
                f"bound {bound!r} crosses the checked objective "
                f"{report.objective!r}; this is a bug in {method}"
            )
            return result
        if crossing:
            result.bound = report.objective  # rounding only
    if result.status is not Status.ERROR:
        result.status = Status.OPTIMAL if close else Status.FEASIBLE
    return result
