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


#: Entry-point group through which installed packages add methods. An entry
#: ``name = "pkg.mod:function"`` registers ``function`` under ``name``, which is
#: ``family:method`` (e.g. ``placement:my_rule``). Set ``function.optsched_kind =
#: "exact"`` for an exact method (default: heuristic).
ENTRY_POINT_GROUP = "optsched.methods"


def _load_builtin() -> None:
    global _LOADED
    if _LOADED:
        return
    # Importing the modules runs their @register decorators.
    importlib.import_module("optsched.methods")
    _LOADED = True
    _load_entry_points()


def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        family, _, name = ep.name.partition(":")
        if not name:
            raise InputError(
                f"entry point {ep.name!r} in group {ENTRY_POINT_GROUP!r} must be "
                "named 'family:method'"
            )
        try:
            fn = ep.load()
        except Exception as exc:  # a broken plug-in must not break optsched
            raise InputError(f"entry point {ep.name!r}: cannot load {ep.value!r} ({exc})") from None
        kind = getattr(fn, "optsched_kind", "heuristic")
        summary = (fn.__doc__ or "installed plug-in").strip().splitlines()[0]
        _METHODS[(family, name)] = Method(name, family, kind, fn, summary)


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
    # Plug-ins take (instance, options) and return a solution or a MethodOutput;
    # the front door wraps a bare solution as a feasible result.
    return Method(spec, family, kind, fn, summary)
