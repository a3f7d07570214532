"""Programming-pulse physics in closed form, and the energy-per-update schedule optimiser.

Part 1 -- a vectorised model of one programming pulse on an FN-DAM cell
(theory.md s.5-s.8), used by the optimiser here and by online training
(:mod:`lim_hw.codesign.train`):

- between and during flat tops the oxide voltage follows the exact restarted
  closed form ``V(t) = k2 / ln(k1 t + k0)`` (as
  :class:`lim_hw.netlist.synthesis.FGModel`);
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
the ramp breakpoints of :func:`ngspice_window`) and against
:func:`lim_hw.fast.simulate_fast`.

Part 2 -- :func:`optimize_schedule`: choose one pulse width and ramp time for
the card and one amplitude per update that minimise the mean energy per update
``E_net + (1 - eta) (E_drawn - E_net)`` (``eta`` = energy-recovery efficiency
of the driver; 0 = conventional CMOS driver = drawn energy) subject to
``|N_sim / N_target - 1| <= tol`` for every update in this model.
scipy's SLSQP solves it with explicit inequality constraints, started from the
best point of a coarse (width, ramp) grid; the result is verified by an exact
sequential re-evaluation and never returned if it violates the tolerance
(fallback: the best verified grid design; if none is feasible,
:class:`~lim_hw.errors.InputError`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from ..constants import kT_J, q_C
from ..device.card import Card
from ..device.floating_gate import fn_k_constants
from ..errors import InputError
from ..netlist.generate import MIN_RISE_PER_STOP  # ngspice's limit on edges (its designs are re-simulated)
from ..theory.table import bound_table

__all__ = [
    "V_P_MAX_V", "CellModel", "PulseTiming", "PulseEval", "pulse_eval", "solve_amplitudes",
    "natural_drop_V", "driver_loss_J", "ScheduleEval", "run_schedule", "solve_schedule",
    "Design", "OptimizeResult", "schedule_targets", "design_from_card", "evaluate_design", "check_design",
    "optimize_schedule", "design_card", "design_table", "ngspice_window", "ngspice_check_design",
    "write_optimize_outputs",
]

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

    @classmethod
    def from_card(cls, card: Card, tox_m: Any = None, area_m2: Any = None) -> "CellModel":
        """Cell(s) of ``card``; ``tox_m``/``area_m2`` arrays give mismatched cells."""
        d = card.device
        tox = d.tox_m if tox_m is None else np.asarray(tox_m, dtype=float)
        area = d.area_m2 if area_m2 is None else np.asarray(area_m2, dtype=float)
        k = fn_k_constants(tox, area, d.C_T_F, d.V0_V, d.phi_B_eV, d.m_eff)
        return cls(k.k1_per_s, k.k2_V, d.C_T_F, d.C_c_F, d.C_j_F, d.V_tun_V, card.programming.R_drv_ohm)

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
        return _f(np.asarray(V, dtype=float), self.k1_per_s, self.k2_V)


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


def _f(V: np.ndarray, k1: Any, k2: Any) -> np.ndarray:
    Vs = np.maximum(V, 1e-3)
    return k1 / k2 * Vs * Vs * np.exp(-k2 / Vs)


def natural_drop_V(V_start_V: Any, dt_s: Any, k1_per_s: Any, k2_V: Any) -> np.ndarray:
    """Oxide-voltage drop after ``dt_s`` of free decay (cancellation-free closed form, theory.md s.5)."""
    V = np.asarray(V_start_V, dtype=float)
    pos = V > 0                                    # the junction does not conduct for V_ox <= 0
    Vs = np.where(pos, V, 1.0)
    with np.errstate(under="ignore"):
        L = np.log1p(k1_per_s * np.asarray(dt_s, dtype=float) * np.exp(-k2_V / Vs))
    return np.where(pos, Vs * Vs * L / (k2_V + Vs * L), 0.0)


def _segment(V: np.ndarray, dt: Any, k1: Any, k2: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Constant drive for ``dt``: (V_end, q = Q/C_T in V, e = E_tunnel/C_T in V^2)."""
    d = natural_drop_V(V, dt, k1, k2)
    return V - d, d, d * (2.0 * V - d) / 2.0


