"""Methods by name: the families' declared methods, installed plug-ins and
``module:function`` specs, behind one lookup.

A method is a function ``(instance, SolveOptions) -> MethodOutput`` (a plug-in
may return a bare solution). Built-in methods are declared in their family's
record (:mod:`optsched.problems.record`); installed packages add methods
through the entry-point group :data:`ENTRY_POINT_GROUP`; any function plugs in
as ``package.module:function``. ``docs/dev/adding-a-method.md`` states the
contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from .errors import InputError
from .problems import FAMILIES, family
from .problems.record import MethodSpec, load_plugin
from .solvers.common import MethodOutput, SolveOptions

MethodFn = Callable[[Any, SolveOptions], Any]

#: Entry-point group through which installed packages add methods. An entry
#: ``name = "pkg.mod:function"`` registers ``function`` under ``name``, which is
#: ``family:method`` (e.g. ``placement:my_rule``). Set ``function.optsched_kind =
#: "exact"`` for an exact method (default: heuristic).
ENTRY_POINT_GROUP = "optsched.methods"


@dataclass(frozen=True)
class Method:
    """A method as listed: where it comes from, and how to load it."""

    name: str
    family: str
    kind: str  # "exact" or "heuristic"
    summary: str
    display: str
    target: str  # "module:function"
    origin: str = "built-in"  # built-in, entry point, or plug-in

    @property
    def fn(self) -> Callable[[Any, SolveOptions], MethodOutput | Any]:
        """The function, imported on first use."""
        if self.origin == "built-in":
            loaded: MethodFn = family(self.family).load(self.target)
            return loaded
        return _import(self.name, self.target)

    @property
    def randomised(self) -> bool:
        """Whether its answer depends on the seed (a built-in randomised heuristic)."""
        return bool(getattr(self.fn, "randomised", False))


def _import(name: str, target: str) -> MethodFn:
    fn = load_plugin("method", name, target)
    if not callable(fn):
        raise InputError(f"method {name!r}: {target!r} is not a function")
    loaded: MethodFn = fn
    return loaded


def _builtin(fam: str, spec: MethodSpec) -> Method:
    return Method(spec.name, fam, spec.kind, spec.summary, spec.display, spec.target)


def _first_line(fn: Any, default: str) -> str:
    doc = (getattr(fn, "__doc__", None) or default).strip()
    return doc.splitlines()[0] if doc else default


@cache
def _entry_points() -> tuple[tuple[Method, ...], dict[str, str]]:
    """Installed plug-ins, and the broken ones (``name -> why``).

    A broken entry point (a bad name, an unknown family, a clash with a
    built-in method, a module that does not load) must not break optsched
    for every other method: it is left out, and asking for it by name gives
    its reason.
    """
    from importlib.metadata import entry_points

    out, broken = [], {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        fam, _, name = ep.name.partition(":")
        why = None
        if not name:
            why = f"entry point {ep.name!r} in {ENTRY_POINT_GROUP!r} must be named 'family:method'"
        elif fam not in FAMILIES:
            why = f"entry point {ep.name!r}: no family {fam!r} (known: {', '.join(FAMILIES)})"
        elif FAMILIES[fam].method(name) is not None:
            why = f"entry point {ep.name!r}: {name!r} is a built-in method of {fam}"
        if why is None:
            try:
                fn = _import(ep.name, ep.value)
            except InputError as exc:
                why = str(exc)
        if why is not None:
            broken[name or ep.name] = why
            continue
        kind = getattr(fn, "optsched_kind", "heuristic")
        summary = _first_line(fn, "installed plug-in")
        out.append(Method(name, fam, kind, summary, name, ep.value, "entry point"))
    return tuple(out), broken


def methods(fam: str | None = None) -> list[Method]:
    """Every method of ``fam`` (or of all families): built-in first, then entry points."""
    out = [
        _builtin(f.name, spec)
        for f in FAMILIES.values()
        if fam in (None, f.name)
        for spec in f.methods
    ]
    out += [m for m in _entry_points()[0] if fam in (None, m.family)]
    return out


def get(fam: str, name: str) -> Method:
    """The method ``name`` for ``fam``; ``module:function`` loads a plug-in."""
    spec = family(fam).method(name)
    if spec is not None:
        return _builtin(fam, spec)
    installed, broken = _entry_points()
    for m in installed:
        if m.family == fam and m.name == name:
            return m
    if name in broken:
        raise InputError(broken[name])
    if ":" in name:
        fn = _import(name, name)
        kind = getattr(fn, "optsched_kind", "heuristic")
        return Method(name, fam, kind, _first_line(fn, "user method"), name, name, "plug-in")
    names = ", ".join(m.name for m in methods(fam)) or "none"
    raise InputError(f"unknown method {name!r} for family {fam!r} (known: {names})")
