"""Programming-pulse physics in closed form (part 1 of the co-design pulse model).

A vectorised model of one programming pulse on an FN-DAM cell (theory.md
s.5-s.8), used by the schedule optimiser (:mod:`lim_hw.codesign.optimize`)
and by online training (:mod:`lim_hw.codesign.train`):

- between and during flat tops the oxide voltage follows the exact restarted
  closed form ``V(t) = k2 / ln(k1 t + k0)`` (as
  :class:`lim_hw.netlist.synthesis.FGModel`), or, for a card with the thermal
  factor or image force, the same cancellation-free trajectory step of the FN law
  (:func:`lim_hw.device.trajectory.law_drop_V`; ``CellModel.law_scales``, docs/device.md s.8);
- a linear control-gate ramp is integrated *in the voltage variable*:
  with ``f(V) = (k1/k2) V^2 exp(-k2/V)`` the FN discharge rate and ``s`` the
  ramp rate of the drive, ``dQ/dV = C_T f / (s - f)`` exactly, so the charge
  and the tunnelling energy of a ramp are 1-D integrals (24-point
  Gauss-Legendre) with the end voltage found by Newton iteration. Ramps too
  slow for that (``|s| < 4 f``) fall back to LSODA in time;
- rectangular pulses follow the synthesis convention (edges as steps at
  mid-edge, flat top ``pulse_width + rise``), so amplitudes agree with
  :func:`lim_hw.netlist.synthesis.synthesize`;
- the transitions of an update are counted as :mod:`lim_hw.energy.updates`
  counts them: charge over the window ``[t_n, t_n + width + 2 rise + settle]``
  (``settle = 20 R_drv C_c``) minus the natural-decay charge over that window.

Energy per update (per programmed cell, the same accounting as
:func:`lim_hw.energy.updates.account_updates`; theory.md s.8). The control
gate sees ``C_L = C_c (C_T - C_c) / C_T`` through the driver resistance
``R_drv``; a linear edge of duration ``T`` into that RC dissipates
``E_R(T) = C_L V^2 x [1 - x (1 - exp(-1/x))]``, ``x = R_drv C_L / T``
(``C_L V^2/2`` for a step, ``C_L V^2 R C / T`` for a slow ramp). Then

- drawn (no recovery) = ``C_L V_p^2 / 2 + E_R`` (driver, rising edge)
  ``+ V_tun C_j kappa V_p`` (the tunnelling bias recharges the junction
  capacitance on the first edge and takes it back on the second)
  ``+ V_tun (1 - C_j/C_T) Q_FN`` (the bias supplies the tunnelling charge)
  ``+ kappa V_p Q_FN,hold`` (the driver holds the gate while charge moves);
- net (perfect recovery) = ``2 E_R + V_tun (1 - C_j/C_T) Q_window + ...``;
- tunnelling dissipation ``E_tunnel = int I_FN V_ox dt`` (exact: ``C_T int V dq``).

These formulas are checked against ngspice in tests/test_codesign_optimize.py
(measured: drawn energy within 0.05 %, tunnelling energy within 0.03 %, with
the ramp breakpoints of :func:`lim_hw.codesign.ngspice_check.ngspice_window`)
and against :func:`lim_hw.fast.simulate_fast`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..constants import q_C
from ..device.card import Card
from ..device.floating_gate import fn_k_constants
from ..device.fn_law import constants_from_scales, ln_rate_factor_u
from ..device.trajectory import law_drop_V
from ..errors import InputError

__all__ = ["V_P_MAX_V", "CellModel", "PulseTiming", "PulseEval", "pulse_eval", "solve_amplitudes",
           "natural_drop_V", "driver_loss_J"]

#: Largest control-gate amplitude the co-design uses (V); same as the synthesis limit.
V_P_MAX_V = 20.0

_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)


# =============================================================================== device
@dataclass(frozen=True)
class CellModel:
    """Closed-form constants and circuit values of one cell or an array of cells.

    Fields broadcast (numpy): per-cell mismatch gives arrays of ``k1_per_s`` and
    ``k2_V``. ``f(V) = (k1/k2) V^2 exp(-k2/V)`` is the FN discharge rate |dV/dt|.
    """

    k1_per_s: Any
    k2_V: Any
    C_T_F: float
    C_c_F: float
    C_j_F: float
    V_tun_V: float
    R_drv_ohm: float
    law_scales: tuple[float, float] | None = None   # FN law (thermal / image force); None = classic

    @classmethod
    def from_card(cls, card: Card, tox_m: Any = None, area_m2: Any = None) -> "CellModel":
        """Cell(s) of ``card``; ``tox_m``/``area_m2`` arrays give mismatched cells."""
        d = card.device
        tox = d.tox_m if tox_m is None else np.asarray(tox_m, dtype=float)
        area = d.area_m2 if area_m2 is None else np.asarray(area_m2, dtype=float)
        k = fn_k_constants(tox, area, d.C_T_F, d.V0_V, d.phi_B_eV, d.m_eff)
        return cls(k.k1_per_s, k.k2_V, d.C_T_F, d.C_c_F, d.C_j_F, d.V_tun_V, card.programming.R_drv_ohm,
                   d.law.scales)

    @property
    def kappa(self) -> float:
        """Control-gate coupling C_c / C_T."""
        return self.C_c_F / self.C_T_F

    @property
    def C_load_F(self) -> float:
        """Capacitance the driver sees: C_c in series with the rest of C_T (F)."""
        return self.C_c_F * (self.C_T_F - self.C_c_F) / self.C_T_F

    @property
    def settle_s(self) -> float:
        """Accounting settle time after the falling edge, 20 R_drv C_c (as energy.updates)."""
        return 20.0 * self.R_drv_ohm * self.C_c_F

    def f_V_per_s(self, V: Any) -> np.ndarray:
        """FN discharge rate |dV/dt| at oxide voltage V (V/s)."""
        return _f(np.asarray(V, dtype=float), self.k1_per_s, self.k2_V, self.law_scales)


@dataclass(frozen=True)
class PulseTiming:
    """Shape of a programming pulse: flat top ``width_s``, edges ``rise_s`` (may be arrays)."""

    width_s: Any
    rise_s: Any
    shape: str = "rectangular"

    def __post_init__(self) -> None:
        if self.shape not in ("rectangular", "ramped"):
            raise InputError(f"pulse shape {self.shape!r} is not rectangular or ramped")

    @property
    def window_s(self) -> Any:
        """Pulse window: both edges and the flat top (s)."""
        return np.asarray(self.width_s) + 2.0 * np.asarray(self.rise_s)

    @classmethod
    def from_card(cls, card: Card) -> "PulseTiming":
        p = card.programming
        return cls(p.pulse_width_s, p.rise_s, p.shape)


def _f(V: np.ndarray, k1: Any, k2: Any, scales: tuple[float, float] | None = None) -> np.ndarray:
    Vs = np.maximum(V, 1e-3)
    f = k1 / k2 * Vs * Vs * np.exp(-k2 / Vs)
    c = constants_from_scales(scales, k2)
    if c is not None:
        f = f * np.exp(ln_rate_factor_u(1.0 / Vs, k2, c[0], c[1], scales[0] != 0, scales[1] != 0))
    return f


def natural_drop_V(V_start_V: Any, dt_s: Any, k1_per_s: Any, k2_V: Any,
                   scales: tuple[float, float] | None = None) -> np.ndarray:
    """Oxide-voltage drop after ``dt_s`` of free decay (cancellation-free closed form, theory.md s.5;
    the FN law's exact trajectory step for ``scales`` = :attr:`CellModel.law_scales`, docs/device.md s.8)."""
    V = np.asarray(V_start_V, dtype=float)
    c = constants_from_scales(scales, k2_V)
    if c is not None:
        V, dt, k1, k2 = np.broadcast_arrays(V, np.asarray(dt_s, dtype=float), k1_per_s, k2_V)
        return law_drop_V(V, k1 * dt, k2, c[0], c[1], thermal=scales[0] != 0, image_force=scales[1] != 0)
    pos = V > 0                                    # the junction does not conduct for V_ox <= 0
    Vs = np.where(pos, V, 1.0)
    with np.errstate(under="ignore"):
        L = np.log1p(k1_per_s * np.asarray(dt_s, dtype=float) * np.exp(-k2_V / Vs))
    return np.where(pos, Vs * Vs * L / (k2_V + Vs * L), 0.0)


def _segment(V: np.ndarray, dt: Any, k1: Any, k2: Any, scales=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Constant drive for ``dt``: (V_end, q = Q/C_T in V, e = E_tunnel/C_T in V^2)."""
    d = natural_drop_V(V, dt, k1, k2, scales)
    return V - d, d, d * (2.0 * V - d) / 2.0


def _ramp(V_a: np.ndarray, dV: np.ndarray, T: np.ndarray, k1: Any, k2: Any, scales=None
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear drive of ``dV`` (signed) over ``T``: (V_end, q = Q/C_T, e = E_tunnel/C_T).

    Exact up to quadrature: ``dq/dV = f/(s - f)``, ``de/dV = V f/(s - f)``
    integrated from V_a to V_b with ``V_b = V_a + dV - q(V_b)`` (Newton).
    """
    V_a, dV, T, k1, k2 = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (V_a, dV, T, k1, k2)))
    shape = V_a.shape
    V_b = np.empty(shape)
    q = np.empty(shape)
    e = np.empty(shape)
    s = dV / T
    f_top = _f(V_a + np.maximum(dV, 0.0), k1, k2, scales)
    zero = dV == 0.0
    fast = (~zero) & (np.abs(s) > 4.0 * f_top)
    slow = ~(zero | fast)
    if zero.any():
        V_b[zero], q[zero], e[zero] = _segment(V_a[zero], T[zero], k1[zero], k2[zero], scales)
    if fast.any():
        va, dv, ss, kk1, kk2 = V_a[fast], dV[fast], s[fast], k1[fast], k2[fast]
        vb = va + dv

        def integrals(vb):
            mid = 0.5 * (va + vb)
            half = 0.5 * (vb - va)
            Vn = mid[:, None] + half[:, None] * _GL_X
            fn = _f(Vn, kk1[:, None], kk2[:, None], scales)
            g = fn / (ss[:, None] - fn)
            fb = _f(vb, kk1, kk2, scales)
            return half * (g @ _GL_W), half * ((Vn * g) @ _GL_W), fb / (ss - fb)

        for _ in range(8):
            qq, ee, gb = integrals(vb)
            F = vb - va - dv + qq
            vb = vb - F / (1.0 + gb)
            if np.max(np.abs(F)) < 1e-15 * np.max(np.abs(vb)):
                break
        qq, ee, _ = integrals(vb)
        V_b[fast], q[fast], e[fast] = vb, qq, ee
    if slow.any():
        V_b[slow], q[slow], e[slow] = _ramp_ivp(V_a[slow], s[slow], T[slow], k1[slow], k2[slow], scales)
    return V_b, q, e