def _ramp(V_a: np.ndarray, dV: np.ndarray, T: np.ndarray, k1: Any, k2: Any
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
    f_top = _f(V_a + np.maximum(dV, 0.0), k1, k2)
    zero = dV == 0.0
    fast = (~zero) & (np.abs(s) > 4.0 * f_top)
    slow = ~(zero | fast)
    if zero.any():
        V_b[zero], q[zero], e[zero] = _segment(V_a[zero], T[zero], k1[zero], k2[zero])
    if fast.any():
        va, dv, ss, kk1, kk2 = V_a[fast], dV[fast], s[fast], k1[fast], k2[fast]
        vb = va + dv

        def integrals(vb):
            mid = 0.5 * (va + vb)
            half = 0.5 * (vb - va)
            Vn = mid[:, None] + half[:, None] * _GL_X
            fn = _f(Vn, kk1[:, None], kk2[:, None])
            g = fn / (ss[:, None] - fn)
            fb = _f(vb, kk1, kk2)
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
        V_b[slow], q[slow], e[slow] = _ramp_ivp(V_a[slow], s[slow], T[slow], k1[slow], k2[slow])
    return V_b, q, e


def _ramp_ivp(V: np.ndarray, s: np.ndarray, T: np.ndarray, k1: np.ndarray, k2: np.ndarray):
    """Fallback for ramps as slow as the FN discharge itself (stiff): LSODA in time on (V, q, e)."""
    from scipy.integrate import solve_ivp

    out = np.empty((3, V.size))
    for i, (v0, si, Ti, a, b) in enumerate(zip(V.ravel(), s.ravel(), T.ravel(), k1.ravel(), k2.ravel())):
        def rhs(_t, y, si=si, a=a, b=b):
            fv = float(_f(np.asarray(y[0]), a, b))
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
    k1, k2 = cell.k1_per_s, cell.k2_V
    width = np.asarray(timing.width_s, dtype=float)
    rise = np.asarray(timing.rise_s, dtype=float)
    kap = cell.kappa
    dV = kap * V_p
    V_s, dV, width, rise = np.broadcast_arrays(V_s, dV, width, rise)
    if timing.shape == "rectangular":
        V1, q1, e1 = _segment(V_s, rise / 2.0, k1, k2)
        V_hi = V1 + dV
        V2h, q2, e2 = _segment(V_hi, width + rise, k1, k2)
        V_after, q3, e3 = _segment(V2h - dV, rise / 2.0, k1, k2)
        V_peak = V_hi
        q_drawn = q1 + q2
        drv_fn_drawn = kap * V_p * q2
        drv_fn_net = drv_fn_drawn
    else:
        V1, q1, e1 = _ramp(V_s, dV, rise, k1, k2)
        V2h, q2, e2 = _segment(V1, width, k1, k2)
        V_after, q3, e3 = _ramp(V2h, -dV, rise, k1, k2)
        V_peak = V1
        q_drawn = q1 + q2
        drv_fn_drawn = (e1 - V_s * q1) + kap * V_p * q2
        drv_fn_net = drv_fn_drawn + (e3 - (V2h - dV) * q3)
    settle = cell.settle_s
    _, q4, e4 = _segment(V_after, settle, k1, k2)
    C_T = cell.C_T_F
    q_win = q1 + q2 + q3 + q4
    N_nat = C_T * natural_drop_V(V_s, width + 2.0 * rise + settle, k1, k2) / q_C
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


# =============================================================================== schedules
@dataclass(frozen=True)
class ScheduleEval:
    """A sequence of updates on one cell per design (arrays shaped (n_updates, *batch))."""

    t_s: np.ndarray
    V_p_V: np.ndarray
    V_before_V: np.ndarray
    V_peak_V: np.ndarray
    N_sim: np.ndarray
    E_tunnel_J: np.ndarray
    E_drawn_J: np.ndarray
    E_net_J: np.ndarray
    parts: dict[str, np.ndarray]

    def objective_J(self, eta: float = 0.0) -> np.ndarray:
        return self.E_net_J + (1.0 - eta) * (self.E_drawn_J - self.E_net_J)


_PARTS = ("E_drv_cap_J", "E_drv_res_J", "E_bias_cap_J", "E_bias_fn_J", "E_drv_fn_J")


def run_schedule(cell: CellModel, timing: PulseTiming, V0_V: float, t_s: np.ndarray,
                 V_p_V: np.ndarray) -> ScheduleEval:
    """Exact sequential replay: free decay from t = 0 (V_ox = V0), a pulse at each ``t_s[n]``.

    ``V_p_V`` is (n_updates, *batch); timing fields may be batch arrays.
    Mirrors :func:`lim_hw.netlist.synthesis.synthesize`: the next decay starts at
    the end of the pulse window.
    """
    V_p_V = np.asarray(V_p_V, dtype=float)
    t_s = np.asarray(t_s, dtype=float)
    n = len(t_s)
    V = np.asarray(V0_V, dtype=float)
    t_prev = 0.0
    rows: dict[str, list] = {k: [] for k in ("V_before_V", "V_peak_V", "N_sim", "E_tunnel_J", "E_drawn_J",
                                               "E_net_J", *_PARTS)}
    window = timing.window_s
    for i in range(n):
        gap = t_s[i] - t_prev
        if np.any(np.asarray(gap) < 0):
            raise InputError("updates overlap: the pulse window is longer than the update period")
        V = V - natural_drop_V(V, gap, cell.k1_per_s, cell.k2_V)
        ev = pulse_eval(cell, timing, V, V_p_V[i])
        rows["V_before_V"].append(np.broadcast_to(V, ev.N_sim.shape))
        for k in ("V_peak_V", "N_sim", "E_tunnel_J", "E_drawn_J", "E_net_J", *_PARTS):
            rows[k].append(np.broadcast_to(getattr(ev, k), ev.N_sim.shape))
        V = ev.V_after_V
        t_prev = t_s[i] + window
    arr = {k: np.array(v) for k, v in rows.items()}
    return ScheduleEval(t_s=t_s, V_p_V=V_p_V, V_before_V=arr["V_before_V"], V_peak_V=arr["V_peak_V"],
                        N_sim=arr["N_sim"], E_tunnel_J=arr["E_tunnel_J"], E_drawn_J=arr["E_drawn_J"],
                        E_net_J=arr["E_net_J"], parts={k: arr[k] for k in _PARTS})


def solve_schedule(cell: CellModel, timing: PulseTiming, V0_V: float, t_s: np.ndarray,
                   N_target: np.ndarray, strict: bool = False) -> np.ndarray:
    """Amplitudes (n_updates, *batch) that hit ``N_target[n]`` exactly, update after update."""
    t_s = np.asarray(t_s, dtype=float)
    N_target = np.asarray(N_target, dtype=float)
    V = np.asarray(V0_V, dtype=float)
    t_prev = 0.0
    out = []
    window = timing.window_s
    for i in range(len(t_s)):
        V = V - natural_drop_V(V, t_s[i] - t_prev, cell.k1_per_s, cell.k2_V)
        Vp = solve_amplitudes(cell, timing, V, N_target[i], strict=strict)
        ev = pulse_eval(cell, timing, V, np.nan_to_num(Vp, nan=0.0))
        out.append(Vp)
        V = ev.V_after_V
        t_prev = t_s[i] + window
    return np.array(out)


# =============================================================================== designs
@dataclass(frozen=True)
class Design:
    """A programming design for a card's schedule: one pulse shape for all updates, one amplitude each."""

    shape: str
    width_s: float
    rise_s: float
    V_p_V: np.ndarray
    label: str = "design"

    def timing(self) -> PulseTiming:
        return PulseTiming(self.width_s, self.rise_s, self.shape)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "shape": self.shape, "pulse_width_s": float(self.width_s),
                "rise_s": float(self.rise_s), "V_p_V": [float(v) for v in self.V_p_V]}


