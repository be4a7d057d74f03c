"""Benchmarks: suites with checked references, the resumable grid, gap tables,
one row type, and the tables and figures built from them.

``docs/dev/benchmark-protocol.md`` states the protocol: instances, budgets,
seeds, workers, and how gaps and aggregates are defined.
"""

from .gaps import gap_table, summarize
from .report import save_table, summary_table, to_latex, to_markdown
from .rows import Row, frame, jsonable, load_results
from .run import DEFAULT_METHODS, run
from .suites import DEFAULT_SUITES, ROOT, check_references, find_suite, suite_files

__all__ = [
    "DEFAULT_METHODS",
    "DEFAULT_SUITES",
    "ROOT",
    "Row",
    "check_references",
    "find_suite",
    "frame",
    "gap_table",
    "jsonable",
    "load_results",
    "run",
    "suite_files",
    "summarize",
    "summary_table",
    "to_latex",
    "to_markdown",
    "save_table",
]
