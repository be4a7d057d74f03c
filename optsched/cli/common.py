"""What every command shares: exit codes, output, argument types, solver flags."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import tomllib

from ..errors import InputError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INFEASIBLE = 0, 1, 2, 3

Command = Callable[[argparse.Namespace], int]


def emit(obj: Any) -> None:
    """One JSON object on one line (non-finite numbers as ``null``)."""
    from ..bench.rows import dumps

    print(dumps(obj))


def fmt(x: Any) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return "-"
        return f"{x:.6g}"
    return str(x)


def gap_text(gap: float) -> str:
    if math.isnan(gap):
        return "n/a"
    return "inf" if math.isinf(gap) else f"{gap:.4%}"


# ---------------------------------------------------------------- argument types
def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def _not_negative(text: str, cast: Callable[[str], float], need: str) -> float:
    try:
        value = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {need}, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be {need}, got {text!r}")
    return value


#: Limits of the flags that reach solvers: CP-SAT's seed is a 32-bit integer, its
#: workers and CBC's threads are threads, and solver clocks overflow far below 1e308.
MAX_SEED = 2**31 - 1
#: The largest size a size flag takes (the families refuse sizes whose products
#: would not fit in memory or time themselves).
MAX_COUNT = 100_000
MAX_WORKERS = 1024
MAX_SECONDS = 1e7


def seed_number(text: str) -> int:
    """A random seed in ``[0, 2^31 - 1]`` (CP-SAT's range)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be in [0, {MAX_SEED}], got {value}")
    return value


def _int_up_to(text: str, most: int) -> int:
    value = positive_int(text)
    if value > most:
        raise argparse.ArgumentTypeError(f"must be in [1, {most}], got {value}")
    return value


def count(text: str) -> int:
    """A size (jobs, slots, configs, workers, servers, tasks): ``1 .. MAX_COUNT``."""
    return _int_up_to(text, MAX_COUNT)


def thread_count(text: str) -> int:
    """Solver threads, ``1 .. MAX_WORKERS``."""
    return _int_up_to(text, MAX_WORKERS)


def limit_seconds(text: str) -> float:
    """A solver time limit in seconds, ``(0, MAX_SECONDS]``."""
    value = positive_float(text)
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be in (0, {MAX_SECONDS:.0f}] seconds, got {text!r}")
    return value


def nonnegative_int(text: str) -> int:
    return int(_not_negative(text, int, "an integer >= 0"))


def seconds(text: str) -> float:
    """A duration in seconds, ``>= 0``."""
    return _not_negative(text, float, "seconds >= 0")


def counts(text: str) -> dict[str, int]:
    out = {}
    for part in text.split(","):
        name, _, num = part.partition(":")
        try:
            out[name.strip()] = int(num)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must look like v100:24,p100:24, got {text!r}"
            ) from None
    return out


def param(text: str) -> tuple[str, Any]:
    """``KEY=VALUE``; the value is read as TOML (``2``, ``0.5``, ``true``), else a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"must look like KEY=VALUE, got {text!r}")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    problem = _bad_value(value)
    if problem:
        raise argparse.ArgumentTypeError(f"{key.strip()}: {problem}, got {raw!r}")
    return key.strip(), value


def _bad_value(value: Any) -> str | None:
    """Why a parameter value cannot pass verbatim to a solver, or None."""
    if isinstance(value, (dict, list)):
        return "must be a number, string or bool"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be finite"
    return None


def solver_params(args: argparse.Namespace) -> dict[str, Any]:
    """``--params-file`` then ``--params`` (which win), as one flat map."""
    out: dict[str, Any] = {}
    if getattr(args, "params_file", None):
        path = Path(args.params_file)
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read ({exc.__class__.__name__})") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: malformed TOML ({exc})") from None
        for key, value in data.items():
            if isinstance(value, (dict, list)):
                raise InputError(
                    f"{path}: parameter {key!r} must be a number, string or bool, "
                    f"got {type(value).__name__} (quote keys with dots or slashes)"
                )
            if _bad_value(value):
                raise InputError(f"{path}: parameter {key!r} {_bad_value(value)}, got {value!r}")
            out[key] = value
    out.update(dict(getattr(args, "params", None) or []))
    return out


# ---------------------------------------------------------------- parsers
class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each flag's default, unless it has none (its help says what unset means)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is None or action.required or "(default" in text:
            return text
        return super()._get_help_string(action) or text


class Parser(argparse.ArgumentParser):
    """One-line usage errors with exit code 2; every default shown in ``--help``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


@contextlib.contextmanager
def logs_to_stderr(enabled: bool) -> Iterator[None]:
    """Send what solvers print on stdout (``--log``) to stderr, so that stdout holds
    only optsched's own output (its JSON, say). Works on the file descriptor, since
    solvers write from C."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):  # what Python code writes, too
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def add_command(sub: Any, name: str, fn: Command, help: str) -> argparse.ArgumentParser:
    """A sub-command with ``--json``."""
    sp: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help)
    sp.set_defaults(func=fn)
    sp.add_argument("--json", action="store_true", help="print JSON (one object per line)")
    return sp


def add_run_options(
    sp: argparse.ArgumentParser, *, time_limit: float | None, seeds: bool = False
) -> None:
    """The flags of every command that runs methods, named alike everywhere."""
    sp.add_argument(
        "--time-limit",
        "-t",
        type=limit_seconds,
        default=time_limit,
        help="seconds per run, model building included (unset: no limit)",
    )
    sp.add_argument(
        "--workers", "-w", type=thread_count, default=1, help="CP-SAT workers / MILP threads"
    )
    if seeds:
        sp.add_argument("--seeds", default="0", help="comma-separated seeds")
    else:
        sp.add_argument("--seed", "-s", type=seed_number, default=0, help="random seed")


def add_solver_options(sp: argparse.ArgumentParser) -> None:
    """``--solver``, ``--params``, ``--params-file`` and ``--log``."""
    from ..solvers.linear import MIP_SOLVERS

    sp.add_argument(
        "--solver",
        default=None,
        help=f"back-end of method milp: {', '.join(MIP_SOLVERS)} (cbc when unset)",
    )
    sp.add_argument(
        "--params",
        type=param,
        action="append",
        metavar="KEY=VALUE",
        help="solver parameter passed verbatim (CP-SAT field, MILP back-end option, or a "
        "plug-in's hyper-parameter); repeatable",
    )
    sp.add_argument(
        "--params-file", metavar="FILE.toml", help="solver parameters as a flat TOML table"
    )
    sp.add_argument("--log", action="store_true", help="show the solver's log (on stderr)")