def schedule_targets(card: Card) -> pd.DataFrame:
    """The schedule of ``card`` as update targets: n, t_s, eps, grad, R_per_s, E0_J, dE_J, feasible, N_target.

    ``N_target = R_n * pulse_width_s`` of the card (theory.md s.7), held fixed
    while a design changes the pulse width: the number of transitions per
    update is the schedule, the pulse is how it is delivered.
    """
    if card.n_updates == 0:
        raise InputError("the card has no updates (schedule.n_updates = 0); give a training schedule")
    bt = bound_table(card.schedule, card.device.R_max_per_s, card.device.T_K)
    p = card.programming
    return pd.DataFrame({
        "n": bt["n"].to_numpy(), "t_s": [p.update_start_s(int(n)) for n in bt["n"]],
        "eps": bt["eps"].to_numpy(), "grad": bt["grad"].to_numpy(), "R_per_s": bt["R_per_s"].to_numpy(),
        "E0_J": bt["E0_J"].to_numpy(), "dE_J": bt["dE_J"].to_numpy(), "feasible": bt["feasible"].to_numpy(),
        "N_target": bt["R_per_s"].to_numpy() * p.pulse_width_s,
    })


def design_from_card(card: Card, targets: pd.DataFrame | None = None, label: str = "card") -> Design:
    """The card's own design (shape, width, rise) with amplitudes that hit every target exactly."""
    tg = schedule_targets(card) if targets is None else targets
    cell = CellModel.from_card(card)
    timing = PulseTiming.from_card(card)
    amps = solve_schedule(cell, timing, card.device.V0_V, tg["t_s"].to_numpy(), tg["N_target"].to_numpy(),
                          strict=True)
    return Design(timing.shape, float(timing.width_s), float(timing.rise_s), np.asarray(amps, float), label)


EVAL_COLUMNS = ("n", "t_s", "N_target", "N_sim", "tracking_error", "V_p_V", "V_ox_before_V", "V_ox_peak_V",
                "E_drawn_J", "E_net_J", "E_tunnel_J", "E_drv_cap_J", "E_drv_res_J", "E_bias_cap_J",
                "E_bias_fn_J", "E_drv_fn_J", "E_objective_J", "E_tunnel_floor_J", "E_bound_J", "E_landauer_J",
                "ratio_drawn_to_bound", "ratio_net_to_bound", "ratio_tunnel_to_bound")


def evaluate_design(card: Card, design: Design, targets: pd.DataFrame | None = None,
                    eta: float = 0.0) -> pd.DataFrame:
    """Per-update table of a design in the closed-form model (columns :data:`EVAL_COLUMNS`).

    ``E_tunnel_floor_J = N_target q V_ox`` is what the transitions dissipate
    crossing the oxide at the present bias (irreducible at this oxide
    voltage); ``E_bound_J = N_target (E0 + |dE|)``; ``E_landauer_J = bits kT ln 2``.
    """
    tg = schedule_targets(card) if targets is None else targets
    cell = CellModel.from_card(card)
    ev = run_schedule(cell, design.timing(), card.device.V0_V, tg["t_s"].to_numpy(), design.V_p_V)
    N_t = tg["N_target"].to_numpy()
    kT = kT_J(card.device.T_K)
    bound = N_t * (tg["E0_J"].to_numpy() + np.abs(tg["dE_J"].to_numpy()))
    df = pd.DataFrame({
        "n": tg["n"].to_numpy(), "t_s": tg["t_s"].to_numpy(), "N_target": N_t, "N_sim": ev.N_sim,
        "tracking_error": ev.N_sim / N_t - 1.0, "V_p_V": design.V_p_V, "V_ox_before_V": ev.V_before_V,
        "V_ox_peak_V": ev.V_peak_V, "E_drawn_J": ev.E_drawn_J, "E_net_J": ev.E_net_J,
        "E_tunnel_J": ev.E_tunnel_J, **{k: ev.parts[k] for k in _PARTS},
        "E_objective_J": ev.objective_J(eta), "E_tunnel_floor_J": N_t * q_C * ev.V_before_V,
        "E_bound_J": bound, "E_landauer_J": np.full(len(N_t), card.programming.precision_bits * kT * math.log(2)),
    })
    df["ratio_drawn_to_bound"] = df["E_drawn_J"] / df["E_bound_J"]
    df["ratio_net_to_bound"] = df["E_net_J"] / df["E_bound_J"]
    df["ratio_tunnel_to_bound"] = df["E_tunnel_J"] / df["E_bound_J"]
    return df[list(EVAL_COLUMNS)]


def check_design(card: Card, design: Design, tol: float, targets: pd.DataFrame | None = None,
                 window_max_s: float | None = None) -> tuple[bool, float, str]:
    """Exact re-evaluation of a design: (ok, max |tracking error|, reason if not ok)."""
    tg = schedule_targets(card) if targets is None else targets
    V_p = np.asarray(design.V_p_V, dtype=float)
    if V_p.shape != (len(tg),) or not np.all(np.isfinite(V_p)):
        return False, math.inf, "amplitudes missing or not finite"
    if np.any(V_p < 0) or np.any(V_p > V_P_MAX_V):
        return False, math.inf, f"an amplitude lies outside [0, {V_P_MAX_V:g}] V"
    window = design.width_s + 2 * design.rise_s
    limit = card.programming.period_s - CellModel.from_card(card).settle_s
    if window_max_s is not None:
        limit = min(limit, window_max_s * (1 + 1e-9))
    if not (design.width_s > 0 and design.rise_s > 0 and window <= limit):
        return False, math.inf, f"pulse window {window:.4g} s does not fit in {limit:.4g} s"
    df = evaluate_design(card, design, tg)
    err = float(np.max(np.abs(df["tracking_error"].to_numpy())))
    if not math.isfinite(err) or err > tol:
        return False, err, f"tracking error {err:.3g} exceeds the tolerance {tol:.3g}"
    return True, err, ""


@dataclass
class OptimizeResult:
    """Outcome of :func:`optimize_schedule` (designs, their per-update tables, and a summary)."""

    card: Card
    targets: pd.DataFrame
    baseline: Design
    optimized: Design
    baseline_eval: pd.DataFrame
    optimized_eval: pd.DataFrame
    summary: dict[str, Any]
    grid: pd.DataFrame = field(default_factory=pd.DataFrame)


def _bounds(card: Card, width_bounds_s, rise_bounds_s, window_fill: float) -> tuple[float, float, float, float, float]:
    p = card.programming
    settle = CellModel.from_card(card).settle_s
    window_max = window_fill * p.period_s
    if window_max >= p.period_s - settle:
        window_max = p.period_s - 2.0 * settle
    w_lo, w_hi = width_bounds_s if width_bounds_s is not None else (1e-4, window_max)
    # ngspice cannot resolve edges shorter than ~1.5e-13 x the run length (lim_hw.device.card)
    r_min = max(1e-9, 1.01 * MIN_RISE_PER_STOP * card.stop_time_s)
    r_lo, r_hi = rise_bounds_s if rise_bounds_s is not None else (r_min, max(r_min, min(1e-2, 0.05 * window_max)))
    for name, lo, hi in (("pulse width", w_lo, w_hi), ("ramp time", r_lo, r_hi)):
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi):
            raise InputError(f"{name} bounds [{lo:g}, {hi:g}] s are not an interval of positive times")
    if w_lo + 2 * r_lo > window_max:
        raise InputError(f"the shortest pulse window ({w_lo + 2 * r_lo:g} s) does not fit in "
                         f"{window_max:g} s of the update period; shorten the pulse bounds or lengthen period_s")
    return w_lo, min(w_hi, window_max), r_lo, r_hi, window_max


