"""The Family record: everything optsched knows about a problem family, in one place.

Each family package (``optsched/problems/<name>/__init__.py``) exports one
:class:`Family` named ``FAMILY``; :mod:`optsched.problems` only collects them.
Nothing else in optsched names a family: the front door, the CLI (its
choices and its ``generate`` flags), the benchmark and the schema all read
these records. Adding a family means one folder plus one line in
:mod:`optsched.problems`.

Methods and generators are declared as data, ``"module:function"`` targets
imported on first use, so that reading an instance never imports a solver.
A target starting with ``.`` is relative to the family package.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import Any, Generic, Literal, TypeVar

from ..core import Checker, Instance, Sense, Solution
from ..errors import InputError

I = TypeVar("I", bound=Instance)  # noqa: E741
S = TypeVar("S", bound=Solution)

MethodKind = Literal["exact", "heuristic"]


def load_target(target: str, package: str | None = None) -> Any:
    """The object named by ``"module:attribute"`` (``.module`` relative to ``package``)."""
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name, package)
    return getattr(module, attr)


def debugging() -> bool:
    """Whether ``OPTSCHED_DEBUG`` asks for tracebacks."""
    import os

    return bool(os.environ.get("OPTSCHED_DEBUG"))


def keep_traceback() -> None:
    """Under ``OPTSCHED_DEBUG``, print the exception being handled (a plug-in's) to
    stderr before it becomes a one-line message."""
    if debugging():
        import traceback

        traceback.print_exc()


def load_plugin(kind: str, name: str, target: str) -> Any:
    """``load_target`` for a user's plug-in (a method, a policy): anything that goes
    wrong, a ``sys.exit`` included, is a one-line ``InputError`` naming the plug-in
    (with the traceback on stderr under ``OPTSCHED_DEBUG``)."""
    module_name, _, attr = target.partition(":")
    if module_name.startswith("."):
        raise InputError(f"{kind} {name!r}: {module_name!r} is a relative module name")
    try:
        return load_target(target)
    except ImportError as exc:
        keep_traceback()
        raise InputError(f"{kind} {name!r}: cannot import {module_name!r} ({exc})") from None
    except AttributeError:
        keep_traceback()
        raise InputError(f"{kind} {name!r}: {module_name!r} has no {attr!r}") from None
    except SystemExit as exc:
        raise InputError(
            f"{kind} {name!r}: {module_name!r} called sys.exit({exc.code!r}) while loading"
        ) from None
    except Exception as exc:  # a broken plug-in must not break optsched
        keep_traceback()
        raise InputError(f"{kind} {name!r}: cannot load {target!r} ({exc})") from None


@dataclass(frozen=True)
class MethodSpec:
    """A built-in method: what the registry lists and loads.

    Attributes
    ----------
    name
        The method's name within its family (``cpsat``, ``fifo``).
    kind
        ``exact`` (reports a proven bound) or ``heuristic``.
    target
        ``"module:function"`` of a function ``(instance, SolveOptions) ->
        MethodOutput``; see ``docs/dev/adding-a-method.md``.
    summary
        One line for ``optsched methods``, naming the method's source.
    display
        Name in tables and figures (default: ``name``).
    """

    name: str
    kind: MethodKind
    target: str
    summary: str
    display: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("exact", "heuristic"):
            raise ValueError(
                f"method {self.name!r}: kind must be exact or heuristic, got {self.kind!r}"
            )
        if not self.display:
            object.__setattr__(self, "display", self.name)


OptionType = Literal["int", "int0", "float", "str", "bool", "counts"]


@dataclass(frozen=True)
class Option:
    """A generator option; the CLI makes it a flag of ``optsched generate FAMILY``.

    ``name`` is the keyword (``num_jobs``), the flag is ``--num-jobs``; a
    ``bool`` option gets ``--name`` and ``--no-name``; ``int`` is at least 1,
    ``int0`` at least 0; ``counts`` is a ``key:int,...`` map (``v100:24,k80:16``).
    """

    name: str
    type: OptionType
    help: str
    choices: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Source:
    """One generator: ``target(*args, seed, **options) -> instance``, deterministic in
    ``seed``.

    ``options`` are the :class:`Option` names it takes; unset ones take the
    generator's own default, stated in ``summary``. ``args`` lets several
    sources share one function (the trace name, say).
    """

    name: str
    target: str
    options: tuple[str, ...]
    summary: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Family(Generic[I, S]):
    """A problem family: its types, checker, bound, sense, methods and generators.

    Attributes
    ----------
    name, description
        Key in files and on the command line; one line for humans.
    sense
        Whether the objective is minimised or maximised.
    instance_type, solution_type
        Frozen, validated types with ``from_dict`` / ``to_dict``.
    check
        The independent checker: recomputes the objective from a solution alone.
    bound
        A solver-free bound, proven from the instance alone (lower for min,
        upper for max).
    methods
        The built-in methods, in the order ``optsched methods`` lists them.
    sources, options
        Instance generators and the options they take.
    package
        The family package; relative targets resolve against it, and its
        ``schema.json`` holds the family's part of the JSON Schema.
    """

    name: str
    description: str
    sense: Sense
    instance_type: type[I]
    solution_type: type[S]
    check: Checker[I, S]
    bound: Callable[[I], float]
    methods: tuple[MethodSpec, ...]
    sources: tuple[Source, ...]
    options: tuple[Option, ...]
    package: str
    _loaded: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for kind in (self.instance_type, self.solution_type):
            if getattr(kind, "family", None) != self.name:
                raise ValueError(f"family {self.name!r}: {kind.__name__}.family must match")
        if getattr(self.instance_type, "sense", None) is not self.sense:
            raise ValueError(f"family {self.name!r}: sense must match its instance type's")
        names = [m.name for m in self.methods]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"family {self.name!r}: method {twice[0]!r} is declared twice")
        known = {o.name for o in self.options}
        for src in self.sources:
            for o in src.options:
                if o not in known:
                    raise ValueError(
                        f"family {self.name!r}: source {src.name!r} takes unknown {o!r}"
                    )

    # ---------------------------------------------------------------- methods
    def method(self, name: str) -> MethodSpec | None:
        return next((m for m in self.methods if m.name == name), None)

    def load(self, target: str) -> Any:
        """The function a target names, imported once."""
        if target not in self._loaded:
            self._loaded[target] = load_target(target, self.package)
        return self._loaded[target]

    # ---------------------------------------------------------------- generators
    def source(self, name: str) -> Source:
        for src in self.sources:
            if src.name == name:
                return src
        names = ", ".join(s.name for s in self.sources)
        raise InputError(f"generate: source for {self.name} must be one of {names}, got {name!r}")

    def generate(self, source: str, seed: int, **options: Any) -> I:
        """An instance from ``source``; options it does not take are refused by name."""
        src = self.source(source)
        for key in options:
            if key not in src.options:
                takes = ", ".join("--" + o.replace("_", "-") for o in src.options) or "none"
                raise InputError(
                    f"generate: --{key.replace('_', '-')} does not apply to source "
                    f"{source!r} of {self.name} (it takes: {takes})"
                )
        instance: I = self.load(src.target)(*src.args, seed, **options)
        return instance

    # ---------------------------------------------------------------- schema
    @cached_property
    def schema(self) -> Mapping[str, Any]:
        """This family's ``$defs`` of the JSON Schema (``<name>_instance``, ``<name>_solution``)."""
        text = (resources.files(self.package) / "schema.json").read_text()
        defs: Mapping[str, Any] = json.loads(text)
        return defs
