"""Barrier height versus update rate for learning-in-memory (LIM).

Implements Eqs. 1-7 of Chakrabartty & Cauwenberghs, "Performance Walls in
Machine Learning and Neuromorphic Systems", ISCAS 2023 ("PW" below). SI units:
energies in J, rates in 1/s, temperature in K. Every function takes numpy
arrays (broadcast together) or scalars; scalars in give 0-d/float results out.

Symbols: ``E0`` barrier height at update n, ``R_max`` spontaneous transition
rate without a barrier, ``R`` net update rate, ``dE`` extrinsic energy
differential (negative when the loss descends), ``eps`` learning rate, ``grad``
the gradient ``g = dL/dw``.

- PW Eq. 1: ``R0 = R_max exp(-E0/kT)``                  (:func:`equilibrium_rate_per_s`)
- PW Eq. 3: ``R = R_max exp(-E0/kT) tanh(-dE/(2kT))``   (:func:`update_rate_per_s`)
- PW Eq. 4: ``E0 = kT ln[(R_max/R) tanh(-dE/(2kT))]``   (:func:`barrier_height_J`)
- PW Eqs. 5-6 (steepest descent): ``dE = -kT eps g^2``  (:func:`gradient_energy_J`)
- PW Eq. 7 as printed: ``E0 >= kT ln[(R_max/R) tanh(eps/2)]`` "for g^2 <= 1"
  (:func:`eq7_printed_bound_J`); the inequality points the wrong way, see
  :func:`eq7_direction`.
- PW Sec. III: ``E_diss = E0 + |dE|``                   (:func:`dissipated_energy_J`)

Note ``(e^x - 1)/(e^x + 1) = tanh(x/2)``, so Eqs. 3, 4 and 7 are written with tanh.

Feasibility: a barrier cannot be negative. ``E0 >= 0`` needs
``R <= R_max tanh(eps g^2 / 2)``; :func:`feasible_barrier` clamps E0 at 0 and
reports the rate actually achieved instead of returning a negative barrier.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..constants import kT_J
from ..errors import InputError

__all__ = [
    "log_tanh", "equilibrium_rate_per_s", "update_rate_per_s", "update_rate_from_dE_per_s",
    "barrier_height_J", "barrier_height_from_dE_J", "feasible_barrier", "feasible_barrier_from_dE",
    "max_feasible_rate_per_s", "gradient_energy_J", "log_tanh_half_drive", "feasible_barrier_log", "dissipated_energy_J",
    "eq7_printed_bound_J", "eq7_direction", "asymptotic_barrier_J", "landauer_J",
]


# ---------------------------------------------------------------- validation
def _arr(name: str, x: Any, *, positive: bool = False, nonneg: bool = False) -> np.ndarray:
    """Convert to a float array and check it (finite; > 0 or >= 0 if asked)."""
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numeric, got {x!r}; pass a number or an array of numbers") from None
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} contains NaN or inf; give finite values")
    if positive and not np.all(a > 0):
        raise InputError(f"{name} must be > 0 (got min {a.min()!r}); give positive values")
    if nonneg and not np.all(a >= 0):
        raise InputError(f"{name} must be >= 0 (got min {a.min()!r}); give non-negative values")
    return a


def _kT(T_K: Any) -> np.ndarray:
    return kT_J(_arr("T_K", T_K, positive=True))


def _out(a: np.ndarray) -> Any:
    """Return a Python float for 0-d results, the array otherwise."""
    return float(a) if np.ndim(a) == 0 else a


def log_tanh(x: Any) -> Any:
    """``ln(tanh(x))`` for ``x >= 0``, accurate to a few ulp over the whole range.

    Small x: ``ln(-expm1(-2x)) - log1p(exp(-2x))`` (no cancellation in ``1 - e^-2x``);
    large x: ``log1p(-e^-2x) - log1p(e^-2x)`` (keeps the tiny negative value that
    ``ln(tanh(x))`` would round to 0). ``x = 0`` gives ``-inf``.
    """
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.exp(-2.0 * x)
        small = np.log(-np.expm1(-2.0 * x)) - np.log1p(e)
        large = np.log1p(-e) - np.log1p(e)
    return _out(np.where(x < 0.5, small, large))


def _half_drive(dE_J: np.ndarray, kT: np.ndarray) -> np.ndarray:
    """``-dE / (2 kT)``: the tanh argument of PW Eqs. 3-4 (>= 0 for a descending loss)."""
    return -dE_J / (2.0 * kT)


def _check_dE(dE: np.ndarray) -> None:
    if np.any(dE > 0):
        raise InputError("dE_J must be <= 0 (the extrinsic energy differential is negative when "
                         "the loss descends, PW Eq. 6); pass -|dE|")


# ---------------------------------------------------------------- Eq. 1
def equilibrium_rate_per_s(E0_J: Any, R_max_per_s: Any, T_K: Any = 300.0) -> Any:
    """PW Eq. 1: equilibrium (symmetric) transition rate ``R0 = R_max exp(-E0/kT)`` in 1/s."""
    E0 = _arr("E0_J", E0_J)
    R_max = _arr("R_max_per_s", R_max_per_s, positive=True)
    return _out(R_max * np.exp(-E0 / _kT(T_K)))


# ---------------------------------------------------------------- Eq. 3
def update_rate_from_dE_per_s(E0_J: Any, R_max_per_s: Any, dE_J: Any, T_K: Any = 300.0) -> Any:
    """PW Eq. 3: net update rate ``R = R_max exp(-E0/kT) tanh(-dE/(2kT))`` (1/s), ``dE <= 0``.

    Always ``0 <= R <= R0`` (PW Eq. 1).
    """
    E0 = _arr("E0_J", E0_J)
    R_max = _arr("R_max_per_s", R_max_per_s, positive=True)
    dE = _arr("dE_J", dE_J)
    _check_dE(dE)
    kT = _kT(T_K)
    return _out(R_max * np.exp(-E0 / kT) * np.tanh(_half_drive(dE, kT)))


def update_rate_per_s(E0_J: Any, R_max_per_s: Any, eps: Any, grad: Any = 1.0,
                      T_K: Any = 300.0) -> Any:
    """PW Eq. 3 with the gradient energy of PW Eqs. 5-6 (``dE = -kT eps g^2``):

    ``R = R_max exp(-E0/kT) tanh(eps g^2 / 2)`` in 1/s.
    """
    E0 = _arr("E0_J", E0_J)
    R_max = _arr("R_max_per_s", R_max_per_s, positive=True)
    eps = _arr("eps", eps, positive=True)
    g = _arr("grad", grad)
    kT = _kT(T_K)
    return _out(R_max * np.exp(-E0 / kT) * np.tanh(0.5 * eps * g * g))


# ---------------------------------------------------------------- Eq. 4
def _E0_kT(R: np.ndarray, R_max: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``ln(R_max/R) + ln tanh(x)``: PW Eq. 4 in units of kT."""
    with np.errstate(divide="ignore", over="ignore"):
        ratio = R_max / R
        lr = np.where(np.isfinite(ratio) & (ratio > 0), np.log(ratio), np.log(R_max) - np.log(R))
    return lr + np.asarray(log_tanh(x))