def optimize_schedule(card: Card, tol: float = 0.01, eta: float = 0.0, *, shape: str = "ramped",
                      width_bounds_s: tuple[float, float] | None = None,
                      rise_bounds_s: tuple[float, float] | None = None, window_fill: float = 0.5,
                      grid: tuple[int, int] = (9, 5), margin: float = 0.1, maxiter: int = 100) -> OptimizeResult:
    """Minimise the mean energy per update of ``card``'s schedule under a tracking constraint.

    Decision variables: pulse width ``w`` and ramp time ``r`` (common to all
    updates; ``shape`` is ``ramped`` (linear edges, adiabatic when slow) or
    ``rectangular``) and one amplitude ``V_p,n`` per update. Objective: mean of
    ``E_net + (1 - eta)(E_drawn - E_net)`` (``eta = 0``: drawn energy, a CMOS
    driver; ``eta = 1``: net energy, ideal recovery). Constraints (SLSQP,
    explicit): ``(1 - tol') <= N_sim,n / N_target,n <= 1 + tol'`` for every n
    with ``tol' = (1 - margin) tol`` (a safety margin), ``w + 2 r <= window_fill
    * period_s``, and bounds on ``w``, ``r`` and ``0 <= V_p <= 20 V``.
    The returned design is re-evaluated exactly and must satisfy
    ``|N_sim/N_target - 1| <= tol``; otherwise the best verified grid design is
    returned, and if there is none :class:`InputError` is raised.
    """
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and 0 < tol < 0.5):
        raise InputError(f"tracking tolerance {tol!r} must lie in (0, 0.5); e.g. 0.01 for +-1 %")
    if not (isinstance(eta, (int, float)) and 0.0 <= eta <= 1.0):
        raise InputError(f"recovery efficiency eta = {eta!r} must lie in [0, 1]")
    if not (0.0 <= margin < 1.0):
        raise InputError(f"margin {margin!r} must lie in [0, 1)")
    if shape not in ("ramped", "rectangular"):
        raise InputError(f"shape {shape!r} is not ramped or rectangular")
    t_start = time.perf_counter()
    tg = schedule_targets(card)
    cell = CellModel.from_card(card)
    V0 = card.device.V0_V
    t_s = tg["t_s"].to_numpy()
    N_t = tg["N_target"].to_numpy()
    n_up = len(N_t)
    w_lo, w_hi, r_lo, r_hi, window_max = _bounds(card, width_bounds_s, rise_bounds_s, window_fill)
    if shape == "rectangular":
        r_lo = r_hi = card.programming.rise_s if r_lo <= card.programming.rise_s <= r_hi else r_lo
    tol_in = (1.0 - margin) * tol

    baseline = design_from_card(card, tg, label="card")
    base_eval = evaluate_design(card, baseline, tg, eta)
    E_scale = float(base_eval["E_objective_J"].mean())

    # --- 1. grid over (width, rise), amplitudes solved at the lower edge of the inner tolerance
    widths = np.geomspace(w_lo, w_hi, grid[0]) if w_hi > w_lo else np.array([w_lo])
    rises = np.geomspace(r_lo, r_hi, grid[1]) if r_hi > r_lo else np.array([r_lo])
    W, R = (a.ravel() for a in np.meshgrid(widths, rises, indexing="ij"))
    fits = W + 2 * R <= window_max
    W, R = W[fits], R[fits]
    timing = PulseTiming(W, R, shape)
    amps = solve_schedule(cell, timing, V0, t_s, N_t[:, None] * (1.0 - tol_in), strict=False)
    ok_grid = np.all(np.isfinite(amps), axis=0)
    ev = run_schedule(cell, timing, V0, t_s, np.nan_to_num(amps))
    obj = np.where(ok_grid, ev.objective_J(eta).mean(axis=0), np.inf)
    grid_df = pd.DataFrame({"pulse_width_s": W, "rise_s": R, "feasible": ok_grid,
                            "E_objective_mean_J": np.where(ok_grid, obj, np.nan)})
    if not ok_grid.any():
        raise InputError("no pulse in the search range reaches the schedule's targets below "
                         f"{V_P_MAX_V:g} V; widen the pulse-width bounds or lower the targets")
    order = np.argsort(obj)
    best_grid = None
    for j in order[:5]:
        d = Design(shape, float(W[j]), float(R[j]), amps[:, j].copy(), label="grid")
        if check_design(card, d, tol, tg, window_max)[0]:
            best_grid = d
            break
    if best_grid is None:
        raise InputError("the optimiser found no design that meets the tracking tolerance; "
                         "loosen tol or widen the bounds")

    # --- 2. SLSQP polish with explicit constraints, variables z = [ln w, ln r, ln V_p...]
    lw_b = (math.log(w_lo), math.log(w_hi))
    lr_b = (math.log(r_lo), math.log(r_hi))
    z0 = np.concatenate(([math.log(best_grid.width_s), math.log(best_grid.rise_s)],
                         np.log(np.maximum(best_grid.V_p_V, 1e-6))))
    h = 1e-7
    cache: dict[bytes, tuple[np.ndarray, ...]] = {}

    def batch(z: np.ndarray):
        key = z.tobytes()
        if key in cache:
            return cache[key]
        Z = np.repeat(z[:, None], len(z) + 1, axis=1)
        Z[np.arange(len(z)), np.arange(1, len(z) + 1)] += h
        tim = PulseTiming(np.exp(Z[0]), np.exp(Z[1]), shape)
        res = run_schedule(cell, tim, V0, t_s, np.exp(Z[2:]))
        objv = res.objective_J(eta).mean(axis=0) / E_scale
        ratio = res.N_sim / N_t[:, None]
        window = np.exp(Z[0]) + 2 * np.exp(Z[1])
        out = (objv, ratio, window)
        if len(cache) > 64:
            cache.clear()
        cache[key] = out
        return out

    def fun(z):
        return batch(z)[0][0]

    def jac(z):
        o = batch(z)[0]
        return (o[1:] - o[0]) / h

    def cons(z):
        _, ratio, window = batch(z)
        r = ratio[:, 0]
        return np.concatenate((r - (1 - tol_in), (1 + tol_in) - r, [1.0 - window[0] / window_max]))

    def cons_jac(z):
        _, ratio, window = batch(z)
        dr = (ratio[:, 1:] - ratio[:, :1]) / h
        dwin = -(window[1:] - window[0]) / h / window_max
        return np.vstack((dr, -dr, dwin[None, :]))

    bounds = [lw_b, lr_b] + [(math.log(1e-6), math.log(V_P_MAX_V))] * n_up
    slsqp_info: dict[str, Any]
    try:
        with np.errstate(all="ignore"):
            sol = minimize(fun, z0, jac=jac, method="SLSQP", bounds=bounds,
                           constraints=[{"type": "ineq", "fun": cons, "jac": cons_jac}],
                           options={"maxiter": maxiter, "ftol": 1e-10})
        slsqp_info = {"success": bool(sol.success), "status": int(sol.status), "message": str(sol.message),
                      "nit": int(getattr(sol, "nit", 0)), "objective_rel": float(sol.fun)}
        cand = Design(shape, float(np.exp(sol.x[0])), float(np.exp(sol.x[1])), np.exp(sol.x[2:]), "optimized")
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:  # pragma: no cover - defensive
        slsqp_info = {"success": False, "status": -1, "message": f"{type(exc).__name__}: {exc}", "nit": 0}
        cand = None

    # --- 3. verify; never return a design that violates the tolerance
    method = "slsqp"
    ok = False
    if cand is not None:
        ok, err, why = check_design(card, cand, tol, tg, window_max)
        slsqp_info["verified"] = ok
        slsqp_info["verify_note"] = why
        if ok:
            obj_c = float(evaluate_design(card, cand, tg, eta)["E_objective_J"].mean())
            obj_g = float(evaluate_design(card, best_grid, tg, eta)["E_objective_J"].mean())
            if obj_c > obj_g:
                ok = False
                slsqp_info["verify_note"] = "SLSQP result worse than the grid start"
    if not ok:
        method = "grid"
        cand = best_grid
    final = replace(cand, label="optimized")
    ok, err, why = check_design(card, final, tol, tg, window_max)
    if not ok:  # pragma: no cover - both paths were verified above
        raise InputError(f"optimised design failed verification ({why}); loosen tol")
    opt_eval = evaluate_design(card, final, tg, eta)
    summary = _summary(card, baseline, final, base_eval, opt_eval, tol, eta, method, slsqp_info,
                       window_max, (w_lo, w_hi), (r_lo, r_hi), margin)
    summary["optimizer_wall_s"] = time.perf_counter() - t_start
    return OptimizeResult(card, tg, baseline, final, base_eval, opt_eval, summary, grid_df)


def _means(df: pd.DataFrame) -> dict[str, float]:
    cols = ("E_drawn_J", "E_net_J", "E_tunnel_J", "E_drv_cap_J", "E_drv_res_J", "E_bias_cap_J", "E_bias_fn_J",
            "E_drv_fn_J", "E_objective_J", "E_tunnel_floor_J", "E_bound_J", "E_landauer_J")
    return {f"{c[:-2]}_mean_J": float(df[c].mean()) for c in cols}


def _summary(card, baseline, final, base_eval, opt_eval, tol, eta, method, slsqp, window_max, wb, rb, margin):
    b, o = _means(base_eval), _means(opt_eval)
    E_b, E_o, E_bd = b["E_objective_mean_J"], o["E_objective_mean_J"], o["E_bound_mean_J"]
    gap_closed = math.log(E_b / E_o) / math.log(E_b / E_bd) if E_b > E_bd and E_o > 0 else math.nan
    rest = o["E_drawn_mean_J"]
    breakdown = {
        "driver_capacitive_CV2_over_2": o["E_drv_cap_mean_J"],
        "driver_resistive_rising_edge": o["E_drv_res_mean_J"],
        "bias_capacitive_Cj": o["E_bias_cap_mean_J"],
        "bias_tunnelling_charge": o["E_bias_fn_mean_J"],
        "driver_hold_during_tunnelling": o["E_drv_fn_mean_J"],
        "of_which_tunnelling_dissipation": o["E_tunnel_mean_J"],
        "tunnelling_floor_N_q_Vox": o["E_tunnel_floor_mean_J"],
        "lim_bound": E_bd,
        "landauer_bits_kT_ln2": o["E_landauer_mean_J"],
    }
    return {
        "card": card.name, "n_updates": int(len(opt_eval)), "tol": tol, "margin": margin, "eta_recovery": eta,
        "objective": "drawn" if eta == 0 else ("net" if eta == 1 else f"net + {1 - eta:g} x recoverable"),
        "method": method, "slsqp": slsqp,
        "bounds": {"pulse_width_s": list(wb), "rise_s": list(rb), "window_max_s": window_max},
        "baseline": {**baseline.to_dict(), **b,
                     "tracking_error_max_abs": float(base_eval["tracking_error"].abs().max())},
        "optimized": {**final.to_dict(), **o,
                      "tracking_error_max_abs": float(opt_eval["tracking_error"].abs().max())},
        "gain_objective": E_b / E_o if E_o > 0 else math.inf,
        "gain_drawn": b["E_drawn_mean_J"] / o["E_drawn_mean_J"],
        "gain_net": b["E_net_mean_J"] / o["E_net_mean_J"],
        "ratio_to_bound_before": E_b / E_bd, "ratio_to_bound_after": E_o / E_bd,
        "gap_closed_log_fraction": gap_closed,
        "breakdown_after_mean_J": breakdown,
        "breakdown_after_share_of_drawn": {k: v / rest for k, v in breakdown.items()
                                           if k not in ("lim_bound", "landauer_bits_kT_ln2",
                                                        "tunnelling_floor_N_q_Vox")},
    }


# =============================================================================== ngspice check
def design_card(card: Card, design: Design) -> Card:
    """``card`` with the design's pulse shape, width and ramp time (amplitudes live in :func:`design_table`)."""
    return card.with_updates(programming={"shape": design.shape, "pulse_width_s": float(design.width_s),
                                          "rise_s": float(design.rise_s)})


