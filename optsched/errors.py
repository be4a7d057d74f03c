"""Errors raised on bad input.

Every message is one line that names the offending field and value, e.g.
``job 'j7': num_gpus must be >= 1, got 0``. The CLI turns :class:`InputError`
into that line on stderr and exit code 2.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any


class InputError(ValueError):
    """Bad instance, solution or parameter data (a user error, not a bug)."""


def where(kind: str, ident: object) -> str:
    """The prefix that locates an entity in messages: ``job 'j7'``."""
    return f"{kind} {ident!r}"


def require(cond: bool, message: str) -> None:
    if not cond:
        raise InputError(message)


def check_positive_int(value: Any, field: str, ctx: str, minimum: int = 1) -> int:
    """An integer ``>= minimum`` (bools are rejected; they are ints in Python)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{ctx}: {field} must be an integer, got {value!r}")
    if value < minimum:
        raise InputError(f"{ctx}: {field} must be >= {minimum}, got {value}")
    return value


def check_real(
    value: Any,
    field: str,
    ctx: str,
    *,
    minimum: float | None = 0.0,
    strict: bool = False,
) -> float:
    """A finite real ``>= minimum`` (``> minimum`` when ``strict``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{ctx}: {field} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise InputError(f"{ctx}: {field} must be finite, got {value}")
    if minimum is not None:
        if strict and value <= minimum:
            raise InputError(f"{ctx}: {field} must be > {minimum:g}, got {value:g}")
        if not strict and value < minimum:
            raise InputError(f"{ctx}: {field} must be >= {minimum:g}, got {value:g}")
    return value


def check_str(value: Any, field: str, ctx: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"{ctx}: {field} must be a non-empty string, got {value!r}")
    return value


def check_unique(ids: Iterable[str], kind: str) -> None:
    seen: set[str] = set()
    for ident in ids:
        if ident in seen:
            raise InputError(f"duplicate {kind} id {ident!r}")
        seen.add(ident)


def get_field(data: Mapping[str, Any], key: str, ctx: str) -> Any:
    """``data[key]`` with a one-line error when it is missing or data is no object."""
    if not isinstance(data, Mapping):
        raise InputError(f"{ctx}: expected a JSON object, got {type(data).__name__}")
    if key not in data:
        raise InputError(f"{ctx}: missing field {key!r}")
    return data[key]


def check_keys(data: Mapping[str, Any], allowed: Iterable[str], ctx: str) -> None:
    """Reject unknown fields so that typos do not pass silently."""
    if not isinstance(data, Mapping):
        raise InputError(f"{ctx}: expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InputError(f"{ctx}: unknown field {unknown[0]!r}")


def check_list(value: Any, field: str, ctx: str) -> list[Any]:
    if not isinstance(value, list):
        raise InputError(f"{ctx}: {field} must be a list, got {type(value).__name__}")
    return value


class Terminated(BaseException):
    """SIGTERM, raised where the program is, so that its cleanup (solver processes,
    temporary files, worker pools) runs before it exits."""


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """While optsched owns child processes (CBC, a bench pool), SIGTERM raises
    :class:`Terminated` so that they are ended; elsewhere it keeps its default (an
    immediate exit, which a native solver cannot delay). Main thread only."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated

    before = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)
