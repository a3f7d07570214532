"""FN-DAM floating gate: the tunnelling ODE and its exact closed form (theory.md s.5).

A floating gate of total capacitance ``C_T`` leaks through an FN junction::

    C_T dV/dt = -area * A * (V/t_ox)^2 * exp(-B t_ox / V),   V = oxide voltage.

Substituting ``u = 1/V`` gives ``du/dt = (k1/k2) exp(-k2 u)``, so
``d(exp(k2 u))/dt = k1`` and (Mehta et al., Nat. Commun. 13:1670 (2022))::

    V(t) = k2 / ln(k1 t + k0),
    k2 = B t_ox (V),   k1 = A area B / (C_T t_ox) (1/s),   k0 = exp(k2 / V0).

``k0`` overflows a float once ``k2/V0 > 709`` (V0 below ~0.43 V for the
reference device), so everything here works with ``ln k0 = k2/V0`` and
``ln(k1 t + k0) = logaddexp(ln k1 + ln t, ln k0)``; results stay finite and
accurate for small V0. The derivation is in docs/device.md.

Temperature and image force (docs/device.md s.6-8): with the thermal factor
and/or image-force lowering the closed form is no longer exact; the functions
below take keyword-only ``T_K`` (``None`` = classic T = 0 K law) and
``image_force`` and then step the exact u-space trajectory of
:mod:`lim_hw.device.trajectory` instead (same cancellation-free drop form).
:func:`fn_closed_form_V` and :func:`closed_form_from_k` stay the classic closed
form; :func:`fg_voltage_V` is ``V(t)`` under any law.

Sign convention: ``V`` is the oxide voltage that drives tunnelling; for
``V <= 0`` the junction does not conduct (see :mod:`lim_hw.device.fn`) and the
voltage stays where it is. All functions broadcast over every argument, use SI
units, and return ``float`` for scalar inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from lim_hw.device.fn import (
    M_EFF_DEFAULT,
    PHI_B_DEFAULT_EV,
    _coeffs,
    _finite,
    _nonnegative,
    _out,
    _positive,
    fn_current_A,
)
from lim_hw.device.fn_law import trajectory_constants
from lim_hw.device.trajectory import law_drop_scalar_V, law_drop_V, law_time_s
from lim_hw.errors import InputError

__all__ = [
    "fg_voltage_V",
    "device_voltage_V",
    "decay_drop_from_k_V",
    "FGConstants",
    "fn_k_constants",
    "fn_closed_form_V",
    "closed_form_from_k",
    "fg_dVdt_V_per_s",
    "decay_voltage_after_V",
    "decay_charge_C",
    "tunnel_energy_J",
    "time_to_reach_s",
    "device_from_k",
]


@dataclass(frozen=True)
class FGConstants:
    """Closed-form constants of ``V(t) = k2 / ln(k1 t + k0)`` (theory.md s.5).

    ``k0`` is ``exp(ln_k0)`` and may be ``inf`` for small V0; use ``ln_k0``
    for computation. Fields are floats, or arrays when built from arrays.
    """

    k0: float | np.ndarray
    ln_k0: float | np.ndarray
    k1_per_s: float | np.ndarray
    k2_V: float | np.ndarray

    @property
    def V0_V(self) -> float | np.ndarray:
        """Initial oxide voltage ``k2 / ln k0`` (V)."""
        return _out(np.asarray(self.k2_V) / np.asarray(self.ln_k0))

    @property
    def t_knee_s(self) -> float | np.ndarray:
        """``k0/k1`` (s): before it V barely moves, after it ``V ~ k2/ln(k1 t)``."""
        return _out(np.exp(np.asarray(self.ln_k0) - np.log(self.k1_per_s)))

    def V_at(self, t_s: ArrayLike) -> float | np.ndarray:
        """Oxide voltage (V) at time ``t_s`` (see :func:`closed_form_from_k`)."""
        return closed_form_from_k(t_s, None, self.k1_per_s, self.k2_V, ln_k0=self.ln_k0)


def _k12(tox_m, area_m2, C_T_F, phi_B_eV, m_eff) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(k1_per_s, k2_V)`` as arrays."""
    tox = _positive("tox_m", tox_m)
    area = _positive("area_m2", area_m2)
    C_T = _positive("C_T_F", C_T_F)
    A, B = _coeffs(phi_B_eV, m_eff)
    return A * area * B / (C_T * tox), B * tox


