"""Reading and writing instances and solutions (JSON, format version 1).

Every file starts with ``format`` (``optsched-instance`` or
``optsched-solution``), ``version`` and ``family``. The JSON Schema
(:func:`schema`, printed by ``optsched validate --schema``) is assembled from
``optsched/schemas/common.schema.json`` and each family's ``schema.json``; the
loaders here validate more than the schema can (cross-references, capacities,
throughputs known).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import InputError
from .problems import family
from .problems.base import INSTANCE_FORMAT, SOLUTION_FORMAT, check_envelope


def shown(path: str | os.PathLike[str]) -> str:
    """A path as messages print it: on one line (control characters escaped)."""
    text = os.fspath(path)
    return text if text.isprintable() else repr(text)[1:-1]


def why_not(exc: OSError) -> str:
    """An OS error's reason without its errno (for one-line messages)."""
    return exc.strerror or exc.__class__.__name__


def read_text(path: str | os.PathLike[str]) -> str:
    """A regular file's text. Anything else (missing, a directory, a FIFO or device, a
    symlink loop, a name too long, unreadable or not UTF-8) is a one-line
    ``InputError``; nothing blocks on a FIFO, which is refused before it is opened."""
    p = Path(path)
    try:
        info = p.stat()
    except FileNotFoundError:
        raise InputError(f"{shown(p)}: no such file") from None
    except OSError as exc:  # a symlink loop, a name too long, a component not a folder
        raise InputError(f"{shown(p)}: cannot read ({why_not(exc)})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{shown(p)}: cannot read (a directory)")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{shown(p)}: cannot read (not a regular file)")
    try:
        return p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{shown(p)}: cannot read ({exc.__class__.__name__})") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InputError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise InputError(f"{name} is not a JSON number")


def loads(text: str, where: str = "input") -> Any:
    """Parse JSON strictly: duplicate keys, ``NaN`` and ``Infinity`` and nesting too deep
    to parse are one-line ``InputError``s naming ``where``."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{where}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deep") from None


def _load_json(path: str | os.PathLike[str]) -> Any:
    return loads(read_text(path), shown(path))


#: The largest magnitude of a number in an instance. Beyond it the exact models lose
#: exactness (CP-SAT scales times and weights to 64-bit integers, a MILP's coefficients
#: lose their tolerances), so a larger value is refused, naming its field, rather than
#: answered wrongly.
MAX_MAGNITUDE = 1e9


def _magnitudes(data: Any, where: str = "", ctx: str = "instance") -> None:
    """Refuse a number in ``data`` beyond :data:`MAX_MAGNITUDE`, naming its field."""
    if isinstance(data, dict):
        for k, v in data.items():
            _magnitudes(v, f"{where}.{k}" if where else str(k), ctx)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _magnitudes(v, f"{where}[{i}]", ctx)
    elif (
        isinstance(data, (int, float))
        and not isinstance(data, bool)
        and math.isfinite(data)  # NaN and infinities: each field's own check names them
        and abs(data) > MAX_MAGNITUDE
    ):
        raise InputError(
            f"{ctx}: {where} = {data:.6g} is beyond {MAX_MAGNITUDE:g} in magnitude, "
            "the largest optsched's exact models solve exactly"
        )


def instance_from_dict(data: Any) -> Any:
    fam = check_envelope(data, INSTANCE_FORMAT)
    _magnitudes(data)
    return family(fam).instance_type.from_dict(data)


def solution_from_dict(data: Any) -> Any:
    fam = check_envelope(data, SOLUTION_FORMAT)
    _magnitudes(data, ctx="solution")
    return family(fam).solution_type.from_dict(data)


def fingerprint(instance: Any) -> str:
    """The instance's fingerprint: the sha256 of its canonical JSON (keys sorted, no
    spaces). A solution written by optsched carries it (``instance_sha256``)."""
    text = json.dumps(instance.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def read_instance(path: str | os.PathLike[str]) -> Any:
    """Load and validate an instance; bad input raises :class:`InputError` naming the file."""
    data = _load_json(path)
    try:
        return instance_from_dict(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def read_solution(path: str | os.PathLike[str], instance: Any = None) -> Any:
    """Load and validate a solution. With ``instance``, also that it was made for that
    instance: its family, its fingerprint (``instance_sha256``) when it has one, else
    its instance name when it names one; a solution of another instance is an
    :class:`InputError` (the shape may fit, the numbers would be another problem's)."""
    data = _load_json(path)
    try:
        solution = solution_from_dict(data)
        if instance is not None:
            _belongs(data, instance)
        return solution
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def _belongs(data: Any, instance: Any) -> None:
    if data["family"] != instance.family:
        raise InputError(
            f"solution: family {data['family']!r} does not match the instance's "
            f"({instance.family!r})"
        )
    stamp, name = data.get("instance_sha256"), data.get("instance") or ""
    if stamp is not None:
        if not isinstance(stamp, str):
            raise InputError(f"solution: instance_sha256 must be a string, got {stamp!r}")
        want = fingerprint(instance)
        if stamp != want:
            raise InputError(
                f"solution: made for another instance (instance_sha256 {stamp[:19]}..., "
                f"this instance's is {want[:19]}...)"
            )
    elif name and name != instance.name:
        raise InputError(f"solution: made for instance {name!r}, not {instance.name!r}")


def dumps(data: Any) -> str:
    return json.dumps(data, indent=1, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write atomically: a killed writer never leaves a half-written file."""
    write_text(path, dumps(data))


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write text atomically (temporary file, then rename), with the mode the umask
    gives a new file. A path that cannot be a file (a directory, under a file, on a
    read-only or virtual file system) is a one-line ``InputError``."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{shown(p)}: cannot write (a directory)")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"{shown(p)}: cannot write ({why_not(exc)})") from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, p)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"{shown(p)}: cannot write ({why_not(exc)})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_instance(path: str | os.PathLike[str], instance: Any) -> None:
    write_json(path, instance.to_dict())


def write_solution(
    path: str | os.PathLike[str], solution: Any, instance_name: str = "", instance: Any = None
) -> None:
    """Write a solution; with ``instance``, stamped with its name and fingerprint."""
    data = solution.to_dict(instance.name if instance is not None else instance_name)
    if instance is not None:
        data["instance_sha256"] = fingerprint(instance)
    write_json(path, data)


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