def _ramp_ivp(V: np.ndarray, s: np.ndarray, T: np.ndarray, k1: np.ndarray, k2: np.ndarray, scales=None):
    """Fallback for ramps as slow as the FN discharge itself (stiff): LSODA in time on (V, q, e)."""
    from scipy.integrate import solve_ivp

    out = np.empty((3, V.size))
    for i, (v0, si, Ti, a, b) in enumerate(zip(V.ravel(), s.ravel(), T.ravel(), k1.ravel(), k2.ravel())):
        def rhs(_t, y, si=si, a=a, b=b):
            fv = float(_f(np.asarray(y[0]), a, b, scales))
            return [si - fv, fv, fv * y[0]]

        sol = solve_ivp(rhs, (0.0, Ti), [v0, 0.0, 0.0], method="LSODA", rtol=1e-10,
                        atol=[1e-13, 1e-20, 1e-19])
        out[:, i] = sol.y[:, -1]
    return out[0].reshape(V.shape), out[1].reshape(V.shape), out[2].reshape(V.shape)


def driver_loss_J(C_F: Any, V_V: Any, R_ohm: Any, T_s: Any) -> np.ndarray:
    """Energy dissipated in ``R`` when a linear edge of ``V`` over ``T`` charges ``C`` through it (J).

    ``C V^2 x [1 - x (1 - exp(-1/x))]`` with ``x = RC/T``: ``C V^2 / 2`` for a
    step (x -> inf), ``C V^2 RC/T`` for a slow (adiabatic) ramp (x -> 0).
    """
    C = np.asarray(C_F, dtype=float)
    V = np.asarray(V_V, dtype=float)
    x = np.asarray(R_ohm, dtype=float) * C / np.maximum(np.asarray(T_s, dtype=float), 1e-300)
    y = 1.0 / x
    small = y < 1e-3
    ys = np.where(small, 1.0, y)
    bracket = np.where(small, y / 2.0 - y * y / 6.0 + y ** 3 / 24.0, 1.0 - (1.0 / ys) * (-np.expm1(-ys)))
    return C * V * V * x * bracket