def _law_consts(tox_m, k2, phi_B_eV, T_K, image_force):
    """Trajectory constants ``(s_V, f1_per_V)`` of the law (zeros for the classic law)."""
    if T_K is not None:
        _positive("T_K", T_K)
    return trajectory_constants(phi_B_eV, _positive("tox_m", tox_m), k2, T_K, bool(image_force))


def _decay(V_start: np.ndarray, dt: np.ndarray, k1: np.ndarray, k2: np.ndarray, s=0.0, f1=0.0):
    """Restarted closed form: ``(V_end, V_start - V_end)`` without cancellation.

    With ``ln k0 = k2/V_start`` and ``delta = ln(1 + k1 dt / k0)`` (a softplus,
    exact for tiny and huge arguments): ``V_end = k2 / (ln k0 + delta)`` and
    ``V_start - V_end = V_start * delta / (ln k0 + delta)``.
    Non-positive ``V_start`` does not conduct: ``V_end = V_start``.
    """
    if np.any(np.asarray(s) != 0) or np.any(np.asarray(f1) != 0):
        V_start, dt, k1 = np.broadcast_arrays(V_start, dt, k1)
        dV = law_drop_V(V_start, k1 * dt, k2, s, f1)
        return V_start - dV, dV
    V_start, dt, k1, k2 = np.broadcast_arrays(V_start, dt, k1, k2)
    pos = V_start > 0
    Vs = np.where(pos, V_start, 1.0)
    with np.errstate(divide="ignore", over="ignore"):
        ln_k0 = k2 / Vs
        x = np.log(k1) + np.log(dt) - ln_k0          # ln(k1 dt / k0); -inf for dt = 0
        delta = np.logaddexp(0.0, x)                  # ln(1 + k1 dt / k0)
        L = ln_k0 + delta                             # ln(k1 dt + k0)
        V_end = np.where(pos, k2 / L, V_start)
        dV = np.where(pos, Vs * delta / L, 0.0)
    return V_end, dV


def fn_k_constants(
    tox_m: ArrayLike,
    area_m2: ArrayLike,
    C_T_F: ArrayLike,
    V0_V: ArrayLike,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
) -> FGConstants:
    """``k0, k1, k2`` of the FN-DAM closed form (theory.md s.5; Mehta et al. 2022).

    ``k2 = B t_ox`` (V), ``k1 = A area B / (C_T t_ox)`` (1/s), ``ln k0 = k2/V0``;
    ``k0 = exp(ln k0)`` is ``inf`` when it overflows. ``V0_V`` must be > 0.
    Reference (12 nm, 1 um^2, 100 fF, 8 V): k2 = 304.09 V, k1 = 2.422e13 1/s, k0 = 3.223e16.
    """
    k1, k2 = _k12(tox_m, area_m2, C_T_F, phi_B_eV, m_eff)
    V0 = _positive("V0_V", V0_V)
    ln_k0 = k2 / V0
    with np.errstate(over="ignore"):
        k0 = np.exp(ln_k0)
    k1, k2, ln_k0, k0 = np.broadcast_arrays(k1, k2, ln_k0, k0)
    return FGConstants(k0=_out(k0), ln_k0=_out(ln_k0), k1_per_s=_out(k1), k2_V=_out(k2))


def fn_closed_form_V(
    t_s: ArrayLike,
    tox_m: ArrayLike,
    area_m2: ArrayLike,
    C_T_F: ArrayLike,
    V0_V: ArrayLike,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
) -> float | np.ndarray:
    """Oxide voltage ``V(t) = k2 / ln(k1 t + k0)`` (V) of a gate starting at ``V0_V`` at t = 0.

    Exact solution of the FN-DAM ODE (theory.md s.5; Mehta et al., Nat. Commun.
    13:1670 (2022)), evaluated in log space. ``t_s >= 0``; ``V0_V <= 0`` does
    not tunnel and is returned unchanged.
    """
    return fg_voltage_V(t_s, tox_m, area_m2, C_T_F, V0_V, phi_B_eV, m_eff)


