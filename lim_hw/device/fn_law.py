"""The FN law of a device: classic (T = 0 K), thermal (Murphy-Good) and image-force corrections.

The classic Fowler-Nordheim law (theory.md s.4, docs/device.md s.1) is
``J_0 = A E^2 exp(-B/E)``. Two corrections multiply it (docs/device.md s.6, s.7):

- **temperature** (Murphy & Good 1956; Good & Mueller 1956): electrons
  above the Fermi level tunnel through a thinner barrier,
  ``J(E, T) = J_0(E) * F_T``, ``F_T = pi c kT / sin(pi c kT)`` with
  ``c kT = kT * 2 sqrt(2 m* phi_B) t(f) / (hbar q E)``. Since
  ``B = 8 pi sqrt(2 m*) phi_B^1.5 / (3 q h)``, ``c kT = (3/2) (kT/(q phi_B)) (B/E) t(f)``
  exactly (phi_B in volts). Valid for ``c kT`` well below 1: the formula
  diverges at ``c kT -> 1``, where over-barrier (thermionic-field) transport
  takes over. lim-hw refuses operating points above :data:`CKT_VALID_MAX` and,
  where a trajectory decays past it, clamps the argument at :data:`CKT_GUARD`
  (there the current is ~1e-30 of the programming current; see docs/device.md s.6).
- **image force** (Murphy & Good 1956; Forbes 2006 approximation): the barrier
  is lowered by ``sqrt(q E / (4 pi eps))`` (volts) and rounded;
  ``J = (A E^2 / t(f)^2) exp(-v(f) B/E)`` with the scaled barrier field
  ``f = q E / (4 pi eps_0 eps_r phi_B^2)`` and Forbes' approximations
  ``v(f) = 1 - f + (f/6) ln f``, ``t(f) = 1 + f/9 - (f/18) ln f``
  (R. G. Forbes, Appl. Phys. Lett. 89, 113122 (2006), Eqs. 4-5; error below
  0.33 % in v for 0 <= f <= 1). ``eps_r`` is SiO2's optical (high-frequency)
  permittivity :data:`EPS_R_IMAGE` = 2.15 (n^2 with n = 1.46): a tunnelling
  electron crosses the barrier faster than the lattice polarises, so only the
  electronic polarisation screens its image charge.

Along a floating-gate trajectory (``u = 1/V``, ``k2 = B t_ox``) both corrections
are a smooth factor ``R(u)`` of the classic rate, with two constants per cell:
``s_V = (3/2) k2 kT / (q phi_B)`` (V; 0 for the classic law) and
``f1_per_V = q / (4 pi eps_0 eps_r phi_B^2 t_ox)`` (1/V, ``f = f1 V``; 0 without
image force). :func:`ln_rate_factor_u` evaluates ``ln R``; the trajectory is in
:mod:`lim_hw.device.trajectory`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..constants import k_B_J_per_K, q_C
from ..errors import InputError

__all__ = ["FNLaw", "FN_MODELS", "trajectory_constants", "constants_from_scales", "EPS0_F_PER_M", "EPS_R_IMAGE", "EPS_R_STATIC", "CKT_VALID_MAX", "CKT_GUARD",
           "forbes_v", "forbes_t", "ln_rate_factor_u", "rate_factor_field", "thermal_factor", "ckT_field"]

#: Vacuum permittivity (F/m), CODATA 2022 (as scipy.constants.epsilon_0).
EPS0_F_PER_M: float = 8.8541878188e-12
#: Optical (high-frequency) relative permittivity of SiO2 used for the image force: n^2, n = 1.46.
EPS_R_IMAGE: float = 2.15
#: Static relative permittivity of SiO2 (junction capacitance eps_ox A / t_ox).
EPS_R_STATIC: float = 3.9
#: Largest ``c kT`` accepted at an operating point (the thermal factor diverges at 1).
CKT_VALID_MAX: float = 0.8
#: ``c kT`` at which trajectories clamp the thermal factor (``F_T = 19.1``; same guard as circuits/fn_junction.lib).
CKT_GUARD: float = 0.95
#: Card values of ``[device] fn_model``.
FN_MODELS = ("thermal", "classic")

_X_GUARD = math.pi * CKT_GUARD


def forbes_v(f: ArrayLike) -> Any:
    """Barrier-shape function ``v(f) = 1 - f + (f/6) ln f`` (Forbes 2006, Eq. 4); ``v(0) = 1``."""
    f = np.asarray(f, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(f > 0, 1.0 - f + f * np.log(np.where(f > 0, f, 1.0)) / 6.0, 1.0)
    return float(out) if out.ndim == 0 else out


def forbes_t(f: ArrayLike) -> Any:
    """``t(f) = 1 + f/9 - (f/18) ln f`` (Forbes 2006, Eq. 5); ``t(0) = 1``."""
    f = np.asarray(f, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(f > 0, 1.0 + f / 9.0 - f * np.log(np.where(f > 0, f, 1.0)) / 18.0, 1.0)
    return float(out) if out.ndim == 0 else out


def thermal_factor(ckT: ArrayLike) -> Any:
    """``F_T = pi x / sin(pi x)`` for ``x = c kT`` in [0, 1) (Murphy & Good 1956); 1 at x = 0.

    InputError for ``x >= 1`` (the formula diverges: over-barrier transport).
    """
    x = np.asarray(ckT, dtype=float)
    if np.any(~np.isfinite(x)) or np.any(x < 0) or np.any(x >= 1.0):
        raise InputError(f"c kT = {np.max(x):.3g} is outside [0, 1): the thermal FN factor pi ckT/sin(pi ckT) "
                         "diverges there (thermionic/over-barrier transport); lower T or raise the field")
    px = math.pi * x
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(px > 1e-8, px / np.sin(np.where(px > 1e-8, px, 1.0)), 1.0 + px * px / 6.0)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class FNLaw:
    """Which FN law a device follows: barrier, mass, temperature and the two corrections.

    ``T_K = None`` (or ``thermal=False`` through :meth:`from_device` with
    ``fn_model = "classic"``) is the classic T = 0 K law; ``image_force`` adds
    the Murphy-Good barrier lowering (Forbes 2006 functions, ``eps_r_image``).
    """

    phi_B_eV: float = 3.2
    m_eff: float = 0.42
    T_K: float | None = None
    image_force: bool = False
    eps_r_image: float = EPS_R_IMAGE

    def __post_init__(self) -> None:
        for name in ("phi_B_eV", "m_eff", "eps_r_image"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"FNLaw {name} = {v!r} must be a finite number > 0")
        if self.T_K is not None and not (math.isfinite(self.T_K) and self.T_K > 0):
            raise InputError(f"FNLaw T_K = {self.T_K!r} must be > 0 (or None for the T = 0 K law)")

    @classmethod
    def from_device(cls, dev: Any) -> "FNLaw":
        """The law of a :class:`~lim_hw.device.card.DeviceParams` (its fn_model, image_force, T_K)."""
        thermal = getattr(dev, "fn_model", "classic") == "thermal"
        return cls(dev.phi_B_eV, dev.m_eff, dev.T_K if thermal else None, bool(getattr(dev, "image_force", False)))

    @property
    def thermal(self) -> bool:
        return self.T_K is not None

    @property
    def is_classic(self) -> bool:
        """No correction: the closed form ``V = k2 / ln(k1 t + k0)`` is exact."""
        return not self.thermal and not self.image_force

    @property
    def name(self) -> str:
        """``classic``, ``thermal``, ``image-force`` or ``thermal+image-force``."""
        parts = (["thermal"] if self.thermal else []) + (["image-force"] if self.image_force else [])
        return "+".join(parts) or "classic"

    def trajectory_constants(self, tox_m: Any, k2_V: Any) -> tuple[Any, Any]:
        """``(s_V, f1_per_V)`` for cells of oxide ``tox_m`` with ``k2 = B t_ox`` (see :func:`trajectory_constants`)."""
        return trajectory_constants(self.phi_B_eV, tox_m, k2_V, self.T_K, self.image_force, self.eps_r_image)

    def scaled_field(self, E_V_per_m: Any) -> Any:
        """Scaled barrier field ``f = q E / (4 pi eps_0 eps_r phi_B^2)`` (0 without image force)."""
        if not self.image_force:
            return 0.0 * np.asarray(E_V_per_m, dtype=float)
        return q_C * np.asarray(E_V_per_m, dtype=float) / (4.0 * math.pi * EPS0_F_PER_M * self.eps_r_image
                                                           * self.phi_B_eV**2)

    @property
    def scales(self) -> tuple[float, float] | None:
        """``(sigma, beta)`` with ``s_V = sigma k2`` and ``f1_per_V = beta / k2`` for any cell of this law
        (``s`` is proportional to ``k2 = B t_ox`` and ``f1`` to ``1/t_ox = B/k2``); ``None`` for the
        classic law. Lets per-cell code (mismatched ``t_ox``) derive the law's constants from ``k2``."""
        if self.is_classic:
            return None
        from .fn import fn_coefficients

        _, B = fn_coefficients(self.phi_B_eV, self.m_eff)
        s1, f11 = self.trajectory_constants(1.0, 1.0)      # per unit k2, per unit t_ox
        return float(s1), float(f11) * float(B)

    def barrier_lowering_eV(self, E_V_per_m: ArrayLike) -> Any:
        """Schottky lowering ``sqrt(q E / (4 pi eps))`` (eV) at field E (0 without image force)."""
        out = np.sqrt(np.asarray(self.scaled_field(E_V_per_m))) * self.phi_B_eV
        return float(out) if np.ndim(out) == 0 else out