def barrier_height_from_dE_J(R_per_s: Any, R_max_per_s: Any, dE_J: Any, T_K: Any = 300.0) -> Any:
    """PW Eq. 4 exactly: ``E0 = kT ln[(R_max/R) tanh(-dE/(2kT))]`` (J), ``dE <= 0``.

    The raw value: it is negative when the rate is infeasible
    (``R > R_max tanh(-dE/(2kT))``) and ``-inf`` for ``dE = 0``. Use
    :func:`feasible_barrier_from_dE` for the clamped barrier.
    """
    R = _arr("R_per_s", R_per_s, positive=True)
    R_max = _arr("R_max_per_s", R_max_per_s, positive=True)
    dE = _arr("dE_J", dE_J)
    _check_dE(dE)
    kT = _kT(T_K)
    return _out(kT * _E0_kT(R, R_max, _half_drive(dE, kT)))


def barrier_height_J(R_per_s: Any, R_max_per_s: Any, eps: Any, grad: Any = 1.0,
                     T_K: Any = 300.0) -> Any:
    """PW Eq. 4 with ``dE = -kT eps g^2`` (PW Eqs. 5-6), exactly:

    ``E0 = kT [ln(R_max/R) + ln tanh(eps g^2 / 2)]`` in J.

    Raw value (negative = infeasible rate; see :func:`feasible_barrier`).
    ``ln tanh`` is evaluated stably (:func:`log_tanh`), so
    ``update_rate_per_s(barrier_height_J(R, ...), ...)`` returns R to ~1e-14
    relative even for ``eps ~ 1e-8``.
    """
    R = _arr("R_per_s", R_per_s, positive=True)
    R_max = _arr("R_max_per_s", R_max_per_s, positive=True)
    eps = _arr("eps", eps, positive=True)
    g = _arr("grad", grad)
    kT = _kT(T_K)
    return _out(kT * _E0_kT(R, R_max, 0.5 * eps * g * g))


# ---------------------------------------------------------------- feasibility
def max_feasible_rate_per_s(R_max_per_s: Any, eps: Any, grad: Any = 1.0) -> Any:
    """Largest rate reachable with a non-negative barrier: ``R_max tanh(eps g^2/2)`` (1/s)."""
    R_max = _arr("R_max_per_s", R_max_per_s, positive=True)
    eps = _arr("eps", eps, positive=True)
    g = _arr("grad", grad)
    return _out(R_max * np.tanh(0.5 * eps * g * g))


