"""Benchmark suites: folders of instance files with checked references.

A suite is a folder of instance files with a ``reference.json`` of best known
objectives and proven bounds (backed by solution files in ``solutions/``)
and a README stating the source and the command that regenerates it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io import read_instance
from ..problems import FAMILIES
from . import references

ROOT = Path(__file__).resolve().parent.parent.parent
#: What ``optsched bench`` runs by default: every family's small suite.
DEFAULT_SUITES = tuple(f"{name}-small" for name in FAMILIES)


def find_suite(name: str) -> Path:
    """A suite folder: a path, or a name under the repository's ``instances/``."""
    p = Path(name)
    for cand in (p, Path.cwd() / "instances" / name, ROOT / "instances" / name):
        if cand.is_dir():
            return cand
    raise InputError(f"suite {name!r} not found (a folder, or a name under instances/)")


def suite_files(folder: Path) -> list[Path]:
    files = sorted(f for f in folder.glob("*.json") if f.name != references.REFERENCE_FILE)
    if not files:
        raise InputError(f"suite {str(folder)!r} has no instance files")
    return files


def check_references(folder: Path) -> int:
    """Re-check every stored reference solution of a suite; returns how many."""
    return sum(load(str(f))[1] is not None for f in suite_files(folder))


@lru_cache(maxsize=64)
def load(path: str) -> tuple[Any, references.Reference | None]:
    """An instance and its checked reference, read and re-checked once per process."""
    inst = read_instance(path)
    return inst, references.load(inst, Path(path).parent)
