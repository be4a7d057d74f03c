"""Pieces every problem family shares: senses, violations, check reports."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..errors import InputError, check_keys, check_str, get_field

INSTANCE_FORMAT = "optsched-instance"
SOLUTION_FORMAT = "optsched-solution"
FORMAT_VERSION = 1

#: Relative tolerance for comparing times and work in checkers.
TOL = 1e-6


class Sense(str, Enum):
    MIN = "min"
    MAX = "max"


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
            "objective": self.objective if math.isfinite(self.objective) else None,
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


def check_envelope(data: Any, fmt: str, family: str | None = None) -> str:
    """Check the ``format``/``version``/``family`` header; return the family."""
    ctx = "instance" if fmt == INSTANCE_FORMAT else "solution"
    if not isinstance(data, Mapping):
        raise InputError(f"{ctx}: expected a JSON object, got {type(data).__name__}")
    got = get_field(data, "format", ctx)
    if got != fmt:
        raise InputError(f"{ctx}: format must be {fmt!r}, got {got!r}")
    version = get_field(data, "version", ctx)
    if version != FORMAT_VERSION:
        raise InputError(
            f"{ctx}: unsupported version {version!r} (this optsched reads version {FORMAT_VERSION})"
        )
    fam = check_str(get_field(data, "family", ctx), "family", ctx)
    if family is not None and fam != family:
        raise InputError(f"{ctx}: family must be {family!r}, got {fam!r}")
    return fam


def envelope(fmt: str, family: str, **rest: Any) -> dict[str, Any]:
    return {"format": fmt, "version": FORMAT_VERSION, "family": family, **rest}


def strip_envelope(data: Mapping[str, Any], allowed: Iterable[str], ctx: str) -> dict[str, Any]:
    check_keys(data, ("format", "version", "family", *allowed), ctx)
    return {k: v for k, v in data.items() if k not in ("format", "version", "family")}


def check_ids(ids: Iterable[Any], kind: str) -> None:
    seen: set[Any] = set()
    for i in ids:
        check_str(i, "id", kind)
        if i in seen:
            raise InputError(f"duplicate {kind} id {i!r}")
        seen.add(i)