@dataclass(frozen=True)
class PulseEval:
    """What one update does to a cell (arrays). Energies in J per programmed cell.

    ``N_sim``: transitions beyond natural decay over the accounting window
    (as :mod:`lim_hw.energy.updates`); ``V_after_V``: oxide voltage at the end
    of the pulse window ``width + 2 rise`` (where the next decay starts).
    """

    V_after_V: np.ndarray
    V_peak_V: np.ndarray
    N_sim: np.ndarray
    N_natural: np.ndarray
    E_tunnel_J: np.ndarray
    E_drawn_J: np.ndarray
    E_net_J: np.ndarray
    E_drv_cap_J: np.ndarray     # C_L V_p^2 / 2: stored in the gate capacitance, dumped or returned
    E_drv_res_J: np.ndarray     # E_R of the rising edge (drawn); the net has 2 E_R
    E_bias_cap_J: np.ndarray    # V_tun C_j kappa V_p: bias source recharging C_j on the first edge
    E_bias_fn_J: np.ndarray     # V_tun (1 - C_j/C_T) Q_FN (drawn part): bias supplying tunnelling charge
    E_drv_fn_J: np.ndarray      # driver holding the gate while the FN charge moves (drawn part)

    def objective_J(self, eta: float = 0.0) -> np.ndarray:
        """Energy a driver of recovery efficiency ``eta`` spends: E_net + (1 - eta)(E_drawn - E_net)."""
        return self.E_net_J + (1.0 - eta) * (self.E_drawn_J - self.E_net_J)