def design_table(card: Card, design: Design, targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """A synthesis table (columns of :data:`lim_hw.netlist.synthesis.SYNTHESIS_COLUMNS`) for the design.

    Pass it to :func:`lim_hw.netlist.generate.generate` (``table=``) to simulate
    exactly these pulses in ngspice.
    """
    from ..netlist.synthesis import SYNTHESIS_COLUMNS

    tg = schedule_targets(card) if targets is None else targets
    cell = CellModel.from_card(card)
    res = run_schedule(cell, design.timing(), card.device.V0_V, tg["t_s"].to_numpy(), design.V_p_V)
    pe = pulse_eval(cell, design.timing(), res.V_before_V, design.V_p_V)
    df = pd.DataFrame({
        "n": tg["n"].to_numpy(), "t_s": tg["t_s"].to_numpy(), "eps": tg["eps"].to_numpy(),
        "grad": tg["grad"].to_numpy(), "R_target_per_s": tg["R_per_s"].to_numpy(), "E0_J": tg["E0_J"].to_numpy(),
        "dE_J": tg["dE_J"].to_numpy(), "feasible": tg["feasible"].to_numpy(), "N_target": tg["N_target"].to_numpy(),
        "V_p_V": np.asarray(design.V_p_V, float), "ramp_s": float(design.rise_s),
        "V_ox_before_V": res.V_before_V, "V_ox_peak_V": res.V_peak_V, "V_ox_after_V": pe.V_after_V,
        "N_natural": pe.N_natural, "dV_fg_pred_V": res.N_sim * q_C / card.device.C_T_F, "half": "p",
    })
    return df[list(SYNTHESIS_COLUMNS)]


CHECK_COLUMNS = ("n", "V_p_V", "N_model", "N_ngspice", "rel_N", "E_drawn_model_J", "E_drawn_ngspice_J",
                 "rel_drawn", "E_net_model_J", "E_net_ngspice_J", "E_tunnel_model_J", "E_tunnel_ngspice_J",
                 "rel_tunnel")


def ngspice_window(card: Card, table: pd.DataFrame, V_ox_at_start_V: float, t_start_s: float,
                   resolve_ramps: bool = True, engine: str | None = None, timeout_s: float | None = None,
                   points_per_ramp: int = 50):
    """Simulate the updates of ``table`` on one cell of ``card`` in ngspice, starting at ``t_start_s``.

    The FN-DAM decay is autonomous, so a run that starts at ``t_start_s`` from
    the oxide voltage the cell has then is the same as the full run from t = 0;
    shifting the origin keeps the transient short. With ``resolve_ramps`` and
    ramped edges a dummy 0 V PWL source (through 1 MOhm to ground: no current,
    no energy) puts a corner every ``rise_s / points_per_ramp`` on every edge,
    which forces ngspice to take time points there: its default step control
    takes only a handful of steps on a slow ramp (the local-truncation-error
    check does not see the curvature of the FN current, whose charge is a tiny
    part of the node charge) and then misestimates the tunnelling charge of a
    ramp by 10-20 % when the ramp carries most of it.
    Returns ``(updates DataFrame of account_updates, table shifted, SimResult, card used)``.
    """
    from ..energy.updates import Waveforms, account_updates, missed_edges
    from ..netlist.generate import generate
    from ..netlist.render import render
    from ..netlist.spec import Resistor, VSource
    from ..sim import SimulationError, simulate

    t_first = float(table["t_s"].iloc[0])
    if not 0 <= t_start_s < t_first:
        raise InputError("the ngspice window must start before its first update")
    p = card.programming
    tab = table.copy()
    tab["t_s"] = tab["t_s"] - t_start_s
    span = float(tab["t_s"].iloc[-1]) + p.period_s
    c2 = card.with_updates(device={"V0_V": float(V_ox_at_start_V)},
                           programming={"first_update_s": float(tab["t_s"].iloc[0])},
                           schedule={"n_updates": len(tab)} if card.schedule.kind != "table" else {},
                           simulation={"duration_s": span})
    art = generate(c2, "cell", table=tab)
    tb = art.testbench
    if resolve_ramps and p.shape == "ramped" and p.rise_s >= 1e-6:
        k = np.linspace(0.0, p.rise_s, int(points_per_ramp) + 1)
        starts = np.concatenate([tab["t_s"].to_numpy(), tab["t_s"].to_numpy() + p.rise_s + p.pulse_width_s])
        times = np.unique(np.concatenate([[0.0], (starts[:, None] + k[None, :]).ravel(), [span]]))
        times = times[(times >= 0) & (times <= span)]
        pwl = tuple((float(t), 0.0) for t in times)
        tb = dataclasses.replace(tb, elements=tb.elements + (VSource("vbrk", "brk", "0", pwl=pwl),
                                                             Resistor("rbrk", "brk", "0", 1e6)))
    eng = engine or (c2.simulation.engine if c2.simulation.engine != "fast" else "batch")
    base = tb.tmax_s
    for factor in (1.0, 1.0 / 3.0, 1.0 / 9.0, 1.0 / 27.0):   # as lim_hw.flow: retry if an edge was stepped over
        tb_try = dataclasses.replace(tb, tmax_s=base * factor)
        sim = simulate(render(tb_try), tb_try.saves, engine=eng, timeout_s=timeout_s or c2.simulation.timeout_s)
        missed = missed_edges(c2, tab, sim.time_s)
        if missed.size == 0:
            break
    else:
        raise SimulationError(f"ngspice stepped over {missed.size} pulse edge(s) (first at t = {missed[0]:.9g} s "
                              "after the window start) in the co-design check; lengthen rise_s")
    upd = account_updates(c2, tab, tb_try, Waveforms(sim.time_s, sim.vectors))
    return upd, tab, sim, c2


def ngspice_check_design(card: Card, design: Design, targets: pd.DataFrame | None = None,
                         engine: str | None = None, timeout_s: float | None = None,
                         resolve_ramps: bool = True, lead_s: float = 1.0
                         ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Re-simulate the design's exact pulses in ngspice and compare energy and transitions per update.

    Uses the flow's own machinery (:func:`lim_hw.netlist.generate.generate`
    with the design's table on the card from :func:`design_card`,
    :func:`lim_hw.sim.simulate`, :func:`lim_hw.energy.updates.account_updates`),
    i.e. what :func:`lim_hw.flow.run_flow` does, but with the optimised
    amplitudes instead of re-synthesised ones, and from ``lead_s`` before the
    first update (see :func:`ngspice_window`). Returns (per-update table with
    columns :data:`CHECK_COLUMNS`, summary with the largest relative deviations).
    Net energy is listed but not compared: with slow ramps it is the small
    difference of large drawn and returned energies and ngspice's integration
    error dominates it.
    """
    tg = schedule_targets(card) if targets is None else targets
    dcard = design_card(card, design)
    table = design_table(card, design, tg)
    cell = CellModel.from_card(card)
    t1 = float(tg["t_s"].iloc[0])
    lead = min(lead_s, 0.5 * t1) if t1 > 0 else 0.0
    if lead <= 0:
        raise InputError("the first update must come after t = 0 to check a design in ngspice")
    V_start = float(card.device.V0_V - natural_drop_V(card.device.V0_V, t1 - lead, cell.k1_per_s, cell.k2_V))
    upd, _tab, sim, c2 = ngspice_window(dcard, table, V_start, t1 - lead, resolve_ramps, engine, timeout_s)
    ev = evaluate_design(card, design, tg)
    df = pd.DataFrame({
        "n": ev["n"], "V_p_V": ev["V_p_V"], "N_model": ev["N_sim"], "N_ngspice": upd["N_sim"].to_numpy(),
        "E_drawn_model_J": ev["E_drawn_J"], "E_drawn_ngspice_J": upd["E_supply_J"].to_numpy(),
        "E_net_model_J": ev["E_net_J"], "E_net_ngspice_J": upd["E_net_J"].to_numpy(),
        "E_tunnel_model_J": ev["E_tunnel_J"], "E_tunnel_ngspice_J": upd["E_tunnel_J"].to_numpy(),
    })
    df["rel_N"] = df["N_model"] / df["N_ngspice"] - 1.0
    df["rel_drawn"] = df["E_drawn_model_J"] / df["E_drawn_ngspice_J"] - 1.0
    df["rel_tunnel"] = df["E_tunnel_model_J"] / df["E_tunnel_ngspice_J"] - 1.0
    summary = {
        "design": design.label, "engine": sim.engine, "ngspice": sim.ngspice_version, "wall_s": sim.wall_s,
        "ramp_breakpoints": bool(resolve_ramps and dcard.programming.shape == "ramped"
                                 and dcard.programming.rise_s >= 1e-6), "t_start_s": t1 - lead,
        "n_timepoints": int(sim.time_s.size),
        "max_abs_rel_N": float(df["rel_N"].abs().max()),
        "max_abs_rel_drawn": float(df["rel_drawn"].abs().max()),
        "max_abs_rel_tunnel": float(df["rel_tunnel"].abs().max()),
        "mean_drawn_model_J": float(df["E_drawn_model_J"].mean()),
        "mean_drawn_ngspice_J": float(df["E_drawn_ngspice_J"].mean()),
        "mean_tunnel_model_J": float(df["E_tunnel_model_J"].mean()),
        "mean_tunnel_ngspice_J": float(df["E_tunnel_ngspice_J"].mean()),
    }
    return df[list(CHECK_COLUMNS)], summary


# =============================================================================== outputs
def write_optimize_outputs(result: OptimizeResult, out_dir: str | Path,
                           check: tuple[pd.DataFrame, dict[str, Any]] | None = None,
                           check_before: tuple[pd.DataFrame, dict[str, Any]] | None = None) -> list[str]:
    """Write an optimisation into ``out_dir`` atomically; ``check``: ngspice comparison of the optimised design."""
    from ..device.card import card_to_toml
    from ..outputs import atomic_directory, write_csv_atomic, write_json_atomic, write_text_atomic
    from ..provenance import versions
    from .plots import plot_optimization
    from .train import _jsonable

    summary = {**result.summary, "versions": versions()}
    if check is not None:
        summary["ngspice_check_optimized"] = check[1]
    if check_before is not None:
        summary["ngspice_check_card"] = check_before[1]
    opt_card = design_card(result.card, result.optimized)
    files = ["updates_card.csv", "updates_optimized.csv", "pulses_optimized.csv", "grid.csv", "summary.json",
             "card_optimized.toml", "optimize.png"]
    with atomic_directory(out_dir) as tmp:
        write_csv_atomic(tmp / "updates_card.csv", result.baseline_eval)
        write_csv_atomic(tmp / "updates_optimized.csv", result.optimized_eval)
        write_csv_atomic(tmp / "pulses_optimized.csv", design_table(result.card, result.optimized, result.targets))
        write_csv_atomic(tmp / "grid.csv", result.grid)
        if check is not None:
            write_csv_atomic(tmp / "ngspice_check.csv", check[0])
            files.append("ngspice_check.csv")
        if check_before is not None:
            write_csv_atomic(tmp / "ngspice_check_card.csv", check_before[0])
            files.append("ngspice_check_card.csv")
        write_json_atomic(tmp / "summary.json", _jsonable(summary))
        write_text_atomic(tmp / "card_optimized.toml", card_to_toml(
            opt_card, header=(f"card '{result.card.name}' with the optimised pulse shape (lim-hw optimize); "
                              "the per-update amplitudes are in pulses_optimized.csv")))
        plot_optimization(result.baseline_eval, result.optimized_eval, result.summary, tmp / "optimize.png",
                          check[0] if check is not None else None)
    return files
