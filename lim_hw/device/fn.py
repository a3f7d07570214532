"""Fowler-Nordheim (FN) tunnelling through a thin oxide (theory.md section 4).

    J = A * E**2 * exp(-B / E),   E = V_ox / t_ox,
    A = q**3 m0 / (8 pi h m* phi_B)            [A/V^2]
    B = 8 pi sqrt(2 m*) phi_B**1.5 / (3 q h)   [V/m]   (phi_B in joules inside)

Si/SiO2 defaults phi_B = 3.2 eV, m* = 0.42 m0 (Lenzlinger & Snow, J. Appl.
Phys. 40, 278 (1969)) give A = 1.146900e-6 A/V^2 and B = 2.534118e10 V/m.

Temperature and image force (:mod:`lim_hw.device.fn_law`, docs/device.md s.6-7):
every current function takes keyword-only ``T_K`` (``None``, the default, is the
classic T = 0 K law; a temperature applies the Murphy-Good thermal factor
``pi c kT / sin(pi c kT)``) and ``image_force`` (Murphy-Good barrier lowering with
Forbes' v(f), t(f)). Beyond ``c kT = 0.95`` the thermal factor is held at its
value there (as in circuits/fn_junction.lib); :func:`lim_hw.device.fn_law.thermal_factor`
itself refuses ``c kT >= 1``.

Direction convention: the FN-DAM junction conducts in one direction only in
this model. A non-positive oxide field (``E <= 0``) gives zero current; the
sign-symmetric (reverse) branch is deliberately not modelled, because in the
FN-DAM cell the reverse field is never large enough to tunnel.

All functions are vectorised (numpy broadcasting over every argument), use SI
units, return ``float`` for scalar inputs and ``numpy.ndarray`` otherwise, and
raise :class:`lim_hw.errors.InputError` for non-finite or out-of-range input.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from lim_hw.constants import h_Js, m0_kg, q_C
from lim_hw.errors import InputError

__all__ = [
    "PHI_B_DEFAULT_EV",
    "M_EFF_DEFAULT",
    "fn_coefficients",
    "oxide_field_V_per_m",
    "fn_current_density_A_per_m2",
    "fn_current_A",
    "ln_fn_current_A",
    "fn_transition_rate_per_s",
]

PHI_B_DEFAULT_EV: float = 3.2  #: Si/SiO2 barrier height (eV), Lenzlinger & Snow 1969
M_EFF_DEFAULT: float = 0.42  #: effective mass in the oxide, in units of m0


# --------------------------------------------------------------------------- #
# private helpers shared by the device modules
# --------------------------------------------------------------------------- #
def _finite(name: str, x: ArrayLike) -> np.ndarray:
    """``x`` as a float array; InputError if any element is NaN or infinite."""
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a real number or array of numbers; got {x!r}") from exc
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} must be finite (no NaN or inf); fix the input value")
    return a


def _positive(name: str, x: ArrayLike) -> np.ndarray:
    """``x`` as a float array; InputError unless every element is finite and > 0."""
    a = _finite(name, x)
    if not np.all(a > 0):
        raise InputError(f"{name} must be > 0; got min {np.min(a)!r}")
    return a


def _nonnegative(name: str, x: ArrayLike) -> np.ndarray:
    """``x`` as a float array; InputError unless every element is finite and >= 0."""
    a = _finite(name, x)
    if not np.all(a >= 0):
        raise InputError(f"{name} must be >= 0; got min {np.min(a)!r}")
    return a


def _out(a: np.ndarray) -> float | np.ndarray:
    """Return a Python float for 0-d results, the array otherwise."""
    a = np.asarray(a, dtype=float)
    return float(a) if a.ndim == 0 else a


def _coeffs(phi_B_eV: ArrayLike, m_eff: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validated A (A/V^2) and B (V/m) as arrays (see :func:`fn_coefficients`)."""
    phi_J = _positive("phi_B_eV", phi_B_eV) * q_C
    m_star = _positive("m_eff", m_eff) * m0_kg
    A = q_C**3 * m0_kg / (8.0 * np.pi * h_Js * m_star * phi_J)
    B = 8.0 * np.pi * np.sqrt(2.0 * m_star) * phi_J**1.5 / (3.0 * q_C * h_Js)
    return A, B


