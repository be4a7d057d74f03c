"""Thin, shared wrappers around the back-ends (CP-SAT, PuLP with CBC or HiGHS)."""
