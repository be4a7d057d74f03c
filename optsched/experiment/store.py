"""The result store: one SQLite file of finished cells, keyed by their content hash.

A cell's key (:func:`.cells.task_key`) is the hash of what decides its result:
a changed instance, reference, time limit, parameter, plug-in source or
version is another key, and the old row is simply not asked for (edits to
optsched itself count through its version only: ``--force`` reruns). Each row
is committed in its own transaction as its cell finishes, so a killed run
loses only the cells in flight.

Concurrent runs on one machine share a store safely. Before a cell runs, its
runner *claims* it (a row in ``claims`` naming the host, the process and the
process's start time); a second run skips a cell that a live process has
claimed, and takes over a claim whose process is gone (a killed run). A claim
made on another host is trusted until ``--force`` takes it (a container whose
host name changed on restart leaves such claims). So two
runs of one experiment split its cells between them and no cell is run or
stored twice. The file must be on a local disk (SQLite's locks are not safe
over NFS); a Ray cluster's results are written by the driver, on its machine.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..core import jsonable
from ..errors import InputError

#: The status of a cell the executor lost (its worker died, its node left): stored, so
#: that the table shows it, but not done, so that a rerun runs it again.
LOST = "lost"

SCHEMA = """
CREATE TABLE IF NOT EXISTS cells (
    key TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    grid TEXT NOT NULL,
    kind TEXT NOT NULL,
    spec TEXT NOT NULL,
    row TEXT NOT NULL,
    status TEXT NOT NULL,
    finished REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started TEXT NOT NULL,
    since REAL NOT NULL
);
"""


def _started(pid: int) -> str:
    """A process's start time (clock ticks since boot, from /proc), which tells a live
    process from a later one that reuses its pid; ``""`` where /proc has none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rpartition(")")[2].split()[19]


def _alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not started or _started(pid) == started