def _clamp(R: np.ndarray, R_max: np.ndarray, x: np.ndarray, kT: np.ndarray):
    E0_kT = _E0_kT(R, R_max, x)
    feasible = E0_kT >= 0.0
    E0 = np.where(feasible, E0_kT, 0.0) * kT
    R_ach = np.where(feasible, R, R_max * np.tanh(x))
    E0, feasible, R_ach = np.broadcast_arrays(E0, feasible, R_ach)
    if E0.ndim == 0:
        return float(E0), bool(feasible), float(R_ach)
    return E0.copy(), feasible.copy(), R_ach.copy()


def feasible_barrier(R_per_s: Any, R_max_per_s: Any, eps: Any, grad: Any = 1.0,
                     T_K: Any = 300.0):
    """Barrier for a target rate, never negative: returns ``(E0_J, feasible, R_achieved_per_s)``.

    Where PW Eq. 4 gives ``E0 >= 0`` the step is feasible: ``E0`` is that value
    and the target rate is achieved. Otherwise (``R > R_max tanh(eps g^2/2)``) the
    barrier is clamped at 0 and the achieved rate is that of PW Eq. 3 at
    ``E0 = 0``, i.e. ``R_max tanh(eps g^2/2)`` (< target).
    """
    R = _arr("R_per_s", R_per_s, positive=True)
    R_max = _arr("R_max_per_s", R_max_per_s, positive=True)
    eps = _arr("eps", eps, positive=True)
    g = _arr("grad", grad)
    return _clamp(R, R_max, 0.5 * eps * g * g, _kT(T_K))


def log_tanh_half_drive(eps: Any, grad: Any = 1.0) -> Any:
    """``ln tanh(eps g^2 / 2)`` without underflow: from ``ln x = ln eps + 2 ln|g| - ln 2`` when ``x < 1e-8``
    (``ln tanh x = ln x - x^2/3 + 2 x^4/45 - ...``; the x^2 term is below 4e-17 there), else
    :func:`log_tanh`. Good to ~1e-16 relative down to ``eps ~ 1e-300`` (where ``x`` is subnormal)."""
    eps = np.asarray(eps, dtype=float)
    g = np.abs(np.asarray(grad, dtype=float))
    with np.errstate(divide="ignore", under="ignore"):
        ln_x = np.log(eps) + 2.0 * np.log(g) - math.log(2.0)
        x = np.exp(ln_x)
        series = ln_x - x * x / 3.0
    return _out(np.where(ln_x < math.log(1e-8), series, np.asarray(log_tanh(np.maximum(x, 1e-8)))))


def feasible_barrier_log(ln_R_per_s: Any, R_max_per_s: Any, eps: Any, grad: Any = 1.0, T_K: Any = 300.0):
    """:func:`feasible_barrier` with the target rate given as ``ln R`` (PW Eq. 4 in log space):

    ``E0/kT = ln R_max - ln R + ln tanh(eps g^2/2)``, every term finite for ``eps`` down to
    ~1e-300 where ``R = R_max eps^(1+alpha)`` underflows (``lim-hw bound --kind constant
    --eps0 1e-300``: E0 = 344.7 kT). Returns ``(E0_J, feasible, R_achieved_per_s)``; the achieved
    rate may underflow to 0.
    """
    lnR = _arr("ln_R_per_s", ln_R_per_s)
    R_max = _arr("R_max_per_s", R_max_per_s, positive=True)
    eps = _arr("eps", eps, positive=True)
    g = _arr("grad", grad)
    kT = _kT(T_K)
    E0_kT = np.log(R_max) - lnR + np.asarray(log_tanh_half_drive(eps, g))
    feasible = E0_kT >= 0.0
    E0 = np.where(feasible, E0_kT, 0.0) * kT
    with np.errstate(under="ignore"):
        R_ach = np.where(feasible, np.exp(lnR), R_max * np.tanh(0.5 * eps * g * g))
    E0, feasible, R_ach = np.broadcast_arrays(E0, feasible, R_ach)
    if E0.ndim == 0:
        return float(E0), bool(feasible), float(R_ach)
    return E0.copy(), feasible.copy(), R_ach.copy()


def feasible_barrier_from_dE(R_per_s: Any, R_max_per_s: Any, dE_J: Any, T_K: Any = 300.0):
    """As :func:`feasible_barrier` for a given ``dE <= 0`` (used by LIM_B, where dE
    includes injected energy): returns ``(E0_J, feasible, R_achieved_per_s)``."""
    R = _arr("R_per_s", R_per_s, positive=True)
    R_max = _arr("R_max_per_s", R_max_per_s, positive=True)
    dE = _arr("dE_J", dE_J)
    _check_dE(dE)
    kT = _kT(T_K)
    return _clamp(R, R_max, _half_drive(dE, kT), kT)


