"""Per-update LIM bound table for a schedule (Performance Walls, Eqs. 1-7, Sec. III).

For each update n of a :class:`~lim_hw.theory.schedules.ScheduleSpec`:
``dE_n = -kT eps_n g_n^2`` (PW Eqs. 5-6), the barrier ``E0_n`` that supports the
target rate ``R_n`` (PW Eq. 4, clamped at 0 when infeasible, with the rate then
achieved), and the dissipated energy ``E_diss_n = E0_n + |dE_n|`` (PW Sec. III).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..constants import kT_J
from ..errors import InputError
from .lim import feasible_barrier, feasible_barrier_log, gradient_energy_J
from .schedules import ScheduleSpec

__all__ = ["BOUND_COLUMNS", "bound_table", "bound_table_from_steps", "bound_totals"]

#: Columns of :func:`bound_table`, in order.
BOUND_COLUMNS = ("n", "eps", "grad", "R_per_s", "E0_J", "E0_kT", "dE_J", "E_diss_J",
                 "feasible", "R_achieved_per_s")


def _check_T(T_K: Any) -> float:
    if isinstance(T_K, bool):
        raise InputError(f"T_K must be a number, got {T_K!r}")
    try:
        T = float(T_K)
    except (TypeError, ValueError):
        raise InputError(f"T_K must be a number, got {T_K!r}; give a temperature in kelvin") from None
    if not (math.isfinite(T) and T > 0):
        raise InputError(f"T_K is {T_K!r}; give a finite temperature > 0 K")
    return T


def bound_table_from_steps(steps: pd.DataFrame, R_max_per_s: float, T_K: float = 300.0,
                           ln_R_per_s: np.ndarray | None = None) -> pd.DataFrame:
    """Bound table for a steps frame with columns ``n, eps, grad, R_per_s`` (see :func:`bound_table`).

    ``ln_R_per_s``: the rates in log space (:meth:`ScheduleSpec.ln_rates`); the barrier is then
    computed in log space (:func:`~lim_hw.theory.lim.feasible_barrier_log`), so schedules whose
    rates underflow (``eps ~ 1e-300``) still get their finite barrier.
    """
    T = _check_T(T_K)
    kT = kT_J(T)
    n = steps["n"].to_numpy(dtype=np.int64)
    eps = steps["eps"].to_numpy(dtype=float)
    grad = steps["grad"].to_numpy(dtype=float)
    R = steps["R_per_s"].to_numpy(dtype=float)
    if len(n) == 0:
        empty = {c: np.array([], dtype=float) for c in BOUND_COLUMNS}
        empty["n"] = np.array([], dtype=np.int64)
        empty["feasible"] = np.array([], dtype=bool)
        return pd.DataFrame(empty)
    if ln_R_per_s is not None:
        E0, feasible, R_ach = feasible_barrier_log(ln_R_per_s, R_max_per_s, eps, grad, T)
    else:
        E0, feasible, R_ach = feasible_barrier(R, R_max_per_s, eps, grad, T)
    dE = np.asarray(gradient_energy_J(eps, grad, T))
    return pd.DataFrame({
        "n": n, "eps": eps, "grad": grad, "R_per_s": R,
        "E0_J": E0, "E0_kT": E0 / kT, "dE_J": dE, "E_diss_J": E0 + np.abs(dE),
        "feasible": np.asarray(feasible, dtype=bool), "R_achieved_per_s": R_ach,
    })


def bound_table(spec: ScheduleSpec, R_max_per_s: float, T_K: float = 300.0) -> pd.DataFrame:
    """Per-update LIM bound for ``spec`` at spontaneous rate ``R_max_per_s`` and ``T_K``.

    Columns: ``n, eps, grad, R_per_s`` (the schedule), ``E0_J`` and ``E0_kT``
    (barrier, PW Eq. 4, clamped at 0), ``dE_J`` (``-kT eps g^2``, PW Eqs. 5-6),
    ``E_diss_J`` (``E0 + |dE|``, PW Sec. III), ``feasible`` (PW Eq. 4 gave
    ``E0 >= 0``) and ``R_achieved_per_s`` (the target rate where feasible, else
    ``R_max tanh(eps g^2/2)``, the rate at ``E0 = 0``).
    """
    if not isinstance(spec, ScheduleSpec):
        raise InputError(f"spec must be a ScheduleSpec, got {type(spec).__name__}; "
                         f"build one with ScheduleSpec.from_dict")
    return bound_table_from_steps(spec.steps(R_max_per_s), R_max_per_s, T_K, spec.ln_rates(R_max_per_s))


def bound_totals(df: pd.DataFrame, T_K: float = 300.0) -> dict:
    """Totals of a :func:`bound_table` (per parameter).

    Keys: ``n_updates``, ``n_infeasible``, ``first_feasible_n`` (None if none),
    ``E0_total_J``, ``dE_total_J`` (sum of ``|dE|``), ``E_diss_total_J``,
    ``E_diss_total_kT``, ``E0_final_kT`` (None if empty), ``time_budget_s``
    (``sum 1/R_n`` of the target rates), ``time_budget_achieved_s`` (with the
    achieved rates; ``inf`` if some achieved rate is 0).
    """
    kT = kT_J(_check_T(T_K))
    n = len(df)
    feasible = df["feasible"].to_numpy(dtype=bool)
    E0 = df["E0_J"].to_numpy(dtype=float)
    dE = df["dE_J"].to_numpy(dtype=float)
    E_diss = df["E_diss_J"].to_numpy(dtype=float)
    R = df["R_per_s"].to_numpy(dtype=float)
    R_ach = df["R_achieved_per_s"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", over="ignore"):
        t_ach = float(np.sum(1.0 / R_ach)) if n else 0.0
        t_target = float(np.sum(1.0 / R)) if n else 0.0
    return {
        "n_updates": int(n),
        "n_infeasible": int(np.count_nonzero(~feasible)),
        "first_feasible_n": int(df["n"].to_numpy()[feasible][0]) if feasible.any() else None,
        "E0_total_J": float(E0.sum()),
        "dE_total_J": float(np.abs(dE).sum()),
        "E_diss_total_J": float(E_diss.sum()),
        "E_diss_total_kT": float(E_diss.sum() / kT),
        "E0_final_kT": float(E0[-1] / kT) if n else None,
        "time_budget_s": t_target,
        "time_budget_achieved_s": t_ach,
    }