def _open(path: Path, wait: float = 60.0) -> sqlite3.Connection:
    """A connection in WAL mode with the schema in place. Two processes opening a new
    store at once can find it locked while the other switches its journal mode, which
    SQLite reports at once rather than through its busy timeout: retried until
    ``wait`` seconds have passed."""
    deadline = time.monotonic() + wait
    pause = 0.01
    while True:
        conn = sqlite3.connect(path, timeout=wait, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(SCHEMA)
            return conn
        except BaseException as exc:
            conn.close()
            held = isinstance(exc, sqlite3.OperationalError) and (
                "locked" in str(exc) or "busy" in str(exc)
            )
            if not held or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(2 * pause, 0.5)


class Store:
    """Finished cells of experiments in one SQLite file (see the module)."""

    def __init__(self, path: str | Path) -> None:
        from ..io import shown

        self.path = Path(path)
        if self.path.is_dir():
            raise InputError(f"{shown(self.path)}: cannot open a result store (a directory)")
        self._conn: sqlite3.Connection | None = None
        if self.path.exists():  # an existing file must be a store; a new one waits
            self._connect()  # for the first cell, so that bad input leaves no file
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started = _started(self.pid)

    def _connect(self) -> sqlite3.Connection:
        from ..io import shown, why_not

        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = _open(self.path)
            except OSError as exc:
                raise InputError(
                    f"{shown(self.path)}: cannot open a result store ({why_not(exc)})"
                ) from None
            except sqlite3.DatabaseError as exc:
                raise InputError(f"{shown(self.path)}: not a result store ({exc})") from None
            self._conn = conn
        return self._conn

    @property
    def _db(self) -> sqlite3.Connection:
        return self._connect()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def done(self, keys: Iterable[str], redo: Sequence[str] = ()) -> set[str]:
        """The keys among ``keys`` that have a row (one whose status is not in
        ``redo``: ``("error", "timeout")`` reruns the cells that failed)."""
        keys = list(keys)
        if self._conn is None and not self.path.exists():
            return set()
        skip = (LOST, *redo)
        out: set[str] = set()
        for k in range(0, len(keys), 500):
            part = keys[k : k + 500]
            rows = self._db.execute(
                f"SELECT key FROM cells WHERE status NOT IN ({_marks(skip)}) "
                f"AND key IN ({_marks(part)})",
                (*skip, *part),
            )
            out.update(r[0] for r in rows)
        return out

    def claim(self, key: str, force: bool = False, redo: Sequence[str] = ()) -> bool:
        """Claim a cell for this process: ``False`` when it is done (unless ``force``,
        or its status is in ``redo``) or claimed by another live process."""
        skip = (LOST, *redo)
        with self._tx() as db:
            done = db.execute(
                f"SELECT 1 FROM cells WHERE key=? AND status NOT IN ({_marks(skip)})",
                (key, *skip),
            ).fetchone()
            if done and not force:
                return False
            held = db.execute(
                "SELECT host, pid, started FROM claims WHERE key=?", (key,)
            ).fetchone()
            if held is not None and not force:
                host, pid, started = held
                mine = host == self.host and pid == self.pid and started == self.started
                if not mine and (host != self.host or _alive(pid, started)):
                    return False  # another run is on it (on another host: trust its claim)
            db.execute(
                "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?)",
                (key, self.host, self.pid, self.started, time.time()),
            )
        return True

    def put(
        self, key: str, experiment: str, grid: str, kind: str, spec: dict[str, Any], row: dict
    ) -> None:
        """Store a finished cell (replacing an earlier row of it) and drop its claim,
        in one transaction."""
        text = json.dumps(jsonable(row), allow_nan=False, default=str)
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    experiment,
                    grid,
                    kind,
                    json.dumps(jsonable(spec), sort_keys=True, default=str),
                    text,
                    str(row.get("status", "")),
                    time.time(),
                ),
            )
            db.execute(
                "DELETE FROM claims WHERE key=? AND host=? AND pid=?", (key, self.host, self.pid)
            )

    def rows(self, keys: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """key -> row of the given keys (all with ``None``); non-finite numbers, stored
        as ``null``, come back as ``nan``."""
        if self._conn is None and not self.path.exists():
            return {}
        if keys is None:
            found = self._db.execute("SELECT key, row FROM cells").fetchall()
        else:
            keys = list(keys)
            found = []
            for k in range(0, len(keys), 500):
                part = keys[k : k + 500]
                marks = ",".join("?" * len(part))
                found += self._db.execute(
                    f"SELECT key, row FROM cells WHERE key IN ({marks})", part
                ).fetchall()
        return {key: _numbers(json.loads(text)) for key, text in found}

    def all(self) -> list[dict[str, Any]]:
        """Every stored cell: its experiment, grid, kind, spec and row, flattened."""
        out = []
        query = "SELECT experiment, grid, kind, spec, row FROM cells ORDER BY finished"
        for exp, grid, kind, spec, row in self._db.execute(query):
            out.append(flat_row(exp, grid, kind, json.loads(spec), _numbers(json.loads(row))))
        return out


_NUMERIC_NULL = ("objective", "bound", "reference", "best_known", "gap", "gap_to_best_known")


def _numbers(row: dict[str, Any]) -> dict[str, Any]:
    for k in _NUMERIC_NULL:
        if k in row and row[k] is None:
            row[k] = math.nan
    return row


def flat_row(
    experiment: str, grid: str, kind: str, spec: dict[str, Any], row: dict[str, Any]
) -> dict[str, Any]:
    """One cell as one flat record: what it is (the spec, options as ``opt_*`` and
    params as ``param_*``) beside what it gave (the row, which wins a name clash)."""
    out: dict[str, Any] = {"experiment": experiment, "grid": grid, "kind": kind}
    for k, v in spec.items():
        if k in ("options", "params") and isinstance(v, dict):
            prefix = "opt_" if k == "options" else "param_"
            out.update({prefix + name: x for name, x in v.items()})
        elif k == "generate" and isinstance(v, dict):
            out["generator"] = f"{v['family']}:{v['source']}"
            out.update({f"gen_{name}": x for name, x in v.get("options", {}).items()})
        elif k != "folder":
            out[k] = v
    out.update({k: v for k, v in row.items() if k not in ("params",)})
    if kind == "solve" and "method" in out:
        out["backend"] = backend(str(out.get("family", "")), str(out["method"]), out)
    return out


def backend(family: str, method: str, row: dict[str, Any]) -> str:
    """A solve's method as tables name it: its display name, and for the MILP its
    back-end (``MILP (highs)``; CBC when none is set)."""
    from ..bench.report import display_name

    name = display_name(family, method)
    if method == "milp":
        name += f" ({row.get('opt_solver') or 'cbc'})"
    return name


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))
