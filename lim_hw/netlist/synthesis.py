"""Programming-voltage synthesis: from a target schedule to control-gate pulses.

For update n the schedule asks for ``N_n = R_n * tau`` transitions (electrons
tunnelling off the floating gate) on top of the natural decay, where
``R_n = R_max eps_n^(1+alpha)`` (Performance Walls Sec. III) and tau is the
pulse width (theory.md s.7). A control-gate pulse of amplitude ``V_p`` (the gate
is driven from 0 to ``-V_p``) raises the oxide voltage by ``kappa V_p``
(kappa = C_c/C_T), which multiplies the FN current. Between edges the
floating gate follows the exact trajectory of the card's FN law restarted from the
current state (the closed form of theory.md s.5 for the classic law; the
cancellation-free u-space steps of :mod:`lim_hw.device.trajectory` with the
thermal factor and/or image force, docs/device.md s.8); during slow (ramped)
edges the ODE is integrated numerically.
``V_p`` is found by root finding (Brent's method, :mod:`.rootfind`) on the charge moved, so the predicted
step is exact within the model; ngspice then checks it.

Sign conventions: ``V_ox = V(tun) - V(fg)``; transitions remove electrons from
the floating gate, so each update raises V(fg) by ``N q / C_T`` and lowers V_ox.

Bidirectional updates (``[programming] decrease = "injection"``, docs/device.md s.11):
an update with a negative gradient (a schedule table's signed ``grad``) is a
hot-electron injection pulse on the same gate instead (``half = "i"``): its drive
amplitude injects ``N_target`` electrons (:mod:`lim_hw.device.injection`), lowering
V(fg) by ``N q / C_T``; the gate's natural decay continues meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..constants import q_C
from ..device.card import Card
from ..device.floating_gate import decay_drop_from_k_V, decay_drop_scalar_V, fn_k_constants
from ..device.fn_law import ln_rate_factor_u
from ..device.injection import injected_electrons, injection_amplitude_V
from ..errors import InputError
from ..theory.table import bound_table
from .rootfind import brent_root

#: Largest control-gate pulse amplitude the synthesis will use (V).
V_P_MAX_V = 20.0


@dataclass(frozen=True)
class FGModel:
    """Floating-gate decay law with its constants: classic ``V(t) = k2 / ln(k1 t + k0)`` (theory.md s.5)
    times the FN law's correction (``s_V``: thermal factor, ``f1_per_V``: image force; both 0 = classic;
    docs/device.md s.6-8)."""

    k1_per_s: float
    k2_V: float
    C_T_F: float
    kappa: float
    s_V: float = 0.0
    f1_per_V: float = 0.0

    @classmethod
    def from_card(cls, card: Card, area_m2: float | None = None) -> "FGModel":
        """The model of ``card``'s cell (``area_m2`` overrides the junction area, e.g. in a fit)."""
        d = card.device
        area = d.area_m2 if area_m2 is None else area_m2
        k = fn_k_constants(d.tox_m, area, d.C_T_F, d.V0_V, d.phi_B_eV, d.m_eff)
        s, f1 = d.law.trajectory_constants(d.tox_m, float(k.k2_V))
        return cls(float(k.k1_per_s), float(k.k2_V), d.C_T_F, d.kappa, float(s), float(f1))

    def drop_V(self, V_start_V: np.ndarray | float, dt_s: np.ndarray | float) -> np.ndarray:
        """Decrease of the oxide voltage after ``dt_s`` of free decay from ``V_start_V`` (V).

        The cancellation-free restarted trajectory
        (:func:`lim_hw.device.floating_gate.decay_drop_from_k_V`); 0 for ``V <= 0``.
        """
        return decay_drop_from_k_V(V_start_V, dt_s, self.k1_per_s, self.k2_V, self.s_V, self.f1_per_V)

    def drop_scalar_V(self, V_start_V: float, dt_s: float) -> float:
        """:meth:`drop_V` of one start voltage and duration, as a float (no numpy: the root finder's path)."""
        return decay_drop_scalar_V(V_start_V, dt_s, self.k1_per_s, self.k2_V, self.s_V, self.f1_per_V)

    def current_A(self, V_ox_V: np.ndarray | float) -> np.ndarray:
        """FN current from the decay law: I = C_T |dV/dt| = C_T (k1/k2) V^2 exp(-k2/V) R(1/V) (A)."""
        V = np.asarray(V_ox_V, dtype=float)
        I = self.C_T_F * self.k1_per_s / self.k2_V * V * V * np.exp(-self.k2_V / V)
        if self.s_V or self.f1_per_V:
            I = I * np.exp(ln_rate_factor_u(1.0 / V, self.k2_V, self.s_V, self.f1_per_V, self.s_V != 0,
                                            self.f1_per_V != 0))
        return I

    def ramp(self, V_start_V: float, dV_drive_V: float, ramp_s: float) -> tuple[float, float]:
        """Integrate a linear control-gate ramp that adds ``dV_drive_V`` to V_ox over ``ramp_s``.

        Returns (V_end_V, charge_C). The charge is integrated as its own state so
        that it keeps full relative precision.
        """
        if ramp_s <= 0:
            return V_start_V + dV_drive_V, 0.0
        slope = dV_drive_V / ramp_s

        def rhs(_t: float, y: np.ndarray) -> list[float]:
            i = float(self.current_A(max(y[0], 1e-3)))
            return [slope - i / self.C_T_F, i]

        from scipy.integrate import solve_ivp  # imported here: only ramped pulses need it (~0.25 s)

        # t_eval: keep only the end point (storing every internal step of a long, stiff ramp
        # exhausted memory); atol on the charge = 1e-12 electrons.
        sol = solve_ivp(rhs, (0.0, ramp_s), [V_start_V, 0.0], method="LSODA", rtol=1e-11,
                        atol=[1e-15, 1e-12 * q_C], t_eval=[ramp_s])
        return float(sol.y[0, -1]), float(sol.y[1, -1])


@dataclass(frozen=True)
class PulseResult:
    """What one pulse does: oxide voltage after the update window and transitions moved."""

    V_after_V: float
    N_pulse: float       # electrons moved during the window with the pulse
    N_natural: float     # electrons the free decay would have moved in the same window
    V_peak_V: float      # oxide voltage at the start of the flat top

    @property
    def N_net(self) -> float:
        """Transitions beyond natural decay."""
        return self.N_pulse - self.N_natural


def pulse_window_s(card: Card) -> float:
    """Length of one update window: two edges and the flat top (s)."""
    p = card.programming
    return p.pulse_width_s + 2.0 * p.rise_s


def apply_pulse(model: FGModel, card: Card, V_start_V: float, V_p_V: float) -> PulseResult:
    """Oxide-voltage trajectory through one pulse of amplitude ``V_p_V`` starting at ``V_start_V``.

    Rectangular pulses are fast against the window: the edges are treated as
    steps at mid-edge and the flat top lasts ``pulse_width_s + rise_s`` (the
    area of the trapezoid). Ramped pulses integrate the ODE through each edge.
    """
    return _apply_pulse(model, card, V_start_V, V_p_V, *_pulse_constants(model, card, V_start_V))


def _pulse_constants(model: FGModel, card: Card, V_start_V: float) -> tuple[float | None, float]:
    """What :func:`apply_pulse` computes before the pulse acts (independent of its amplitude): the drop
    over the first half edge (rectangular pulses; None for ramps) and the window's natural charge (C)."""
    p = card.programming
    drop_pre = model.drop_scalar_V(V_start_V, p.rise_s / 2) if p.shape == "rectangular" else None
    return drop_pre, model.C_T_F * model.drop_scalar_V(V_start_V, pulse_window_s(card))


def _apply_pulse(model: FGModel, card: Card, V_start_V: float, V_p_V: float, drop_pre: float | None,
                 Q_nat: float) -> PulseResult:
    """:func:`apply_pulse` with the amplitude-independent parts (:func:`_pulse_constants`) given."""
    p = card.programming
    dV = model.kappa * V_p_V
    if p.shape == "rectangular":
        flat = p.pulse_width_s + p.rise_s
        V1 = V_start_V - drop_pre
        V_hi = V1 + dV
        drop_flat = model.drop_scalar_V(V_hi, flat)
        V2 = V_hi - drop_flat - dV
        drop_post = model.drop_scalar_V(V2, p.rise_s / 2)
        V_after = V2 - drop_post
        Q = model.C_T_F * (drop_pre + drop_flat + drop_post)
        V_peak = V_hi
    else:
        V1, Q1 = model.ramp(V_start_V, dV, p.rise_s)
        drop_flat = model.drop_scalar_V(V1, p.pulse_width_s)
        V2, Q3 = model.ramp(V1 - drop_flat, -dV, p.rise_s)
        V_after = V2
        Q = Q1 + model.C_T_F * drop_flat + Q3
        V_peak = V1
    return PulseResult(V_after_V=V_after, N_pulse=Q / q_C, N_natural=Q_nat / q_C, V_peak_V=V_peak)


def solve_amplitude_V(model: FGModel, card: Card, V_start_V: float, N_target: float) -> float:
    """Pulse amplitude (V) that moves ``N_target`` electrons beyond natural decay (Brent, xtol 1e-12 V)."""
    return _solve_pulse(model, card, V_start_V, N_target)[0]


def _solve_pulse(model: FGModel, card: Card, V_start_V: float, N_target: float
                 ) -> tuple[float, PulseResult | None]:
    """:func:`solve_amplitude_V` and the :func:`apply_pulse` result at that amplitude (None for no pulse).

    Every pulse evaluated is kept by amplitude, so the bracket ends (checked here, then given to
    Brent) and the root itself (Brent returns an evaluated point) are not computed again.
    """
    if N_target <= 0:
        return 0.0, None
    const = _pulse_constants(model, card, V_start_V)  # the same in every evaluation: computed once
    seen: dict[float, PulseResult] = {}

    def pulse(V_p: float) -> PulseResult:
        res = seen.get(V_p)
        if res is None:
            res = seen[V_p] = _apply_pulse(model, card, V_start_V, V_p, *const)
        return res

    def f(V_p: float) -> float:
        return pulse(V_p).N_net - N_target

    if f(0.0) > 0:
        raise InputError(
            f"target of {N_target:.3g} transitions per update is below the natural tunnelling of the pulse "
            f"window at V_ox = {V_start_V:.4g} V (no pulse needed, none can subtract); raise eps0 or "
            "R_max_per_s, or shorten pulse_width_s")
    if f(V_P_MAX_V) < 0:
        raise InputError(
            f"target of {N_target:.3g} transitions per update needs a control-gate pulse above "
            f"{V_P_MAX_V:g} V at V_ox = {V_start_V:.4g} V; lower R_max_per_s or eps0, or lengthen pulse_width_s")
    V_p = brent_root(f, 0.0, V_P_MAX_V, xtol=1e-12, rtol=1e-14, maxiter=200)
    return V_p, pulse(V_p)


SYNTHESIS_COLUMNS = ("n", "t_s", "eps", "grad", "R_target_per_s", "E0_J", "dE_J", "feasible",
                     "N_target", "V_p_V", "ramp_s", "V_ox_before_V", "V_ox_peak_V", "V_ox_after_V",
                     "N_natural", "dV_fg_pred_V", "half")


