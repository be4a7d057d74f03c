"""Executors: where cells run. One interface, three back-ends.

:meth:`Executor.run` takes ``(item, cpus, fn, args)`` jobs and yields
``(item, result)`` as each finishes, in finishing order, with a bounded number
in flight (backpressure: the driver builds a cell's inputs only when it is
submitted). A job whose worker died, or that the engine could not run, comes
back as ``(item, exc)`` with the exception, so that the caller records it as a
row; nothing is lost silently.

* ``serial``: in this process, one after another.
* ``local``: a process pool of ``jobs`` CPUs. A cell occupies as many of them
  as it asks for (its solver's workers), so a 2-worker CP-SAT cell is timed
  on 2 free cores, not on 2 cores shared with another cell.
* ``ray``: Ray tasks with ``num_cpus`` = the cell's workers, on a running
  cluster (``address``) or on a local instance of ``jobs`` CPUs started for
  the run. Ray is an optional extra: ``pip install optsched[ray]``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from ..errors import InputError, sigterm_raises

EXECUTORS = ("serial", "local", "ray")


@dataclass(frozen=True)
class Job:
    item: Any
    cpus: int
    fn: Callable[..., Any]
    args: Callable[[], tuple[Any, ...]]  # built when the job is submitted


class Executor:
    name = "executor"
    slots = 1

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Any, Any]]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return f"{self.name}, {self.slots} CPU(s)"


class SerialExecutor(Executor):
    name = "serial"

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Any, Any]]:
        for job in jobs:
            yield job.item, job.fn(*job.args())


class LocalExecutor(Executor):
    """A process pool with ``jobs`` CPUs; a cell takes ``min(cpus, jobs)`` of them."""

    name = "local"

    def __init__(self, jobs: int) -> None:
        self.slots = jobs

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Any, Any]]:
        from ..bench.run import _end_pool, _worker_start

        pool = ProcessPoolExecutor(max_workers=self.slots, initializer=_worker_start)
        pending: dict[Future[Any], tuple[Job, int]] = {}
        used = 0
        queue = iter(jobs)
        waiting: Job | None = None
        with sigterm_raises():
            try:
                while True:
                    while True:
                        if getattr(pool, "_broken", False):  # a worker died: a fresh pool
                            if pending:
                                break  # its cells come back as errors first
                            pool.shutdown(wait=False)
                            pool = ProcessPoolExecutor(
                                max_workers=self.slots, initializer=_worker_start
                            )
                        if waiting is None:
                            waiting = next(queue, None)
                        if waiting is None:
                            break
                        need = max(1, min(waiting.cpus, self.slots))
                        if pending and used + need > self.slots:
                            break
                        fut = pool.submit(waiting.fn, *waiting.args())
                        pending[fut] = (waiting, need)
                        used += need
                        waiting = None
                    if not pending:
                        break
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        job, need = pending.pop(fut)
                        used -= need
                        try:
                            result = fut.result()
                        except BrokenProcessPool as exc:
                            result = RuntimeError(f"its worker process died ({exc})")
                        except Exception as exc:  # e.g. an input that does not pickle
                            result = RuntimeError(f"the pool could not run it ({exc!r})")
                        yield job.item, result
            except BaseException:
                _end_pool(pool)
                raise
        pool.shutdown(wait=True)


class RayExecutor(Executor):
    """Ray tasks of ``num_cpus`` = the cell's CPUs; at most twice the cluster's CPUs
    in flight."""

    name = "ray"

    def __init__(self, address: str | None = None, jobs: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise InputError(
                "--executor ray needs Ray: pip install 'optsched[ray]' (or pip install ray)"
            ) from None
        self.ray = ray
        self.started = False
        if not ray.is_initialized():
            kw: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False}
            if address:
                kw["address"] = address
            else:
                kw["num_cpus"] = jobs or os.cpu_count() or 1
            try:
                ray.init(**kw)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = address or "a local instance"
                raise InputError(f"--address {where}: cannot connect to Ray ({exc})") from None
            self.started = True
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        alive = [n for n in ray.nodes() if n.get("Alive")]
        #: a task must fit on one node: Ray would queue a bigger one forever
        self.node_cpus = max([int(n.get("Resources", {}).get("CPU", 0)) for n in alive] or [1])
        self._remote = ray.remote(_call)

    def describe(self) -> str:
        nodes = len([n for n in self.ray.nodes() if n.get("Alive")])
        return f"ray, {self.slots} CPU(s) on {nodes} node(s)"

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Any, Any]]:
        ray = self.ray
        window = 2 * self.slots
        pending: dict[Any, Job] = {}
        queue = iter(jobs)
        try:
            while True:
                while len(pending) < window:
                    job = next(queue, None)
                    if job is None:
                        break
                    if job.cpus > self.node_cpus:
                        yield (
                            job.item,
                            RuntimeError(
                                f"it asks for {job.cpus} CPUs; the largest Ray node has "
                                f"{self.node_cpus}"
                            ),
                        )
                        continue
                    cpus = max(1, job.cpus)
                    ref = self._remote.options(
                        num_cpus=cpus, max_retries=1, retry_exceptions=False
                    ).remote(job.fn, *job.args())
                    pending[ref] = job
                if not pending:
                    break
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    job = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except Exception as exc:  # a node lost, a worker crashed
                        result = RuntimeError(f"Ray could not run the cell: {exc}")
                    yield job.item, result
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


def make_executor(name: str, jobs: int | None = None, address: str | None = None) -> Executor:
    """The executor ``name`` with ``jobs`` CPUs (default: this machine's)."""
    if name not in EXECUTORS:
        raise InputError(f"--executor must be one of {', '.join(EXECUTORS)}, got {name!r}")
    if address and name != "ray":
        raise InputError("--address applies to --executor ray only")
    if name == "serial":
        return SerialExecutor()
    if name == "local":
        return LocalExecutor(jobs or os.cpu_count() or 1)
    return RayExecutor(address, jobs)
