"""Methods by name, in one place.

A method is a function ``(instance, SolveOptions) -> MethodOutput``,
registered for one family under a name with :func:`register`. Exact methods
(``cpsat``, ``milp``) and heuristics share the registry and the call
signature. A user's own method plugs in as ``package.module:function``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import InputError
from .solvers.common import MethodOutput, SolveOptions

MethodFn = Callable[[Any, SolveOptions], MethodOutput]


@dataclass(frozen=True)
class Method:
    name: str
    family: str
    kind: str  # "exact" or "heuristic"
    fn: MethodFn
    summary: str


_METHODS: dict[tuple[str, str], Method] = {}
_LOADED = False


def register(family: str, name: str, kind: str, summary: str) -> Callable[[MethodFn], MethodFn]:
    """Decorator: register ``fn`` as method ``name`` of ``family``."""
    if kind not in ("exact", "heuristic"):
        raise ValueError(f"kind must be 'exact' or 'heuristic', got {kind!r}")

    def deco(fn: MethodFn) -> MethodFn:
        key = (family, name)
        if key in _METHODS and _METHODS[key].fn is not fn:
            raise ValueError(f"method {name!r} of family {family!r} is registered twice")
        _METHODS[key] = Method(name, family, kind, fn, summary)
        return fn

    return deco


def _load_builtin() -> None:
    global _LOADED
    if _LOADED:
        return
    # Importing the modules runs their @register decorators.
    importlib.import_module("optsched.methods")
    _LOADED = True


def methods(family: str | None = None) -> list[Method]:
    _load_builtin()
    return [m for (f, _), m in sorted(_METHODS.items()) if family in (None, f)]


def get(family: str, name: str) -> Method:
    """The method ``name`` for ``family``; ``module:function`` loads a plug-in."""
    _load_builtin()
    if (family, name) in _METHODS:
        return _METHODS[(family, name)]
    if ":" in name:
        return _plugin(family, name)
    names = ", ".join(m.name for m in methods(family)) or "none"
    raise InputError(f"unknown method {name!r} for family {family!r} (known: {names})")


def _plugin(family: str, spec: str) -> Method:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(f"method {spec!r}: cannot import {module_name!r} ({exc})") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise InputError(f"method {spec!r}: {module_name!r} has no function {attr!r}")
    kind = getattr(fn, "optsched_kind", "heuristic")
    summary = (fn.__doc__ or "user method").strip().splitlines()[0]
    return Method(spec, family, kind, fn, summary)