def trajectory_constants(phi_B_eV: Any, tox_m: Any, k2_V: Any, T_K: float | None, image_force: bool,
                         eps_r_image: float = EPS_R_IMAGE) -> tuple[Any, Any]:
    """``(s_V, f1_per_V)`` of cells of oxide ``tox_m`` with ``k2 = B t_ox`` (scalars or arrays broadcast).

    ``s_V = (3/2) k2 kT/(q phi_B)`` (0 for ``T_K = None``): ``c kT = s t(f) / V``;
    ``f1_per_V = q / (4 pi eps_0 eps_r phi_B^2 t_ox)`` (0 without image force): ``f = f1 V``.
    """
    phi = np.asarray(phi_B_eV, dtype=float)
    s = 1.5 * np.asarray(k2_V, dtype=float) * (k_B_J_per_K * T_K / q_C) / phi if T_K is not None \
        else 0.0 * np.asarray(k2_V, dtype=float)
    f1 = (q_C / (4.0 * math.pi * EPS0_F_PER_M * eps_r_image * phi**2) / np.asarray(tox_m, dtype=float)
          if image_force else 0.0 * np.asarray(tox_m, dtype=float))
    s = float(s) if np.ndim(s) == 0 else s
    f1 = float(f1) if np.ndim(f1) == 0 else f1
    return s, f1


