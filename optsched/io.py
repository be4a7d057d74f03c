"""Reading and writing instances and solutions (JSON, format version 1).

Every file starts with ``format`` (``optsched-instance`` or
``optsched-solution``), ``version`` and ``family``. The JSON Schema
(:func:`schema`, printed by ``optsched validate --schema``) is assembled from
``optsched/schemas/common.schema.json`` and each family's ``schema.json``; the
loaders here validate more than the schema can (cross-references, capacities,
throughputs known).
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import InputError
from .problems import family
from .problems.base import INSTANCE_FORMAT, SOLUTION_FORMAT, check_envelope


def read_text(path: str | os.PathLike[str]) -> str:
    """A file's text; a missing or unreadable file is a one-line ``InputError``."""
    p = Path(path)
    try:
        return p.read_text()
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read ({exc.__class__.__name__})") from None


def _load_json(path: str | os.PathLike[str]) -> Any:
    p = Path(path)
    text = read_text(p)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{p}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None


def instance_from_dict(data: Any) -> Any:
    return family(check_envelope(data, INSTANCE_FORMAT)).instance_type.from_dict(data)


def solution_from_dict(data: Any) -> Any:
    return family(check_envelope(data, SOLUTION_FORMAT)).solution_type.from_dict(data)


def read_instance(path: str | os.PathLike[str]) -> Any:
    """Load and validate an instance; bad input raises :class:`InputError` naming the file."""
    data = _load_json(path)
    try:
        return instance_from_dict(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def read_solution(path: str | os.PathLike[str]) -> Any:
    data = _load_json(path)
    try:
        return solution_from_dict(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def dumps(data: Any) -> str:
    return json.dumps(data, indent=1, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write atomically: a killed writer never leaves a half-written file."""
    write_text(path, dumps(data))


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write text atomically (temporary file, then rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_instance(path: str | os.PathLike[str], instance: Any) -> None:
    write_json(path, instance.to_dict())


def write_solution(path: str | os.PathLike[str], solution: Any, instance_name: str = "") -> None:
    write_json(path, solution.to_dict(instance_name))


def schema() -> dict[str, Any]:
    """The JSON Schema of format version 1: instances and solutions of every family."""
    from .problems import FAMILIES

    text = (resources.files("optsched") / "schemas" / "common.schema.json").read_text()
    out: dict[str, Any] = json.loads(text)
    for fam in FAMILIES.values():
        out["$defs"].update(fam.schema)
    out["oneOf"] = [
        {"$ref": f"#/$defs/{fam.name}_{kind}"}
        for kind in ("instance", "solution")
        for fam in FAMILIES.values()
    ]
    return out