def pulse_eval(cell: CellModel, timing: PulseTiming, V_start_V: Any, V_p_V: Any) -> PulseEval:
    """Apply a pulse of amplitude ``V_p_V`` (>= 0; the gate is driven to -V_p) at ``V_start_V``.

    Every argument broadcasts (cells x designs). ``V_p_V = 0`` is a window of
    free decay (N_sim = 0, no driver energy).
    """
    V_s = np.asarray(V_start_V, dtype=float)
    V_p = np.asarray(V_p_V, dtype=float)
    k1, k2, sc = cell.k1_per_s, cell.k2_V, cell.law_scales
    width = np.asarray(timing.width_s, dtype=float)
    rise = np.asarray(timing.rise_s, dtype=float)
    kap = cell.kappa
    dV = kap * V_p
    V_s, dV, width, rise = np.broadcast_arrays(V_s, dV, width, rise)
    if timing.shape == "rectangular":
        V1, q1, e1 = _segment(V_s, rise / 2.0, k1, k2, sc)
        V_hi = V1 + dV
        V2h, q2, e2 = _segment(V_hi, width + rise, k1, k2, sc)
        V_after, q3, e3 = _segment(V2h - dV, rise / 2.0, k1, k2, sc)
        V_peak = V_hi
        q_drawn = q1 + q2
        drv_fn_drawn = kap * V_p * q2
        drv_fn_net = drv_fn_drawn
    else:
        V1, q1, e1 = _ramp(V_s, dV, rise, k1, k2, sc)
        V2h, q2, e2 = _segment(V1, width, k1, k2, sc)
        V_after, q3, e3 = _ramp(V2h, -dV, rise, k1, k2, sc)
        V_peak = V1
        q_drawn = q1 + q2
        drv_fn_drawn = (e1 - V_s * q1) + kap * V_p * q2
        drv_fn_net = drv_fn_drawn + (e3 - (V2h - dV) * q3)
    settle = cell.settle_s
    _, q4, e4 = _segment(V_after, settle, k1, k2, sc)
    C_T = cell.C_T_F
    q_win = q1 + q2 + q3 + q4
    N_nat = C_T * natural_drop_V(V_s, width + 2.0 * rise + settle, k1, k2, sc) / q_C
    N_sim = C_T * q_win / q_C - N_nat
    E_tun = C_T * (e1 + e2 + e3 + e4)
    bias_frac = 1.0 - cell.C_j_F / C_T
    C_L = cell.C_load_F
    E_cap = 0.5 * C_L * V_p * V_p
    E_R = np.where(V_p > 0, driver_loss_J(C_L, V_p, cell.R_drv_ohm, rise), 0.0)
    E_bias_cap = cell.V_tun_V * cell.C_j_F * dV
    E_bias_fn = cell.V_tun_V * bias_frac * C_T * (q_drawn + q4)
    E_drv_fn = C_T * drv_fn_drawn
    drawn = E_cap + E_R + E_bias_cap + E_bias_fn + E_drv_fn
    net = 2.0 * E_R + cell.V_tun_V * bias_frac * C_T * q_win + C_T * drv_fn_net
    return PulseEval(V_after_V=V_after, V_peak_V=V_peak, N_sim=N_sim, N_natural=N_nat, E_tunnel_J=E_tun,
                     E_drawn_J=drawn, E_net_J=net, E_drv_cap_J=E_cap, E_drv_res_J=E_R,
                     E_bias_cap_J=E_bias_cap, E_bias_fn_J=E_bias_fn, E_drv_fn_J=E_drv_fn)