# --------------------------------------------------------------------------- #
# public API
# --------------------------------------------------------------------------- #
def fn_coefficients(
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV, m_eff: ArrayLike = M_EFF_DEFAULT
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """FN coefficients ``(A_A_per_V2, B_V_per_m)`` (theory.md s.4; Lenzlinger & Snow 1969).

    ``A = q^3 m0 / (8 pi h m* phi_B)`` and ``B = 8 pi sqrt(2 m*) phi_B^1.5 / (3 q h)``
    with ``m* = m_eff * m0`` and ``phi_B`` converted to joules. Defaults give
    A = 1.146900e-6 A/V^2, B = 2.534118e10 V/m.
    """
    A, B = _coeffs(phi_B_eV, m_eff)
    return _out(A), _out(B)


def oxide_field_V_per_m(V_ox_V: ArrayLike, tox_m: ArrayLike) -> float | np.ndarray:
    """Oxide field ``E = V_ox / t_ox`` (V/m); sign follows ``V_ox``."""
    return _out(_finite("V_ox_V", V_ox_V) / _positive("tox_m", tox_m))


def fn_current_density_A_per_m2(
    E_V_per_m: ArrayLike,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
    *,
    T_K: float | None = None,
    image_force: bool = False,
) -> float | np.ndarray:
    """FN current density ``J = A E^2 exp(-B/E)`` (A/m^2); 0 for ``E <= 0`` (one-way junction).

    theory.md s.4; Lenzlinger & Snow 1969. Underflows gracefully to 0 at low field.
    With ``T_K`` and/or ``image_force``: ``J = J_0 R`` (docs/device.md s.6-7).
    """
    E = _finite("E_V_per_m", E_V_per_m)
    A, B = _coeffs(phi_B_eV, m_eff)
    pos = E > 0
    Es = np.where(pos, E, 1.0)
    lnR = _ln_correction(Es, B, phi_B_eV, T_K, image_force)
    J = np.where(pos, A * Es**2 * np.exp(-B / Es + lnR), 0.0)
    return _out(J)


def _ln_correction(E: np.ndarray, B: np.ndarray, phi_B_eV: ArrayLike, T_K: float | None,
                   image_force: bool) -> np.ndarray | float:
    """``ln(J / J_0)`` at fields ``E > 0`` (0 for the classic law); see :mod:`lim_hw.device.fn_law`."""
    if T_K is None and not image_force:
        return 0.0
    from .fn_law import trajectory_constants, ln_rate_factor_u

    if T_K is not None:
        _positive("T_K", T_K)
    # in trajectory variables with t_ox = 1 m: u = 1/E, k2 = B
    s, f1 = trajectory_constants(phi_B_eV, 1.0, B, T_K, image_force)
    return ln_rate_factor_u(1.0 / E, B, s, f1, T_K is not None, image_force)


def fn_current_A(
    V_ox_V: ArrayLike,
    tox_m: ArrayLike,
    area_m2: ArrayLike,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
    *,
    T_K: float | None = None,
    image_force: bool = False,
) -> float | np.ndarray:
    """FN current ``I = area * J(V_ox / t_ox)`` (A); 0 for ``V_ox <= 0``.

    Positive current is conventional current from the higher-potential node
    into the lower one (electrons tunnel toward the higher potential).
    """
    E = _finite("V_ox_V", V_ox_V) / _positive("tox_m", tox_m)
    area = _positive("area_m2", area_m2)
    return _out(area * np.asarray(fn_current_density_A_per_m2(E, phi_B_eV, m_eff, T_K=T_K,
                                                              image_force=image_force)))


def ln_fn_current_A(
    V_ox_V: ArrayLike,
    tox_m: ArrayLike,
    area_m2: ArrayLike,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
    *,
    T_K: float | None = None,
    image_force: bool = False,
) -> float | np.ndarray:
    """Natural log of the FN current in amperes, without underflow; ``-inf`` for ``V_ox <= 0``.

    ``ln I = ln(area A) + 2 ln(V_ox/t_ox) - B t_ox / V_ox``. Used by the
    barrier mapping (:mod:`lim_hw.device.barrier`) so that very low voltages,
    whose current underflows a float, still have a finite barrier.
    """
    V = _finite("V_ox_V", V_ox_V)
    tox = _positive("tox_m", tox_m)
    area = _positive("area_m2", area_m2)
    A, B = _coeffs(phi_B_eV, m_eff)
    pos = V > 0
    Vs = np.where(pos, V, 1.0)
    lnI = np.log(area * A) + 2.0 * np.log(Vs / tox) - B * tox / Vs + _ln_correction(Vs / tox, B, phi_B_eV,
                                                                                      T_K, image_force)
    return _out(np.where(pos, lnI, -np.inf))


def fn_transition_rate_per_s(
    V_ox_V: ArrayLike,
    tox_m: ArrayLike,
    area_m2: ArrayLike,
    phi_B_eV: ArrayLike = PHI_B_DEFAULT_EV,
    m_eff: ArrayLike = M_EFF_DEFAULT,
    *,
    T_K: float | None = None,
    image_force: bool = False,
) -> float | np.ndarray:
    """Tunnelling transitions per second ``R_FN = I_FN / q`` (one transition = one electron; theory.md s.7)."""
    return _out(np.asarray(fn_current_A(V_ox_V, tox_m, area_m2, phi_B_eV, m_eff, T_K=T_K,
                                        image_force=image_force)) / q_C)
