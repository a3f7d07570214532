"""LIM theory: barrier height vs update rate (Performance Walls, Eqs. 1-7),
schedules, per-update bound tables, LIM_A/LIM_B totals and projections.

References: Chakrabartty & Cauwenberghs, "Performance Walls in Machine Learning
and Neuromorphic Systems", ISCAS 2023 (Eqs. 1-7); Chen, Leugering, Cauwenberghs
& Chakrabartty, "Energy-efficiency Limits on Training AI Systems using
Learning-in-Memory", arXiv:2402.14878 (2024) -- its LIM_A/LIM_B totals and
brain-scale projections are RECONSTRUCTED here (totals.py, projection.py).
See docs/theory.md.
"""

from .lim import (barrier_height_J, dissipated_energy_J, eq7_direction, eq7_printed_bound_J,
                  equilibrium_rate_per_s, feasible_barrier, gradient_energy_J, landauer_J,
                  update_rate_per_s)
from .schedules import ScheduleSpec, robbins_monro, time_budget_s
from .table import bound_table, bound_totals

__all__ = [
    "ScheduleSpec", "robbins_monro", "time_budget_s",
    "equilibrium_rate_per_s", "update_rate_per_s", "barrier_height_J", "feasible_barrier",
    "gradient_energy_J", "dissipated_energy_J", "eq7_printed_bound_J", "eq7_direction", "landauer_J",
    "bound_table", "bound_totals",
]
