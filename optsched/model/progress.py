"""How a job progresses, one rule for the timeslot family and the simulator.

A run on a GPU set pays the restart overhead first (every start on a new
set, the first one included), then progresses at its rate: ``seconds`` held
at ``rate`` iterations per second, of which the first ``overhead`` seconds do
nothing. The timeslot checker applies it slot by slot, the simulator's
engine and its timeline checker stretch by stretch (a partner coming or going
changes the rate, not the overhead already paid).
"""

from __future__ import annotations


def progress(rate: float, seconds: float, overhead: float = 0.0) -> float:
    """Iterations done in ``seconds`` held, the first ``overhead`` of them without progress."""
    return rate * max(0.0, seconds - max(0.0, overhead))