def fg_voltage_V(
    t_s: ArrayLike,
    tox_m: ArrayLike,
    area_m2: ArrayLike,
    C_T_F: ArrayLike,
    V0_V: ArrayLike,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
    *,
    T_K: float | None = None,
    image_force: bool = False,
) -> float | np.ndarray:
    """Oxide voltage ``V(t)`` (V) of a gate starting at ``V0_V`` under the FN law (docs/device.md s.8).

    The classic closed form for ``T_K = None`` without image force (= :func:`fn_closed_form_V`),
    else the exact trajectory of :mod:`lim_hw.device.trajectory`.
    """
    t = _nonnegative("t_s", t_s)
    V0 = _finite("V0_V", V0_V)
    k1, k2 = _k12(tox_m, area_m2, C_T_F, phi_B_eV, m_eff)
    s, f1 = _law_consts(tox_m, k2, phi_B_eV, T_K, image_force)
    return _out(_decay(V0, t, k1, k2, s, f1)[0])


def device_voltage_V(dev, t_s: ArrayLike) -> float | np.ndarray:
    """``V(t)`` of a card's device (:class:`~lim_hw.device.card.DeviceParams`) in free decay from ``V0_V``
    under its FN law (``fn_model``, ``image_force``, ``T_K``): :func:`fg_voltage_V`."""
    return fg_voltage_V(t_s, dev.tox_m, dev.area_m2, dev.C_T_F, dev.V0_V, dev.phi_B_eV, dev.m_eff,
                        T_K=dev.T_K if dev.law.thermal else None, image_force=dev.image_force)


def _ln_k0(k0: ArrayLike | None, ln_k0: ArrayLike | None, caller: str) -> np.ndarray:
    """ln k0 from exactly one of ``k0`` (> 1) or ``ln_k0`` (> 0)."""
    if (k0 is None) == (ln_k0 is None):
        raise InputError(f"give exactly one of k0 or ln_k0 to {caller}")
    if ln_k0 is not None:
        return _positive("ln_k0", ln_k0)
    k0a = _positive("k0", k0)
    if not np.all(k0a > 1):
        raise InputError("k0 must be > 1 (k0 = exp(k2/V0) with V0 > 0)")
    return np.log(k0a)


def closed_form_from_k(
    t_s: ArrayLike,
    k0: ArrayLike | None,
    k1_per_s: ArrayLike,
    k2_V: ArrayLike,
    *,
    ln_k0: ArrayLike | None = None,
) -> float | np.ndarray:
    """``V(t) = k2 / ln(k1 t + k0)`` (V) from the constants directly (e.g. fitted ones).

    Give exactly one of ``k0`` (> 1) or ``ln_k0`` (> 0; use it when k0 overflows).
    """
    lk0 = _ln_k0(k0, ln_k0, "closed_form_from_k")
    t = _nonnegative("t_s", t_s)
    k1 = _positive("k1_per_s", k1_per_s)
    k2 = _positive("k2_V", k2_V)
    with np.errstate(divide="ignore"):
        L = np.logaddexp(np.log(k1) + np.log(t), lk0)
    return _out(k2 / L)


def fg_dVdt_V_per_s(
    V_ox_V: ArrayLike,
    tox_m: ArrayLike,
    area_m2: ArrayLike,
    C_T_F: ArrayLike,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
    *,
    T_K: float | None = None,
    image_force: bool = False,
) -> float | np.ndarray:
    """ODE right-hand side ``dV/dt = -I_FN(V) / C_T`` (V/s); <= 0, and 0 for ``V <= 0``."""
    C_T = _positive("C_T_F", C_T_F)
    return _out(-np.asarray(fn_current_A(V_ox_V, tox_m, area_m2, phi_B_eV, m_eff, T_K=T_K,
                                         image_force=image_force)) / C_T)


def _restarted(V_start_V, dt_s, tox_m, area_m2, C_T_F, phi_B_eV, m_eff, T_K=None, image_force=False):
    """Checked inputs -> ``(V_start, V_end, V_start - V_end)`` of the restarted trajectory."""
    V_start = _finite("V_start_V", V_start_V)
    dt = _nonnegative("dt_s", dt_s)
    k1, k2 = _k12(tox_m, area_m2, C_T_F, phi_B_eV, m_eff)
    s, f1 = _law_consts(tox_m, k2, phi_B_eV, T_K, image_force)
    return (V_start, *_decay(V_start, dt, k1, k2, s, f1))


