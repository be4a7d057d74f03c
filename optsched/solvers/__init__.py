"""Solvers: the linear layer (:mod:`.linear`) with its PuLP and OR-Tools MathOpt
back-ends, CP-SAT (:mod:`.cpsat`), and what every method receives and returns
(:mod:`.common`)."""
