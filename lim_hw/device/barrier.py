"""Effective FN barrier and its inverse: device voltage <-> LIM barrier (theory.md s.7).

The FN junction at oxide voltage V makes ``R_FN(V) = I_FN(V)/q`` transitions
(electrons) per second. Reading it as the LIM equilibrium rate of Eq. 1
(``R = R_max exp(-E/kT)``) gives the effective barrier::

    E_eff(V) = kT ln(R_max / R_FN(V)).

The inverse solves ``ln R_FN(V) = ln R_target`` with
``ln R_FN(V) = ln(area A / q) + 2 ln(V/t_ox) - B t_ox / V``, which is strictly
increasing in V > 0 (from -inf to +inf), so the root is unique. With
``w = B t_ox / (2V)`` the equation becomes ``w + ln w = Lz`` i.e.
``w = W(exp(Lz))`` (Lambert W, principal branch), solved here by a safeguarded
Newton iteration on ``s = ln w`` that never overflows: the residual is convex
and increasing in s and the start point lies right of the root, so Newton
converges monotonically (quadratically near the root) to machine precision.

All functions broadcast, use SI units, return ``float`` for scalar inputs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from lim_hw.constants import T_DEFAULT_K, k_B_J_per_K, q_C
from lim_hw.device.fn import (
    M_EFF_DEFAULT,
    PHI_B_DEFAULT_EV,
    _coeffs,
    _finite,
    _out,
    _positive,
    ln_fn_current_A,
)
from lim_hw.errors import InputError

__all__ = ["effective_barrier_J", "voltage_for_barrier_V", "voltage_for_rate_V"]

_MAX_NEWTON = 200


def _solve_w_plus_ln_w(Lz: np.ndarray) -> np.ndarray:
    """``s = ln w`` with ``w + ln w = Lz`` (so ``w = W(exp(Lz))``), vectorised, overflow-free.

    phi(s) = exp(s) + s - Lz is increasing and convex; the start
    ``s0 = Lz`` (Lz <= 1) or ``ln Lz`` (Lz > 1) has phi(s0) >= 0, so Newton
    descends monotonically onto the root.
    """
    Lz = np.asarray(Lz, dtype=float)
    s = np.where(Lz > 1.0, np.log(np.maximum(Lz, 1.0)), Lz)
    for _ in range(_MAX_NEWTON):
        es = np.exp(s)
        step = (es + s - Lz) / (es + 1.0)
        s = s - step
        if np.all(np.abs(step) <= 4.0 * np.finfo(float).eps * np.maximum(1.0, np.abs(s))):
            break
    else:  # pragma: no cover - monotone Newton converges in well under 200 steps
        raise RuntimeError("Lambert-W Newton iteration did not converge")
    return s


def voltage_for_rate_V(
    R_per_s: ArrayLike,
    tox_m: ArrayLike,
    area_m2: ArrayLike,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
) -> float | np.ndarray:
    """Oxide voltage (V) at which the FN junction makes ``R_per_s`` transitions per second.

    Exact inverse of :func:`lim_hw.device.fn.fn_transition_rate_per_s` (to
    float precision): ``V = B t_ox / (2 W(exp(Lz)))`` with
    ``Lz = (ln(area A / (q t_ox^2)) - ln R)/2 + ln(B t_ox / 2)``. ``R_per_s > 0``.
    """
    lnR = np.log(_positive("R_per_s", R_per_s))
    return _out(_voltage_for_ln_rate(lnR, tox_m, area_m2, phi_B_eV, m_eff))


def _voltage_for_ln_rate(lnR, tox_m, area_m2, phi_B_eV, m_eff) -> np.ndarray:
    tox = _positive("tox_m", tox_m)
    area = _positive("area_m2", area_m2)
    A, B = _coeffs(phi_B_eV, m_eff)
    k2 = B * tox
    c = np.log(area * A / (q_C * tox**2)) - lnR
    s = _solve_w_plus_ln_w(c / 2.0 + np.log(k2 / 2.0))
    return k2 / 2.0 * np.exp(-s)


def effective_barrier_J(
    V_ox_V: ArrayLike,
    R_max_per_s: ArrayLike,
    tox_m: ArrayLike,
    area_m2: ArrayLike,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
    T_K: ArrayLike = T_DEFAULT_K,
    *,
    thermal: bool = False,
    image_force: bool = False,
) -> float | np.ndarray:
    """Effective barrier ``E_eff(V) = kT ln(R_max / R_FN(V))`` (J) (theory.md s.7).

    Computed in log space (finite even where I_FN underflows). ``+inf`` for
    ``V_ox <= 0`` (no conduction). Negative where ``R_FN(V) > R_max``: the
    value is returned as is, not clamped, so that the inverse round-trips.
    ``thermal``: the FN current includes the thermal factor at ``T_K`` (a scalar);
    ``image_force``: the image-force lowering (docs/device.md s.6-7).
    """
    R_max = _positive("R_max_per_s", R_max_per_s)
    kT = k_B_J_per_K * _positive("T_K", T_K)
    lnI = np.asarray(ln_fn_current_A(V_ox_V, tox_m, area_m2, phi_B_eV, m_eff,
                                     T_K=float(T_K) if thermal else None, image_force=image_force))
    lnR = lnI - np.log(q_C)
    return _out(kT * (np.log(R_max) - lnR))


def voltage_for_barrier_V(
    E_eff_J: ArrayLike,
    R_max_per_s: ArrayLike,
    tox_m: ArrayLike,
    area_m2: ArrayLike,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
    T_K: ArrayLike = T_DEFAULT_K,
) -> float | np.ndarray:
    """Oxide voltage (V) that presents barrier ``E_eff_J`` (inverse of :func:`effective_barrier_J`).

    Solves ``ln R_FN(V) = ln R_max - E_eff / kT``; any finite ``E_eff_J``
    (negative allowed) has exactly one positive solution.
    """
    E = _finite("E_eff_J", E_eff_J)
    R_max = _positive("R_max_per_s", R_max_per_s)
    kT = k_B_J_per_K * _positive("T_K", T_K)
    with np.errstate(over="ignore"):
        lnR = np.log(R_max) - E / kT
    if not np.all(np.isfinite(lnR)):
        raise InputError("E_eff_J / kT is too large for a float; check the barrier units (J, not eV)")
    return _out(_voltage_for_ln_rate(lnR, tox_m, area_m2, phi_B_eV, m_eff))
