"""Experiments: declarative grids in TOML, run on a local pool or a Ray cluster, into a
store whose rows cannot go stale, and the tables and figures made from them.

* :mod:`.spec`: the file format (``[[grid]]`` and ``[[output]]`` tables).
* :mod:`.cells`: grids expanded to cells, their content-hash keys, one cell's run.
* :mod:`.store`: finished cells in SQLite, claims for concurrent runs.
* :mod:`.executors`: ``serial``, ``local`` (process pool) and ``ray``.
* :mod:`.runner`: run what the store lacks; the current cells as a DataFrame.
* :mod:`.outputs`: tables and figures an experiment declares.
* :mod:`.paper`: every experiment's outputs, with a manifest.
"""

from .cells import Task, run_task, task_key
from .executors import EXECUTORS, make_executor
from .runner import RunReport, default_store, open_store, results, run_experiment
from .spec import Experiment, Grid, Output, read_experiment
from .store import Store

__all__ = [
    "EXECUTORS",
    "Experiment",
    "Grid",
    "Output",
    "RunReport",
    "Store",
    "Task",
    "default_store",
    "make_executor",
    "open_store",
    "read_experiment",
    "results",
    "run_experiment",
    "run_task",
    "task_key",
]