# ---------------------------------------------------------------- energies
def gradient_energy_J(eps: Any, grad: Any = 1.0, T_K: Any = 300.0) -> Any:
    """PW Eqs. 5-6 (steepest descent, per parameter): ``dE = -kT eps g^2`` in J (<= 0)."""
    eps = _arr("eps", eps, nonneg=True)
    g = _arr("grad", grad)
    return _out(-_kT(T_K) * eps * g * g)


def dissipated_energy_J(E0_J: Any, dE_J: Any) -> Any:
    """PW Sec. III: energy dissipated per update ``E_diss = E0 + |dE|`` (J); the
    extrinsic energy is assumed unrecoverable."""
    E0 = _arr("E0_J", E0_J, nonneg=True)
    dE = _arr("dE_J", dE_J)
    return _out(E0 + np.abs(dE))


def landauer_J(T_K: Any = 300.0) -> Any:
    """Landauer's limit ``kT ln 2`` per bit (J); 2.87e-21 J at 300 K."""
    return _out(_kT(T_K) * math.log(2.0))


# ---------------------------------------------------------------- Eq. 7
def eq7_printed_bound_J(R_per_s: Any, R_max_per_s: Any, eps: Any, T_K: Any = 300.0) -> Any:
    """PW Eq. 7 as printed: ``kT ln[(R_max/R) (e^eps - 1)/(e^eps + 1)]`` = Eq. 4 at g = 1 (J).

    The paper states ``E0 >= `` this value for ``g^2 <= 1``; in fact Eq. 4 gives
    ``E0 <= `` this value then (see :func:`eq7_direction`).
    """
    R = _arr("R_per_s", R_per_s, positive=True)
    R_max = _arr("R_max_per_s", R_max_per_s, positive=True)
    eps = _arr("eps", eps, positive=True)
    return _out(_kT(T_K) * _E0_kT(R, R_max, 0.5 * eps))


def eq7_direction(R_per_s: Any, R_max_per_s: Any, eps: Any, grad: Any, T_K: Any = 300.0) -> dict:
    """Compare the exact barrier (PW Eq. 4) with PW Eq. 7 as printed.

    Derivation of the erratum: Eq. 4 with ``dE = -kT eps g^2`` is
    ``E0 = kT ln[(R_max/R) tanh(eps g^2/2)]``. tanh is increasing, so
    ``g^2 <= 1`` gives ``tanh(eps g^2/2) <= tanh(eps/2)`` and hence
    ``E0 <= kT ln[(R_max/R) tanh(eps/2)]`` -- the printed ``>=`` points the wrong
    way; equality holds at ``g^2 = 1``, and the printed direction holds only for
    ``g^2 >= 1``. Physically: the printed expression is the barrier needed when
    the gradient is saturated; a smaller gradient supplies less drive, so the
    barrier must be *lower* to keep the same update rate.

    Returns ``{"E0_exact_J", "E0_eq7_J", "printed_holds", "corrected_holds"}``
    where ``printed_holds = E0_exact >= E0_eq7`` and
    ``corrected_holds = E0_exact <= E0_eq7`` (arrays or scalars).
    """
    exact = np.asarray(barrier_height_J(R_per_s, R_max_per_s, eps, grad, T_K))
    printed = np.asarray(eq7_printed_bound_J(R_per_s, R_max_per_s, eps, T_K))
    # compare in kT units with a few-ulp tolerance so g = 1 counts as equality both ways
    tol = 1e-12 * np.maximum(np.abs(printed), _kT(T_K))
    return {
        "E0_exact_J": _out(exact),
        "E0_eq7_J": _out(printed),
        "printed_holds": _out_bool(exact >= printed - tol),
        "corrected_holds": _out_bool(exact <= printed + tol),
    }


def _out_bool(a: np.ndarray) -> Any:
    return bool(a) if np.ndim(a) == 0 else a


# ---------------------------------------------------------------- asymptote
def asymptotic_barrier_J(n: Any, alpha: float, T_K: Any = 300.0) -> Any:
    """Large-n barrier for ``eps_n = 1/n``, ``g = 1``, ``R_n = R_max eps_n^(1+alpha)``:

    ``E0_n ~ kT (alpha ln n - ln 2)``. Exact value (PW Eq. 4):
    ``kT[(1+alpha) ln n + ln tanh(1/(2n))]`` and ``ln tanh(y) = ln y - y^2/3 + O(y^4)``,
    so the absolute error is ``kT/(12 n^2) + O(n^-4)``.
    """
    n = _arr("n", n, positive=True)
    return _out(_kT(T_K) * (alpha * np.log(n) - math.log(2.0)))
