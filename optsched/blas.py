"""One BLAS thread while optsched factorises many small dense matrices.

The simulator's LP rounds and the allocation LPs factorise matrices of a few
hundred rows, thousands of times. OpenBLAS splits each over every core, and on
a small machine its idle threads then spin beside the Python thread that
drives the loop: on 2 cores, Gavel's packed policy over its 1,000-job stream
ran 1.6x to 2.3x slower with 2 BLAS threads than with 1. :func:`one_thread`
limits BLAS to one thread for a block (entering it costs about a millisecond,
so it wraps a whole run, not a round); solvers with their own threads (CP-SAT,
HiGHS) are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits


@contextmanager
def one_thread() -> Iterator[None]:
    """BLAS (OpenBLAS, MKL, BLIS) limited to one thread inside the block."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield
