"""An independent solution of the FN-DAM cell testbench: a test oracle, not product code.

The circuit is the one lim_hw.netlist.spec.cell_testbench builds (read from
circuits/fndam_cell.lib and circuits/fn_junction.lib), written out here by hand:

    drv --R_drv-- cg --C_c-- fg --C_fg-- 0
                             fg --C_j--  tun      (tun held at V_tun by an ideal source)
                             tun --I_FN(V_tun - V_fg)--> fg

The driver ``v_drv(t)`` is an ideal voltage source that rests at 0 V and, for each
update, ramps linearly to ``-V_p`` over ``rise_s`` at ``t_n``, holds it for
``pulse_width_s`` and ramps back over ``rise_s`` (the PULSE edges of the deck).
With ``i_R = (v_drv - V_cg) / R_drv`` and ``I = I_FN(V_tun - V_fg)``, Kirchhoff's
current law at ``cg`` and ``fg`` gives the ODE solved here::

    C_c (V_cg' - V_fg') = i_R
    C_T V_fg' - C_c V_cg' = I          (C_T = C_c + C_j + C_fg)

It is integrated with scipy's Radau (rtol 1e-10) piece by piece between the edge
corners, so the solver never steps across a kink of the drive; energies and the
tunnelled charge are extra ODE states, and the positive part of each source's
power is accumulated between the roots of that power (terminal events). Nothing
here comes from ``lim_hw.energy``; the FN current is ``lim_hw.device.fn.fn_current_A``
(the device module defines the physics; the oracle follows it).

Per update window (the flow's window: ``[t_n, t_n + pulse_width + 2 rise + 20 R_drv C_c]``):
``E_drawn_J`` (sum over the two sources of the integral of the positive part of
the delivered power), ``E_net_J`` (integral of the delivered power), ``E_tunnel_J``
(integral of I V_ox), ``E_R_J`` (integral of i_R^2 R), ``dE_cap_J`` (change of the
energy stored in C_c, C_j, C_fg), ``Q_C`` (charge through the junction) and
``N_sim`` (transitions beyond the natural decay: Q/q minus the charge the free
gate, C_T V' = -I(V), would pass in the same window from the same start, also
integrated here).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.polynomial import Chebyshev
from scipy.integrate import solve_ivp

from lim_hw.constants import q_C
from lim_hw.device import fn as fn_module

_RTOL = 1e-10


class _FNCurrent:
    """I_FN(V_ox) of the card's device as lim_hw.device.fn defines it, made cheap to call from an ODE.

    ``ln I`` is smooth in ``u = 1/V_ox`` (``ln I = c - 2 ln u - b u`` for the plain FN
    law), so a Chebyshev interpolant of ``ln fn_current_A`` over ``[V_lo, V_hi]`` is
    accurate to rounding; it is checked against the module at 2000 other voltages
    (relative error < 1e-11, else this raises). Outside the range the module is called.
    The card's FN law (thermal factor at T_K, image force) is passed to the module; the
    range starts above the voltage where the thermal factor is held (c kT = 0.95, a kink).
    """

    def __init__(self, dev, V_lo: float, V_hi: float, pieces: int = 32, degree: int = 40):
        params = inspect.signature(fn_module.fn_current_A).parameters
        law = getattr(dev, "law", None)
        thermal = bool(getattr(law, "thermal", "T_K" in params))
        self._extra = {"T_K": dev.T_K if thermal else None} if "T_K" in params else {}
        if "image_force" in params:
            self._extra["image_force"] = bool(getattr(dev, "image_force", False))
        if thermal and hasattr(dev, "ckT"):
            V_lo = max(V_lo, 1.05 * dev.ckT(1.0) / 0.95)     # c kT is proportional to 1/V
        self._dev = dev
        self.V_lo, self.V_hi = V_lo, V_hi
        self._u = [float(x) for x in np.linspace(1.0 / V_hi, 1.0 / V_lo, pieces + 1)]
        self._cheb = [Chebyshev.interpolate(lambda u: np.log(self.module(1.0 / u)), degree, domain=[a, b])
                      for a, b in zip(self._u[:-1], self._u[1:])]
        self._dcheb = [c.deriv() for c in self._cheb]
        # plain-float Clenshaw data (numpy's Chebyshev.__call__ costs ~50 us a call)
        self._coef = [(list(c.coef), *c.mapparms()) for c in self._cheb]
        self._dcoef = [(list(c.coef), *c.mapparms()) for c in self._dcheb]
        V = np.linspace(V_lo, V_hi, 2000)[1:-1] * (1 + 1e-7)
        err = max(abs(math.exp(self._ln(1.0 / v)) / float(self.module(v)) - 1.0) for v in V)
        if not err < 1e-11:
            raise RuntimeError(f"Chebyshev interpolant of the FN current is off by {err:.2g}; raise the degree")

    def module(self, v_ox):
        d = self._dev
        return np.asarray(fn_module.fn_current_A(v_ox, d.tox_m, d.area_m2, d.phi_B_eV, d.m_eff, **self._extra))

    @staticmethod
    def _clenshaw(data, u: float) -> float:
        coef, off, scl = data
        x = off + scl * u
        b1 = b2 = 0.0
        for c in reversed(coef[1:]):
            b1, b2 = 2.0 * x * b1 - b2 + c, b1
        return x * b1 - b2 + coef[0]

    def _piece(self, u: float) -> int:
        k = int((u - self._u[0]) / (self._u[-1] - self._u[0]) * (len(self._u) - 1))
        return min(max(k, 0), len(self._u) - 2)

    def _ln(self, u: float) -> float:
        return self._clenshaw(self._coef[self._piece(u)], u)

    def __call__(self, v_ox: float) -> float:
        if self.V_lo <= v_ox <= self.V_hi:
            return math.exp(self._ln(1.0 / v_ox))
        return float(self.module(v_ox))

    def derivative(self, v_ox: float) -> float:
        """dI/dV_ox (A/V)."""
        if self.V_lo <= v_ox <= self.V_hi:
            u = 1.0 / v_ox
            k = self._piece(u)
            return -math.exp(self._clenshaw(self._coef[k], u)) * self._clenshaw(self._dcoef[k], u) * u * u
        h = 1e-6 * max(abs(v_ox), 1e-3)
        return float(self.module(v_ox + h) - self.module(v_ox - h)) / (2 * h)


def _segments(card, table) -> list[tuple[float, float, float, str]]:
    """The run as segments ``(duration_s, v_drv_start_V, slope_V_per_s, mark)`` in order.

    Durations of the edges, the flat top and the settling tail are exact (``rise_s``,
    ``pulse_width_s``, ``20 R_drv C_c``), not differences of absolute times, so a
    nanosecond edge at t = 1000 s keeps its length. ``mark`` is ``"start"`` for the
    first segment of an update window, ``"end"`` for the segment after it.
    """
    prog = card.programming
    r, w = prog.rise_s, prog.pulse_width_s
    settle = 20.0 * prog.R_drv_ohm * card.device.C_c_F
    segs: list[tuple[float, float, float, str]] = []
    t = 0.0
    for t_n, vp in zip(table["t_s"].to_numpy(float), table["V_p_V"].to_numpy(float)):
        if t_n > t:
            segs.append((t_n - t, 0.0, 0.0, ""))
        vp = vp if vp > 0 else 0.0
        segs += [(r, 0.0, -vp / r, "start"), (w, -vp, 0.0, ""), (r, -vp, vp / r, ""), (settle, 0.0, 0.0, "")]
        segs.append((0.0, 0.0, 0.0, "end"))
        t = t_n + 2 * r + w + settle
    if card.stop_time_s > t:
        segs.append((card.stop_time_s - t, 0.0, 0.0, ""))
    return segs


class ReferenceCell:
    """The cell testbench of ``card`` driven by the pulses of a synthesis ``table``."""

    # state layout
    CG, FG, Q, ETUN, ER, EDRV, ETUNSRC = range(7)

    def __init__(self, card, table):
        self.card, self.table = card, table
        d = card.device
        self.Cc, self.Cj, self.Cfg, self.CT = d.C_c_F, d.C_j_F, d.C_fg_F, d.C_T_F
        self.Vtun = d.V_tun_V
        self.R = card.programming.R_drv_ohm
        vp_max = float(np.max(table["V_p_V"].to_numpy(float), initial=0.0))
        self.I = _FNCurrent(d, 0.3 * d.V0_V, d.V0_V + d.kappa * vp_max + 1.0)
        self.segments = _segments(card, table)

    # ---------------------------------------------------------------- ODE
    def _derivs(self, t, y, v0, slope):
        vd = v0 + slope * t          # t: time since the segment start
        iR = (vd - y[self.CG]) / self.R
        vox = self.Vtun - y[self.FG]
        I = self.I(vox)
        dfg = (I + iR) / (self.CT - self.Cc)
        dcg = dfg + iR / self.Cc
        return vd, iR, vox, I, dfg, dcg

    def _rhs(self, t, y, v0, slope):
        vd, iR, vox, I, dfg, dcg = self._derivs(t, y, v0, slope)
        return [dcg, dfg, I, I * vox, iR * iR * self.R, vd * iR, self.Vtun * (I - self.Cj * dfg)]

    def _jac(self, t, y, v0, slope):
        vd, iR, vox, I, _, _ = self._derivs(t, y, v0, slope)
        dI = self.I.derivative(vox)                       # dI/dV_ox; dV_ox/dV_fg = -1
        a = 1.0 / (self.CT - self.Cc)
        J = np.zeros((7, 7))
        J[self.FG, self.CG] = -a / self.R
        J[self.FG, self.FG] = -a * dI
        J[self.CG, self.CG] = -a / self.R - 1.0 / (self.R * self.Cc)
        J[self.CG, self.FG] = -a * dI
        J[self.Q, self.FG] = -dI
        J[self.ETUN, self.FG] = -(dI * vox + I)
        J[self.ER, self.CG] = -2.0 * iR
        J[self.EDRV, self.CG] = -vd / self.R
        J[self.ETUNSRC, self.FG] = -self.Vtun * dI * (1.0 - self.Cj * a)
        J[self.ETUNSRC, self.CG] = self.Vtun * self.Cj * a / self.R
        return J

    def cap_energy_J(self, y) -> float:
        cg, fg = y[self.CG], y[self.FG]
        return 0.5 * (self.Cc * (cg - fg) ** 2 + self.Cj * (self.Vtun - fg) ** 2 + self.Cfg * fg ** 2)

    # ---------------------------------------------------------------- integration
    def _segment(self, y, length, v0, slope, pos):
        """Integrate over one segment of ``length`` s; add the positive parts of the source powers to ``pos``."""
        if length <= 0:
            return y
        args = (v0, slope)
        driven = v0 != 0 or slope != 0

        def ev_drv(t, y, *a):       # the driver's power changes sign with i_R (v_drv < 0 inside pulses)
            return self._derivs(t, y, *a)[1]

        def ev_tun(t, y, *a):       # the bias source's power changes sign with I - C_j V_fg'
            _, _, _, I, dfg, _ = self._derivs(t, y, *a)
            return I - self.Cj * dfg

        ev_drv.terminal = ev_tun.terminal = True
        events = [ev_tun] + ([ev_drv] if driven else [])
        atol = np.array([1e-13, 1e-13, 1e-9 * q_C, 1e-30, 1e-30, 1e-30, 1e-30])
        t = 0.0
        while t < length:
            sol = solve_ivp(self._rhs, (t, length), y, method="Radau", rtol=_RTOL, atol=atol, args=args,
                            jac=self._jac, events=events)
            if sol.status < 0:
                raise RuntimeError(f"reference ODE failed {t} s into a segment: {sol.message}")
            t_new, y_new = sol.t[-1], sol.y[:, -1]
            if sol.status == 1 and t_new <= t * (1 + 1e-12):   # stopped at the start: step past the root
                t_new = min(length, t + 1e-9 * length)
                y_new = solve_ivp(self._rhs, (t, t_new), y, method="Radau", rtol=_RTOL, atol=atol,
                                  args=args, jac=self._jac).y[:, -1]
            for k, name in ((self.EDRV, "drv"), (self.ETUNSRC, "tun")):
                inc = y_new[k] - y[k]
                if inc > 0:
                    pos[name] += inc
            y, t = np.array(y_new), t_new
        return y

    def natural_charge_C(self, v_ox0: float, length_s: float) -> float:
        """Charge the free gate (C_T V' = -I(V)) passes in ``length_s`` from oxide voltage ``v_ox0``."""
        def rhs(_t, z):
            i = self.I(z[0])
            return [-i / self.CT, i]

        sol = solve_ivp(rhs, (0.0, length_s), [v_ox0, 0.0], method="LSODA", rtol=1e-12,
                        atol=[1e-14, 1e-9 * q_C])
        return float(sol.y[1, -1])

    def run(self) -> pd.DataFrame:
        """Per-window energies and charges (columns listed in the module docstring)."""
        d = self.card.device
        y = np.zeros(7)
        y[self.CG], y[self.FG] = 0.0, d.V_tun_V - d.V0_V
        pos = {"drv": 0.0, "tun": 0.0}
        starts, ends = [], []
        for length, v0, slope, mark in self.segments:
            if mark == "start":
                starts.append((y.copy(), dict(pos)))
            elif mark == "end":
                ends.append((y.copy(), dict(pos)))
            y = self._segment(y, length, v0, slope, pos)
        prog = self.card.programming
        length = prog.pulse_width_s + 2 * prog.rise_s + 20.0 * self.R * self.Cc
        rows = []
        for n, ((ya, pa), (yb, pb), t_n) in enumerate(zip(starts, ends, self.table["t_s"]), start=1):
            dy = yb - ya
            v_ox0 = d.V_tun_V - ya[self.FG]
            Q = dy[self.Q]
            Q_nat = self.natural_charge_C(v_ox0, length)
            rows.append({
                "n": n, "t_s": float(t_n),
                "E_drawn_J": (pb["drv"] - pa["drv"]) + (pb["tun"] - pa["tun"]),
                "E_net_J": dy[self.EDRV] + dy[self.ETUNSRC],
                "E_drv_drawn_J": pb["drv"] - pa["drv"], "E_drv_net_J": dy[self.EDRV],
                "E_tunnel_J": dy[self.ETUN], "E_R_J": dy[self.ER],
                "dE_cap_J": self.cap_energy_J(yb) - self.cap_energy_J(ya),
                "Q_C": Q, "N_sim": (Q - Q_nat) / q_C, "V_ox_start_V": v_ox0,
            })
        self.final_state = y
        return pd.DataFrame(rows)

    def retention_V_ox(self, times_s: np.ndarray) -> np.ndarray:
        """Oxide voltage of the free gate at ``times_s`` from V0 at t = 0 (no drive)."""
        d = self.card.device

        def rhs(_t, z):
            return [-self.I(z[0]) / self.CT]

        sol = solve_ivp(rhs, (0.0, float(np.max(times_s))), [d.V0_V], method="LSODA", rtol=1e-12,
                        atol=1e-14, t_eval=np.sort(times_s), dense_output=False)
        return sol.y[0]


def reference_updates(card, table) -> pd.DataFrame:
    """Convenience: :meth:`ReferenceCell.run` for ``card`` and its synthesis ``table``."""
    return ReferenceCell(card, table).run()


__all__ = ["ReferenceCell", "reference_updates"]
