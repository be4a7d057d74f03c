"""The file envelope every family shares: format, version and family header, and ids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import InputError, check_keys, check_str, get_field

INSTANCE_FORMAT = "optsched-instance"
SOLUTION_FORMAT = "optsched-solution"
FORMAT_VERSION = 1


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
    """The fields after the header; a solution may also carry its instance's fingerprint
    (``instance_sha256``, read by :func:`optsched.io.read_solution`)."""
    header = ("format", "version", "family") + (("instance_sha256",) if ctx == "solution" else ())
    check_keys(data, (*header, *allowed), ctx)
    return {k: v for k, v in data.items() if k not in header}


def check_origin(value: Any, ctx: str = "instance") -> dict[str, Any]:
    """An instance's ``origin``: where a generator took it from and what it changed there
    (a flat JSON object of strings, numbers, booleans and nulls)."""
    if not isinstance(value, Mapping):
        raise InputError(f"{ctx}: origin must be an object, got {type(value).__name__}")
    for k, v in value.items():
        if not isinstance(k, str):
            raise InputError(f"{ctx}: origin keys must be strings, got {k!r}")
        if v is not None and not isinstance(v, (str, int, float, bool)):
            raise InputError(
                f"{ctx}: origin[{k!r}] must be a string, number, boolean or null, "
                f"got {type(v).__name__}"
            )
    return dict(value)


def check_ids(ids: Iterable[Any], kind: str) -> None:
    seen: set[Any] = set()
    for i in ids:
        check_str(i, "id", kind)
        if i in seen:
            raise InputError(f"duplicate {kind} id {i!r}")
        seen.add(i)
