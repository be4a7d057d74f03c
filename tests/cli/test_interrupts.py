"""Interrupts: SIGINT or SIGTERM to optsched (the process only, not its group) while
CBC solves, alone or in a bench pool, ends every process it started and leaves no
temporary file."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPASE = ROOT / "instances" / "spase-medium"


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def descendants(pid):
    found, todo = [], [pid]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def command_of(pid):
    out = subprocess.run(["ps", "-o", "comm=", "-p", str(pid)], capture_output=True, text=True)
    return out.stdout.strip()


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return command_of(pid) != ""  # a reaped pid is gone; a zombie would show here


def start(tmp_path, *argv):
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "PYTHONUNBUFFERED": "1"}
    (tmp_path / "tmp").mkdir()
    return subprocess.Popen(
        [sys.executable, "-m", "optsched", *argv],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for(proc, solvers, timeout=60.0):
    """Until ``solvers`` CBC processes run under ``proc``; all its descendants then."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        tree = descendants(proc.pid)
        if sum(command_of(p).startswith("cbc") for p in tree) >= solvers:
            return tree
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    pytest.fail("CBC never started")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_milp_solve_ends_cbc(tmp_path, sig):
    proc = start(
        tmp_path, "solve", str(SPASE / "pollux-16t-4x4-s0.json"), "-m", "milp",
        "--time-limit", "120",
    )  # fmt: skip
    tree = wait_for(proc, 1)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == (130 if sig == signal.SIGINT else 143), err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert not [p for p in tree if alive(p)]
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_parallel_bench_ends_its_workers(tmp_path, sig):
    out = tmp_path / "bench.jsonl"
    proc = start(
        tmp_path, "bench", str(SPASE), "-m", "milp", "-j", "2", "--time-limit", "120",
        "-o", str(out),
    )  # fmt: skip
    tree = wait_for(proc, 2)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (130 if sig == signal.SIGINT else 143), err
    deadline = time.monotonic() + 10
    while [p for p in tree if alive(p)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in tree if alive(p)], [command_of(p) for p in tree if alive(p)]
    assert list((tmp_path / "tmp").iterdir()) == []
