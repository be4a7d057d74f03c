"""optsched: exact models, bounds and baselines for deep-learning cluster scheduling."""

from .errors import InputError
from .io import read_instance, read_solution, write_instance, write_solution
from .problems import FAMILIES, check
from .result import Result, Status, gap

__version__ = "0.1.0"

__all__ = [
    "FAMILIES",
    "InputError",
    "Result",
    "Status",
    "__version__",
    "check",
    "gap",
    "read_instance",
    "read_solution",
    "write_instance",
    "write_solution",
]