def decay_drop_from_k_V(V_start_V: ArrayLike, dt_s: ArrayLike, k1_per_s: float, k2_V: float,
                        s_V: ArrayLike = 0.0, f1_per_V: ArrayLike = 0.0) -> np.ndarray:
    """Drop of the oxide voltage (V) over ``dt_s`` of free decay, from the constants k1, k2 (and the law's).

    Unchecked fast path of :func:`decay_voltage_after_V` for callers that already
    hold validated constants (synthesis, the fast model, energy accounting); 0 for ``V <= 0``.
    ``s_V``, ``f1_per_V``: the thermal and image-force constants of the law
    (:meth:`lim_hw.device.fn_law.FNLaw.trajectory_constants`; both 0 = the classic
    closed form). Scalars take a ``math`` path (~1 us classic, ~20 us thermal, instead
    of ~12 / ~100 us through numpy: the synthesis root-finder calls this ~50 times per update).
    """
    if _all_scalar(V_start_V, dt_s, k1_per_s, k2_V, s_V, f1_per_V):
        return np.float64(decay_drop_scalar_V(V_start_V, dt_s, k1_per_s, k2_V, s_V, f1_per_V))
    return _decay(np.asarray(V_start_V, dtype=float), np.asarray(dt_s, dtype=float), k1_per_s, k2_V,
                  s_V, f1_per_V)[1]


def decay_drop_scalar_V(V_start_V: float, dt_s: float, k1_per_s: float, k2_V: float, s_V: float = 0.0,
                        f1_per_V: float = 0.0) -> float:
    """:func:`decay_drop_from_k_V` of one set of numbers, as a Python float (the synthesis root finder's path)."""
    if s_V == 0 and f1_per_V == 0:
        return _decay_drop_scalar(float(V_start_V), float(dt_s), float(k1_per_s), float(k2_V))
    dt = float(dt_s)
    return law_drop_scalar_V(float(V_start_V), float(k1_per_s) * dt if dt > 0 else 0.0,
                             float(k2_V), float(s_V), float(f1_per_V))


_SCALARS = (float, int, np.float64)


def _all_scalar(*values: object) -> bool:
    """Every value a 0-d number (``type`` checks first: ``np.ndim`` costs ~2 us a call in the root finder)."""
    return all(type(v) in _SCALARS or np.ndim(v) == 0 for v in values)


def _decay_drop_scalar(V_start: float, dt: float, k1: float, k2: float) -> float:
    """:func:`_decay`'s ``V_start - V_end`` for one set of floats (same softplus formulas)."""
    if not V_start > 0 or dt <= 0:
        return 0.0
    ln_k0 = k2 / V_start
    x = math.log(k1) + math.log(dt) - ln_k0           # ln(k1 dt / k0)
    delta = x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))  # ln(1 + e^x)
    return V_start * delta / (ln_k0 + delta)


def decay_voltage_after_V(
    V_start_V: ArrayLike,
    dt_s: ArrayLike,
    tox_m: ArrayLike,
    area_m2: ArrayLike,
    C_T_F: ArrayLike,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
    *,
    T_K: float | None = None,
    image_force: bool = False,
) -> float | np.ndarray:
    """Oxide voltage (V) after tunnelling for ``dt_s`` from ``V_start_V``: the closed form restarted.

    The law is autonomous, so any interval of constant external drive (e.g. a
    rectangular programming pulse that shifts the oxide voltage by a constant)
    obeys the same closed form from the shifted start value.
    """
    return _out(_restarted(V_start_V, dt_s, tox_m, area_m2, C_T_F, phi_B_eV, m_eff, T_K, image_force)[1])


def decay_charge_C(
    V_start_V: ArrayLike,
    dt_s: ArrayLike,
    tox_m: ArrayLike,
    area_m2: ArrayLike,
    C_T_F: ArrayLike,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
    *,
    T_K: float | None = None,
    image_force: bool = False,
) -> float | np.ndarray:
    """Charge moved through the oxide in ``dt_s`` (C): ``C_T (V_start - V_end) = int I_FN dt`` >= 0.

    Computed without cancellation, so it stays accurate for pulses far shorter
    than the decay time. Divide by ``q_C`` for the number of electrons.
    """
    C_T = _positive("C_T_F", C_T_F)
    return _out(C_T * _restarted(V_start_V, dt_s, tox_m, area_m2, C_T_F, phi_B_eV, m_eff, T_K, image_force)[2])


