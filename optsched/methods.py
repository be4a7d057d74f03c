"""Imports every built-in method so that its ``@register`` runs."""

from .problems.hopper import cpsat as _hopper_cpsat  # noqa: F401
from .problems.hopper import heuristics as _hopper_heuristics  # noqa: F401
from .problems.hopper import milp as _hopper_milp  # noqa: F401
from .problems.placement import cpsat as _placement_cpsat  # noqa: F401
from .problems.placement import heuristics as _placement_heuristics  # noqa: F401
from .problems.placement import milp as _placement_milp  # noqa: F401
from .problems.spase import cpsat as _spase_cpsat  # noqa: F401
from .problems.spase import heuristics as _spase_heuristics  # noqa: F401
from .problems.spase import milp as _spase_milp  # noqa: F401
from .problems.timeslot import cpsat as _timeslot_cpsat  # noqa: F401
from .problems.timeslot import heuristics as _timeslot_heuristics  # noqa: F401
from .problems.timeslot import milp as _timeslot_milp  # noqa: F401