def solve_amplitudes(cell: CellModel, timing: PulseTiming, V_start_V: Any, N_target: Any,
                     V_max_V: float = V_P_MAX_V, strict: bool = True) -> np.ndarray:
    """Amplitudes (V) whose pulses move ``N_target`` transitions beyond natural decay (vectorised).

    Safeguarded Newton on ``ln(N_sim + N_natural)`` (concave and increasing in
    V_p), bisection when a step leaves the bracket; relative accuracy ~1e-12.
    ``N_target <= 0`` gives 0. Unreachable targets raise :class:`InputError`
    (``strict``) or give NaN.
    """
    V_s = np.asarray(V_start_V, dtype=float)
    N_t = np.asarray(N_target, dtype=float)
    shape = np.broadcast_shapes(V_s.shape, N_t.shape, np.shape(timing.width_s), np.shape(timing.rise_s),
                                np.shape(cell.k1_per_s))
    V_s = np.broadcast_to(V_s, shape)
    N_t = np.broadcast_to(N_t, shape)
    active = N_t > 0
    out = np.zeros(shape)
    if not active.any():
        return out

    def h(Vp):
        ev = pulse_eval(cell, timing, V_s, Vp)
        tot = ev.N_sim + ev.N_natural
        return np.log(np.maximum(tot, 1e-300)) - np.log(N_t + ev.N_natural)

    # start: flat-top estimate, ln(I(V+dV)/I(V)) ~ (k2/V^2 + 2/V) dV; then expand to a bracket
    Vr = np.maximum(V_s, 0.1)
    ev0 = pulse_eval(cell, timing, V_s, 0.0)
    slope = (np.asarray(cell.k2_V) / Vr ** 2 + 2.0 / Vr) * cell.kappa
    x = np.where(active, np.clip(np.log1p(N_t / np.maximum(ev0.N_natural, 1e-30)) / slope, 0.0, V_max_V), 0.0)
    hx = h(x)
    lo = np.where(hx < 0, x, 0.0)
    hi = np.where(hx >= 0, x, np.nan)
    unreachable = np.zeros(shape, dtype=bool)
    for _ in range(40):
        need = active & np.isnan(hi) & ~unreachable
        if not need.any():
            break
        xt = np.where(need, np.minimum(2.0 * x + 0.25, V_max_V), x)
        ht = h(xt)
        hi = np.where(need & (ht >= 0), xt, hi)
        lo = np.where(need & (ht < 0), xt, lo)
        unreachable |= need & (ht < 0) & (xt >= V_max_V)
        x = np.where(need, xt, x)
        hx = np.where(need, ht, hx)
    ok = active & ~unreachable
    if (active & unreachable).any() and strict:
        i = np.flatnonzero((active & unreachable).ravel())[0]
        raise InputError(
            f"a target of {N_t.ravel()[i]:.3g} transitions needs a control-gate pulse above {V_max_V:g} V "
            f"at V_ox = {V_s.ravel()[i]:.4g} V; lengthen the pulse, or lower the update size")
    hi = np.where(ok, hi, V_max_V)
    for _ in range(60):
        done = ~ok | (np.abs(hx) < 1e-12)
        if done.all():
            break
        dx = 1e-7 * np.maximum(x, 1e-3)
        d = (h(np.where(done, x, x + dx)) - hx) / dx
        with np.errstate(divide="ignore", invalid="ignore"):
            xn = x - hx / d
        inside = np.isfinite(xn) & (xn > lo) & (xn < hi)
        xn = np.where(inside, xn, 0.5 * (lo + hi))
        x = np.where(done, x, xn)
        hx = np.where(done, hx, h(x))
        lo = np.where(hx < 0, np.maximum(lo, x), lo)
        hi = np.where(hx >= 0, np.minimum(hi, x), hi)
    return np.where(ok, x, np.where(active, np.nan, 0.0))