def constants_from_scales(scales: tuple[float, float] | None, k2_V: Any) -> tuple[Any, Any] | None:
    """``(s_V, f1_per_V)`` of a cell with ``k2_V`` from :attr:`FNLaw.scales` (``None`` for the classic law)."""
    if scales is None:
        return None
    sigma, beta = scales
    return sigma * k2_V, (beta / k2_V if beta else 0.0 * k2_V)


def ckT_field(law: FNLaw, E_V_per_m: ArrayLike, B_V_per_m: float) -> Any:
    """``c kT = (3/2) (kT/(q phi_B)) (B/E) t(f)`` at field E (V/m); 0 for the classic law."""
    E = np.asarray(E_V_per_m, dtype=float)
    if not law.thermal:
        out = np.zeros_like(E)
    else:
        with np.errstate(divide="ignore"):
            out = 1.5 * (k_B_J_per_K * law.T_K / q_C) / law.phi_B_eV * B_V_per_m / E
        if law.image_force:
            out = out * np.asarray(forbes_t(law.scaled_field(E)))
    return float(out) if np.ndim(out) == 0 else out


def rate_factor_field(law: FNLaw, E_V_per_m: ArrayLike, B_V_per_m: float) -> Any:
    """``J / J_0`` at field ``E > 0``: ``exp((B/E)(1 - v(f))) / t(f)^2 * F_T`` (docs/device.md s.6-7).

    InputError where ``c kT >= 1`` (the thermal formula diverges).
    """
    E = np.asarray(E_V_per_m, dtype=float)
    out = np.ones_like(E)
    if law.image_force:
        f = law.scaled_field(E)
        out = np.exp(B_V_per_m / E * (1.0 - np.asarray(forbes_v(f)))) / np.asarray(forbes_t(f)) ** 2
    if law.thermal:
        out = out * np.asarray(thermal_factor(ckT_field(law, E, B_V_per_m)))
    return float(out) if out.ndim == 0 else out


def ln_rate_factor_u(u: Any, k2: Any, s: Any, f1: Any, thermal: bool, image_force: bool, xp: Any = np) -> Any:
    """``ln R(u)``, the correction to the classic rate at ``u = 1/V`` (arrays broadcast; u > 0).

    ``R = exp(k2 f1 - (k2 f1 / 6) ln f) / t(f)^2 * x / sin(x)`` with ``f = f1/u``
    and ``x = min(pi s t(f) u, pi CKT_GUARD)`` (``-k2 u v(f) = -k2 u + k2 f1 - (k2 f1/6) ln f``).
    ``xp = math`` evaluates one set of floats without numpy (the trajectory's scalar path).
    """
    minimum = np.minimum if xp is np else min
    lnR = 0.0
    t = 1.0
    if image_force:
        f = f1 / u
        lf = xp.log(f)
        t = 1.0 + f / 9.0 - f * lf / 18.0
        lnR = k2 * f1 * (1.0 - lf / 6.0) - 2.0 * xp.log(t)
    if thermal:
        x = minimum(math.pi * s * t * u, _X_GUARD)
        lnR = lnR + xp.log(x / xp.sin(x))
    return lnR