def tunnel_energy_J(
    V_start_V: ArrayLike,
    dt_s: ArrayLike,
    tox_m: ArrayLike,
    area_m2: ArrayLike,
    C_T_F: ArrayLike,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
    *,
    T_K: float | None = None,
    image_force: bool = False,
) -> float | np.ndarray:
    """Energy dissipated by the tunnelling electrons over ``dt_s`` (J): ``int I_FN V_ox dt``.

    Since ``I_FN = -C_T dV/dt``, ``int I V dt = -C_T int V dV
    = C_T (V_start^2 - V_end^2) / 2`` (theory.md s.8, ``E_tunnel``).
    """
    C_T = _positive("C_T_F", C_T_F)
    V_start, V_end, dV = _restarted(V_start_V, dt_s, tox_m, area_m2, C_T_F, phi_B_eV, m_eff, T_K, image_force)
    return _out(C_T * dV * (np.broadcast_to(V_start, V_end.shape) + V_end) / 2.0)


def time_to_reach_s(
    V_start_V: ArrayLike,
    V_end_V: ArrayLike,
    tox_m: ArrayLike,
    area_m2: ArrayLike,
    C_T_F: ArrayLike,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
    *,
    T_K: float | None = None,
    image_force: bool = False,
) -> float | np.ndarray:
    """Time (s) for the gate to decay from ``V_start_V`` to ``V_end_V`` (inverse of the closed form).

    ``t = (exp(k2/V_end) - exp(k2/V_start)) / k1``, evaluated as
    ``exp(k2/V_end - ln k1) * (-expm1(k2/V_start - k2/V_end))``; requires
    ``0 < V_end <= V_start``. Returns ``inf`` if the time exceeds a float.
    """
    Vs = _positive("V_start_V", V_start_V)
    Ve = _positive("V_end_V", V_end_V)
    if not np.all(Ve <= Vs):
        raise InputError("V_end_V must be <= V_start_V: the FN decay only lowers the oxide voltage")
    k1, k2 = _k12(tox_m, area_m2, C_T_F, phi_B_eV, m_eff)
    s, f1 = _law_consts(tox_m, k2, phi_B_eV, T_K, image_force)
    if T_K is not None or image_force:
        return _out(law_time_s(Vs, Ve, k1, k2, s, f1))
    with np.errstate(over="ignore"):
        t = np.exp(k2 / Ve - np.log(k1)) * -np.expm1(k2 / Vs - k2 / Ve)
    return _out(t)


def device_from_k(
    k1_per_s: ArrayLike,
    k2_V: ArrayLike,
    k0: ArrayLike | None = None,
    *,
    ln_k0: ArrayLike | None = None,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
) -> dict[str, float | np.ndarray]:
    """Device parameters from closed-form constants (inverse of :func:`fn_k_constants`).

    Returns ``{"tox_m": k2/B, "area_over_C_T_m2_per_F": k1 k2 / (A B^2),
    "V0_V": k2 / ln k0}`` for the assumed ``phi_B_eV`` and ``m_eff``.

    Identifiability: a decay trace fixes only (k0, k1, k2). ``area`` and ``C_T``
    enter only as ``area/C_T``; they are never separable. ``k2`` fixes
    ``t_ox phi_B^1.5 sqrt(m*)`` and ``k1 k2`` fixes ``phi_B^2 area/C_T``
    (``m*`` cancels), so phi_B and m* cannot be separated from the trace alone;
    with t_ox known, ``phi_B^1.5 sqrt(m*)`` is known; with t_ox *and*
    area/C_T known, phi_B and m* separate. ``V0 = k2/ln k0`` is always
    identified. See docs/device.md.
    """
    lk0 = _ln_k0(k0, ln_k0, "device_from_k")
    k1 = _positive("k1_per_s", k1_per_s)
    k2 = _positive("k2_V", k2_V)
    A, B = _coeffs(phi_B_eV, m_eff)
    tox = k2 / B
    ratio = k1 * tox / (A * B)
    return {
        "tox_m": _out(tox),
        "area_over_C_T_m2_per_F": _out(ratio),
        "V0_V": _out(k2 / lk0),
    }
