"""LIM_A and LIM_B energy totals, per parameter and per model.

RECONSTRUCTION. The variants LIM_A and LIM_B are named in Chen, Leugering,
Cauwenberghs & Chakrabartty, "Energy-efficiency Limits on Training AI Systems
using Learning-in-Memory", arXiv:2402.14878 (2024), whose full text we do not
have. From its abstract and summaries: LIM_A relies on the loss-function
gradient to lower the memory barrier; LIM_B injects additional external energy
when gradients are small; energy recycling efficiency matters. The formulas
below are OUR reconstruction on top of Performance Walls (Chakrabartty &
Cauwenberghs, ISCAS 2023; "PW") Eqs. 3-6, not the paper's own equations:

- LIM_A: the extrinsic drive is the gradient term alone,
  ``dE_n = -kT eps_n g_n^2`` (PW Eqs. 5-6); ``E0_n`` from PW Eq. 4 (clamped at
  0 when infeasible); ``E_diss_n = E0_n + |dE_n|`` (PW Sec. III).
- LIM_B: an injected energy ``E_inj,n >= 0`` tops the drive up to a floor when
  the gradient is small: ``dE_n = -(kT eps_n g_n^2 + E_inj,n)`` with
  ``E_inj,n = max(0, E_floor,n - kT eps_n g_n^2)``. The floor is the larger of
  ``drive_floor_kT * kT`` and (if ``ensure_feasible``) the least drive for
  which the target rate needs a non-negative barrier,
  ``2 kT artanh(R_n/R_max)`` (from PW Eq. 3 at ``E0 = 0``). ``E0_n`` follows
  from PW Eq. 4 with the total drive. The gradient part is dissipated (PW Sec.
  III); the injected part is dissipated unless recovered with efficiency
  ``eta`` in [0, 1]: ``E_diss_n = E0_n + kT eps_n g_n^2 + (1 - eta) E_inj,n``.
- Totals: per parameter ``sum_n E_diss_n``; per model ``n_params`` times that.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..constants import kT_J
from ..errors import InputError
from .lim import feasible_barrier_from_dE
from .schedules import ScheduleSpec
from .table import _check_T, bound_table, bound_totals

__all__ = ["VARIANTS", "lim_a_table", "lim_b_table", "lim_b_terms", "lim_table", "lim_totals"]

VARIANTS = ("A", "B")

#: relative margin added to the feasibility floor so rounding cannot leave E0 a hair below 0
_FLOOR_MARGIN = 1e-12


def _check_fraction(name: str, x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a number in [0, 1], got {x!r}")
    v = float(x)
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise InputError(f"{name} is {x!r}; give a recovery efficiency between 0 and 1")
    return v


def _check_nonneg(name: str, x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a number >= 0, got {x!r}")
    v = float(x)
    if not (math.isfinite(v) and v >= 0.0):
        raise InputError(f"{name} is {x!r}; give a finite number >= 0")
    return v


def lim_a_table(spec: ScheduleSpec, R_max_per_s: float, T_K: float = 300.0) -> pd.DataFrame:
    """LIM_A per-update table (RECONSTRUCTION of arXiv:2402.14878, see module doc).

    The :func:`~lim_hw.theory.table.bound_table` columns plus ``E_grad_J``
    (= ``dE_J``), ``E_inj_J`` (0) and ``E_recovered_J`` (0).
    """
    df = bound_table(spec, R_max_per_s, T_K)
    df["E_grad_J"] = df["dE_J"]
    df["E_inj_J"] = 0.0
    df["E_recovered_J"] = 0.0
    return df


def lim_b_table(spec: ScheduleSpec, R_max_per_s: float, T_K: float = 300.0, *,
                drive_floor_kT: float = 0.0, ensure_feasible: bool = True,
                eta: float = 0.0) -> pd.DataFrame:
    """LIM_B per-update table (RECONSTRUCTION of arXiv:2402.14878, see module doc).

    Columns: those of :func:`lim_a_table`, with ``dE_J`` the total drive
    ``-(|E_grad| + E_inj)``, ``E_inj_J`` the injected energy, ``E_recovered_J =
    eta * E_inj`` and ``E_diss_J = E0 + |E_grad| + (1 - eta) E_inj``. A step
    whose target rate is ``>= R_max`` cannot be made feasible by any finite
    drive; it stays infeasible (barrier 0, achieved rate below target).
    """
    T = _check_T(T_K)
    floor_kT = _check_nonneg("drive_floor_kT", drive_floor_kT)
    eta = _check_fraction("eta", eta)
    base = bound_table(spec, R_max_per_s, T)
    if len(base) == 0:
        for c in ("E_grad_J", "E_inj_J", "E_recovered_J"):
            base[c] = np.array([], dtype=float)
        return base
    t = lim_b_terms(base["R_per_s"].to_numpy(), np.abs(base["dE_J"].to_numpy()), R_max_per_s, T,
                    drive_floor_kT=floor_kT, ensure_feasible=ensure_feasible, eta=eta)
    out = base.copy()
    out["E0_J"] = t["E0_J"]
    out["E0_kT"] = t["E0_J"] / kT_J(T)
    out["dE_J"] = t["dE_J"]
    out["feasible"] = t["feasible"]
    out["R_achieved_per_s"] = t["R_achieved_per_s"]
    out["E_grad_J"] = -t["E_grad_J"]
    out["E_inj_J"] = t["E_inj_J"]
    out["E_recovered_J"] = eta * t["E_inj_J"]
    out["E_diss_J"] = t["E_diss_J"]
    return out


def lim_b_terms(R_per_s: Any, E_grad_J: Any, R_max_per_s: float, T_K: float = 300.0, *,
                drive_floor_kT: float = 0.0, ensure_feasible: bool = True, eta: float = 0.0) -> dict:
    """LIM_B per update from arrays (RECONSTRUCTION, see module doc): rates and gradient drives.

    ``E_grad_J = kT eps g^2 >= 0`` (magnitude of PW Eqs. 5-6). Returns arrays
    ``E_inj_J, dE_J`` (total drive, negative), ``E0_J`` (PW Eq. 4 with the total
    drive), ``feasible``, ``R_achieved_per_s``, ``E_grad_J`` and
    ``E_diss_J = E0 + E_grad + (1 - eta) E_inj`` (per transition). Used by
    :func:`lim_b_table` and by on-device training (realised updates).
    """
    T = _check_T(T_K)
    kT = kT_J(T)
    floor_kT = _check_nonneg("drive_floor_kT", drive_floor_kT)
    eta = _check_fraction("eta", eta)
    R = np.asarray(R_per_s, dtype=float)
    E_grad = np.abs(np.asarray(E_grad_J, dtype=float))
    floor = np.full(R.shape, floor_kT * kT)
    if ensure_feasible:
        r = R / float(R_max_per_s)
        with np.errstate(divide="ignore", invalid="ignore"):
            need = np.where(r < 1.0, 2.0 * kT * np.arctanh(np.minimum(r, 1.0)), 0.0)
        floor = np.maximum(floor, need * (1.0 + _FLOOR_MARGIN))
    E_inj = np.maximum(0.0, floor - E_grad)
    dE = -E_grad - E_inj
    E0, feasible, R_ach = feasible_barrier_from_dE(R, R_max_per_s, dE, T)
    E0 = np.asarray(E0, dtype=float)
    return {"E_inj_J": E_inj, "dE_J": dE, "E0_J": E0, "feasible": np.asarray(feasible, dtype=bool),
            "R_achieved_per_s": np.asarray(R_ach, dtype=float), "E_grad_J": E_grad,
            "E_diss_J": E0 + E_grad + (1.0 - eta) * E_inj}


def lim_table(spec: ScheduleSpec, R_max_per_s: float, T_K: float = 300.0, variant: str = "A",
              **lim_b_kwargs: Any) -> pd.DataFrame:
    """Dispatch to :func:`lim_a_table` (``variant="A"``) or :func:`lim_b_table` (``"B"``)."""
    if variant == "A":
        if lim_b_kwargs:
            raise InputError(f"options {sorted(lim_b_kwargs)} apply to LIM_B only; use variant 'B'")
        return lim_a_table(spec, R_max_per_s, T_K)
    if variant == "B":
        return lim_b_table(spec, R_max_per_s, T_K, **lim_b_kwargs)
    raise InputError(f"LIM variant {variant!r} is unknown; use 'A' or 'B'")


def lim_totals(spec: ScheduleSpec, R_max_per_s: float, T_K: float = 300.0, variant: str = "A",
               n_params: float = 1.0, **lim_b_kwargs: Any) -> dict:
    """Per-parameter and per-model totals for LIM_A or LIM_B (RECONSTRUCTION, see module doc).

    Returns the :func:`~lim_hw.theory.table.bound_totals` keys (per parameter),
    plus ``variant``, ``E_inj_total_J``, ``E_recovered_total_J``, ``n_params``,
    ``E_diss_model_J = n_params * E_diss_total_J`` and ``reconstruction: True``.
    """
    n_params = _check_nonneg("n_params", n_params)
    df = lim_table(spec, R_max_per_s, T_K, variant, **lim_b_kwargs)
    tot = bound_totals(df, T_K)
    tot.update({
        "variant": f"LIM_{variant}",
        "E_inj_total_J": float(df["E_inj_J"].sum()),
        "E_recovered_total_J": float(df["E_recovered_J"].sum()),
        "n_params": n_params,
        "E_diss_model_J": n_params * tot["E_diss_total_J"],
        "reconstruction": True,
    })
    return tot