def synthesize(card: Card) -> pd.DataFrame:
    """Synthesis table: one row per update (columns :data:`SYNTHESIS_COLUMNS`).

    ``dV_fg_pred_V`` is the floating-gate step beyond natural decay predicted by
    the closed form for the synthesised pulse (= N_target q / C_T by
    construction). ``half`` is ``p`` (gradient >= 0: the + half of a synapse is
    pulsed, raising w), ``m`` (the - half) or, with ``decrease = "injection"``, ``i``
    (electrons injected into the + half; ``V_p_V`` is the injector's drive amplitude and
    ``dV_fg_pred_V`` is negative).
    """
    dev, prog = card.device, card.programming
    model = FGModel.from_card(card)
    theory = bound_table(card.schedule, dev.R_max_per_s, dev.T_K)
    rows = []
    V = dev.V0_V
    t_prev = 0.0
    for rec in theory.itertuples(index=False):
        n = int(rec.n)
        t_n = prog.update_start_s(n)
        V = V - float(model.drop_V(V, t_n - t_prev))
        N_target = float(rec.R_per_s) * prog.pulse_width_s
        if rec.grad < 0 and prog.decrease == "injection":
            rows.append(_injection_row(card, model, rec, n, t_n, V, N_target))
            V = rows[-1]["V_ox_after_V"]
            t_prev = t_n + pulse_window_s(card)
            continue
        V_p, res = _solve_pulse(model, card, V, N_target)
        if res is None:
            res = apply_pulse(model, card, V, V_p)
        rows.append({
            "n": n, "t_s": t_n, "eps": float(rec.eps), "grad": float(rec.grad),
            "R_target_per_s": float(rec.R_per_s), "E0_J": float(rec.E0_J), "dE_J": float(rec.dE_J),
            "feasible": bool(rec.feasible), "N_target": N_target, "V_p_V": V_p,
            "ramp_s": prog.rise_s, "V_ox_before_V": V, "V_ox_peak_V": res.V_peak_V,
            "V_ox_after_V": res.V_after_V, "N_natural": res.N_natural,
            "dV_fg_pred_V": res.N_net * q_C / dev.C_T_F, "half": "p" if rec.grad >= 0 else "m",
        })
        V = res.V_after_V
        t_prev = t_n + pulse_window_s(card)
    return pd.DataFrame(rows, columns=list(SYNTHESIS_COLUMNS))


def _injection_row(card: Card, model: FGModel, rec, n: int, t_n: float, V: float, N_target: float) -> dict:
    """Synthesis row of an injection update: drive amplitude, natural decay meanwhile, V_ox after."""
    dev, prog = card.device, card.programming
    args = (dev.inj_I_s_A, dev.inj_beta, dev.inj_V_inj_V, prog.pulse_width_s, prog.rise_s)
    V_ds = injection_amplitude_V(N_target, *args)
    N_inj = injected_electrons(V_ds, *args)
    drop = float(model.drop_V(V, pulse_window_s(card)))
    return {"n": n, "t_s": t_n, "eps": float(rec.eps), "grad": float(rec.grad),
            "R_target_per_s": float(rec.R_per_s), "E0_J": float(rec.E0_J), "dE_J": float(rec.dE_J),
            "feasible": bool(rec.feasible), "N_target": N_target, "V_p_V": V_ds, "ramp_s": prog.rise_s,
            "V_ox_before_V": V, "V_ox_peak_V": V, "V_ox_after_V": V - drop + N_inj * q_C / dev.C_T_F,
            "N_natural": dev.C_T_F * drop / q_C, "dV_fg_pred_V": -N_inj * q_C / dev.C_T_F, "half": "i"}


def edge_list(card: Card, table: pd.DataFrame, half: str = "p"
              ) -> list[tuple[float, float, float, float, float, float, float]]:
    """ngspice PULSE parameters ``(V1, V2, TD, TR, TF, PW, PER)`` of every edge of one half.

    The control gate rests at 0 V and is driven to ``-V_p`` for each update: a
    falling step of ``-V_p`` at ``t_n`` and a rising step of ``+V_p`` at
    ``t_n + rise + pulse_width``, each with a linear edge of ``rise_s``. Every
    edge is its own one-shot step (PW and PER far beyond the run): ngspice then
    schedules each edge from its own delay TD, which it never misses, instead
    of chaining breakpoints from one edge to the next, which it sometimes does.
    """
    prog = card.programming
    hold = 1e3 * max(card.stop_time_s, 1.0)
    edges = []
    for rec in table.itertuples(index=False):
        if rec.half != half or not rec.V_p_V > 0.0:
            continue
        t0, vp = float(rec.t_s), float(rec.V_p_V)
        edges.append((0.0, -vp, t0, prog.rise_s, prog.rise_s, hold, 2 * hold))
        edges.append((0.0, vp, t0 + prog.rise_s + prog.pulse_width_s, prog.rise_s, prog.rise_s, hold, 2 * hold))
    return edges
